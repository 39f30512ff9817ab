/*
 * test_dns.c - the DNS wire parser on hand-built messages (header, names,
 * compression pointers and their abuse, truncation at every length,
 * escaping, EDNS and client subnet, mnemonic tables) and on every UDP DNS
 * message of three real captures, checked against tshark's reading.
 *
 * Messages are copied into a heap buffer of exactly their length before
 * parsing, so AddressSanitizer catches any read past the end.
 */
#define _DEFAULT_SOURCE /* pcap.h needs u_char and friends */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include <arpa/inet.h>
#include <pcap/pcap.h>

#include "dns.h"

/* ---- message builder --------------------------------------------------- */

struct msg {
    uint8_t b[4096];
    size_t n;
};

static void put8(struct msg *m, unsigned v)
{
    assert_true(m->n < sizeof(m->b));
    m->b[m->n++] = (uint8_t)v;
}

static void put16(struct msg *m, unsigned v)
{
    put8(m, v >> 8);
    put8(m, v & 0xff);
}

static void put32(struct msg *m, uint32_t v)
{
    put16(m, v >> 16);
    put16(m, v & 0xffff);
}

static void put_bytes(struct msg *m, const void *p, size_t n)
{
    assert_true(m->n + n <= sizeof(m->b));
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

/* Dotted text to labels ("" is the root); no escapes, so tests that need
 * odd bytes write them by hand. */
static void put_name(struct msg *m, const char *dotted)
{
    const char *s = dotted;
    while (*s != '\0') {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        put8(m, (unsigned)l);
        put_bytes(m, s, l);
        s += l;
        if (*s == '.')
            s++;
    }
    put8(m, 0);
}

static void put_ptr(struct msg *m, size_t target)
{
    put8(m, 0xc0 | (unsigned)(target >> 8));
    put8(m, target & 0xff);
}

/* A label of n copies of c. */
static void put_label(struct msg *m, size_t n, char c)
{
    put8(m, (unsigned)n);
    for (size_t i = 0; i < n; i++)
        put8(m, (unsigned char)c);
}

static void put_header(struct msg *m, unsigned id, unsigned flags, unsigned qd, unsigned an,
                       unsigned ns, unsigned ar)
{
    m->n = 0;
    put16(m, id);
    put16(m, flags);
    put16(m, qd);
    put16(m, an);
    put16(m, ns);
    put16(m, ar);
}

/* OPT pseudo-record header (RFC 6891 6.1.2); rdata follows, rdlen given. */
static void put_opt(struct msg *m, unsigned udp_size, unsigned ext_rcode, unsigned version,
                    bool do_bit, unsigned rdlen)
{
    put8(m, 0);
    put16(m, 41);
    put16(m, udp_size);
    put32(m, (uint32_t)ext_rcode << 24 | (uint32_t)version << 16 | (do_bit ? 0x8000u : 0));
    put16(m, rdlen);
}

static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n > 0 ? n : 1);
    assert_non_null(c);
    memcpy(c, p, n);
    return c;
}

static int name_at(const struct msg *m, size_t off, char *out, size_t *end, size_t *out_len)
{
    uint8_t *c = dup_exact(m->b, m->n);
    size_t o = off;
    int rc = dns_parse_name(c, m->n, &o, out, DNS_NAME_TEXT_MAX, out_len);
    free(c);
    if (end != NULL)
        *end = o;
    return rc;
}

static int question_of(const struct msg *m, struct dns_question *q)
{
    uint8_t *c = dup_exact(m->b, m->n);
    int rc = dns_parse_question(c, m->n, q);
    free(c);
    return rc;
}

static int edns_of(const struct msg *m, struct dns_edns *e)
{
    uint8_t *c = dup_exact(m->b, m->n);
    int rc = dns_parse_edns(c, m->n, e);
    free(c);
    return rc;
}

/* ---- header ------------------------------------------------------------- */

static void test_header_flags_counts(void **state)
{
    (void)state;
    struct msg m;
    struct dns_header h;

    /* QR, opcode 5 (UPDATE), AA, TC, RD, RA, Z, AD, CD, rcode 9. */
    put_header(&m, 0xbeef,
               0x8000 | 5u << 11 | 0x0400 | 0x0200 | 0x0100 | 0x0080 | 0x0040 | 0x0020 | 0x0010 | 9,
               1, 2, 3, 65535);
    uint8_t *c = dup_exact(m.b, m.n);
    assert_int_equal(dns_parse_header(c, m.n, &h), DNS_OK);
    free(c);
    assert_int_equal(h.id, 0xbeef);
    assert_true(h.qr && h.aa && h.tc && h.rd && h.ra && h.ad && h.cd);
    assert_int_equal(h.opcode, 5);
    assert_int_equal(h.rcode, 9);
    assert_int_equal(h.qdcount, 1);
    assert_int_equal(h.ancount, 2);
    assert_int_equal(h.nscount, 3);
    assert_int_equal(h.arcount, 65535);

    put_header(&m, 0x0001, 0x0000, 0, 0, 0, 0);
    c = dup_exact(m.b, m.n);
    assert_int_equal(dns_parse_header(c, m.n, &h), DNS_OK);
    assert_false(h.qr || h.aa || h.tc || h.rd || h.ra || h.ad || h.cd);
    assert_int_equal(h.opcode, 0);
    assert_int_equal(h.rcode, 0);

    /* Each flag alone, so no two are swapped. */
    static const struct {
        unsigned bit;
        size_t field;
    } flags[] = {
        {0x8000, offsetof(struct dns_header, qr)}, {0x0400, offsetof(struct dns_header, aa)},
        {0x0200, offsetof(struct dns_header, tc)}, {0x0100, offsetof(struct dns_header, rd)},
        {0x0080, offsetof(struct dns_header, ra)}, {0x0020, offsetof(struct dns_header, ad)},
        {0x0010, offsetof(struct dns_header, cd)},
    };
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        put_header(&m, 1, flags[i].bit, 0, 0, 0, 0);
        assert_int_equal(dns_parse_header(m.b, m.n, &h), DNS_OK);
        const bool *all[] = {&h.qr, &h.aa, &h.tc, &h.rd, &h.ra, &h.ad, &h.cd};
        for (size_t j = 0; j < 7; j++) {
            bool want = j == i;
            assert_int_equal(*all[j], want);
        }
        assert_int_equal(*(const bool *)((const char *)&h + flags[i].field), true);
    }

    /* Shorter than a header: every length. */
    for (size_t n = 0; n < DNS_HEADER_LEN; n++)
        assert_int_equal(dns_parse_header(c, n, &h), DNS_ERR_SHORT);
    free(c);
    assert_int_equal(dns_parse_header(NULL, 12, &h), DNS_ERR_SHORT);
}

/* ---- names --------------------------------------------------------------- */

static void test_name_root(void **state)
{
    (void)state;
    struct msg m;
    char out[DNS_NAME_TEXT_MAX];
    size_t end, olen = 99;
    put_header(&m, 1, 0, 1, 0, 0, 0);
    put_name(&m, "");
    assert_int_equal(name_at(&m, 12, out, &end, &olen), DNS_OK);
    assert_string_equal(out, "");
    assert_int_equal(olen, 0);
    assert_int_equal(end, 13);
}

static void test_name_single_and_multi_label(void **state)
{
    (void)state;
    struct msg m;
    char out[DNS_NAME_TEXT_MAX];
    size_t end, olen;
    put_header(&m, 1, 0, 1, 0, 0, 0);
    put_name(&m, "localhost");
    size_t second = m.n;
    put_name(&m, "a.b-c.example.com");
    put8(&m, 0xee); /* trailing byte must not be consumed */

    assert_int_equal(name_at(&m, 12, out, &end, &olen), DNS_OK);
    assert_string_equal(out, "localhost");
    assert_int_equal(olen, 9);
    assert_int_equal(end, second);

    assert_int_equal(name_at(&m, second, out, &end, &olen), DNS_OK);
    assert_string_equal(out, "a.b-c.example.com");
    assert_int_equal(olen, strlen("a.b-c.example.com"));
    assert_int_equal(end, m.n - 1);

    /* out_len may be omitted. */
    assert_int_equal(name_at(&m, second, out, NULL, NULL), DNS_OK);
    assert_string_equal(out, "a.b-c.example.com");
}

static void test_label_63_ok_64_error(void **state)
{
    (void)state;
    struct msg m;
    char out[DNS_NAME_TEXT_MAX];
    char want[64];
    size_t end, olen;
    put_header(&m, 1, 0, 1, 0, 0, 0);
    put_label(&m, 63, 'x');
    put8(&m, 0);
    memset(want, 'x', 63);
    want[63] = '\0';
    assert_int_equal(name_at(&m, 12, out, &end, &olen), DNS_OK);
    assert_string_equal(out, want);
    assert_int_equal(end, 12 + 1 + 63 + 1);

    /* 64 = 0b01000000: not a length at all but the 0x40 label type. */
    put_header(&m, 1, 0, 1, 0, 0, 0);
    put_label(&m, 64, 'x');
    put8(&m, 0);
    assert_int_equal(name_at(&m, 12, out, &end, &olen), DNS_ERR_LABEL);
    assert_int_equal(end, 12); /* *off untouched on error */
}

static void test_name_255_ok_256_error(void **state)
{
    (void)state;
    struct msg m;
    char out[DNS_NAME_TEXT_MAX];
    size_t end, olen;

    /* 3 x (1 + 63) + (1 + 61) + 1 = 255 wire bytes. */
    put_header(&m, 1, 0, 1, 0, 0, 0);
    put_label(&m, 63, 'a');
    put_label(&m, 63, 'b');
    put_label(&m, 63, 'c');
    put_label(&m, 61, 'd');
    put8(&m, 0);
    assert_int_equal(m.n - 12, 255);
    assert_int_equal(name_at(&m, 12, out, &end, &olen), DNS_OK);
    assert_int_equal(olen, 63 * 3 + 61 + 3);
    assert_int_equal(strlen(out), olen);
    assert_int_equal(out[63], '.');
    assert_int_equal(out[olen - 1], 'd');
    assert_int_equal(end, m.n);

    /* One more byte in the last label: 256. */
    put_header(&m, 1, 0, 1, 0, 0, 0);
    put_label(&m, 63, 'a');
    put_label(&m, 63, 'b');
    put_label(&m, 63, 'c');
    put_label(&m, 62, 'd');
    put8(&m, 0);
    assert_int_equal(m.n - 12, 256);
    assert_int_equal(name_at(&m, 12, out, &end, &olen), DNS_ERR_NAME_LEN);
    assert_string_equal(out, ""); /* no half-written name on error */

    /* Many one-byte labels: 127 x 2 + 1 = 255 ok, 128 x 2 + 1 = 257 not. */
    put_header(&m, 1, 0, 1, 0, 0, 0);
    for (int i = 0; i < 127; i++)
        put_label(&m, 1, 'z');
    put8(&m, 0);
    assert_int_equal(name_at(&m, 12, out, &end, &olen), DNS_OK);
    assert_int_equal(olen, 127 * 2 - 1);
    put_header(&m, 1, 0, 1, 0, 0, 0);
    for (int i = 0; i < 128; i++)
        put_label(&m, 1, 'z');
    put8(&m, 0);
    assert_int_equal(name_at(&m, 12, out, &end, &olen), DNS_ERR_NAME_LEN);

    /* The limit counts the name as decompressed: 255 through a pointer. */
    put_header(&m, 1, 0, 1, 0, 0, 0);
    put_label(&m, 63, 'a');
    put_label(&m, 63, 'b');
    put8(&m, 0);
    size_t tail = m.n;
    put_label(&m, 63, 'c');
    put_label(&m, 61, 'd');
    put_ptr(&m, 12);
    assert_int_equal(name_at(&m, tail, out, &end, &olen), DNS_OK);
    assert_int_equal(olen, 63 * 3 + 61 + 3);
    assert_int_equal(end, m.n);
    put_header(&m, 1, 0, 1, 0, 0, 0);
    put_label(&m, 63, 'a');
    put_label(&m, 63, 'b');
    put8(&m, 0);
    tail = m.n;
    put_label(&m, 63, 'c');
    put_label(&m, 62, 'd');
    put_ptr(&m, 12);
    assert_int_equal(name_at(&m, tail, out, &end, &olen), DNS_ERR_NAME_LEN);
}

