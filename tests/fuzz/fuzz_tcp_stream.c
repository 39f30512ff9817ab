/*
 * fuzz_tcp_stream.c - libFuzzer target for the DNS-over-TCP reassembler.
 *
 * The input is a chain of segment records fed to one reassembler with small
 * limits (8 flows, 256 KiB, 10 s idle) over 16 connections, so the table
 * and byte caps, eviction and expiry all happen.  Record layout:
 *
 *   byte 0    bits 0-3 connection (bit 3: IPv6), bit 4 side (0: client),
 *             bits 5-7 operation:
 *               0-2 segment with literal payload (the next len bytes, or
 *                   what is left)
 *               3   segment with synthesized payload: 1 + 4 * (byte 1 >> 5)
 *                   literal bytes repeated to len (large messages from
 *                   small inputs)
 *               4   burst: literal payload sent as 2 + (byte 1 >> 3)
 *                   pieces in the order byte 1 & 7 picks (reversed, evens
 *                   then odds, one lost, overlapping, rotated)
 *               5   burst of a synthesized payload (8 literal bytes)
 *               6   tcp_stream_expire() at the current clock
 *               7   tcp_stream_close_all()
 *   byte 1    segments: TCP flags (low 5 bits: FIN SYN RST PSH ACK);
 *             high 3 bits see operation 3.  Bursts: see operation 4
 *   bytes 2-3 signed sequence delta from where this side's stream is
 *             (0: in order; < 0 retransmission; > 0 a hole)
 *   bytes 4-5 payload length
 *   byte 6    seconds the clock advances
 *
 * Each payload is copied into a heap buffer of exactly its length, so
 * AddressSanitizer sees any read past it.  After every record the byte and
 * flow caps must hold; at the end close_all must leave nothing behind.
 *
 * One reassembler serves every input: close_all at the end of an input
 * leaves it empty (no flow, no byte), which is checked, and the statistics
 * are compared as differences over the input.  Only which flow slots get
 * used carries over from one input to the next.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc
 *        src/tcp_stream.c src/hash.c tests/fuzz/fuzz_tcp_stream.c
 *        -o /tmp/fuzz_tcp_stream
 * Run:   /tmp/fuzz_tcp_stream tests/fuzz/corpus/tcp_stream
 */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_CONN    16
#define MAX_FLOWS 8
#define MAX_BYTES (256u * 1024)
#define REC_HDR   7

static volatile uint32_t g_sink;
static uint8_t g_copy[65535];
static uint64_t g_delivered;

static void on_msg(void *ctx, uint64_t flow, int side, const uint8_t *msg, size_t len,
                   const struct packet *p)
{
    (void)ctx;
    if (len < 12 || len > 65535 || (side != 0 && side != 1) || p == NULL || p->l4 != IPPROTO_TCP ||
        (p->src.family != 4 && p->src.family != 6))
        abort();
    if (flow != flow_hash(p))
        abort(); /* the reported packet belongs to the flow */
    /* Touch all of it: memcpy checks the whole range under ASan without a
     * loop whose every comparison the coverage instrumentation traces. */
    memcpy(g_copy, msg, len);
    g_sink += g_copy[0] + g_copy[len - 1];
    g_delivered++;
}

static void endpoints(struct packet *p, unsigned conn, int side)
{
    struct ip_addr c = {.family = 4}, s = {.family = 4};
    if (conn & 8) {
        c.family = s.family = 6;
        c.a.v6[0] = s.a.v6[0] = 0x20;
        c.a.v6[1] = s.a.v6[1] = 0x01;
        c.a.v6[15] = 1;
        s.a.v6[15] = 0x53;
    } else {
        c.a.v4[0] = 10;
        c.a.v4[3] = 1;
        s.a.v4[0] = 10;
        s.a.v4[3] = 53;
    }
    uint16_t cp = (uint16_t)(40000 + conn), sp = 53;
    p->l3 = c.family;
    p->src = side ? s : c;
    p->dst = side ? c : s;
    p->sport = side ? sp : cp;
    p->dport = side ? cp : sp;
}

/* One segment, its payload copied to a buffer of exactly its length. */
static void send_seg(struct tcp_stream *ts, unsigned conn, int side, uint32_t seq, uint8_t flags,
                     const uint8_t *d, uint32_t len, int64_t now)
{
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL)
        abort();
    if (len > 0)
        memcpy(buf, d, len);
    struct packet p;
    memset(&p, 0, sizeof(p));
    p.ts_sec = now;
    p.l4 = p.ip_proto = IPPROTO_TCP;
    endpoints(&p, conn, side);
    p.tcp_flags = flags;
    p.tcp_seq = seq;
    p.payload = buf;
    p.payload_len = len;
    p.caplen = p.wirelen = len;
    tcp_stream_segment(ts, &p);
    free(buf);
}

