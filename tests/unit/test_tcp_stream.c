/*
 * test_tcp_stream.c - DNS-over-TCP reassembly on hand-built segments
 * (splits, sizes, retransmissions, reordering, gaps, framing errors,
 * wraparound, both sides, close, bounds, expiry), on randomly cut and
 * shuffled streams, and on the TCP captures in tests/fixtures, read with a
 * small local Ethernet/IP/TCP parser (whole, and with every data segment
 * split and its halves swapped).
 *
 * Every message body is generated from its id and length, so each delivery
 * is checked byte for byte; expected counters are worked out in comments.
 */
#define _DEFAULT_SOURCE /* pcap.h needs u_char and friends */

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include <netinet/in.h>
#include <pcap/pcap.h>

#include "tcp_stream.h"

#define SYN 0x02
#define FIN 0x01
#define RST 0x04
#define ACK 0x10
#define PSH 0x08

/* ---- recording deliveries --------------------------------------------- */

#define REC_MAX 4096

struct rec {
    uint64_t hash;
    int side;
    uint32_t len;
    uint16_t id;
    uint16_t sport;
    const uint8_t *ptr;
    int64_t ts_sec;
};

static struct rec recs[REC_MAX];
static size_t n_recs;

/* Body of message id: DNS id, then QR in byte 2, then a pattern. */
static void make_body(uint8_t *out, uint16_t id, int response, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        out[i] = (uint8_t)(id * 13u + i * 7u + 1u);
    out[0] = (uint8_t)(id >> 8);
    out[1] = (uint8_t)id;
    out[2] = response ? 0x81 : 0x01;
}

static void on_msg(void *ctx, uint64_t flow, int side, const uint8_t *msg, size_t len,
                   const struct packet *p)
{
    (void)ctx;
    assert_true(len >= 12 && len <= 65535);
    /* The reported packet, real or made at a flush, is of this flow. */
    assert_true(flow == flow_hash(p));
    assert_int_equal(p->l4, IPPROTO_TCP);
    uint16_t id = (uint16_t)(msg[0] << 8 | msg[1]);
    uint8_t *want = malloc(len);
    assert_non_null(want);
    make_body(want, id, msg[2] & 0x80, (uint32_t)len);
    if (memcmp(want, msg, len) != 0)
        fail_msg("message %u (len %zu) corrupted", id, len);
    free(want);
    assert_true(n_recs < REC_MAX);
    recs[n_recs++] = (struct rec){flow, side, (uint32_t)len, id, p->sport, msg, p->ts_sec};
}

/* ---- building segments ------------------------------------------------ */

/* A framed stream under construction. */
struct stream {
    uint8_t *b;
    uint32_t n;
};

static void put_msg(struct stream *s, uint16_t id, int response, uint32_t len)
{
    s->b = realloc(s->b, s->n + 2 + len);
    assert_non_null(s->b);
    s->b[s->n] = (uint8_t)(len >> 8);
    s->b[s->n + 1] = (uint8_t)len;
    make_body(s->b + s->n + 2, id, response, len);
    s->n += 2 + len;
}

static void put_raw(struct stream *s, const uint8_t *d, uint32_t len)
{
    s->b = realloc(s->b, s->n + len);
    assert_non_null(s->b);
    memcpy(s->b + s->n, d, len);
    s->n += len;
}

static const uint8_t CLI4[4] = {192, 0, 2, 1};
static const uint8_t SRV4[4] = {198, 51, 100, 53};
static const uint8_t CLI6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t SRV6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53};

/* Packet of connection `conn` (client port 10000 + conn, server port 53);
 * side 0 is client -> server. */
static void mkpkt(struct packet *p, int conn, int side, uint32_t seq, uint8_t flags,
                  const uint8_t *d, uint32_t len, int64_t sec)
{
    memset(p, 0, sizeof(*p));
    p->ts_sec = sec;
    p->l3 = 4;
    p->l4 = IPPROTO_TCP;
    p->ip_proto = IPPROTO_TCP;
    struct ip_addr c = {.family = 4}, s = {.family = 4};
    memcpy(c.a.v4, CLI4, 4);
    memcpy(s.a.v4, SRV4, 4);
    uint16_t cp = (uint16_t)(10000 + conn), sp = 53;
    p->src = side ? s : c;
    p->dst = side ? c : s;
    p->sport = side ? sp : cp;
    p->dport = side ? cp : sp;
    p->tcp_seq = seq;
    p->tcp_flags = flags;
    p->payload = d;
    p->payload_len = len;
}

static void seg(struct tcp_stream *ts, int conn, int side, uint32_t seq, uint8_t flags,
                const uint8_t *d, uint32_t len, int64_t sec)
{
    struct packet p;
    mkpkt(&p, conn, side, seq, flags, d, len, sec);
    tcp_stream_segment(ts, &p);
}

/* Data segment of stream bytes [from, to) sent at isn + 1 + from. */
static void part(struct tcp_stream *ts, int conn, int side, uint32_t isn, const struct stream *s,
                 uint32_t from, uint32_t to)
{
    seg(ts, conn, side, isn + 1 + from, ACK | PSH, s->b + from, to - from, 1000);
}

static struct tcp_stream *mk(uint32_t flows, uint64_t bytes, uint32_t idle)
{
    struct tcp_stream_limits lim = {flows, bytes, idle};
    struct tcp_stream *ts = tcp_stream_new(&lim, on_msg, NULL);
    assert_non_null(ts);
    return ts;
}

static int reset(void **state)
{
    (void)state;
    n_recs = 0;
    return 0;
}

#define ST(ts) (tcp_stream_stats(ts))

/* What one queued out-of-order copy costs beyond its payload (its header
 * counts against max_bytes): measured on a 10-byte segment. */
static uint64_t seg_hdr(void)
{
    static const uint8_t ten[10];
    struct tcp_stream *ts = mk(0, 0, 0);
    seg(ts, 1, 0, 0, SYN, NULL, 0, 1000);
    seg(ts, 1, 0, 100, ACK, ten, 10, 1000);
    uint64_t h = tcp_stream_bytes(ts) - 10;
    tcp_stream_free(&ts);
    assert_true(h > 0 && h <= 64);
    return h;
}

/* ---- basic framing ---------------------------------------------------- */

static void test_one_message(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream s = {0};
    put_msg(&s, 7, 0, 30);

    seg(ts, 1, 0, 1000, SYN, NULL, 0, 1000);
    assert_int_equal(tcp_stream_flows(ts), 1);
    part(ts, 1, 0, 1000, &s, 0, s.n);
    assert_int_equal(n_recs, 1);
    assert_int_equal(recs[0].id, 7);
    assert_int_equal(recs[0].len, 30);
    assert_int_equal(recs[0].side, 0);
    /* Delivered straight from the segment: no copy, nothing buffered. */
    assert_ptr_equal(recs[0].ptr, s.b + 2);
    assert_int_equal(tcp_stream_bytes(ts), 0);
    assert_int_equal(ST(ts)->segments, 2);
    assert_int_equal(ST(ts)->messages, 1);
    assert_int_equal(ST(ts)->flows_created, 1);
    free(s.b);
    tcp_stream_free(&ts);
    assert_null(ts);
}

static void test_several_in_one_segment(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream s = {0};
    put_msg(&s, 1, 0, 12);
    put_msg(&s, 2, 0, 100);
    put_msg(&s, 3, 0, 513);

    seg(ts, 1, 0, 5, SYN, NULL, 0, 1000);
    part(ts, 1, 0, 5, &s, 0, s.n);
    assert_int_equal(n_recs, 3);
    assert_int_equal(recs[0].len, 12);
    assert_int_equal(recs[1].len, 100);
    assert_int_equal(recs[2].len, 513);
    assert_ptr_equal(recs[0].ptr, s.b + 2);
    assert_ptr_equal(recs[1].ptr, s.b + 14 + 2);
    assert_ptr_equal(recs[2].ptr, s.b + 14 + 102 + 2);
    assert_int_equal(tcp_stream_bytes(ts), 0);
    free(s.b);
    tcp_stream_free(&ts);
}

/* One 300-byte message (302 framed) cut 1 | 7 | 50 x 5 | 44. */
static void test_split_many(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream s = {0};
    put_msg(&s, 9, 1, 300);
    uint32_t cuts[] = {0, 1, 8, 58, 108, 158, 208, 258, 302};

    seg(ts, 1, 0, 77, SYN, NULL, 0, 1000);
    for (size_t i = 0; i + 1 < sizeof(cuts) / sizeof(cuts[0]); i++) {
        assert_int_equal(n_recs, 0);
        part(ts, 1, 0, 77, &s, cuts[i], cuts[i + 1]);
        if (i > 0 && i + 2 < sizeof(cuts) / sizeof(cuts[0]))
            assert_true(tcp_stream_bytes(ts) > 0);
    }
    assert_int_equal(n_recs, 1);
    assert_int_equal(recs[0].len, 300);
    assert_int_equal(recs[0].id, 9);
    assert_int_equal(tcp_stream_bytes(ts), 0);
    assert_int_equal(ST(ts)->messages_lost, 0);
    free(s.b);
    tcp_stream_free(&ts);
}