static void test_pointer_backward(void **state)
{
    (void)state;
    struct msg m;
    char out[DNS_NAME_TEXT_MAX];
    size_t end, olen;
    put_header(&m, 1, 0x8000, 1, 1, 0, 0);
    put_name(&m, "example.com"); /* 12 */
    put16(&m, 1);
    put16(&m, 1);
    size_t www = m.n;
    put_label(&m, 3, 'w');
    put_ptr(&m, 12);
    size_t bare = m.n;
    put_ptr(&m, 12 + 8); /* into the middle: "com" */
    size_t chained = m.n;
    put_label(&m, 1, 'x');
    put_ptr(&m, www);
    put8(&m, 0xee);

    assert_int_equal(name_at(&m, www, out, &end, &olen), DNS_OK);
    assert_string_equal(out, "www.example.com");
    assert_int_equal(end, www + 4 + 2);
    assert_int_equal(name_at(&m, bare, out, &end, &olen), DNS_OK);
    assert_string_equal(out, "com");
    assert_int_equal(end, bare + 2);
    assert_int_equal(name_at(&m, chained, out, &end, &olen), DNS_OK);
    assert_string_equal(out, "x.www.example.com");
    assert_int_equal(end, chained + 2 + 2);

    /* A pointer to the root octet of an earlier name. */
    put_header(&m, 1, 0, 1, 0, 0, 0);
    put_name(&m, "");
    size_t p = m.n;
    put_ptr(&m, 12);
    assert_int_equal(name_at(&m, p, out, &end, &olen), DNS_OK);
    assert_string_equal(out, "");
    assert_int_equal(end, p + 2);
}

static void test_pointer_self_forward_past_end(void **state)
{
    (void)state;
    struct msg m;
    char out[DNS_NAME_TEXT_MAX];
    size_t end;

    put_header(&m, 1, 0, 1, 0, 0, 0);
    put_ptr(&m, 12); /* to itself */
    assert_int_equal(name_at(&m, 12, out, &end, NULL), DNS_ERR_POINTER);
    assert_int_equal(end, 12);

    put_header(&m, 1, 0, 1, 0, 0, 0);
    put_label(&m, 1, 'a');
    put_ptr(&m, 14); /* the pointer's own offset, after a label */
    assert_int_equal(name_at(&m, 12, out, &end, NULL), DNS_ERR_POINTER);

    put_header(&m, 1, 0, 1, 0, 0, 0);
    put_ptr(&m, 16); /* forward, to a valid name */
    put16(&m, 0);
    put_name(&m, "fwd");
    assert_int_equal(name_at(&m, 12, out, &end, NULL), DNS_ERR_POINTER);

    put_header(&m, 1, 0, 1, 0, 0, 0);
    put_ptr(&m, 0x3fff); /* past the end */
    put8(&m, 0);
    assert_int_equal(name_at(&m, 12, out, &end, NULL), DNS_ERR_POINTER);

    /* Pointer whose second byte is missing. */
    put_header(&m, 1, 0, 1, 0, 0, 0);
    put8(&m, 0xc0);
    assert_int_equal(name_at(&m, 12, out, &end, NULL), DNS_ERR_SHORT);
}

/* A name "a" at 12, then pointer k at 15 + 2k pointing at pointer k-1
 * (pointer 0 at the name): starting at pointer k follows k + 1 pointers. */
static void build_chain(struct msg *m, size_t count)
{
    put_header(m, 1, 0, 1, 0, 0, 0);
    put_name(m, "a");
    size_t prev = 12;
    for (size_t k = 0; k < count; k++) {
        size_t here = m->n;
        put_ptr(m, prev);
        prev = here;
    }
}

static void test_pointer_chain_limit(void **state)
{
    (void)state;
    struct msg m;
    char out[DNS_NAME_TEXT_MAX];
    size_t end;
    build_chain(&m, DNS_MAX_POINTERS + 1);
    for (size_t k = 0; k < DNS_MAX_POINTERS; k++) {
        size_t start = 15 + 2 * k;
        assert_int_equal(name_at(&m, start, out, &end, NULL), DNS_OK);
        assert_string_equal(out, "a");
        assert_int_equal(end, start + 2);
    }
    /* The 65th pointer in a row is one too many. */
    size_t last = 15 + 2 * DNS_MAX_POINTERS;
    assert_int_equal(name_at(&m, last, out, &end, NULL), DNS_ERR_LOOP);
    assert_int_equal(end, last);
}

static void test_pointer_loops(void **state)
{
    (void)state;
    struct msg m;
    char out[DNS_NAME_TEXT_MAX];
    size_t end;

    /* Mutual A -> B -> A: one of the two must point forward. */
    put_header(&m, 1, 0, 1, 0, 0, 0);
    size_t b = m.n;
    put_label(&m, 1, 'b');
    size_t b_ptr = m.n;
    put_ptr(&m, 0); /* patched below to A */
    size_t a = m.n;
    put_ptr(&m, b);
    m.b[b_ptr] = (uint8_t)(0xc0 | a >> 8);
    m.b[b_ptr + 1] = (uint8_t)a;
    assert_int_equal(name_at(&m, a, out, &end, NULL), DNS_ERR_POINTER);
    assert_int_equal(name_at(&m, b, out, &end, NULL), DNS_ERR_POINTER);

    /* Label then a pointer back to it: backward but endless.  With a
     * one-byte label the pointer count runs out first... */
    put_header(&m, 1, 0, 1, 0, 0, 0);
    put_label(&m, 1, 'x');
    put_ptr(&m, 12);
    assert_int_equal(name_at(&m, 12, out, &end, NULL), DNS_ERR_LOOP);

    /* ...with a longer one the 255-byte limit does. */
    put_header(&m, 1, 0, 1, 0, 0, 0);
    put_label(&m, 20, 'y');
    put_ptr(&m, 12);
    assert_int_equal(name_at(&m, 12, out, &end, NULL), DNS_ERR_NAME_LEN);

    /* A pointer into the middle of an earlier label, read there as a
     * shorter label followed by the same pointer: backward, yet endless. */
    put_header(&m, 1, 0, 1, 0, 0, 0);
    put8(&m, 2); /* 12: label of two bytes "\001q" */
    put8(&m, 1); /* 13: also a label of one byte "q" */
    put8(&m, 'q');
    put_ptr(&m, 13); /* 15 */
    assert_int_equal(name_at(&m, 12, out, &end, NULL), DNS_ERR_LOOP);
    assert_int_equal(name_at(&m, 13, out, &end, NULL), DNS_ERR_LOOP);
}

static void test_reserved_label_types(void **state)
{
    (void)state;
    static const uint8_t types[] = {0x40, 0x41, 0x7f, 0x80, 0x81, 0xbf};
    struct msg m;
    char out[DNS_NAME_TEXT_MAX];
    size_t end;
    for (size_t i = 0; i < sizeof(types); i++) {
        put_header(&m, 1, 0, 1, 0, 0, 0);
        put8(&m, types[i]);
        put8(&m, 0);
        put_name(&m, "pad.pad.pad");
        assert_int_equal(name_at(&m, 12, out, &end, NULL), DNS_ERR_LABEL);
        /* Also after a valid label, and behind a pointer. */
        put_header(&m, 1, 0, 1, 0, 0, 0);
        put8(&m, types[i]);
        put8(&m, 0);
        size_t p = m.n;
        put_label(&m, 2, 'o');
        put_ptr(&m, 12);
        assert_int_equal(name_at(&m, p, out, &end, NULL), DNS_ERR_LABEL);
    }
}

static void test_escaping_and_case(void **state)
{
    (void)state;
    struct msg m;
    char out[DNS_NAME_TEXT_MAX];
    size_t end, olen;
    static const uint8_t odd[] = {'a',  '.', 'b', '\\', 'c', 0x00, 0x7f,
                                  0xff, ' ', '"', 0x1f, '~', 0x80, 'Z'};
    put_header(&m, 1, 0, 1, 0, 0, 0);
    put8(&m, sizeof(odd));
    put_bytes(&m, odd, sizeof(odd));
    put_name(&m, "WwW.ExAmPle.COM");
    assert_int_equal(name_at(&m, 12, out, &end, &olen), DNS_OK);
    const char *want = "a\\.b\\\\c\\000\\127\\255 \"\\031~\\128Z.WwW.ExAmPle.COM";
    assert_string_equal(out, want);
    assert_int_equal(olen, strlen(want));

    /* Worst case: 255 wire bytes all escaped fit DNS_NAME_TEXT_MAX. */
    put_header(&m, 1, 0, 1, 0, 0, 0);
    put_label(&m, 63, '\xff');
    put_label(&m, 63, '\x01');
    put_label(&m, 63, '.');
    put_label(&m, 61, '\\');
    put8(&m, 0);
    assert_int_equal(name_at(&m, 12, out, &end, &olen), DNS_OK);
    assert_int_equal(olen, 63 * 4 * 2 + 63 * 2 + 61 * 2 + 3);
    assert_int_equal(strlen(out), olen);
    assert_true(olen < DNS_NAME_TEXT_MAX);
}