/* Send d[0..len) from seq as k pieces in an order chosen by mode. */
static void burst(struct tcp_stream *ts, unsigned conn, int side, uint32_t seq, const uint8_t *d,
                  uint32_t len, unsigned k, unsigned mode, int64_t now)
{
    uint32_t piece = (len + k - 1) / k;
    if (piece == 0)
        return;
    k = (len + piece - 1) / piece;
    for (unsigned j = 0; j < k; j++) {
        unsigned i;
        switch (mode) {
        case 0: /* reversed */
            i = k - 1 - j;
            break;
        case 1: /* evens, then odds */
            i = j < (k + 1) / 2 ? 2 * j : 2 * (j - (k + 1) / 2) + 1;
            break;
        case 2: /* in order, piece 1 lost */
            if (j == 1)
                continue;
            i = j;
            break;
        default: /* rotated: a late start, then the beginning */
            i = (j + mode) % k;
            break;
        }
        uint32_t from = i * piece, to = from + piece;
        if (mode == 3)
            to += piece / 2; /* overlapping the next piece */
        if (to > len)
            to = len;
        send_seg(ts, conn, side, seq + from, 0x10, d + from, to - from, now);
    }
}

static struct tcp_stream *g_ts;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_ts == NULL) {
        struct tcp_stream_limits lim = {MAX_FLOWS, MAX_BYTES, 10};
        g_ts = tcp_stream_new(&lim, on_msg, NULL);
        if (g_ts == NULL)
            abort();
    }
    struct tcp_stream *ts = g_ts;
    if (tcp_stream_flows(ts) != 0 || tcp_stream_bytes(ts) != 0)
        abort(); /* the previous input's close_all left something */
    const struct tcp_stream_stats st0 = *tcp_stream_stats(ts);
    /* Where each side's stream is; some start just below the 2^32 wrap. */
    uint32_t cursor[N_CONN][2];
    for (unsigned c = 0; c < N_CONN; c++)
        for (int s = 0; s < 2; s++)
            cursor[c][s] = (c & 1) ? UINT32_MAX - 300 * c - (uint32_t)s * 7 : 1000u * c + 1;
    int64_t now = 1000;
    g_delivered = 0;

    size_t pos = 0;
    while (pos + REC_HDR <= size) {
        const uint8_t *h = data + pos;
        pos += REC_HDR;
        unsigned conn = h[0] & 15;
        int side = (h[0] >> 4) & 1;
        unsigned op = h[0] >> 5;
        uint32_t len = (uint32_t)h[4] << 8 | h[5];
        int16_t delta = (int16_t)(uint16_t)((uint16_t)h[2] << 8 | h[3]);
        uint32_t seq = cursor[conn][side] + (uint32_t)(int32_t)delta;
        now += h[6];

        if (op == 6) {
            tcp_stream_expire(ts, now);
        } else if (op == 7) {
            tcp_stream_close_all(ts);
            if (tcp_stream_flows(ts) != 0 || tcp_stream_bytes(ts) != 0)
                abort();
        } else {
            size_t avail = size - pos;
            uint8_t *buf;
            if (op == 0 || op == 1 || op == 2 || op == 4) {
                if (len > avail)
                    len = (uint32_t)avail;
                buf = malloc(len ? len : 1);
                if (buf == NULL)
                    abort();
                if (len > 0)
                    memcpy(buf, data + pos, len);
                pos += len;
            } else {
                size_t lit = op == 3 ? 1 + 4 * (size_t)(h[1] >> 5) : 8;
                if (lit > avail)
                    lit = avail;
                buf = malloc(len ? len : 1);
                if (buf == NULL)
                    abort();
                /* lit bytes repeated: copy them once, then double. */
                if (lit == 0) {
                    memset(buf, 0, len);
                } else if (len > 0) {
                    uint32_t have = len < lit ? len : (uint32_t)lit;
                    memcpy(buf, data + pos, have);
                    while (have < len) {
                        uint32_t n = have <= len - have ? have : len - have;
                        memcpy(buf + have, buf, n);
                        have += n;
                    }
                }
                pos += lit;
            }
            if (op < 4) {
                uint8_t flags = h[1] & 0x1f;
                /* the SYN sits just before the data */
                send_seg(ts, conn, side, (flags & 0x02) ? seq - 1 : seq, flags, buf, len, now);
            } else {
                burst(ts, conn, side, seq, buf, len, 2 + (h[1] >> 3), h[1] & 7, now);
            }
            free(buf);
            /* The sender moves on past what it sent, holes included. */
            uint32_t end = seq + len;
            if ((int32_t)(end - cursor[conn][side]) > 0)
                cursor[conn][side] = end;
        }
        if (tcp_stream_bytes(ts) > MAX_BYTES || tcp_stream_flows(ts) > MAX_FLOWS)
            abort();
    }
    tcp_stream_close_all(ts);
    const struct tcp_stream_stats *st = tcp_stream_stats(ts);
    if (tcp_stream_flows(ts) != 0 || tcp_stream_bytes(ts) != 0 ||
        st->messages - st0.messages != g_delivered ||
        (st->flows_evicted - st0.flows_evicted) + (st->flows_expired - st0.flows_expired) >
            st->flows_created - st0.flows_created)
        abort();
    return 0;
}