/* Two messages (20 and 40 bytes, 64 framed) cut in two at every position,
 * including 1 (inside the first prefix) and 23 (inside the second). */
static void test_split_every_position(void **state)
{
    (void)state;
    struct stream s = {0};
    put_msg(&s, 1, 0, 20);
    put_msg(&s, 2, 0, 40);
    for (uint32_t k = 1; k < s.n; k++) {
        struct tcp_stream *ts = mk(0, 0, 0);
        n_recs = 0;
        seg(ts, 1, 0, 0, SYN, NULL, 0, 1000);
        part(ts, 1, 0, 0, &s, 0, k);
        part(ts, 1, 0, 0, &s, k, s.n);
        assert_int_equal(n_recs, 2);
        assert_int_equal(recs[0].len, 20);
        assert_int_equal(recs[1].len, 40);
        assert_int_equal(tcp_stream_bytes(ts), 0);
        tcp_stream_free(&ts);
    }
    free(s.b);
}

static void test_max_size(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream s = {0};
    put_msg(&s, 0x4242, 1, 65535);
    put_msg(&s, 0x4243, 1, 65535);
    assert_int_equal(s.n, 2 * 65537);

    /* First in 1448-byte segments, as a server would send it. */
    seg(ts, 1, 1, 9, SYN | ACK, NULL, 0, 1000);
    for (uint32_t off = 0; off < 65537; off += 1448) {
        uint32_t end = off + 1448 < 65537 ? off + 1448 : 65537;
        part(ts, 1, 1, 9, &s, off, end);
        assert_true(tcp_stream_bytes(ts) <= 65537);
    }
    assert_int_equal(n_recs, 1);
    assert_int_equal(recs[0].len, 65535);
    /* Then whole in one (offloaded) segment: delivered without a copy. */
    part(ts, 1, 1, 9, &s, 65537, s.n);
    assert_int_equal(n_recs, 2);
    assert_int_equal(recs[1].len, 65535);
    assert_ptr_equal(recs[1].ptr, s.b + 65537 + 2);
    assert_int_equal(tcp_stream_bytes(ts), 0);
    free(s.b);
    tcp_stream_free(&ts);
}

/* 12 bytes and a range past pktvisor's old 512 limit. */
static void test_sizes(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream s = {0};
    uint32_t sizes[] = {12, 511, 512, 513, 1000, 1460, 2047, 2048, 2049, 4095, 4096};
    size_t n = sizeof(sizes) / sizeof(sizes[0]);
    for (size_t i = 0; i < n; i++)
        put_msg(&s, (uint16_t)i, 1, sizes[i]);

    seg(ts, 1, 1, 100, SYN | ACK, NULL, 0, 1000);
    for (uint32_t off = 0; off < s.n; off += 1460)
        part(ts, 1, 1, 100, &s, off, off + 1460 < s.n ? off + 1460 : s.n);
    assert_int_equal(n_recs, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(recs[i].id, i);
        assert_int_equal(recs[i].len, sizes[i]);
        assert_int_equal(recs[i].side, 1); /* a SYN-ACK's sender is the responder */
    }
    assert_int_equal(tcp_stream_bytes(ts), 0);
    free(s.b);
    tcp_stream_free(&ts);
}

/* ---- retransmission and reordering ------------------------------------ */

/* Messages of 100 and 200 bytes (102 + 202 = 304 framed). */
static void test_retransmit_exact(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream s = {0};
    put_msg(&s, 1, 0, 100);
    put_msg(&s, 2, 0, 200);

    seg(ts, 1, 0, 0, SYN, NULL, 0, 1000);
    seg(ts, 1, 0, 0, SYN, NULL, 0, 1000); /* repeated SYN: same flow */
    part(ts, 1, 0, 0, &s, 0, 150);
    part(ts, 1, 0, 0, &s, 0, 150);
    part(ts, 1, 0, 0, &s, 150, 304);
    part(ts, 1, 0, 0, &s, 150, 304);
    part(ts, 1, 0, 0, &s, 0, 150);
    assert_int_equal(n_recs, 2);
    assert_int_equal(ST(ts)->retransmitted, 3);
    assert_int_equal(ST(ts)->flows_created, 1);
    assert_int_equal(tcp_stream_bytes(ts), 0);
    free(s.b);
    tcp_stream_free(&ts);
}

static void test_retransmit_overlap(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream s = {0};
    put_msg(&s, 1, 0, 100);
    put_msg(&s, 2, 0, 200);

    /* [0,100) [50,200) [150,304): overlaps trimmed, not counted. */
    seg(ts, 1, 0, 0, SYN, NULL, 0, 1000);
    part(ts, 1, 0, 0, &s, 0, 100);
    part(ts, 1, 0, 0, &s, 50, 200);
    assert_int_equal(n_recs, 1);
    part(ts, 1, 0, 0, &s, 150, 304);
    assert_int_equal(n_recs, 2);
    assert_int_equal(ST(ts)->retransmitted, 0);
    assert_int_equal(tcp_stream_bytes(ts), 0);

    /* Held bytes win: [150,250) queued with the right bytes, then [100,304)
     * arrives with [150,250) corrupted; the message checks out. */
    struct stream t = {0};
    put_msg(&t, 3, 0, 100);
    put_msg(&t, 4, 0, 200);
    uint8_t *bad = malloc(t.n);
    memcpy(bad, t.b, t.n);
    memset(bad + 150, 0xEE, 100);
    const uint32_t base = 304; /* stream offset of t */
    seg(ts, 1, 0, 1 + base + 0, ACK, t.b, 100, 1000);
    seg(ts, 1, 0, 1 + base + 150, ACK, t.b + 150, 100, 1000);
    assert_int_equal(ST(ts)->out_of_order, 1);
    seg(ts, 1, 0, 1 + base + 100, ACK, bad + 100, 204, 1000);
    assert_int_equal(n_recs, 4); /* on_msg checked every byte */
    /* Out-of-order overlaps: [350,400) queued, then [320,420) (covers it
     * and more: its own bytes around the held ones), then [330,380)
     * (covered: a duplicate), then [304,320) fills the hole. */
    struct stream u = {0};
    put_msg(&u, 5, 1, 130); /* 132 framed, at stream offset 608 */
    const uint32_t ub = 608;
    seg(ts, 1, 0, 1 + ub + 46, ACK, u.b + 46, 50, 1000);
    seg(ts, 1, 0, 1 + ub + 16, ACK, u.b + 16, 100, 1000);
    seg(ts, 1, 0, 1 + ub + 26, ACK, u.b + 26, 50, 1000);
    assert_int_equal(ST(ts)->retransmitted, 1);
    assert_int_equal(ST(ts)->out_of_order, 3);
    seg(ts, 1, 0, 1 + ub + 116, ACK, u.b + 116, 16, 1000); /* tail, queued */
    seg(ts, 1, 0, 1 + ub, ACK, u.b, 16, 1000);
    assert_int_equal(n_recs, 5);
    assert_int_equal(recs[4].len, 130);
    assert_int_equal(tcp_stream_bytes(ts), 0);
    free(bad);
    free(s.b);
    free(t.b);
    free(u.b);
    tcp_stream_free(&ts);
}

/* A 1000-byte and a 40-byte message (1002 + 42 = 1044 framed) in six
 * segments delivered last first. */
static void test_reversed(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream s = {0};
    put_msg(&s, 1, 0, 1000);
    put_msg(&s, 2, 0, 40);
    uint32_t cuts[] = {0, 1, 300, 600, 1001, 1003, 1044};

    seg(ts, 1, 0, 500, SYN, NULL, 0, 1000);
    for (int i = 5; i >= 0; i--) {
        part(ts, 1, 0, 500, &s, cuts[i], cuts[i + 1]);
        if (i > 0)
            assert_int_equal(n_recs, 0);
    }
    assert_int_equal(n_recs, 2);
    assert_int_equal(recs[0].len, 1000);
    assert_int_equal(recs[1].len, 40);
    assert_int_equal(ST(ts)->out_of_order, 5);
    assert_int_equal(ST(ts)->gaps, 0);
    assert_int_equal(tcp_stream_bytes(ts), 0);
    free(s.b);
    tcp_stream_free(&ts);
}