/* A buffer smaller than the name is refused, never overrun. */
static void test_small_output_buffer(void **state)
{
    (void)state;
    struct msg m;
    put_header(&m, 1, 0, 1, 0, 0, 0);
    put_name(&m, "abc.de");
    for (size_t sz = 1; sz <= 8; sz++) {
        char *out = malloc(sz);
        assert_non_null(out);
        size_t off = 12, olen = 0;
        int rc = dns_parse_name(m.b, m.n, &off, out, sz, &olen);
        if (sz >= 7) {
            assert_int_equal(rc, DNS_OK);
            assert_string_equal(out, "abc.de");
        } else {
            assert_int_equal(rc, DNS_ERR_NAME_LEN);
            assert_int_equal(off, 12);
        }
        free(out);
    }
    put_header(&m, 1, 0, 1, 0, 0, 0);
    put8(&m, 1);
    put8(&m, 0);
    put8(&m, 0);
    char out4[4], out5[5];
    size_t off = 12;
    assert_int_equal(dns_parse_name(m.b, m.n, &off, out4, sizeof(out4), NULL), DNS_ERR_NAME_LEN);
    assert_int_equal(dns_parse_name(m.b, m.n, &off, out5, sizeof(out5), NULL), DNS_OK);
    assert_string_equal(out5, "\\000");
    off = 12;
    assert_int_equal(dns_parse_name(m.b, m.n, &off, out5, 0, NULL), DNS_ERR_SHORT);
}

/* ---- question ------------------------------------------------------------ */

static void test_question(void **state)
{
    (void)state;
    struct msg m;
    struct dns_question q;
    put_header(&m, 0x1234, 0x0100, 1, 0, 0, 0);
    put_name(&m, "Mail.Example.org");
    put16(&m, 15);
    put16(&m, 3); /* CHAOS, to see it is not assumed */
    put8(&m, 0xee);
    assert_int_equal(question_of(&m, &q), DNS_OK);
    assert_string_equal(q.name, "Mail.Example.org");
    assert_int_equal(q.name_len, 16);
    assert_int_equal(q.qtype, 15);
    assert_int_equal(q.qclass, 3);
    assert_int_equal(q.end, m.n - 1);

    /* qtype/qclass cut short. */
    for (size_t cut = 1; cut <= 4; cut++) {
        struct msg t = m;
        t.n = m.n - 1 - cut;
        assert_int_equal(question_of(&t, &q), DNS_ERR_SHORT);
    }

    put_header(&m, 1, 0x8000, 0, 0, 0, 0);
    put_name(&m, "ignored");
    put16(&m, 1);
    put16(&m, 1);
    assert_int_equal(question_of(&m, &q), DNS_ERR_NO_QUESTION);

    /* Root question, as in a priming query. */
    put_header(&m, 1, 0, 1, 0, 0, 0);
    put_name(&m, "");
    put16(&m, 2);
    put16(&m, 1);
    assert_int_equal(question_of(&m, &q), DNS_OK);
    assert_string_equal(q.name, "");
    assert_int_equal(q.name_len, 0);
    assert_int_equal(q.qtype, 2);
    assert_int_equal(q.end, 17);

    /* A question whose name is a (necessarily bad) pointer. */
    put_header(&m, 1, 0, 1, 0, 0, 0);
    put_ptr(&m, 12);
    put16(&m, 1);
    put16(&m, 1);
    assert_int_equal(question_of(&m, &q), DNS_ERR_POINTER);

    put_header(&m, 1, 0, 1, 0, 0, 0);
    m.n = 11;
    assert_int_equal(question_of(&m, &q), DNS_ERR_SHORT);
}

/* ---- truncation ------------------------------------------------------------ */

/* A response using every feature: compressed names in all sections, glue,
 * and an OPT record with client subnet last. */
static void build_full_response(struct msg *m)
{
    put_header(m, 0x4242, 0x8180, 1, 2, 1, 2);
    put_name(m, "www.example.com"); /* 12; "example.com" at 16 */
    put16(m, 1);
    put16(m, 1);
    put_ptr(m, 12); /* CNAME */
    put16(m, 5);
    put16(m, 1);
    put32(m, 300);
    put16(m, 6);
    size_t web = m->n;
    put_label(m, 3, 'w');
    put_ptr(m, 16);
    put_ptr(m, web); /* A of the CNAME target */
    put16(m, 1);
    put16(m, 1);
    put32(m, 60);
    put16(m, 4);
    put32(m, 0xc0000201);
    put_ptr(m, 16); /* NS */
    put16(m, 2);
    put16(m, 1);
    put32(m, 3600);
    put16(m, 6);
    size_t ns1 = m->n;
    put_name(m, "ns1");
    m->n--; /* replace the root octet by a pointer */
    put_ptr(m, 16);
    put_ptr(m, ns1); /* glue */
    put16(m, 1);
    put16(m, 1);
    put32(m, 3600);
    put16(m, 4);
    put32(m, 0xc6336401);
    put_opt(m, 1232, 0, 0, true, 4 + 7);
    put16(m, 8);
    put16(m, 7);
    put16(m, 1);
    put8(m, 24);
    put8(m, 0);
    put8(m, 198);
    put8(m, 51);
    put8(m, 100);
}

/* Field by field: the structs' padding holds whatever was on the stack. */
static void assert_same_header(const struct dns_header *a, const struct dns_header *b)
{
    assert_int_equal(a->id, b->id);
    assert_true(a->qr == b->qr && a->aa == b->aa && a->tc == b->tc && a->rd == b->rd &&
                a->ra == b->ra && a->ad == b->ad && a->cd == b->cd);
    assert_int_equal(a->opcode, b->opcode);
    assert_int_equal(a->rcode, b->rcode);
    assert_int_equal(a->qdcount, b->qdcount);
    assert_int_equal(a->ancount, b->ancount);
    assert_int_equal(a->nscount, b->nscount);
    assert_int_equal(a->arcount, b->arcount);
}

static void assert_same_edns(const struct dns_edns *a, const struct dns_edns *b)
{
    assert_int_equal(a->present, b->present);
    assert_int_equal(a->version, b->version);
    assert_int_equal(a->do_bit, b->do_bit);
    assert_int_equal(a->udp_size, b->udp_size);
    assert_int_equal(a->ext_rcode, b->ext_rcode);
    assert_int_equal(a->has_ecs, b->has_ecs);
    assert_int_equal(a->ecs_family, b->ecs_family);
    assert_int_equal(a->ecs_source_prefix, b->ecs_source_prefix);
    assert_int_equal(a->ecs_scope_prefix, b->ecs_scope_prefix);
    assert_memory_equal(a->ecs_addr, b->ecs_addr, sizeof(a->ecs_addr));
}

static void test_truncated_every_length(void **state)
{
    (void)state;
    struct msg m;
    build_full_response(&m);
    struct dns_header fh;
    struct dns_question fq;
    struct dns_edns fe;
    assert_int_equal(dns_parse_header(m.b, m.n, &fh), DNS_OK);
    assert_int_equal(dns_parse_question(m.b, m.n, &fq), DNS_OK);
    assert_string_equal(fq.name, "www.example.com");
    assert_int_equal(dns_parse_edns(m.b, m.n, &fe), DNS_OK);
    assert_true(fe.present && fe.has_ecs && fe.do_bit);
    assert_int_equal(fe.udp_size, 1232);
    assert_int_equal(fe.ecs_family, 1);
    assert_int_equal(fe.ecs_source_prefix, 24);
    static const uint8_t want_addr[16] = {198, 51, 100};
    assert_memory_equal(fe.ecs_addr, want_addr, 16);

    /* Names at every offset of the whole message, as the reference. */
    static char full_names[4096][DNS_NAME_TEXT_MAX];
    static int full_rc[4096];
    static size_t full_end[4096];
    for (size_t o = 0; o < m.n; o++) {
        size_t off = o;
        full_rc[o] = dns_parse_name(m.b, m.n, &off, full_names[o], DNS_NAME_TEXT_MAX, NULL);
        full_end[o] = off;
    }

    for (size_t len = 0; len <= m.n; len++) {
        uint8_t *c = dup_exact(m.b, len);
        struct dns_header h;
        int rc = dns_parse_header(c, len, &h);
        if (len < DNS_HEADER_LEN) {
            assert_int_equal(rc, DNS_ERR_SHORT);
        } else {
            assert_int_equal(rc, DNS_OK);
            assert_same_header(&h, &fh);
        }

        struct dns_question q;
        rc = dns_parse_question(c, len, &q);
        if (len >= fq.end) {
            assert_int_equal(rc, DNS_OK);
            assert_string_equal(q.name, fq.name);
            assert_int_equal(q.qtype, fq.qtype);
            assert_int_equal(q.end, fq.end);
        } else {
            assert_true(rc < 0);
        }

        struct dns_edns e;
        rc = dns_parse_edns(c, len, &e);
        if (len == m.n) {
            assert_int_equal(rc, DNS_OK);
            assert_same_edns(&e, &fe);
        } else {
            /* The OPT record is last: any cut loses part of it. */
            assert_true(rc < 0);
            assert_false(e.present);
        }

        for (size_t o = 0; o < len; o++) {
            char out[DNS_NAME_TEXT_MAX];
            size_t off = o;
            rc = dns_parse_name(c, len, &off, out, sizeof(out), NULL);
            if (rc == DNS_OK) {
                assert_int_equal(full_rc[o], DNS_OK);
                assert_string_equal(out, full_names[o]);
                assert_int_equal(off, full_end[o]);
            } else {
                assert_true(rc < 0);
                assert_int_equal(off, o);
            }
        }
        free(c);
    }
}

/* ---- EDNS -------------------------------------------------------------------- */

static void put_query(struct msg *m, unsigned arcount, const char *name, unsigned qtype)
{
    put_header(m, 0xabcd, 0x0100, 1, 0, 0, arcount);
    put_name(m, name);
    put16(m, qtype);
    put16(m, 1);
}

static void test_edns_basic(void **state)
{
    (void)state;
    struct msg m;
    struct dns_edns e;
    put_query(&m, 1, "example.net", 1);
    put_opt(&m, 4096, 0, 0, false, 0);
    assert_int_equal(edns_of(&m, &e), DNS_OK);
    assert_true(e.present);
    assert_false(e.do_bit);
    assert_false(e.has_ecs);
    assert_int_equal(e.udp_size, 4096);
    assert_int_equal(e.version, 0);
    assert_int_equal(e.ext_rcode, 0);

    /* Version 1, DO, odd UDP size, extended RCODE 1 => BADVERS (16) with a
     * header RCODE of 0; unknown options and a cookie are skipped. */
    put_header(&m, 0xabcd, 0x8000, 1, 0, 0, 1);
    put_name(&m, "example.net");
    put16(&m, 1);
    put16(&m, 1);
    put_opt(&m, 1232, 1, 1, true, 4 + 8 + 4 + 0);
    put16(&m, 10); /* COOKIE */
    put16(&m, 8);
    put32(&m, 0x01020304);
    put32(&m, 0x05060708);
    put16(&m, 65001); /* unknown, empty */
    put16(&m, 0);
    assert_int_equal(edns_of(&m, &e), DNS_OK);
    assert_true(e.present);
    assert_true(e.do_bit);
    assert_int_equal(e.udp_size, 1232);
    assert_int_equal(e.version, 1);
    assert_int_equal(e.ext_rcode, 1);
    assert_false(e.has_ecs);
    struct dns_header h;
    assert_int_equal(dns_parse_header(m.b, m.n, &h), DNS_OK);
    assert_string_equal(dns_rcode_name((unsigned)e.ext_rcode << 4 | h.rcode), "BADVERS");

    /* Z bits other than DO are not DO. */
    put_query(&m, 1, "example.net", 1);
    put8(&m, 0);
    put16(&m, 41);
    put16(&m, 512);
    put32(&m, 0x00007fff);
    put16(&m, 0);
    assert_int_equal(edns_of(&m, &e), DNS_OK);
    assert_true(e.present);
    assert_false(e.do_bit);
}