/* splitmix64: deterministic test randomness. */
static uint64_t rng(uint64_t *st)
{
    uint64_t z = (*st += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint32_t rng_in(uint64_t *st, uint32_t lo, uint32_t hi)
{
    return lo + (uint32_t)(rng(st) % (hi - lo + 1));
}

/* Random streams, random cuts, segments shuffled within windows of 6,
 * retransmissions of random ranges starting in what has arrived already:
 * whatever the order, the messages come out whole and in order, with
 * nothing lost and nothing left.  The queue never needs more than 16. */
static void test_random_reorder(void **state)
{
    (void)state;
    uint64_t st = 42;
    for (int trial = 0; trial < 300; trial++) {
        struct tcp_stream *ts = mk(0, 0, 0);
        struct stream s = {0};
        uint32_t n_msg = rng_in(&st, 1, 20);
        uint32_t lens[20];
        for (uint32_t i = 0; i < n_msg; i++) {
            lens[i] = rng(&st) % 4 == 0 ? rng_in(&st, 12, 6000) : rng_in(&st, 12, 300);
            put_msg(&s, (uint16_t)(trial * 20 + i), (int)(i & 1), lens[i]);
        }
        uint32_t cuts[4096], n_cut = 0;
        for (uint32_t off = 0; off < s.n;) {
            cuts[n_cut++] = off;
            off += rng(&st) % 3 == 0 ? rng_in(&st, 1, 3) : rng_in(&st, 1, 1500);
        }
        cuts[n_cut] = s.n;
        uint32_t order[4096];
        for (uint32_t i = 0; i < n_cut; i++)
            order[i] = i;
        for (uint32_t w = 0; w < n_cut; w += 6) {
            uint32_t e = w + 6 < n_cut ? w + 6 : n_cut;
            for (uint32_t i = e - 1; i > w; i--) {
                uint32_t j = w + (uint32_t)(rng(&st) % (i - w + 1));
                uint32_t t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        const uint32_t isn = (uint32_t)rng(&st);
        n_recs = 0;
        seg(ts, 1, 0, isn, SYN, NULL, 0, 1000);
        /* arrived[i]: piece i delivered; prefix: contiguous bytes so far */
        uint8_t arrived[4096] = {0};
        uint32_t prefix_piece = 0, max_end = 0;
        for (uint32_t k = 0; k < n_cut; k++) {
            uint32_t i = order[k];
            part(ts, 1, 0, isn, &s, cuts[i], cuts[i + 1]);
            arrived[i] = 1;
            if (cuts[i + 1] > max_end)
                max_end = cuts[i + 1];
            while (prefix_piece < n_cut && arrived[prefix_piece])
                prefix_piece++;
            uint32_t prefix = cuts[prefix_piece];
            if (prefix > 0 && rng(&st) % 4 == 0) {
                uint32_t a = (uint32_t)(rng(&st) % prefix);
                uint32_t b = a + rng_in(&st, 1, 2000);
                if (b > max_end)
                    b = max_end;
                if (b > a)
                    part(ts, 1, 0, isn, &s, a, b);
            }
        }
        if (n_recs != n_msg)
            fail_msg("trial %d: %zu of %u messages", trial, n_recs, n_msg);
        for (uint32_t i = 0; i < n_msg; i++) {
            assert_int_equal(recs[i].id, (uint16_t)(trial * 20 + i));
            assert_int_equal(recs[i].len, lens[i]);
        }
        const struct tcp_stream_stats *t = ST(ts);
        assert_int_equal(t->gaps, 0);
        assert_int_equal(t->messages_lost, 0);
        assert_int_equal(t->framing_errors, 0);
        assert_int_equal(tcp_stream_bytes(ts), 0);
        free(s.b);
        tcp_stream_free(&ts);
    }
}

/* ---- gaps ------------------------------------------------------------- */

/* Overlaps among queued segments: bytes held first win.  One 200-byte
 * message (202 framed), stream offset o at seq 1 + o.  Every late copy of
 * an overlapped range is corrupted (0xEE), so on_msg would catch a loser
 * winning. */
static void seg_bad(struct tcp_stream *ts, const struct stream *s, uint32_t from, uint32_t to,
                    uint32_t bad_from, uint32_t bad_to)
{
    uint8_t *b = malloc(to - from);
    memcpy(b, s->b + from, to - from);
    for (uint32_t i = bad_from; i < bad_to; i++)
        b[i - from] = 0xEE;
    seg(ts, 1, 0, 1 + from, ACK, b, to - from, 1000);
    free(b);
}

static void test_ooo_overlaps(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream s = {0};
    put_msg(&s, 1, 0, 200);

    seg(ts, 1, 0, 0, SYN, NULL, 0, 1000);
    seg_bad(ts, &s, 50, 100, 0, 0);    /* queued [50,100) */
    seg_bad(ts, &s, 80, 130, 80, 100); /* front trimmed: [100,130) */
    seg_bad(ts, &s, 30, 60, 50, 60);   /* back trimmed: [30,50) */
    const uint64_t h = seg_hdr();
    assert_int_equal(ST(ts)->out_of_order, 3);
    assert_int_equal(tcp_stream_bytes(ts), 100 + 3 * h);
    seg_bad(ts, &s, 40, 120, 40, 120); /* covered by three: duplicate */
    seg_bad(ts, &s, 100, 130, 100, 130);
    assert_int_equal(ST(ts)->retransmitted, 2);
    seg_bad(ts, &s, 150, 160, 0, 0);
    seg_bad(ts, &s, 140, 180, 150, 160); /* absorbs [150,160), keeps it */
    assert_int_equal(ST(ts)->out_of_order, 5);
    assert_int_equal(tcp_stream_bytes(ts), 100 + 40 + 4 * h); /* 4 queued */
    seg_bad(ts, &s, 0, 30, 0, 0);                             /* in order: [0,130) now held */
    assert_int_equal(n_recs, 0);
    seg_bad(ts, &s, 130, 202, 140, 180); /* its [140,180) loses to the queue */
    assert_int_equal(n_recs, 1);
    assert_int_equal(recs[0].len, 200);
    assert_int_equal(ST(ts)->retransmitted, 2);
    assert_int_equal(tcp_stream_bytes(ts), 0);

    /* A FIN on a duplicate of queued bytes still ends the stream there. */
    struct stream t = {0};
    put_msg(&t, 2, 0, 98); /* 100 framed */
    seg(ts, 2, 0, 0, SYN, NULL, 0, 1000);
    seg(ts, 2, 0, 1 + 50, ACK, t.b + 50, 50, 1000);
    seg(ts, 2, 0, 1 + 60, FIN | ACK, t.b + 60, 40, 1000);
    assert_int_equal(ST(ts)->retransmitted, 3);
    seg(ts, 2, 0, 1, ACK, t.b, 50, 1000);
    assert_int_equal(n_recs, 2);
    /* Flow 1: no FIN yet; flow 2: half-closed, its server may still answer. */
    assert_int_equal(tcp_stream_flows(ts), 2);
    free(s.b);
    free(t.b);
    tcp_stream_free(&ts);
}

/* A client that sends its query and FIN before the answer (half-close): the
 * answer belongs to the same flow, from side 1. */
static void test_half_close(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream q = {0}, r = {0};
    put_msg(&q, 7, 0, 30);
    put_msg(&r, 7, 1, 80);
    seg(ts, 1, 0, 0, SYN, NULL, 0, 1000);
    seg(ts, 1, 1, 500, SYN | ACK, NULL, 0, 1000);
    seg(ts, 1, 0, 1, FIN | ACK | PSH, q.b, q.n, 1000);
    assert_int_equal(tcp_stream_flows(ts), 1);
    seg(ts, 1, 1, 501, ACK | PSH, r.b, r.n, 1001);
    assert_int_equal(n_recs, 2);
    assert_int_equal(recs[0].side, 0);
    assert_int_equal(recs[1].side, 1);
    assert_int_equal(recs[1].len, 80);
    seg(ts, 1, 0, 1 + q.n + 1, ACK, NULL, 0, 1001); /* after its FIN: ignored */
    seg(ts, 1, 1, 501 + r.n, FIN | ACK, NULL, 0, 1001);
    assert_int_equal(tcp_stream_flows(ts), 0);
    assert_int_equal(ST(ts)->messages_lost, 0);
    free(q.b);
    free(r.b);
    tcp_stream_free(&ts);
}

/* Data queued past a FIN is dropped when the flow ends. */
static void test_data_past_fin(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream s = {0};
    put_msg(&s, 1, 0, 48); /* [0,50) */
    seg(ts, 1, 0, 0, SYN, NULL, 0, 1000);
    seg(ts, 1, 0, 1, ACK, s.b, 50, 1000);
    seg(ts, 1, 0, 1 + 60, FIN | ACK, NULL, 0, 1000);
    seg(ts, 1, 0, 1 + 70, ACK, s.b, 20, 1000); /* nonsense past the FIN */
    assert_int_equal(ST(ts)->out_of_order, 2);
    assert_int_equal(tcp_stream_bytes(ts), 20 + 2 * seg_hdr());
    seg(ts, 1, 1, 0, RST, NULL, 0, 1000);
    /* The hole [50,60) is given up (at a message boundary: nothing lost),
     * the FIN reached, the bytes past it thrown away. */
    assert_int_equal(n_recs, 1);
    assert_int_equal(ST(ts)->gaps, 1);
    assert_int_equal(ST(ts)->messages_lost, 0);
    assert_int_equal(tcp_stream_flows(ts), 0);
    assert_int_equal(tcp_stream_bytes(ts), 0);
    free(s.b);
    tcp_stream_free(&ts);
}

/* A (400 bytes, 402 framed at 0) in [0,200) [200,302) [302,402); B (50,
 * 52 framed at 402); C (30, 32 framed at 454); FIN at 486.  [200,302) is
 * lost.  When the server's FIN ends the flow, the hole is given up: A is
 * lost (its remaining 100 bytes in the queued [302,402) are skipped since
 * A's length is known), B and C are delivered. */
static void test_gap_costs_one_message(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream s = {0};
    put_msg(&s, 1, 0, 400);
    put_msg(&s, 2, 0, 50);
    put_msg(&s, 3, 0, 30);
    assert_int_equal(s.n, 486);

    seg(ts, 1, 0, 0, SYN, NULL, 0, 1000);
    seg(ts, 1, 1, 0, SYN | ACK, NULL, 0, 1000);
    part(ts, 1, 0, 0, &s, 0, 200);
    part(ts, 1, 0, 0, &s, 302, 402);
    part(ts, 1, 0, 0, &s, 402, 454);
    part(ts, 1, 0, 0, &s, 454, 486);
    seg(ts, 1, 0, 1 + 486, FIN | ACK, NULL, 0, 1001);
    assert_int_equal(n_recs, 0);
    assert_int_equal(ST(ts)->out_of_order, 4); /* three segments and the FIN */
    assert_int_equal(tcp_stream_flows(ts), 1);
    /* The server's FIN ends its side only; the client's waits for its hole
     * until the flow expires. */
    seg(ts, 1, 1, 1, FIN | ACK, NULL, 0, 1002);
    assert_int_equal(n_recs, 0);
    tcp_stream_expire(ts, 1002 + 61);
    assert_int_equal(n_recs, 2);
    assert_int_equal(recs[0].id, 2);
    assert_int_equal(recs[1].id, 3);
    /* Delivered at expiry but reported as the client's. */
    assert_int_equal(recs[0].side, 0);
    assert_int_equal(recs[0].sport, 10001);
    assert_int_equal(recs[0].ts_sec, 1002);
    assert_int_equal(ST(ts)->gaps, 1);
    assert_int_equal(ST(ts)->messages_lost, 1);
    assert_int_equal(ST(ts)->messages, 2);
    assert_int_equal(tcp_stream_flows(ts), 0);
    assert_int_equal(tcp_stream_bytes(ts), 0);
    free(s.b);
    tcp_stream_free(&ts);
}

/* The hole covers the second prefix byte and the rest of A, so A's length
 * is unknown: the stream resumes at B's segment, taken as a message start. */
static void test_gap_in_prefix(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream s = {0};
    put_msg(&s, 1, 0, 400); /* [0,402) */
    put_msg(&s, 2, 0, 50);  /* [402,454) */

    seg(ts, 1, 0, 0, SYN, NULL, 0, 1000);
    part(ts, 1, 0, 0, &s, 0, 1);
    part(ts, 1, 0, 0, &s, 402, 454);
    tcp_stream_close_all(ts);
    assert_int_equal(n_recs, 1);
    assert_int_equal(recs[0].id, 2);
    assert_int_equal(ST(ts)->gaps, 1);
    assert_int_equal(ST(ts)->messages_lost, 1);
    assert_int_equal(tcp_stream_flows(ts), 0);
    free(s.b);
    tcp_stream_free(&ts);
}

/* A hole followed by more segments than the queue holds: the 17th segment
 * past the hole forces the hole to be given up.  A (200 bytes, 202 framed)
 * sends [0,100), loses [100,202); then 17 messages of 20 bytes (22 framed)
 * each in its own segment.  A is lost; its remaining length ends exactly at
 * the hole's end, so all 17 are delivered. */
static void test_gap_queue_full(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream s = {0};
    put_msg(&s, 100, 0, 200);
    for (uint16_t i = 0; i < 17; i++)
        put_msg(&s, i, 0, 20);

    seg(ts, 1, 0, 0, SYN, NULL, 0, 1000);
    part(ts, 1, 0, 0, &s, 0, 100);
    for (uint32_t i = 0; i < 17; i++) {
        part(ts, 1, 0, 0, &s, 202 + 22 * i, 224 + 22 * i);
        if (i < 16)
            assert_int_equal(n_recs, 0);
    }
    assert_int_equal(n_recs, 17);
    for (uint16_t i = 0; i < 17; i++)
        assert_int_equal(recs[i].id, i);
    assert_int_equal(ST(ts)->out_of_order, 16); /* the 17th went in order */
    assert_int_equal(ST(ts)->gaps, 1);
    assert_int_equal(ST(ts)->messages_lost, 1);
    assert_int_equal(tcp_stream_bytes(ts), 0);
    assert_int_equal(tcp_stream_flows(ts), 1);
    free(s.b);
    tcp_stream_free(&ts);
}

/* The queue fills with 15 messages and a FIN behind a hole; one more
 * segment (past the FIN) gives up the hole, the 15 are delivered and the
 * FIN ends the client's side; the server's FIN closes the flow. */
static void test_gap_queue_full_fin(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream s = {0};
    for (uint16_t i = 0; i < 16; i++)
        put_msg(&s, i, 0, 20); /* [22i, 22i + 22) */

    seg(ts, 1, 0, 0, SYN, NULL, 0, 1000);
    for (uint32_t i = 1; i < 16; i++)
        part(ts, 1, 0, 0, &s, 22 * i, 22 * i + 22);
    seg(ts, 1, 0, 1 + 352, FIN | ACK, NULL, 0, 1000);
    assert_int_equal(ST(ts)->out_of_order, 16);
    seg(ts, 1, 0, 1 + 400, ACK, s.b, 22, 1000);
    assert_int_equal(n_recs, 15);
    assert_int_equal(recs[0].id, 1);
    assert_int_equal(ST(ts)->gaps, 1);
    assert_int_equal(ST(ts)->messages_lost, 0);
    assert_int_equal(tcp_stream_flows(ts), 1); /* the client's side ended */
    seg(ts, 1, 1, 0, FIN | ACK, NULL, 0, 1000);
    assert_int_equal(tcp_stream_flows(ts), 0);
    assert_int_equal(tcp_stream_bytes(ts), 0);
    free(s.b);
    tcp_stream_free(&ts);
}

/* ---- framing errors --------------------------------------------------- */

static void test_framing_error(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream s = {0};
    static const uint8_t junk[] = {0x00, 0x05, 1, 2, 3, 4, 5, 0x00, 0x20};
    put_msg(&s, 1, 0, 20); /* [0,22) good */
    put_raw(&s, junk, 9);  /* [22,31) length 5: error, rest of segment dropped */
    put_msg(&s, 2, 0, 30); /* [31,63) next segment: delivered */
    static const uint8_t zero[] = {0x00, 0x00, 0xff};
    put_raw(&s, zero, 3);  /* [63,66) length 0 */
    put_raw(&s, zero, 1);  /* [66,67) half a prefix ... */
    put_raw(&s, junk, 2);  /* [67,69) ... completed as 0x0000: error */
    put_msg(&s, 3, 0, 12); /* [69,83) */

    seg(ts, 1, 0, 0, SYN, NULL, 0, 1000);
    part(ts, 1, 0, 0, &s, 0, 31);
    assert_int_equal(n_recs, 1);
    assert_int_equal(ST(ts)->framing_errors, 1);
    part(ts, 1, 0, 0, &s, 31, 63);
    assert_int_equal(n_recs, 2);
    part(ts, 1, 0, 0, &s, 63, 66);
    assert_int_equal(ST(ts)->framing_errors, 2);
    part(ts, 1, 0, 0, &s, 66, 67);
    part(ts, 1, 0, 0, &s, 67, 69);
    assert_int_equal(ST(ts)->framing_errors, 3);
    part(ts, 1, 0, 0, &s, 69, 83);
    assert_int_equal(n_recs, 3);
    assert_int_equal(recs[2].id, 3);
    /* After an error, the rest of a partly retransmitted segment is not a
     * segment start: still skipped.  [83,87) has length 2 (error 4);
     * [85,95) overlaps it, its new bytes [87,95) (junk, length 5) are not
     * framed (else error 5); [95,109) starts a segment: message 4. */
    static const uint8_t two[] = {0x00, 0x02, 0xaa, 0xbb};
    put_raw(&s, two, 4);
    put_raw(&s, junk, 8);  /* [87,95) */
    put_msg(&s, 4, 0, 12); /* [95,109) */
    part(ts, 1, 0, 0, &s, 83, 87);
    part(ts, 1, 0, 0, &s, 85, 95);
    assert_int_equal(ST(ts)->framing_errors, 4);
    part(ts, 1, 0, 0, &s, 95, 109);
    assert_int_equal(n_recs, 4);
    assert_int_equal(recs[3].id, 4);
    assert_int_equal(ST(ts)->messages_lost, 0);
    assert_int_equal(tcp_stream_bytes(ts), 0);
    free(s.b);
    tcp_stream_free(&ts);
}

/* ---- sequence wraparound ---------------------------------------------- */

/* ISN 2^32 - 100: data starts at 2^32 - 99, a 300-byte message (302
 * framed) crosses 0 in its middle; segments arrive 3rd, 1st, 2nd. */
static void test_wraparound(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream s = {0};
    put_msg(&s, 1, 0, 300);
    put_msg(&s, 2, 0, 50);
    const uint32_t isn = UINT32_MAX - 99;

    seg(ts, 1, 0, isn, SYN, NULL, 0, 1000);
    part(ts, 1, 0, isn, &s, 200, 354); /* seq 101: past the wrap */
    part(ts, 1, 0, isn, &s, 0, 80);    /* seq 2^32 - 99 */
    assert_int_equal(n_recs, 0);
    part(ts, 1, 0, isn, &s, 80, 200); /* crosses 0 */
    assert_int_equal(n_recs, 2);
    assert_int_equal(recs[0].len, 300);
    assert_int_equal(recs[1].len, 50);
    part(ts, 1, 0, isn, &s, 60, 120); /* old, across the wrap */
    assert_int_equal(ST(ts)->retransmitted, 1);
    assert_int_equal(ST(ts)->out_of_order, 1);
    assert_int_equal(tcp_stream_bytes(ts), 0);
    /* The SYN itself at 2^32 - 1: data at 0. */
    struct stream t = {0};
    put_msg(&t, 3, 0, 40);
    seg(ts, 2, 0, UINT32_MAX, SYN, NULL, 0, 1000);
    seg(ts, 2, 0, 0, ACK, t.b, t.n, 1000);
    assert_int_equal(n_recs, 3);
    free(s.b);
    free(t.b);
    tcp_stream_free(&ts);
}

/* ---- both sides, flow hash -------------------------------------------- */

static void test_both_sides(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream q = {0}, r = {0};
    put_msg(&q, 0x1234, 0, 33);
    put_msg(&r, 0x1234, 1, 700);

    seg(ts, 3, 0, 1000, SYN, NULL, 0, 1000);
    seg(ts, 3, 1, 5000, SYN | ACK, NULL, 0, 1000);
    seg(ts, 3, 0, 1001, ACK, NULL, 0, 1000);
    part(ts, 3, 0, 1000, &q, 0, q.n);
    part(ts, 3, 1, 5000, &r, 0, 500);
    part(ts, 3, 1, 5000, &r, 500, r.n);
    assert_int_equal(n_recs, 2);
    assert_int_equal(recs[0].side, 0);
    assert_int_equal(recs[1].side, 1);
    assert_int_equal(recs[0].sport, 10003);
    assert_int_equal(recs[1].sport, 53);
    assert_true(recs[0].hash == recs[1].hash);

    struct packet a, b;
    mkpkt(&a, 3, 0, 0, 0, NULL, 0, 0);
    mkpkt(&b, 3, 1, 0, 0, NULL, 0, 0);
    assert_true(flow_hash(&a) == recs[0].hash);
    assert_true(flow_hash(&b) == recs[0].hash);
    assert_int_equal(tcp_stream_flows(ts), 1);

    /* UDP: same value both ways; protocol and ports are in the key. */
    a.l4 = b.l4 = a.ip_proto = b.ip_proto = IPPROTO_UDP;
    assert_true(flow_hash(&a) == flow_hash(&b));
    assert_true(flow_hash(&a) != recs[0].hash);
    struct packet c;
    mkpkt(&c, 4, 0, 0, 0, NULL, 0, 0);
    c.l4 = c.ip_proto = IPPROTO_UDP;
    assert_true(flow_hash(&c) != flow_hash(&a));
    /* Swapping only the ports (not the addresses) is another flow. */
    struct packet d = a;
    d.sport = a.dport;
    d.dport = a.sport;
    assert_true(flow_hash(&d) != flow_hash(&a));
    /* IPv6, and garbage in the unused bytes of an IPv4 address. */
    struct packet e = a, f;
    e.src.family = e.dst.family = 6;
    memcpy(e.src.a.v6, CLI6, 16);
    memcpy(e.dst.a.v6, SRV6, 16);
    f = e;
    f.src = e.dst;
    f.dst = e.src;
    f.sport = e.dport;
    f.dport = e.sport;
    assert_true(flow_hash(&e) == flow_hash(&f));
    assert_true(flow_hash(&e) != flow_hash(&a));
    struct packet g = a;
    memset(g.src.a.v6 + 4, 0xab, 12);
    assert_true(flow_hash(&g) == flow_hash(&a));
    free(q.b);
    free(r.b);
    tcp_stream_free(&ts);
}

/* Sixteen live flows in a 16-bucket table share chains: every segment
 * must still find its own flow (the lookup compares addresses and ports,
 * not only the hash). */
static void test_many_flows_distinct(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(16, 0, 0);
    struct stream s = {0};
    for (uint16_t i = 0; i < 16; i++)
        put_msg(&s, i, 0, 100); /* 102 framed each */
    /* Flow c carries message c: [102c, 102c + 102) of s, at seq 1. */
    for (int c = 0; c < 16; c++) {
        seg(ts, c, 0, 0, SYN, NULL, 0, 1000);
        seg(ts, c, 0, 1, ACK, s.b + 102 * c, 50, 1000);
    }
    for (int c = 15; c >= 0; c--)
        seg(ts, c, 0, 51, ACK, s.b + 102 * c + 50, 52, 1000);
    assert_int_equal(n_recs, 16);
    for (int c = 0; c < 16; c++) {
        assert_int_equal(recs[c].id, 15 - c);
        assert_int_equal(recs[c].sport, 10000 + 15 - c);
    }
    assert_int_equal(ST(ts)->flows_evicted, 0);
    free(s.b);
    tcp_stream_free(&ts);
}

/* ---- close ------------------------------------------------------------ */

static void test_fin_rst(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream s = {0};
    put_msg(&s, 1, 0, 60); /* 62 framed */

    /* FIN carried with the data: message delivered, the client's side ends
     * (half-close), the server's FIN forgets the flow. */
    seg(ts, 1, 0, 0, SYN, NULL, 0, 1000);
    seg(ts, 1, 0, 1, FIN | ACK, s.b, s.n, 1000);
    assert_int_equal(n_recs, 1);
    assert_int_equal(tcp_stream_flows(ts), 1);
    seg(ts, 1, 1, 0, FIN | ACK, NULL, 0, 1000);
    assert_int_equal(tcp_stream_flows(ts), 0);
    /* The last ACK does not bring it back. */
    seg(ts, 1, 0, 63, ACK, NULL, 0, 1000);
    assert_int_equal(tcp_stream_flows(ts), 0);

    /* RST with a partial message pending: lost. */
    seg(ts, 2, 0, 0, SYN, NULL, 0, 1000);
    part(ts, 2, 0, 0, &s, 0, 30);
    assert_true(tcp_stream_bytes(ts) > 0);
    seg(ts, 2, 1, 0, RST, NULL, 0, 1000);
    assert_int_equal(tcp_stream_flows(ts), 0);
    assert_int_equal(tcp_stream_bytes(ts), 0);
    assert_int_equal(ST(ts)->messages_lost, 1);

    /* A FIN queued behind a hole waits for it. */
    seg(ts, 3, 0, 0, SYN, NULL, 0, 1000);
    seg(ts, 3, 0, 1 + 62, FIN | ACK, NULL, 0, 1000);
    part(ts, 3, 0, 0, &s, 30, 62);
    assert_int_equal(tcp_stream_flows(ts), 1);
    part(ts, 3, 0, 0, &s, 0, 30);
    assert_int_equal(n_recs, 2);
    assert_int_equal(tcp_stream_flows(ts), 1); /* half-closed */
    seg(ts, 3, 1, 0, FIN | ACK, NULL, 0, 1000);
    assert_int_equal(tcp_stream_flows(ts), 0);

    /* Data seen already, repeated with a FIN: counted, and the FIN ends. */
    seg(ts, 7, 0, 0, SYN, NULL, 0, 1000);
    part(ts, 7, 0, 0, &s, 0, 62);
    seg(ts, 7, 0, 1, FIN | ACK, s.b, 62, 1000);
    assert_int_equal(ST(ts)->retransmitted, 1);
    seg(ts, 7, 1, 0, FIN | ACK, NULL, 0, 1000);
    assert_int_equal(tcp_stream_flows(ts), 0);
    assert_int_equal(n_recs, 3);

    /* Pure ACKs and RSTs of unknown flows create nothing. */
    seg(ts, 4, 0, 0, ACK, NULL, 0, 1000);
    seg(ts, 4, 0, 0, RST, NULL, 0, 1000);
    assert_int_equal(tcp_stream_flows(ts), 0);
    /* A new SYN on a live flow's ports: the old flow ends, a new begins. */
    seg(ts, 5, 0, 0, SYN, NULL, 0, 1000);
    part(ts, 5, 0, 0, &s, 0, 30);
    seg(ts, 5, 0, 90000, SYN, NULL, 0, 1000);
    part(ts, 5, 0, 90000, &s, 0, 62);
    assert_int_equal(n_recs, 4);
    assert_int_equal(ST(ts)->messages_lost, 2);
    assert_int_equal(ST(ts)->flows_created, 6);
    assert_int_equal(ST(ts)->rejected, 0);

    /* Not TCP: rejected. */
    struct packet p;
    mkpkt(&p, 6, 0, 0, 0, s.b, s.n, 1000);
    p.l4 = IPPROTO_UDP;
    tcp_stream_segment(ts, &p);
    mkpkt(&p, 6, 0, 0, 0, NULL, 10, 1000);
    tcp_stream_segment(ts, &p);
    assert_int_equal(ST(ts)->rejected, 2);
    free(s.b);
    tcp_stream_free(&ts);
}

/* Mid-stream pickup: no SYN seen, the first data segment starts a message. */
static void test_midstream(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream s = {0};
    put_msg(&s, 1, 1, 50);
    put_msg(&s, 2, 1, 50);
    seg(ts, 1, 1, 123456, ACK, s.b + 52, 52, 1000);
    seg(ts, 1, 1, 123456 - 52, ACK, s.b, 52, 1000); /* before: old */
    assert_int_equal(n_recs, 1);
    assert_int_equal(recs[0].id, 2);
    assert_int_equal(recs[0].side, 1); /* no handshake: port 53's side is the server */
    assert_int_equal(ST(ts)->retransmitted, 1);
    free(s.b);
    tcp_stream_free(&ts);
}

/* ---- bounds ----------------------------------------------------------- */

/* max_flows 4; each flow holds half of a 100-byte message. */
static void test_lru_eviction(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(4, 0, 0);
    struct stream s = {0};
    put_msg(&s, 1, 0, 100); /* 102 framed */

    for (int c = 1; c <= 4; c++)
        part(ts, c, 0, 0, &s, 0, 50);
    part(ts, 1, 0, 0, &s, 50, 60); /* 1 becomes the most recent */
    part(ts, 5, 0, 0, &s, 0, 50);  /* evicts 2, the least recent */
    assert_int_equal(tcp_stream_flows(ts), 4);
    assert_int_equal(ST(ts)->flows_evicted, 1);
    assert_int_equal(ST(ts)->messages_lost, 1);
    part(ts, 1, 0, 0, &s, 60, 102);
    part(ts, 3, 0, 0, &s, 50, 102);
    assert_int_equal(n_recs, 2);
    assert_int_equal(recs[0].sport, 10001);
    assert_int_equal(recs[1].sport, 10003);

    /* Thousands more flows: never more than 4, bytes bounded. */
    for (int c = 100; c < 5100; c++) {
        part(ts, c, 0, 0, &s, 0, 50);
        assert_true(tcp_stream_flows(ts) <= 4);
        assert_true(tcp_stream_bytes(ts) <= 4 * 2048);
    }
    /* Created 5 + 5000; alive 4; evicted = created - 4 - 2 (1, 3 done) */
    assert_int_equal(ST(ts)->flows_created, 5005);
    assert_int_equal(ST(ts)->flows_evicted, 5005 - 4);
    assert_int_equal(tcp_stream_flows(ts), 4);
    /* Flows 1 and 3 finished their message, the others lost theirs. */
    assert_int_equal(ST(ts)->messages_lost, 5005 - 4 - 2);
    tcp_stream_close_all(ts);
    assert_int_equal(ST(ts)->messages_lost, 5005 - 2);
    free(s.b);
    tcp_stream_free(&ts);
}

/* 1 MiB cap; 3000 flows each send 30000 bytes of a 60000-byte message in
 * 1500-byte segments.  Each holds at most 32 KiB (2048 doubled), so about
 * 32 fit; the cap is checked after every segment. */
static void test_byte_cap_flood(void **state)
{
    (void)state;
    const uint64_t cap = 1 << 20;
    struct tcp_stream *ts = mk(4096, cap, 0);
    struct stream s = {0};
    put_msg(&s, 1, 0, 60000);

    for (int c = 0; c < 3000; c++) {
        seg(ts, c, 0, 0, SYN, NULL, 0, 1000);
        for (uint32_t off = 0; off < 30000; off += 1500) {
            part(ts, c, 0, 0, &s, off, off + 1500);
            assert_true(tcp_stream_bytes(ts) <= cap);
        }
    }
    const struct tcp_stream_stats *st = ST(ts);
    assert_int_equal(st->flows_created, 3000);
    assert_true(st->flows_evicted > 2900);
    assert_true(tcp_stream_flows(ts) <= cap / 32768);
    assert_int_equal(st->flows_created - st->flows_evicted, tcp_stream_flows(ts));
    assert_int_equal(st->messages_lost, st->flows_evicted); /* all had a partial */
    assert_int_equal(n_recs, 0);
    /* The newest flow finishes its message (growing to 60002 evicts one
     * more); close_all loses the rest: 2999 lost, 1 delivered. */
    part(ts, 2999, 0, 0, &s, 30000, s.n);
    assert_true(tcp_stream_bytes(ts) <= cap);
    assert_int_equal(n_recs, 1);
    tcp_stream_close_all(ts);
    assert_int_equal(st->messages_lost, 2999);
    assert_int_equal(tcp_stream_bytes(ts), 0);
    free(s.b);
    tcp_stream_free(&ts);
}

/* A message larger than the whole cap is skipped by its length; the next
 * one is delivered.  Out-of-order copies count against the cap too. */
static void test_byte_cap_single_flow(void **state)
{
    (void)state;
    const uint64_t cap = 16384;
    struct tcp_stream *ts = mk(0, cap, 0);
    struct stream s = {0};
    put_msg(&s, 1, 0, 60000); /* [0,60002) */
    put_msg(&s, 2, 0, 100);   /* [60002,60104) */

    seg(ts, 1, 0, 0, SYN, NULL, 0, 1000);
    for (uint32_t off = 0; off < s.n; off += 1000) {
        part(ts, 1, 0, 0, &s, off, off + 1000 < s.n ? off + 1000 : s.n);
        assert_true(tcp_stream_bytes(ts) <= cap);
    }
    assert_int_equal(n_recs, 1);
    assert_int_equal(recs[0].id, 2);
    assert_int_equal(ST(ts)->messages_lost, 1);

    /* Flow 2: a hole at [0,2000), then 16 segments of 2000 bytes past it.
     * 8 fit in 16 KiB (8 x (2000 + header) with a header under 48
     * bytes).  The 9th cannot be held (over 18000 > 16384 with flow 2
     * alone: flow 1, holding nothing, is not evicted for nothing), so the
     * hole is given up: the 8 queued (messages 11..18) are delivered, then
     * the 9th..16th arrive in order (19..26).  No partial message: nothing
     * more lost. */
    assert_true(seg_hdr() < 48);
    struct stream t = {0};
    for (uint16_t i = 0; i < 20; i++)
        put_msg(&t, (uint16_t)(10 + i), 0, 1998); /* 2000 framed each */
    seg(ts, 2, 0, 0, SYN, NULL, 0, 1000);
    for (uint32_t i = 1; i < 17; i++) {
        part(ts, 2, 0, 0, &t, 2000 * i, 2000 * (i + 1));
        assert_true(tcp_stream_bytes(ts) <= cap);
    }
    assert_int_equal(ST(ts)->gaps, 1);
    assert_int_equal(ST(ts)->out_of_order, 8);
    assert_int_equal(ST(ts)->flows_evicted, 0);
    assert_int_equal(tcp_stream_flows(ts), 2);
    assert_int_equal(ST(ts)->messages_lost, 1);
    assert_int_equal(n_recs, 1 + 16);
    for (int i = 0; i < 16; i++)
        assert_int_equal(recs[1 + i].id, 11 + i);
    assert_int_equal(tcp_stream_bytes(ts), 0);
    free(s.b);
    free(t.b);
    tcp_stream_free(&ts);
}

/* An out-of-order segment larger than the whole cap cannot be held and
 * is dropped (nothing queued, nothing counted); the stream goes on and
 * the hole it left is given up at the end. */
static void test_byte_cap_ooo_too_big(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 16384, 0);
    struct stream s = {0};
    put_msg(&s, 1, 0, 98); /* [0,100) */
    put_msg(&s, 2, 0, 48); /* [100,150) */
    uint8_t *big = calloc(1, 20000);

    seg(ts, 1, 0, 0, SYN, NULL, 0, 1000);
    seg(ts, 1, 0, 1 + 5000, ACK, big, 20000, 1000);
    assert_int_equal(tcp_stream_bytes(ts), 0);
    assert_int_equal(ST(ts)->out_of_order, 0);
    seg(ts, 1, 0, 1, ACK, s.b, 100, 1000);
    seg(ts, 1, 0, 1 + 25000, ACK, s.b + 100, 50, 1000);
    assert_int_equal(ST(ts)->out_of_order, 1);
    tcp_stream_close_all(ts);
    assert_int_equal(n_recs, 2);
    assert_int_equal(ST(ts)->gaps, 1);
    assert_int_equal(ST(ts)->messages_lost, 0);
    free(big);
    free(s.b);
    tcp_stream_free(&ts);
}

/* An 8-byte cap: nothing can be buffered, yet messages whole in one
 * segment are still delivered (straight from the segment). */
static void test_byte_cap_tiny(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 8, 0);
    struct stream s = {0};
    put_msg(&s, 1, 0, 100); /* [0,102) */
    put_msg(&s, 2, 0, 12);  /* [102,116) */
    put_msg(&s, 3, 0, 40);  /* [116,158) */
    put_msg(&s, 4, 0, 12);  /* [158,172) */

    seg(ts, 1, 0, 0, SYN, NULL, 0, 1000);
    part(ts, 1, 0, 0, &s, 0, 1);     /* half a prefix: held inline */
    part(ts, 1, 0, 0, &s, 1, 50);    /* cannot hold: message 1 skipped */
    part(ts, 1, 0, 0, &s, 50, 116);  /* rest of 1 skipped, 2 delivered */
    part(ts, 1, 0, 0, &s, 116, 130); /* 3 cannot be held */
    part(ts, 1, 0, 0, &s, 130, 172); /* rest of 3 skipped, 4 delivered */
    assert_int_equal(n_recs, 2);
    assert_int_equal(recs[0].id, 2);
    assert_int_equal(recs[1].id, 4);
    assert_int_equal(ST(ts)->messages_lost, 2);
    assert_int_equal(tcp_stream_bytes(ts), 0);
    free(s.b);
    tcp_stream_free(&ts);
}

/* Freeing with flows that still hold buffers and queues (checked by ASan
 * and valgrind for leaks), odd inputs, bad limits. */
static void test_free_busy_and_odd_input(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream s = {0};
    put_msg(&s, 1, 0, 3000);
    seg(ts, 1, 0, 0, SYN, NULL, 0, 1000);
    part(ts, 1, 0, 0, &s, 0, 1500);
    part(ts, 1, 0, 0, &s, 2000, 2500);
    seg(ts, 2, 1, 0, ACK, s.b, 1, 1000);
    assert_int_equal(tcp_stream_bytes(ts), 2048 + 500 + seg_hdr());

    struct packet p;
    mkpkt(&p, 3, 0, 0, ACK, s.b, 100, 1000);
    p.dst.family = 6; /* families disagree */
    tcp_stream_segment(ts, &p);
    mkpkt(&p, 3, 0, 0, ACK, s.b, 0x40000001u, 1000); /* > 2^30: refused unread */
    tcp_stream_segment(ts, &p);
    assert_int_equal(ST(ts)->rejected, 2);
    tcp_stream_expire(ts, INT64_MIN); /* no overflow, nothing expires */
    assert_int_equal(tcp_stream_flows(ts), 2);
    tcp_stream_free(&ts);
    assert_null(ts);
    tcp_stream_free(&ts);
    tcp_stream_free(NULL);

    struct tcp_stream_limits big = {UINT32_MAX, 0, 0};
    assert_null(tcp_stream_new(&big, on_msg, NULL));
    assert_null(tcp_stream_new(NULL, NULL, NULL));
    free(s.b);
}

/* Closing a flow never evicts another to make room: with the cap full, a
 * message that would need a buffer while the flow's queue is flushed is
 * lost.  Flow 1 queues a 1998-byte message (2000 framed) in two segments
 * behind a hole (2000 bytes + 2 headers); flow 2 holds 1500 bytes of a
 * 3000-byte message (2048 allocated); the cap is that plus 10.  close_all
 * takes flow 1 first (least recent); gathering its message needs 2000
 * more: refused, and flow 2 is not evicted for it. */
static void test_flush_does_not_evict(void **state)
{
    (void)state;
    const uint64_t held = 2000 + 2 * seg_hdr() + 2048;
    struct tcp_stream *ts = mk(0, held + 10, 0);
    struct stream s = {0}, t = {0};
    put_msg(&s, 1, 0, 98);   /* [0,100) lost */
    put_msg(&s, 2, 0, 1998); /* [100,2100) */
    put_msg(&t, 3, 0, 3000);

    seg(ts, 1, 0, 0, SYN, NULL, 0, 1000);
    part(ts, 1, 0, 0, &s, 100, 1100);
    part(ts, 1, 0, 0, &s, 1100, 2100);
    part(ts, 2, 0, 0, &t, 0, 1500);
    assert_int_equal(tcp_stream_bytes(ts), held);
    tcp_stream_close_all(ts);
    assert_int_equal(n_recs, 0);
    assert_int_equal(ST(ts)->flows_evicted, 0);
    assert_int_equal(ST(ts)->gaps, 1);
    assert_int_equal(ST(ts)->messages_lost, 2);
    assert_int_equal(tcp_stream_bytes(ts), 0);
    free(s.b);
    free(t.b);
    tcp_stream_free(&ts);
}

static void test_idle_expiry(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 60);
    struct stream s = {0};
    put_msg(&s, 1, 0, 100);
    seg(ts, 1, 0, 0, ACK, s.b, 50, 100); /* partial, last seen at 100 */
    seg(ts, 2, 0, 0, SYN, NULL, 0, 150);
    tcp_stream_expire(ts, 160); /* cutoff 100: nothing before it */
    assert_int_equal(tcp_stream_flows(ts), 2);
    tcp_stream_expire(ts, 161); /* cutoff 101: flow 1 */
    assert_int_equal(tcp_stream_flows(ts), 1);
    assert_int_equal(ST(ts)->flows_expired, 1);
    assert_int_equal(ST(ts)->messages_lost, 1);
    assert_int_equal(tcp_stream_bytes(ts), 0);
    tcp_stream_expire(ts, 211);
    assert_int_equal(tcp_stream_flows(ts), 0);
    assert_int_equal(ST(ts)->flows_expired, 2);
    assert_int_equal(ST(ts)->messages_lost, 1);
    free(s.b);
    tcp_stream_free(&ts);
}

static void test_close_all(void **state)
{
    (void)state;
    struct tcp_stream *ts = mk(0, 0, 0);
    struct stream s = {0};
    put_msg(&s, 1, 0, 100);
    put_msg(&s, 2, 0, 20);                /* [102,124) */
    seg(ts, 1, 0, 0, ACK, s.b, 50, 100);  /* partial */
    seg(ts, 2, 0, 0, ACK, s.b, 102, 100); /* whole */
    seg(ts, 3, 1, 0, ACK, s.b, 1, 100);   /* half a prefix */
    seg(ts, 4, 0, 0, ACK, s.b, 102, 100);
    seg(ts, 4, 0, 200, ACK, s.b + 102, 22, 100); /* queued past a hole */
    assert_int_equal(n_recs, 2);
    tcp_stream_close_all(ts);
    /* Flow 4's hole is given up at the end: message 2 is delivered. */
    assert_int_equal(n_recs, 3);
    assert_int_equal(ST(ts)->messages_lost, 2);
    assert_int_equal(ST(ts)->gaps, 1);
    assert_int_equal(tcp_stream_flows(ts), 0);
    assert_int_equal(tcp_stream_bytes(ts), 0);
    free(s.b);
    tcp_stream_free(&ts);
}

/* ---- captures --------------------------------------------------------- */

/* Ethernet -> IPv4/IPv6 -> TCP, just enough for the fixtures. */
static int parse_frame(const uint8_t *d, uint32_t n, struct packet *p)
{
    memset(p, 0, sizeof(*p));
    if (n < 14)
        return -1;
    uint16_t et = (uint16_t)(d[12] << 8 | d[13]);
    d += 14;
    n -= 14;
    uint32_t l4len;
    if (et == 0x0800) {
        if (n < 20 || (d[0] >> 4) != 4)
            return -1;
        uint32_t ihl = (d[0] & 15u) * 4, tot = (uint32_t)d[2] << 8 | d[3];
        if (ihl < 20 || tot < ihl || tot > n || d[9] != IPPROTO_TCP)
            return -1;
        p->l3 = 4;
        p->src.family = p->dst.family = 4;
        memcpy(p->src.a.v4, d + 12, 4);
        memcpy(p->dst.a.v4, d + 16, 4);
        l4len = tot - ihl;
        d += ihl;
    } else if (et == 0x86dd) {
        if (n < 40 || (d[0] >> 4) != 6 || d[6] != IPPROTO_TCP)
            return -1;
        uint32_t plen = (uint32_t)d[4] << 8 | d[5];
        if (plen > n - 40)
            return -1;
        p->l3 = 6;
        p->src.family = p->dst.family = 6;
        memcpy(p->src.a.v6, d + 8, 16);
        memcpy(p->dst.a.v6, d + 24, 16);
        l4len = plen;
        d += 40;
    } else {
        return -1;
    }
    if (l4len < 20)
        return -1;
    uint32_t off = (uint32_t)(d[12] >> 4) * 4;
    if (off < 20 || off > l4len)
        return -1;
    p->l4 = p->ip_proto = IPPROTO_TCP;
    p->sport = (uint16_t)(d[0] << 8 | d[1]);
    p->dport = (uint16_t)(d[2] << 8 | d[3]);
    p->tcp_seq = (uint32_t)d[4] << 24 | (uint32_t)d[5] << 16 | (uint32_t)d[6] << 8 | d[7];
    p->tcp_flags = d[13];
    p->payload = d + off;
    p->payload_len = l4len - off;
    return 0;
}

struct qr_count {
    size_t queries, responses;
};

static void on_qr(void *ctx, uint64_t flow, int side, const uint8_t *msg, size_t len,
                  const struct packet *p)
{
    struct qr_count *c = ctx;
    (void)flow;
    (void)p;
    assert_true(len >= 12);
    if (msg[2] & 0x80) {
        c->responses++;
        assert_int_equal(side, 1); /* the server answers */
    } else {
        c->queries++;
        assert_int_equal(side, 0);
    }
}

/* Feed a capture.  With split, every data segment is cut in two and the
 * second half goes in first: it is queued, the first half fills the hole,
 * so every message is reassembled from out-of-order pieces. */
static const struct tcp_stream_stats *feed_fixture(const char *name, bool split,
                                                   struct tcp_stream *ts)
{
    char path[4096];
    fixture_path(path, sizeof(path), name);
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, err);
    if (pc == NULL)
        fail_msg("%s: %s", path, err);
    assert_int_equal(pcap_datalink(pc), DLT_EN10MB);

    struct pcap_pkthdr *h;
    const u_char *d;
    int r;
    while ((r = pcap_next_ex(pc, &h, &d)) == 1) {
        struct packet p;
        if (parse_frame(d, h->caplen, &p) != 0)
            continue;
        p.ts_sec = h->ts.tv_sec;
        p.ts_nsec = (int64_t)h->ts.tv_usec * 1000;
        if (split && p.payload_len >= 2 && !(p.tcp_flags & (SYN | FIN | RST))) {
            struct packet a = p, b = p;
            uint32_t k = p.payload_len / 2;
            b.tcp_seq += k;
            b.payload += k;
            b.payload_len -= k;
            a.payload_len = k;
            tcp_stream_segment(ts, &b);
            tcp_stream_segment(ts, &a);
        } else {
            tcp_stream_segment(ts, &p);
        }
        tcp_stream_expire(ts, p.ts_sec);
    }
    assert_int_equal(r, PCAP_ERROR_BREAK);
    pcap_close(pc);
    return tcp_stream_stats(ts);
}

static void run_fixture(const char *name, size_t queries, size_t responses, size_t conns)
{
    for (int split = 0; split < 2; split++) {
        struct qr_count c = {0, 0};
        struct tcp_stream *ts = tcp_stream_new(NULL, on_qr, &c);
        assert_non_null(ts);
        const struct tcp_stream_stats *st = feed_fixture(name, split, ts);
        /* Every connection closed itself with FIN: nothing left, lost. */
        assert_int_equal(tcp_stream_flows(ts), 0);
        assert_int_equal(c.queries, queries);
        assert_int_equal(c.responses, responses);
        assert_int_equal(st->messages, queries + responses);
        assert_int_equal(st->flows_created, conns);
        assert_int_equal(st->framing_errors, 0);
        assert_int_equal(st->gaps, 0);
        assert_int_equal(st->messages_lost, 0);
        assert_int_equal(st->rejected, 0);
        /* One message per data segment in these captures. */
        assert_int_equal(st->out_of_order, split ? queries + responses : 0);
        assert_int_equal(tcp_stream_bytes(ts), 0);
        tcp_stream_free(&ts);
    }
}

/* The fixtures use port 53000, hence the decode-as:
 *   tshark -r tests/fixtures/dns_ipv4_tcp.pcap -d tcp.port==53000,dns
 *       -T fields -e dns.flags.response | tr , '\n' | grep -c '^0$'  -> 210
 *   ... | tr , '\n' | grep -c '^1$'                                   -> 210
 *   tshark -r tests/fixtures/dns_ipv4_tcp.pcap -q -z conv,tcp | grep -c '<->'
 *       -> 210 connections */