static void test_edns_ecs_v4_v6(void **state)
{
    (void)state;
    struct msg m;
    struct dns_edns e;

    put_query(&m, 1, "example.net", 1);
    put_opt(&m, 1232, 0, 0, false, 4 + 4 + 3);
    put16(&m, 8);
    put16(&m, 7);
    put16(&m, 1);
    put8(&m, 24);
    put8(&m, 0);
    put8(&m, 192);
    put8(&m, 0);
    put8(&m, 2);
    assert_int_equal(edns_of(&m, &e), DNS_OK);
    assert_true(e.present && e.has_ecs);
    assert_int_equal(e.ecs_family, 1);
    assert_int_equal(e.ecs_source_prefix, 24);
    assert_int_equal(e.ecs_scope_prefix, 0);
    static const uint8_t v4[16] = {192, 0, 2};
    assert_memory_equal(e.ecs_addr, v4, 16);

    /* IPv6 /56 in a response with scope /48: seven address bytes. */
    put_header(&m, 0xabcd, 0x8180, 1, 0, 0, 1);
    put_name(&m, "example.net");
    put16(&m, 28);
    put16(&m, 1);
    static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56};
    put_opt(&m, 4096, 0, 0, true, 4 + 4 + 7);
    put16(&m, 8);
    put16(&m, 4 + 7);
    put16(&m, 2);
    put8(&m, 56);
    put8(&m, 48);
    put_bytes(&m, v6, 7);
    assert_int_equal(edns_of(&m, &e), DNS_OK);
    assert_true(e.present && e.has_ecs && e.do_bit);
    assert_int_equal(e.ecs_family, 2);
    assert_int_equal(e.ecs_source_prefix, 56);
    assert_int_equal(e.ecs_scope_prefix, 48);
    assert_memory_equal(e.ecs_addr, v6, 16);

    /* Source /0: no address bytes at all. */
    put_query(&m, 1, "example.net", 1);
    put_opt(&m, 1232, 0, 0, false, 4 + 4);
    put16(&m, 8);
    put16(&m, 4);
    put16(&m, 2);
    put8(&m, 0);
    put8(&m, 0);
    assert_int_equal(edns_of(&m, &e), DNS_OK);
    assert_true(e.has_ecs);
    static const uint8_t zero[16] = {0};
    assert_memory_equal(e.ecs_addr, zero, 16);
}

/* Malformed options: ECS the parser cannot use is ignored (the OPT record
 * still counts); options overrunning the rdata make the message bad. */
static void test_edns_malformed_options(void **state)
{
    (void)state;
    struct msg m;
    struct dns_edns e;
    static const struct {
        unsigned family, source, addr_len;
    } bad[] = {
        {3, 8, 1},   /* unknown family */
        {1, 24, 5},  /* IPv4 address longer than 4 */
        {2, 56, 17}, /* IPv6 address longer than 16 */
        {1, 33, 4},  /* prefix longer than the family */
        {2, 129, 16},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        put_query(&m, 1, "example.net", 1);
        put_opt(&m, 1232, 0, 0, false, 4 + 4 + bad[i].addr_len);
        put16(&m, 8);
        put16(&m, 4 + bad[i].addr_len);
        put16(&m, bad[i].family);
        put8(&m, bad[i].source);
        put8(&m, 0);
        for (unsigned k = 0; k < bad[i].addr_len; k++)
            put8(&m, 0xaa);
        assert_int_equal(edns_of(&m, &e), DNS_OK);
        assert_true(e.present);
        assert_false(e.has_ecs);
    }

    /* ECS option shorter than its fixed part. */
    put_query(&m, 1, "example.net", 1);
    put_opt(&m, 1232, 0, 0, false, 4 + 3);
    put16(&m, 8);
    put16(&m, 3);
    put16(&m, 1);
    put8(&m, 0);
    assert_int_equal(edns_of(&m, &e), DNS_OK);
    assert_true(e.present);
    assert_false(e.has_ecs);

    /* Option length past the rdata (the message itself goes on). */
    put_query(&m, 1, "example.net", 1);
    put_opt(&m, 1232, 0, 0, false, 4 + 2);
    put16(&m, 8);
    put16(&m, 7);
    put16(&m, 1);
    put8(&m, 24);
    put8(&m, 0);
    put8(&m, 192);
    put8(&m, 0);
    put8(&m, 2);
    assert_int_equal(edns_of(&m, &e), DNS_ERR_SHORT);
    assert_false(e.present);

    /* Option header cut by the rdata end. */
    put_query(&m, 1, "example.net", 1);
    put_opt(&m, 1232, 0, 0, false, 3);
    put16(&m, 8);
    put8(&m, 0);
    assert_int_equal(edns_of(&m, &e), DNS_ERR_SHORT);

    /* rdlength past the message. */
    put_query(&m, 1, "example.net", 1);
    put_opt(&m, 1232, 0, 0, false, 40);
    put16(&m, 8);
    assert_int_equal(edns_of(&m, &e), DNS_ERR_SHORT);
}

static void test_edns_absent(void **state)
{
    (void)state;
    struct msg m;
    struct dns_edns e;
    memset(&e, 0xa5, sizeof(e));
    put_query(&m, 0, "example.net", 1);
    assert_int_equal(edns_of(&m, &e), DNS_OK);
    assert_false(e.present);
    assert_false(e.has_ecs);

    /* An additional A record but no OPT. */
    put_query(&m, 1, "example.net", 1);
    put_ptr(&m, 12);
    put16(&m, 1);
    put16(&m, 1);
    put32(&m, 1);
    put16(&m, 4);
    put32(&m, 0x7f000001);
    assert_int_equal(edns_of(&m, &e), DNS_OK);
    assert_false(e.present);

    /* Type 41 in the answer section is not the OPT pseudo-record. */
    put_header(&m, 1, 0x8000, 1, 1, 0, 0);
    put_name(&m, "example.net");
    put16(&m, 1);
    put16(&m, 1);
    put_opt(&m, 4096, 0, 0, true, 0);
    assert_int_equal(edns_of(&m, &e), DNS_OK);
    assert_false(e.present);

    /* Shorter than a header. */
    m.n = 5;
    assert_int_equal(edns_of(&m, &e), DNS_ERR_SHORT);
    assert_false(e.present);
}

static void test_edns_after_compressed_answers(void **state)
{
    (void)state;
    struct msg m;
    struct dns_edns e;
    build_full_response(&m);
    assert_int_equal(edns_of(&m, &e), DNS_OK);
    assert_true(e.present && e.has_ecs);
    assert_int_equal(e.udp_size, 1232);

    /* Answers with long uncompressed names and big rdata, then the OPT
     * second in the additional section. */
    put_header(&m, 7, 0x8180, 1, 3, 0, 2);
    put_name(&m, "a.very.long.name.in.the.question.example");
    put16(&m, 16);
    put16(&m, 1);
    for (int i = 0; i < 3; i++) {
        put_ptr(&m, 12 + 2); /* "very.long..." */
        put16(&m, 16);
        put16(&m, 1);
        put32(&m, 0);
        put16(&m, 200);
        for (int k = 0; k < 200; k++)
            put8(&m, (unsigned)k);
    }
    put_name(&m, "glue.example");
    put16(&m, 28);
    put16(&m, 1);
    put32(&m, 0);
    put16(&m, 16);
    for (int k = 0; k < 16; k++)
        put8(&m, 0x20);
    put_opt(&m, 1400, 0, 0, true, 0);
    assert_int_equal(edns_of(&m, &e), DNS_OK);
    assert_true(e.present && e.do_bit);
    assert_int_equal(e.udp_size, 1400);

    /* A bad name in an answer is an error, not a skipped record. */
    put_header(&m, 7, 0x8180, 1, 1, 0, 1);
    put_name(&m, "example");
    put16(&m, 1);
    put16(&m, 1);
    put_ptr(&m, 200); /* forward */
    put16(&m, 1);
    put16(&m, 1);
    put32(&m, 0);
    put16(&m, 4);
    put32(&m, 0);
    put_opt(&m, 1400, 0, 0, true, 0);
    assert_int_equal(edns_of(&m, &e), DNS_ERR_POINTER);
    assert_false(e.present);
}

static void test_edns_absurd_counts(void **state)
{
    (void)state;
    struct msg m;
    struct dns_edns e;
    static const unsigned counts[][4] = {
        {1, 65535, 0, 0},
        {65535, 0, 0, 0},
        {1, 0, 65535, 0},
        {1, 0, 0, 65535},
        {65535, 65535, 65535, 65535},
    };
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        put_header(&m, 1, 0x8000, counts[i][0], counts[i][1], counts[i][2], counts[i][3]);
        put_name(&m, "example.net");
        put16(&m, 1);
        put16(&m, 1);
        put_opt(&m, 4096, 0, 0, true, 0);
        assert_int_equal(edns_of(&m, &e), DNS_ERR_COUNTS);
        assert_false(e.present);
    }

    /* Counts that fit the length but records that are not there. */
    put_header(&m, 1, 0x8000, 1, 2, 0, 0);
    put_name(&m, "example.net");
    put16(&m, 1);
    put16(&m, 1);
    for (int i = 0; i < 22; i++)
        put8(&m, 0xc0); /* pointer to offset 0xc0, forward */
    assert_int_equal(edns_of(&m, &e), DNS_ERR_POINTER);
    put_header(&m, 1, 0x8000, 1, 2, 0, 0);
    put_name(&m, "example.net");
    put16(&m, 1);
    put16(&m, 1);
    put_ptr(&m, 12);
    put16(&m, 1);
    put16(&m, 1);
    put32(&m, 0);
    put16(&m, 30); /* rdata runs past the end */
    for (int i = 0; i < 11; i++)
        put8(&m, 0);
    assert_int_equal(edns_of(&m, &e), DNS_ERR_SHORT);
}

/* Names skipped on the way to the OPT record obey the same rules. */
static void test_edns_bad_names_on_the_way(void **state)
{
    (void)state;
    struct msg m;
    struct dns_edns e;

    /* Reserved label type in an answer's owner name. */
    put_header(&m, 1, 0x8000, 1, 1, 0, 1);
    put_name(&m, "example");
    put16(&m, 1);
    put16(&m, 1);
    put8(&m, 0x80);
    put8(&m, 0);
    put16(&m, 1);
    put16(&m, 1);
    put32(&m, 0);
    put16(&m, 0);
    put_opt(&m, 1232, 0, 0, false, 0);
    assert_int_equal(edns_of(&m, &e), DNS_ERR_LABEL);
    assert_false(e.present);

    /* An authority owner name of 256 wire bytes. */
    put_header(&m, 1, 0x8000, 1, 0, 1, 1);
    put_name(&m, "example");
    put16(&m, 1);
    put16(&m, 1);
    for (int i = 0; i < 4; i++)
        put_label(&m, i < 3 ? 63 : 62, 'n');
    put8(&m, 0);
    put16(&m, 2);
    put16(&m, 1);
    put32(&m, 0);
    put16(&m, 0);
    put_opt(&m, 1232, 0, 0, false, 0);
    assert_int_equal(edns_of(&m, &e), DNS_ERR_NAME_LEN);

    /* Question name running off the end (counts alone look fine). */
    put_header(&m, 1, 0, 1, 0, 0, 0);
    put8(&m, 63);
    put_bytes(&m, "abcdefgh", 8);
    assert_int_equal(edns_of(&m, &e), DNS_ERR_SHORT);

    /* Question name complete, type and class cut. */
    put_header(&m, 1, 0, 1, 0, 0, 0);
    put_name(&m, "abcdefg");
    put16(&m, 1);
    assert_int_equal(edns_of(&m, &e), DNS_ERR_SHORT);

    /* Second question bad: every question is skipped, not only the first. */
    put_header(&m, 1, 0, 2, 0, 0, 1);
    put_name(&m, "one");
    put16(&m, 1);
    put16(&m, 1);
    put8(&m, 0x40);
    put8(&m, 0);
    put16(&m, 1);
    put16(&m, 1);
    put_opt(&m, 1232, 0, 0, false, 0);
    assert_int_equal(edns_of(&m, &e), DNS_ERR_LABEL);
}

/* 65535 bytes of minimal records before the OPT: one pass, no rescans. */
static void test_edns_many_records(void **state)
{
    (void)state;
    size_t nrec = (65535 - 12 - 17 - 11) / 13;
    size_t len = 12 + 17 + nrec * 13 + 11;
    uint8_t *b = calloc(1, len);
    assert_non_null(b);
    b[5] = 1; /* qdcount */
    b[6] = (uint8_t)(nrec >> 8);
    b[7] = (uint8_t)nrec;
    b[11] = 1; /* arcount */
    size_t o = 12;
    static const uint8_t qn[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'n', 'e', 't', 0};
    memcpy(b + o, qn, sizeof(qn));
    o += sizeof(qn);
    b[o + 1] = 1, b[o + 3] = 1, o += 4;
    for (size_t i = 0; i < nrec; i++) {
        /* pointer to the question name, A IN, ttl 0, rdlength 1, one byte */
        b[o] = 0xc0, b[o + 1] = 12, b[o + 3] = 1, b[o + 5] = 1, b[o + 11] = 1;
        o += 13;
    }
    b[o + 2] = 41;   /* root name, type OPT */
    b[o + 3] = 0x10; /* UDP size 4096 */
    o += 11;
    assert_int_equal(o, len);
    struct dns_edns e;
    uint8_t *c = dup_exact(b, len);
    assert_int_equal(dns_parse_edns(c, len, &e), DNS_OK);
    assert_true(e.present);
    assert_int_equal(e.udp_size, 4096);
    free(c);
    free(b);
}

/* ---- mnemonics ------------------------------------------------------------------ */

/* The four DNS ports of SPEC 3.4 and no other, over every port. */
static void test_dns_ports(void **state)
{
    (void)state;
    unsigned n = 0;
    for (uint32_t p = 0; p <= 0xffff; p++) {
        bool want = p == 53 || p == 5353 || p == 5355 || p == 53000;
        if (dns_is_port((uint16_t)p) != want)
            fail_msg("port %u: dns_is_port says %d", p, !want);
        n += want;
    }
    assert_int_equal(n, 4);
}

static void test_mnemonics(void **state)
{
    (void)state;
    static const struct {
        unsigned v;
        const char *name;
    } rc[] = {{0, "NOERROR"},  {1, "FORMERR"}, {2, "SRVFAIL"},   {3, "NXDOMAIN"},
              {4, "NOTIMP"},   {5, "REFUSED"}, {9, "NOTAUTH"},   {11, "DSOTYPENI"},
              {16, "BADVERS"}, {17, "BADKEY"}, {22, "BADTRUNC"}, {23, "BADCOOKIE"}},
      qt[] = {
          {1, "A"},      {2, "NS"},          {5, "CNAME"},   {6, "SOA"},       {10, "NULL"},
          {12, "PTR"},   {15, "MX"},         {16, "TXT"},    {23, "NSAP-PTR"}, {28, "AAAA"},
          {33, "SRV"},   {41, "OPT"},        {43, "DS"},     {46, "RRSIG"},    {48, "DNSKEY"},
          {50, "NSEC3"}, {51, "NSEC3PARAM"}, {63, "ZONEMD"}, {64, "SVCB"},     {65, "HTTPS"},
          {99, "SPF"},   {109, "EUI64"},     {249, "TKEY"},  {250, "TSIG"},    {251, "IXFR"},
          {252, "AXFR"}, {254, "MAILA"},     {256, "URI"},   {257, "CAA"},     {260, "AMTRELAY"}};
    for (size_t i = 0; i < sizeof(rc) / sizeof(rc[0]); i++) {
        assert_non_null(dns_rcode_name(rc[i].v));
        assert_string_equal(dns_rcode_name(rc[i].v), rc[i].name);
    }
    for (size_t i = 0; i < sizeof(qt) / sizeof(qt[0]); i++) {
        assert_non_null(dns_qtype_name(qt[i].v));
        assert_string_equal(dns_qtype_name(qt[i].v), qt[i].name);
    }
    static const unsigned no_rcode[] = {12, 13, 15, 24, 255, 3841, 4095, 65535, 0xffffffffu};
    for (size_t i = 0; i < sizeof(no_rcode) / sizeof(no_rcode[0]); i++)
        assert_null(dns_rcode_name(no_rcode[i]));
    static const unsigned no_qtype[] = {0,   34,  54,  66,    98,    110,
                                        248, 255, 261, 32768, 65535, 0xffffffffu};
    for (size_t i = 0; i < sizeof(no_qtype) / sizeof(no_qtype[0]); i++)
        assert_null(dns_qtype_name(no_qtype[i]));

    /* Every entry of SPEC 3.4 has a name, and only those. */
    unsigned named = 0;
    for (unsigned v = 0; v < 70000; v++)
        named += dns_qtype_name(v) != NULL;
    assert_int_equal(named, 33 + 19 + 11 + 11 + 6 + 5);
    named = 0;
    for (unsigned v = 0; v < 70000; v++)
        named += dns_rcode_name(v) != NULL;
    assert_int_equal(named, 20);
}

/* ---- real captures ------------------------------------------------------------ */

/* A minimal Ethernet/VLAN/IPv4/IPv6/UDP walker for the test only, with
 * just enough fragment reassembly (one datagram at a time, in any order,
 * no overlaps) for the fragmented DNSSEC answers in ecs.pcap. */
struct walker {
    pcap_t *pcap;
    unsigned frame;
    bool frag_active;
    int frag_family;
    uint32_t frag_id;
    size_t frag_have, frag_total;
    uint8_t frag_buf[65536];
};

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)be16(p) << 16 | be16(p + 2);
}

/* Adds a fragment; true with out and outn set once the datagram is whole. */
static bool add_fragment(struct walker *w, int family, uint32_t id, size_t foff, bool more,
                         const uint8_t *p, size_t n, const uint8_t **out, size_t *outn)
{
    if (!w->frag_active || w->frag_family != family || w->frag_id != id) {
        w->frag_active = true;
        w->frag_family = family;
        w->frag_id = id;
        w->frag_have = 0;
        w->frag_total = 0;
    }
    if (foff + n > sizeof(w->frag_buf))
        return false;
    memcpy(w->frag_buf + foff, p, n);
    w->frag_have += n;
    if (!more)
        w->frag_total = foff + n;
    if (w->frag_total == 0 || w->frag_have != w->frag_total)
        return false;
    w->frag_active = false;
    *out = w->frag_buf;
    *outn = w->frag_total;
    return true;
}

/* UDP payload of a frame when it is to or from port 53. */
static bool frame_dns(struct walker *w, const uint8_t *f, size_t n, const uint8_t **msg,
                      size_t *len)
{
    if (n < 14)
        return false;
    uint16_t type = be16(f + 12);
    size_t o = 14;
    while ((type == 0x8100 || type == 0x88a8) && n - o >= 4) {
        type = be16(f + o + 2);
        o += 4;
    }
    const uint8_t *l4;
    size_t l4n;
    if (type == 0x0800) {
        if (n - o < 20)
            return false;
        const uint8_t *ip = f + o;
        size_t ihl = (size_t)(ip[0] & 0xf) * 4;
        size_t tot = be16(ip + 2);
        if (ihl < 20 || tot < ihl || tot > n - o || ip[9] != 17)
            return false;
        uint16_t fl = be16(ip + 6);
        l4 = ip + ihl;
        l4n = tot - ihl;
        if (fl & 0x3fff) {
            if (!add_fragment(w, 4, be16(ip + 4), (size_t)(fl & 0x1fff) * 8, fl & 0x2000, l4, l4n,
                              &l4, &l4n))
                return false;
        }
    } else if (type == 0x86dd) {
        if (n - o < 40)
            return false;
        const uint8_t *ip = f + o;
        size_t plen = be16(ip + 4);
        if (plen > n - o - 40)
            return false;
        uint8_t next = ip[6];
        const uint8_t *p = ip + 40;
        size_t left = plen;
        bool frag = false;
        size_t foff = 0;
        bool more = false;
        uint32_t id = 0;
        for (;;) {
            if (next == 0 || next == 43 || next == 60) {
                if (left < 8 || left < (size_t)(p[1] + 1) * 8)
                    return false;
                size_t hl = (size_t)(p[1] + 1) * 8;
                next = p[0];
                p += hl, left -= hl;
            } else if (next == 44) {
                if (left < 8)
                    return false;
                next = p[0];
                foff = be16(p + 2) & 0xfff8;
                more = p[3] & 1;
                id = be32(p + 4);
                frag = true;
                p += 8, left -= 8;
            } else {
                break;
            }
        }
        if (next != 17)
            return false;
        l4 = p;
        l4n = left;
        if (frag && !add_fragment(w, 6, id, foff, more, l4, l4n, &l4, &l4n))
            return false;
    } else {
        return false;
    }
    if (l4n < 8)
        return false;
    size_t ulen = be16(l4 + 4);
    if (ulen < 8 || ulen > l4n)
        return false;
    if (be16(l4) != 53 && be16(l4 + 2) != 53)
        return false;
    *msg = l4 + 8;
    *len = ulen - 8;
    return true;
}