static void test_fixture_ipv4(void **state)
{
    (void)state;
    run_fixture("dns_ipv4_tcp.pcap", 210, 210, 210);
}

/*   tshark -r tests/fixtures/dns_ipv6_tcp.pcap -d tcp.port==53000,dns
 *       -T fields -e dns.flags.response | tr , '\n' | grep -c '^0$'  -> 180
 *   ... | tr , '\n' | grep -c '^1$'                                   -> 180
 *   tshark -r tests/fixtures/dns_ipv6_tcp.pcap -q -z conv,tcp | grep -c '<->'
 *       -> 180 connections */
static void test_fixture_ipv6(void **state)
{
    (void)state;
    run_fixture("dns_ipv6_tcp.pcap", 180, 180, 180);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_one_message, reset),
        cmocka_unit_test_setup(test_several_in_one_segment, reset),
        cmocka_unit_test_setup(test_split_many, reset),
        cmocka_unit_test_setup(test_split_every_position, reset),
        cmocka_unit_test_setup(test_max_size, reset),
        cmocka_unit_test_setup(test_sizes, reset),
        cmocka_unit_test_setup(test_retransmit_exact, reset),
        cmocka_unit_test_setup(test_retransmit_overlap, reset),
        cmocka_unit_test_setup(test_reversed, reset),
        cmocka_unit_test_setup(test_ooo_overlaps, reset),
        cmocka_unit_test_setup(test_random_reorder, reset),
        cmocka_unit_test_setup(test_data_past_fin, reset),
        cmocka_unit_test_setup(test_half_close, reset),
        cmocka_unit_test_setup(test_gap_costs_one_message, reset),
        cmocka_unit_test_setup(test_gap_in_prefix, reset),
        cmocka_unit_test_setup(test_gap_queue_full, reset),
        cmocka_unit_test_setup(test_gap_queue_full_fin, reset),
        cmocka_unit_test_setup(test_framing_error, reset),
        cmocka_unit_test_setup(test_wraparound, reset),
        cmocka_unit_test_setup(test_both_sides, reset),
        cmocka_unit_test_setup(test_many_flows_distinct, reset),
        cmocka_unit_test_setup(test_fin_rst, reset),
        cmocka_unit_test_setup(test_midstream, reset),
        cmocka_unit_test_setup(test_lru_eviction, reset),
        cmocka_unit_test_setup(test_byte_cap_flood, reset),
        cmocka_unit_test_setup(test_byte_cap_single_flow, reset),
        cmocka_unit_test_setup(test_byte_cap_ooo_too_big, reset),
        cmocka_unit_test_setup(test_byte_cap_tiny, reset),
        cmocka_unit_test_setup(test_flush_does_not_evict, reset),
        cmocka_unit_test_setup(test_free_busy_and_odd_input, reset),
        cmocka_unit_test_setup(test_idle_expiry, reset),
        cmocka_unit_test_setup(test_close_all, reset),
        cmocka_unit_test(test_fixture_ipv4),
        cmocka_unit_test(test_fixture_ipv6),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