static struct walker *walker_open(const char *name)
{
    char path[4096];
    fixture_path(path, sizeof(path), name);
    char err[PCAP_ERRBUF_SIZE];
    struct walker *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    w->pcap = pcap_open_offline(path, err);
    if (w->pcap == NULL)
        fail_msg("%s: %s", path, err);
    assert_int_equal(pcap_datalink(w->pcap), DLT_EN10MB);
    return w;
}

static bool walker_next(struct walker *w, const uint8_t **msg, size_t *len)
{
    struct pcap_pkthdr *ph;
    const u_char *data;
    while (pcap_next_ex(w->pcap, &ph, &data) == 1) {
        w->frame++;
        if (frame_dns(w, data, ph->caplen, msg, len))
            return true;
    }
    return false;
}

static void walker_close(struct walker *w)
{
    pcap_close(w->pcap);
    free(w);
}

/* tshark columns, in the order of the -e options below. */
enum {
    C_FRAME,
    C_ID,
    C_FLAGS,
    C_QR,
    C_RCODE,
    C_QNAME,
    C_QTYPE,
    C_QCLASS,
    C_QD,
    C_AN,
    C_NS,
    C_AR,
    C_UDP_SIZE,
    C_EXT_RCODE,
    C_VERSION,
    C_DO,
    C_ECS_FAMILY,
    C_ECS_SOURCE,
    C_ECS_SCOPE,
    C_ECS_ADDR4,
    C_ECS_ADDR6,
    C_COUNT
};

/* Generated with TShark 4.0.17 from the top of the tree, once per capture
 * (FILE = dns_udp_mixed_rcode, ecs, dnssec); each output line is kept
 * verbatim as a C string with its tabs written as \t:
 *
 *   tshark -r tests/fixtures/FILE.pcap -Y "dns && udp" -T fields \
 *     -e frame.number -e dns.id -e dns.flags -e dns.flags.response \
 *     -e dns.flags.rcode -e dns.qry.name -e dns.qry.type -e dns.qry.class \
 *     -e dns.count.queries -e dns.count.answers -e dns.count.auth_rr \
 *     -e dns.count.add_rr -e dns.rr.udp_payload_size -e dns.resp.ext_rcode \
 *     -e dns.resp.edns0_version -e dns.resp.z.do -e dns.opt.client.family \
 *     -e dns.opt.client.netmask -e dns.opt.client.scope \
 *     -e dns.opt.client.addr4 -e dns.opt.client.addr6
 *
 * tshark reassembles IP fragments, so a fragmented answer is listed under
 * the frame of its last fragment, as the walker above does. */
// clang-format off
static const char *const tshark_dns_udp_mixed_rcode[] = {
    "1\t0x0606\t0x0000\t0\t\tnonexistent.google.com\t1\t0x0001\t1\t0\t0\t1\t1232\t0x00\t0\t1\t\t\t\t\t",
    "2\t0x0606\t0x8403\t1\t3\tnonexistent.google.com\t1\t0x0001\t1\t0\t1\t1\t512\t0x00\t0\t1\t\t\t\t\t",
    "3\t0x5d8e\t0x0120\t0\t\tgoogle.com\t1\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t0\t\t\t\t\t",
    "4\t0x5d8e\t0x8180\t1\t0\tgoogle.com\t1\t0x0001\t1\t1\t0\t1\t1232\t0x00\t0\t0\t\t\t\t\t",
    "5\t0x656b\t0x0000\t0\t\tdns1.p01.nsone.net\t1\t0x0001\t1\t0\t0\t1\t1232\t0x00\t0\t1\t\t\t\t\t",
    "6\t0x656b\t0x8400\t1\t0\tdns1.p01.nsone.net\t1\t0x0001\t1\t1\t0\t1\t1232\t0x00\t0\t1\t\t\t\t\t",
    "7\t0xded5\t0x0000\t0\t\tdns1.p01.nsone.net\t28\t0x0001\t1\t0\t0\t1\t1232\t0x00\t0\t1\t\t\t\t\t",
    "8\t0xded5\t0x8400\t1\t0\tdns1.p01.nsone.net\t28\t0x0001\t1\t1\t0\t1\t1232\t0x00\t0\t1\t\t\t\t\t",
    "9\t0x1671\t0x0120\t0\t\tgoogle.com\t1\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t0\t\t\t\t\t",
    "10\t0x1671\t0x8500\t1\t0\tgoogle.com\t1\t0x0001\t1\t1\t0\t1\t1232\t0x00\t0\t0\t\t\t\t\t",
    "11\t0xd518\t0x0100\t0\t\tsirius.mwbsys.com\t65\t0x0001\t1\t0\t0\t0\t\t\t\t\t\t\t\t\t",
    "12\t0x851e\t0x0100\t0\t\tsirius.mwbsys.com\t1\t0x0001\t1\t0\t0\t0\t\t\t\t\t\t\t\t\t",
    "13\t0xe080\t0x0000\t0\t\tsirius.mwbsys.com\t65\t0x0001\t1\t0\t0\t1\t1232\t0x00\t0\t1\t\t\t\t\t",
    "14\t0x2ec7\t0x0000\t0\t\tsirius.mwbsys.com\t1\t0x0001\t1\t0\t0\t1\t1232\t0x00\t0\t1\t\t\t\t\t",
    "15\t0xe080\t0x8420\t1\t0\tsirius.mwbsys.com\t65\t0x0001\t1\t0\t1\t1\t4096\t0x00\t0\t1\t\t\t\t\t",
    "16\t0xd518\t0x8180\t1\t0\tsirius.mwbsys.com\t65\t0x0001\t1\t0\t1\t0\t\t\t\t\t\t\t\t\t",
    "17\t0x2ec7\t0x8420\t1\t0\tsirius.mwbsys.com\t1\t0x0001\t1\t8\t4\t1\t4096\t0x00\t0\t1\t\t\t\t\t",
    "18\t0x851e\t0x8180\t1\t0\tsirius.mwbsys.com\t1\t0x0001\t1\t8\t0\t0\t\t\t\t\t\t\t\t\t",
    "19\t0xd330\t0x0120\t0\t\trefused.com\t1\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t0\t\t\t\t\t",
    "20\t0xd330\t0x8105\t1\t5\trefused.com\t1\t0x0001\t1\t0\t0\t1\t1232\t0x00\t0\t0\t\t\t\t\t",
    "21\t0xd1ef\t0x0100\t0\t\tplay.google.com\t65\t0x0001\t1\t0\t0\t0\t\t\t\t\t\t\t\t\t",
    "22\t0xed77\t0x0000\t0\t\tplay.google.com\t65\t0x0001\t1\t0\t0\t1\t1232\t0x00\t0\t1\t\t\t\t\t",
    "23\t0xed77\t0x8400\t1\t0\tplay.google.com\t65\t0x0001\t1\t0\t1\t1\t512\t0x00\t0\t1\t\t\t\t\t",
    "24\t0xd1ef\t0x8180\t1\t0\tplay.google.com\t65\t0x0001\t1\t0\t1\t0\t\t\t\t\t\t\t\t\t",
};

static const char *const tshark_ecs[] = {
    "1\t0xd43f\t0x0010\t0\t\tweberlab.de\t48\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t1\t\t\t\t\t",
    "3\t0xd43f\t0x8410\t1\t0\tweberlab.de\t48\t0x0001\t1\t4\t0\t1\t4096\t0x00\t0\t1\t\t\t\t\t",
    "4\t0xe9c4\t0x0010\t0\t\tpa.weberlab.de\t28\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t1\t2\t56\t0\t\t2001:470:1f0b:1600::",
    "6\t0xe9c4\t0x8410\t1\t0\tpa.weberlab.de\t28\t0x0001\t1\t2\t3\t9\t4096\t0x00\t0\t1\t2\t56\t0\t\t2001:470:1f0b:1600::",
    "7\t0x0a32\t0x0010\t0\t\tfg2.weberlab.de\t1\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t1\t2\t56\t0\t\t2001:470:1f0b:1600::",
    "9\t0x0a32\t0x8410\t1\t0\tfg2.weberlab.de\t1\t0x0001\t1\t2\t3\t9\t4096\t0x00\t0\t1\t2\t56\t0\t\t2001:470:1f0b:1600::",
    "10\t0xa17d\t0x0010\t0\t\tfg2.weberlab.de\t1\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t1\t2\t56\t0\t\t2001:470:1f0b:1600::",
    "12\t0xa17d\t0x8410\t1\t0\tfg2.weberlab.de\t1\t0x0001\t1\t2\t3\t9\t4096\t0x00\t0\t1\t2\t56\t0\t\t2001:470:1f0b:1600::",
    "13\t0xa438\t0x0010\t0\t\tfg2.weberlab.de\t28\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t1\t2\t56\t0\t\t2001:470:1f0b:1600::",
    "14\t0xa438\t0x8410\t1\t0\tfg2.weberlab.de\t28\t0x0001\t1\t0\t4\t1\t4096\t0x00\t0\t1\t2\t56\t0\t\t2001:470:1f0b:1600::",
    "15\t0x15a8\t0x0010\t0\t\tweberlab.de\t48\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t1\t\t\t\t\t",
    "17\t0x15a8\t0x8410\t1\t0\tweberlab.de\t48\t0x0001\t1\t4\t0\t1\t4096\t0x00\t0\t1\t\t\t\t\t",
    "18\t0x9e06\t0x0010\t0\t\tfg2.weberlab.de\t28\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t1\t2\t56\t0\t\t2001:470:1f0b:1600::",
    "19\t0x9e06\t0x8410\t1\t0\tfg2.weberlab.de\t28\t0x0001\t1\t0\t4\t1\t4096\t0x00\t0\t1\t2\t56\t0\t\t2001:470:1f0b:1600::",
    "20\t0xb9c8\t0x0120\t0\t\tfg2-mgmt.weberlab.de\t28\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t0\t\t\t\t\t",
    "21\t0xb9c8\t0x8500\t1\t0\tfg2-mgmt.weberlab.de\t28\t0x0001\t1\t1\t2\t5\t4096\t0x00\t0\t0\t\t\t\t\t",
    "22\t0xbda9\t0x0120\t0\t\tfg2-mgmt.weberlab.de\t28\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t0\t\t\t\t\t",
    "23\t0xbda9\t0x8500\t1\t0\tfg2-mgmt.weberlab.de\t28\t0x0001\t1\t1\t2\t5\t4096\t0x00\t0\t0\t\t\t\t\t",
    "24\t0xdd84\t0x0120\t0\t\tfg2-mgmt.weberlab.de\t28\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t0\t\t\t\t\t",
    "25\t0xdd84\t0x8500\t1\t0\tfg2-mgmt.weberlab.de\t28\t0x0001\t1\t1\t2\t5\t4096\t0x00\t0\t0\t\t\t\t\t",
    "26\t0xea02\t0x0120\t0\t\tfg2-mgmt.weberlab.de\t28\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t0\t\t\t\t\t",
    "27\t0xea02\t0x8500\t1\t0\tfg2-mgmt.weberlab.de\t28\t0x0001\t1\t1\t2\t5\t4096\t0x00\t0\t0\t\t\t\t\t",
    "28\t0x91df\t0x0120\t0\t\tsigok.verteiltesysteme.net\t1\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t0\t\t\t\t\t",
    "29\t0x91df\t0x81a0\t1\t0\tsigok.verteiltesysteme.net\t1\t0x0001\t1\t1\t0\t1\t1452\t0x00\t0\t0\t\t\t\t\t",
    "30\t0xfac7\t0x0120\t0\t\tsigfail.verteiltesysteme.net\t1\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t0\t\t\t\t\t",
    "31\t0xfac7\t0x8182\t1\t2\tsigfail.verteiltesysteme.net\t1\t0x0001\t1\t0\t0\t0\t\t\t\t\t\t\t\t\t",
    "32\t0x06e4\t0x0120\t0\t\tformel1.de\t1\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t0\t\t\t\t\t",
    "33\t0x06e4\t0x8180\t1\t0\tformel1.de\t1\t0x0001\t1\t1\t0\t1\t4096\t0x00\t0\t0\t\t\t\t\t",
    "34\t0x8cec\t0x0120\t0\t\terfpop.de\t28\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t0\t\t\t\t\t",
    "35\t0x8cec\t0x8180\t1\t0\terfpop.de\t28\t0x0001\t1\t2\t0\t1\t512\t0x00\t0\t0\t\t\t\t\t",
    "36\t0xc2a0\t0x0120\t0\t\tweberlab.de\t48\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t1\t\t\t\t\t",
    "37\t0xc2a0\t0x0120\t0\t\tweberlab.de\t48\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t1\t\t\t\t\t",
    "39\t0xc2a0\t0x8500\t1\t0\tweberlab.de\t48\t0x0001\t1\t4\t0\t1\t4096\t0x00\t0\t1\t\t\t\t\t",
    "40\t0x89ce\t0x0120\t0\t\tweberlab.de\t48\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t1\t\t\t\t\t",
    "42\t0x89ce\t0x8500\t1\t0\tweberlab.de\t48\t0x0001\t1\t4\t0\t1\t4096\t0x00\t0\t1\t\t\t\t\t",
    "43\t0x3f7f\t0x0100\t0\t\tns2.weberdns.de\t28\t0x0001\t1\t0\t0\t1\t512\t0x00\t0\t0\t\t\t\t\t",
    "44\t0x3f7f\t0x8180\t1\t0\tns2.weberdns.de\t28\t0x0001\t1\t1\t0\t1\t1452\t0x00\t0\t0\t\t\t\t\t",
    "55\t0xe8df\t0x0100\t0\t\tns2.weberdns.de\t1\t0x0001\t1\t0\t0\t1\t512\t0x00\t0\t0\t\t\t\t\t",
    "56\t0xe8df\t0x8180\t1\t0\tns2.weberdns.de\t1\t0x0001\t1\t1\t0\t1\t1452\t0x00\t0\t0\t\t\t\t\t",
};

static const char *const tshark_dnssec[] = {
    "1\t0x5012\t0x0100\t0\t\twww.ietf.org\t1\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t1\t\t\t\t\t",
    "2\t0x5012\t0x81a0\t1\t0\twww.ietf.org\t1\t0x0001\t1\t2\t0\t1\t4000\t0x00\t0\t1\t\t\t\t\t",
    "3\t0x20a3\t0x0100\t0\t\tietf.org\t48\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t1\t\t\t\t\t",
    "4\t0x20a3\t0x81a0\t1\t0\tietf.org\t48\t0x0001\t1\t4\t0\t1\t4000\t0x00\t0\t1\t\t\t\t\t",
    "5\t0x0b8d\t0x0100\t0\t\tietf.org\t43\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t1\t\t\t\t\t",
    "6\t0x0b8d\t0x81a0\t1\t0\tietf.org\t43\t0x0001\t1\t3\t0\t1\t4000\t0x00\t0\t1\t\t\t\t\t",
    "7\t0x4c25\t0x0100\t0\t\torg\t48\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t1\t\t\t\t\t",
    "8\t0x4c25\t0x81a0\t1\t0\torg\t48\t0x0001\t1\t6\t0\t1\t4000\t0x00\t0\t1\t\t\t\t\t",
    "9\t0x5a0b\t0x0100\t0\t\torg\t43\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t1\t\t\t\t\t",
    "10\t0x5a0b\t0x81a0\t1\t0\torg\t43\t0x0001\t1\t3\t0\t1\t4000\t0x00\t0\t1\t\t\t\t\t",
    "11\t0x9470\t0x0100\t0\t\t<Root>\t48\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t1\t\t\t\t\t",
    "12\t0x9470\t0x81a0\t1\t0\t<Root>\t48\t0x0001\t1\t3\t0\t1\t4000\t0x00\t0\t1\t\t\t\t\t",
    "13\t0x3c24\t0x0100\t0\t\t<Root>\t43\t0x0001\t1\t0\t0\t1\t4096\t0x00\t0\t1\t\t\t\t\t",
    "14\t0x3c24\t0x81a0\t1\t0\t<Root>\t43\t0x0001\t1\t0\t4\t1\t4000\t0x00\t0\t1\t\t\t\t\t",
};

// clang-format on

/* Splits a tab-separated line in place; empty fields stay empty. */
static void split_row(char *line, char *cols[C_COUNT])
{
    size_t i = 0;
    char *s = line;
    for (;;) {
        assert_true(i < C_COUNT);
        cols[i++] = s;
        char *tab = strchr(s, '\t');
        if (tab == NULL)
            break;
        *tab = '\0';
        s = tab + 1;
    }
    assert_int_equal(i, C_COUNT);
}

static unsigned long num(const char *s)
{
    char *end;
    assert_true(s[0] != '\0');
    unsigned long v = strtoul(s, &end, 0);
    assert_true(*end == '\0');
    return v;
}

struct fixture_stats {
    unsigned messages, with_opt, with_ecs;
};

static void check_message(const uint8_t *wire, size_t len, const char *row, unsigned frame,
                          struct fixture_stats *st)
{
    char *line = strdup(row);
    assert_non_null(line);
    char *c[C_COUNT];
    split_row(line, c);
    assert_int_equal(num(c[C_FRAME]), frame);

    uint8_t *msg = dup_exact(wire, len);
    struct dns_header h;
    assert_int_equal(dns_parse_header(msg, len, &h), DNS_OK);
    assert_int_equal(h.id, num(c[C_ID]));
    assert_int_equal(h.qr, num(c[C_QR]));
    /* tshark prints the RCODE of responses only. */
    if (c[C_RCODE][0] != '\0')
        assert_int_equal(h.rcode, num(c[C_RCODE]));
    else
        assert_false(h.qr);
    unsigned flags = (unsigned)h.qr << 15 | (unsigned)h.opcode << 11 | (unsigned)h.aa << 10 |
                     (unsigned)h.tc << 9 | (unsigned)h.rd << 8 | (unsigned)h.ra << 7 |
                     (unsigned)h.ad << 5 | (unsigned)h.cd << 4 | h.rcode;
    assert_int_equal(flags, num(c[C_FLAGS]) & ~0x0040ul); /* Z is not kept */
    assert_int_equal(h.qdcount, num(c[C_QD]));
    assert_int_equal(h.ancount, num(c[C_AN]));
    assert_int_equal(h.nscount, num(c[C_NS]));
    assert_int_equal(h.arcount, num(c[C_AR]));

    struct dns_question q;
    assert_int_equal(dns_parse_question(msg, len, &q), DNS_OK);
    const char *want_name = strcmp(c[C_QNAME], "<Root>") == 0 ? "" : c[C_QNAME];
    assert_string_equal(q.name, want_name);
    assert_int_equal(q.name_len, strlen(want_name));
    assert_int_equal(q.qtype, num(c[C_QTYPE]));
    assert_int_equal(q.qclass, num(c[C_QCLASS]));
    /* The fast path reads the same question (every name here is plain). */
    struct dns_question_ref qr;
    assert_int_equal(dns_question_ref(msg, len, &qr), DNS_OK);
    char fast_name[DNS_NAME_WIRE_MAX + 1];
    dns_name_ref_text(&qr.name, fast_name);
    assert_string_equal(fast_name, want_name);
    assert_int_equal(qr.qtype, q.qtype);
    assert_int_equal(qr.end, q.end);

    struct dns_edns e;
    assert_int_equal(dns_parse_edns(msg, len, &e), DNS_OK);
    bool opt = c[C_UDP_SIZE][0] != '\0';
    assert_int_equal(e.present, opt);
    if (opt) {
        assert_int_equal(e.udp_size, num(c[C_UDP_SIZE]));
        assert_int_equal(e.ext_rcode, num(c[C_EXT_RCODE]));
        assert_int_equal(e.version, num(c[C_VERSION]));
        assert_int_equal(e.do_bit, num(c[C_DO]));
        st->with_opt++;
    }
    bool ecs = c[C_ECS_FAMILY][0] != '\0';
    assert_int_equal(e.has_ecs, ecs);
    if (ecs) {
        assert_int_equal(e.ecs_family, num(c[C_ECS_FAMILY]));
        assert_int_equal(e.ecs_source_prefix, num(c[C_ECS_SOURCE]));
        assert_int_equal(e.ecs_scope_prefix, num(c[C_ECS_SCOPE]));
        char text[INET6_ADDRSTRLEN];
        int af = e.ecs_family == 1 ? AF_INET : AF_INET6;
        assert_non_null(inet_ntop(af, e.ecs_addr, text, sizeof(text)));
        assert_string_equal(text, e.ecs_family == 1 ? c[C_ECS_ADDR4] : c[C_ECS_ADDR6]);
        st->with_ecs++;
    }

    /* Every offset as a name start: an answer or an error, never a fault. */
    for (size_t o = 0; o < len; o++) {
        char out[DNS_NAME_TEXT_MAX];
        size_t off = o, olen;
        int rc = dns_parse_name(msg, len, &off, out, sizeof(out), &olen);
        assert_true(rc <= 0 && rc >= DNS_ERR_COUNTS);
        if (rc == DNS_OK) {
            assert_true(off > o && off <= len);
            assert_int_equal(strlen(out), olen);
        }
    }
    free(msg);
    free(line);
    st->messages++;
}

static struct fixture_stats check_fixture(const char *file, const char *const *rows, size_t nrows)
{
    struct fixture_stats st = {0};
    struct walker *w = walker_open(file);
    const uint8_t *msg;
    size_t len;
    size_t i = 0;
    while (walker_next(w, &msg, &len)) {
        if (i >= nrows)
            fail_msg("%s: frame %u: more DNS messages than tshark found", file, w->frame);
        check_message(msg, len, rows[i], w->frame, &st);
        i++;
    }
    walker_close(w);
    assert_int_equal(i, nrows);
    return st;
}

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

static void test_fixture_mixed_rcode(void **state)
{
    (void)state;
    struct fixture_stats st = check_fixture("dns_udp_mixed_rcode.pcap", tshark_dns_udp_mixed_rcode,
                                            NROWS(tshark_dns_udp_mixed_rcode));
    assert_int_equal(st.messages, 24);
    assert_int_equal(st.with_opt, 18);
    assert_int_equal(st.with_ecs, 0);
}

static void test_fixture_ecs(void **state)
{
    (void)state;
    struct fixture_stats st = check_fixture("ecs.pcap", tshark_ecs, NROWS(tshark_ecs));
    assert_int_equal(st.messages, 39);
    assert_int_equal(st.with_opt, 38);
    assert_int_equal(st.with_ecs, 10);
}

static void test_fixture_dnssec(void **state)
{
    (void)state;
    struct fixture_stats st = check_fixture("dnssec.pcap", tshark_dnssec, NROWS(tshark_dnssec));
    assert_int_equal(st.messages, 14);
    assert_int_equal(st.with_opt, 14);
    assert_int_equal(st.with_ecs, 0);
}

/* dns_question_ref against dns_parse_question on random questions: names
 * of random labels over an alphabet heavy in the bytes that need escaping
 * (and in length-octet look-alikes), sometimes with a pointer, cut at a
 * random length.  Whenever the fast path answers, it must agree exactly;
 * it may decline only a name that is escaped or has a pointer. */
static void test_question_ref_differential(void **state)
{
    (void)state;
    static const uint8_t alphabet[] = "abcXYZ09-_ ./\\\x01\x1f\x2e\x3f\x40\x5c\x7e\x7f\x80\xff";
    uint64_t rng = 88172645463325252u;
    unsigned fast = 0, declined = 0;
    for (int iter = 0; iter < 200000; iter++) {
        struct msg m = {.n = 0};
        put_header(&m, 1, 0x0100, 1, 0, 0, 0);
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        unsigned labels = (unsigned)(rng % 9);
        bool pointer = rng % 23 == 0;
        for (unsigned l = 0; l < labels; l++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            unsigned len = 1 + (unsigned)(rng % (rng % 5 == 0 ? 63 : 12));
            put8(&m, len);
            for (unsigned i = 0; i < len; i++) {
                rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                /* Mostly letters, now and then anything of the alphabet. */
                put8(&m, rng % 8 ? 'a' + (unsigned)(rng >> 8) % 26
                                 : alphabet[(rng >> 8) % (sizeof(alphabet) - 1)]);
            }
        }
        if (pointer) {
            put16(&m, 0xc000 | 4); /* into the header: qdcount's bytes 00 01 */
        } else {
            put8(&m, 0);
        }
        put16(&m, 28);
        put16(&m, 1);
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        size_t len = rng % 4 == 0 ? 12 + (size_t)(rng >> 8) % (m.n - 11) : m.n;
        uint8_t *c = dup_exact(m.b, len);
        struct dns_question q;
        struct dns_question_ref r;
        int slow = dns_parse_question(c, len, &q);
        int rc = dns_question_ref(c, len, &r);
        if (rc == DNS_NOT_PLAIN) {
            declined++;
            assert_true(slow != DNS_OK || q.escaped || pointer);
        } else {
            assert_int_equal(rc, slow);
        }
        if (rc == DNS_OK) {
            fast++;
            char text[DNS_NAME_WIRE_MAX + 1];
            dns_name_ref_text(&r.name, text);
            assert_false(q.escaped);
            assert_string_equal(text, q.name);
            assert_int_equal(r.name.len, q.name_len);
            assert_int_equal(r.qtype, q.qtype);
            assert_int_equal(r.qclass, q.qclass);
            assert_int_equal(r.end, q.end);
            assert_int_equal(r.name.nseps, q.nseps);
            for (unsigned k = 3 - q.nseps; k < 3; k++)
                assert_int_equal(r.name.seps[k], q.seps[k]);
            /* The text is the wire bytes with a '.' per length octet. */
            for (size_t i = 0; i < r.name.len; i++)
                if (text[i] != '.')
                    assert_int_equal((uint8_t)text[i], r.name.wire[i]);
        }
        free(c);
    }
    /* Both paths were exercised. */
    assert_true(fast > 30000 && declined > 30000);
}

/* Builds a plain name whose root octet lies at wire offset p (p + 1 wire
 * bytes, p < 256, p != 1): labels of varied lengths, text bytes from the printable
 * ones that need no escape.  Returns its text (len bytes) and separators
 * as struct dns_question reports them; is_len marks the length octets. */
struct built_name {
    uint8_t wire[DNS_NAME_WIRE_MAX + 1];
    bool is_len[DNS_NAME_WIRE_MAX + 1];
    char text[DNS_NAME_WIRE_MAX + 1];
    size_t len;
    uint16_t seps[3];
    uint8_t nseps;
};

static void build_name(size_t p, struct built_name *b)
{
    static const char printable[] = "az09-_ ~!@AZ/:=?^`{|}";
    memset(b, 0, sizeof(*b));
    size_t q = 0;
    for (unsigned k = 0; q < p; k++) {
        size_t rest = p - q; /* length octet and bytes of what is left */
        size_t lab = 1 + (p * 7 + k * 13) % 40;
        if (rest - 1 <= 63)
            lab = rest - 1;
        else if (rest - (lab + 1) == 1)
            lab--;
        assert_true(lab >= 1 && lab <= 63 && lab + 1 <= rest);
        if (q > 0) {
            b->seps[0] = b->seps[1];
            b->seps[1] = b->seps[2];
            b->seps[2] = (uint16_t)(q - 1);
            b->nseps += b->nseps < 3;
            b->text[q - 1] = '.';
        }
        b->is_len[q] = true;
        b->wire[q++] = (uint8_t)lab;
        for (size_t i = 0; i < lab; i++, q++) {
            b->wire[q] = (uint8_t)printable[(q * 5 + k) % (sizeof(printable) - 1)];
            b->text[q - 1] = (char)b->wire[q];
        }
    }
    b->wire[p] = 0;
    b->len = p > 0 ? p - 1 : 0;
}

/* dns_question_ref on plain names of every wire length from 1 to 255 (so
 * 16-byte reads at every alignment, past 64 bytes, and names ending at the
 * last byte of the message), after header bytes that would need escaping,
 * then with a byte to escape at each text position in turn; and
 * dns_parse_name on the same names alone in their buffer, where fewer than
 * 16 bytes lie before a short name's end.  Expected values come from the
 * construction, not from another parser. */
static void test_question_ref_every_length(void **state)
{
    (void)state;
    static const uint8_t bad[] = {'.', '\\', 0x00, 0x01, 0x1f, 0x7f, 0x80, 0xc0, 0xff};
    struct built_name b;
    for (size_t p = 0; p <= DNS_NAME_WIRE_MAX; p++) {
        if (p == 1)
            continue; /* no label is empty */
        build_name(p, &b);
        struct msg m;
        put_header(&m, 0xffff, 0xffff, 1, 0xffff, 0xffff, 0xffff);
        for (size_t i = 0; i <= p; i++)
            put8(&m, b.wire[i]);
        put16(&m, 28);
        put16(&m, 1);
        bool fits = p + 1 <= DNS_NAME_WIRE_MAX;

        /* Whole, then cut just after the root octet. */
        for (int cut = 0; cut < 2; cut++) {
            size_t len = cut ? m.n - 4 : m.n;
            uint8_t *c = dup_exact(m.b, len);
            struct dns_question_ref r;
            int rc = dns_question_ref(c, len, &r);
            if (!fits) {
                assert_int_equal(rc, DNS_NOT_PLAIN);
            } else if (cut) {
                assert_int_equal(rc, DNS_ERR_SHORT);
            } else {
                assert_int_equal(rc, DNS_OK);
                char text[DNS_NAME_WIRE_MAX + 1];
                dns_name_ref_text(&r.name, text);
                assert_int_equal(r.name.len, b.len);
                assert_memory_equal(text, b.text, b.len);
                assert_int_equal(text[b.len], '\0');
                assert_ptr_equal(r.name.wire, c + DNS_HEADER_LEN + 1);
                assert_int_equal(r.name.end, DNS_HEADER_LEN + p + 1);
                assert_int_equal(r.name.nseps, b.nseps);
                assert_memory_equal(r.name.seps, b.seps, sizeof(b.seps));
                assert_int_equal(r.qtype, 28);
                assert_int_equal(r.qclass, 1);
                assert_int_equal(r.end, len);
            }
            free(c);
        }

        /* Alone in its buffer, from offset 0. */
        {
            uint8_t *c = dup_exact(b.wire, p + 1);
            char out[DNS_NAME_TEXT_MAX];
            size_t off = 0, olen = 0;
            int rc = dns_parse_name(c, p + 1, &off, out, sizeof(out), &olen);
            if (fits) {
                assert_int_equal(rc, DNS_OK);
                assert_int_equal(off, p + 1);
                assert_int_equal(olen, b.len);
                assert_memory_equal(out, b.text, b.len);
            } else {
                assert_int_equal(rc, DNS_ERR_NAME_LEN);
            }
            free(c);
        }

        /* A byte to escape (or a pointer or root where text should be) at
         * each position that is not a length octet. */
        for (size_t i = 1; fits && i < p; i++) {
            if (b.is_len[i])
                continue;
            uint8_t *c = dup_exact(m.b, m.n);
            c[DNS_HEADER_LEN + i] = bad[(i + p) % sizeof(bad)];
            struct dns_question_ref r;
            assert_int_equal(dns_question_ref(c, m.n, &r), DNS_NOT_PLAIN);
            free(c);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_flags_counts),
        cmocka_unit_test(test_name_root),
        cmocka_unit_test(test_name_single_and_multi_label),
        cmocka_unit_test(test_label_63_ok_64_error),
        cmocka_unit_test(test_name_255_ok_256_error),
        cmocka_unit_test(test_pointer_backward),
        cmocka_unit_test(test_pointer_self_forward_past_end),
        cmocka_unit_test(test_pointer_chain_limit),
        cmocka_unit_test(test_pointer_loops),
        cmocka_unit_test(test_reserved_label_types),
        cmocka_unit_test(test_escaping_and_case),
        cmocka_unit_test(test_small_output_buffer),
        cmocka_unit_test(test_question),
        cmocka_unit_test(test_question_ref_differential),
        cmocka_unit_test(test_question_ref_every_length),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_edns_basic),
        cmocka_unit_test(test_edns_ecs_v4_v6),
        cmocka_unit_test(test_edns_malformed_options),
        cmocka_unit_test(test_edns_absent),
        cmocka_unit_test(test_edns_after_compressed_answers),
        cmocka_unit_test(test_edns_absurd_counts),
        cmocka_unit_test(test_edns_bad_names_on_the_way),
        cmocka_unit_test(test_edns_many_records),
        cmocka_unit_test(test_dns_ports),
        cmocka_unit_test(test_mnemonics),
        cmocka_unit_test(test_fixture_mixed_rcode),
        cmocka_unit_test(test_fixture_ecs),
        cmocka_unit_test(test_fixture_dnssec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
