/*
 * test_decode.c - decode_packet() on hand-built frames of every link type,
 * VLAN stacks, IPv4 options, IPv6 extension headers, fragment reassembly,
 * truncation at every length, and on the real captures in tests/fixtures.
 *
 * Frames are copied into a heap buffer of exactly caplen bytes before
 * decoding, so AddressSanitizer catches any read past the capture.
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
#include <pcap/pcap.h>

#include "decode.h"

/* Addresses used throughout: 192.0.2.1 -> 198.51.100.53, 2001:db8::1 ->
 * 2001:db8:0:1::53. */
static const uint8_t V4_A[4] = {192, 0, 2, 1};
static const uint8_t V4_B[4] = {198, 51, 100, 53};
static const uint8_t V6_A[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t V6_B[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x53};

/* ---- checksums and builders ------------------------------------------- */

static uint32_t sum16(const uint8_t *b, size_t n, uint32_t acc)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)b[i] << 8 | b[i + 1];
    if (n % 2)
        acc += (uint32_t)b[n - 1] << 8;
    return acc;
}

static uint16_t fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

static void put16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
    put16(b, (uint16_t)(v >> 16));
    put16(b + 2, (uint16_t)v);
}

/* TCP/UDP/ICMPv6 checksum over the pseudo header (RFC 768, RFC 8200 8.1). */
static void set_l4_csum(int family, uint8_t proto, uint8_t *seg, size_t n, size_t csum_off)
{
    uint32_t acc = 0;
    if (family == 4) {
        acc = sum16(V4_A, 4, acc);
        acc = sum16(V4_B, 4, acc);
    } else {
        acc = sum16(V6_A, 16, acc);
        acc = sum16(V6_B, 16, acc);
    }
    acc += proto;
    acc += (uint32_t)n;
    put16(seg + csum_off, 0);
    acc = sum16(seg, n, acc);
    uint16_t c = fold(acc);
    if (c == 0 && proto == 17)
        c = 0xffff;
    put16(seg + csum_off, c);
}

/* IPv4 header from V4_A to V4_B, then payload; returns total length. */
static size_t put_ipv4(uint8_t *b, uint8_t proto, uint16_t id, uint16_t frag, const uint8_t *opts,
                       size_t optlen, const uint8_t *payload, size_t n)
{
    size_t hlen = 20 + optlen;
    b[0] = (uint8_t)(0x40 | hlen / 4);
    b[1] = 0;
    put16(b + 2, (uint16_t)(hlen + n));
    put16(b + 4, id);
    put16(b + 6, frag);
    b[8] = 64;
    b[9] = proto;
    put16(b + 10, 0);
    memcpy(b + 12, V4_A, 4);
    memcpy(b + 16, V4_B, 4);
    if (optlen)
        memcpy(b + 20, opts, optlen);
    put16(b + 10, fold(sum16(b, hlen, 0)));
    if (n)
        memcpy(b + hlen, payload, n);
    return hlen + n;
}

/* IPv6 header from V6_A to V6_B, extension headers, then payload. */
static size_t put_ipv6(uint8_t *b, uint8_t nh, const uint8_t *ext, size_t extlen,
                       const uint8_t *payload, size_t n)
{
    b[0] = 0x60;
    b[1] = 0;
    b[2] = 0;
    b[3] = 0;
    put16(b + 4, (uint16_t)(extlen + n));
    b[6] = nh;
    b[7] = 64;
    memcpy(b + 8, V6_A, 16);
    memcpy(b + 24, V6_B, 16);
    if (extlen)
        memcpy(b + 40, ext, extlen);
    if (n)
        memcpy(b + 40 + extlen, payload, n);
    return 40 + extlen + n;
}

static size_t put_udp(uint8_t *b, int family, uint16_t sport, uint16_t dport,
                      const uint8_t *payload, size_t n)
{
    put16(b, sport);
    put16(b + 2, dport);
    put16(b + 4, (uint16_t)(8 + n));
    if (n)
        memcpy(b + 8, payload, n);
    set_l4_csum(family, 17, b, 8 + n, 6);
    return 8 + n;
}

static size_t put_tcp(uint8_t *b, int family, uint16_t sport, uint16_t dport, uint32_t seq,
                      uint8_t flags, const uint8_t *payload, size_t n)
{
    memset(b, 0, 20);
    put16(b, sport);
    put16(b + 2, dport);
    put32(b + 4, seq);
    put32(b + 8, 0);
    b[12] = 5 << 4;
    b[13] = flags;
    put16(b + 14, 65535);
    if (n)
        memcpy(b + 20, payload, n);
    set_l4_csum(family, 6, b, 20 + n, 16);
    return 20 + n;
}

/* Ethernet header with MACs 00:11:22:33:44:55 <- 66:77:88:99:aa:bb. */
static size_t put_eth(uint8_t *b, uint16_t etype)
{
    static const uint8_t macs[12] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
                                     0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};
    memcpy(b, macs, 12);
    put16(b + 12, etype);
    return 14;
}

/* A tag: TCI (PCP 0, VID), then the type that follows it. */
static size_t put_tag(uint8_t *b, uint16_t vid, uint16_t next)
{
    put16(b, vid & 0x0fff);
    put16(b + 2, next);
    return 4;
}

static size_t eth_wrap(uint8_t *out, uint16_t etype, const uint8_t *l3, size_t n)
{
    size_t o = put_eth(out, etype);
    memcpy(out + o, l3, n);
    return o + n;
}

/* ---- decoding helpers -------------------------------------------------- */

static uint8_t *g_copy; /* exact-size copy of the last frame decoded */

static int dec(struct decoder *d, int lt, const uint8_t *frame, size_t n, int64_t ts,
               struct packet *p)
{
    free(g_copy);
    g_copy = malloc(n ? n : 1);
    assert_non_null(g_copy);
    memcpy(g_copy, frame, n);
    int rc = decode_packet(d, lt, g_copy, (uint32_t)n, (uint32_t)n, ts, 123, p);
    assert_int_equal(p->ts_sec, ts);
    assert_int_equal(p->ts_nsec, 123);
    assert_int_equal(p->caplen, n);
    if (p->payload != NULL && !p->reassembled) {
        assert_true(p->payload >= g_copy);
        assert_true(p->payload + p->payload_len <= g_copy + n);
    }
    return rc;
}

static void assert_addrs(const struct packet *p, int family)
{
    char a[64], b[64];
    ip_addr_format(&p->src, a, sizeof(a));
    ip_addr_format(&p->dst, b, sizeof(b));
    if (family == 4) {
        assert_string_equal(a, "192.0.2.1");
        assert_string_equal(b, "198.51.100.53");
    } else {
        assert_string_equal(a, "2001:db8::1");
        assert_string_equal(b, "2001:db8:0:1::53");
    }
}

static int setup(void **state)
{
    *state = decoder_new();
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    struct decoder *d = *state;
    decoder_free(&d);
    assert_null(d);
    free(g_copy);
    g_copy = NULL;
    return 0;
}

static const uint8_t DNS_Q[] = "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00";

/* ---- literal frames ---------------------------------------------------- */

/* Ethernet / IPv4 / UDP 54321 -> 53, payload "ABCD".  Checksums computed by
 * hand (one's complement sums), verified below. */
/* clang-format off */
static const uint8_t F_ETH_V4_UDP[] = {
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, /* MACs */
    0x08, 0x00,                                                             /* IPv4 */
    0x45, 0x00, 0x00, 0x20, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x11, 0x32, 0x1d, /* len 32, DF */
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x35,                         /* addresses */
    0xd4, 0x31, 0x00, 0x35, 0x00, 0x0c, 0xba, 0x7e,                         /* udp, len 12 */
    'A',  'B',  'C',  'D',
};

/* Ethernet / IPv4 with a router alert option (IHL 6) / TCP 80 -> 40000
 * SYN|ACK seq 0x01020304 with an MSS option (data offset 6), payload "xyz". */
static const uint8_t F_ETH_V4OPT_TCP[] = {
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, /* MACs */
    0x08, 0x00,                                                             /* IPv4 */
    0x46, 0x00, 0x00, 0x33, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0xd1, 0xbd, /* IHL 6, len 51 */
    0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,                         /* addresses */
    0x94, 0x04, 0x00, 0x00,                                                 /* router alert */
    0x00, 0x50, 0x9c, 0x40, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00, /* ports, seq, ack */
    0x60, 0x12, 0xff, 0xff, 0xf1, 0x00, 0x00, 0x00,                         /* doff 6, SYN|ACK */
    0x02, 0x04, 0x05, 0xb4,                                                 /* MSS 1460 */
    'x',  'y',  'z',
};
/* clang-format on */

static void test_literal_checksums(void **state)
{
    (void)state;
    assert_int_equal(fold(sum16(F_ETH_V4_UDP + 14, 20, 0)), 0);
    assert_int_equal(fold(sum16(F_ETH_V4OPT_TCP + 14, 24, 0)), 0);
    uint8_t udp[12];
    memcpy(udp, F_ETH_V4_UDP + 34, 12);
    uint16_t want = (uint16_t)(udp[6] << 8 | udp[7]);
    uint8_t ph[12] = {0};
    memcpy(ph, V4_A, 4);
    memcpy(ph + 4, V4_B, 4);
    ph[9] = 17;
    ph[11] = 12;
    udp[6] = udp[7] = 0;
    assert_int_equal(fold(sum16(udp, 12, sum16(ph, 12, 0))), want);
}

static void test_eth_ipv4_udp(void **state)
{
    struct decoder *d = *state;
    struct packet p;
    assert_int_equal(dec(d, LINKTYPE_ETHERNET, F_ETH_V4_UDP, sizeof(F_ETH_V4_UDP), 7, &p), 0);
    assert_int_equal(p.error, DECODE_OK);
    assert_int_equal(p.l3, 4);
    assert_int_equal(p.l4, 17);
    assert_int_equal(p.ip_proto, 17);
    assert_false(p.fragment);
    assert_int_equal(p.vlan_depth, 0);
    assert_int_equal(p.dir, DIR_UNKNOWN);
    assert_int_equal(p.sport, 54321);
    assert_int_equal(p.dport, 53);
    assert_int_equal(p.payload_len, 4);
    assert_memory_equal(p.payload, "ABCD", 4);
    assert_addrs(&p, 4);
    const struct decode_stats *st = decoder_stats(d);
    assert_int_equal(st->packets, 1);
    assert_int_equal(st->truncated + st->malformed + st->fragments, 0);
}

/* Short frames are padded to 60 bytes on the wire; IP's length wins. */
static void test_eth_padding_trimmed(void **state)
{
    struct decoder *d = *state;
    uint8_t f[60] = {0};
    memcpy(f, F_ETH_V4_UDP, sizeof(F_ETH_V4_UDP));
    memset(f + sizeof(F_ETH_V4_UDP), 0xee, sizeof(f) - sizeof(F_ETH_V4_UDP));
    struct packet p;
    assert_int_equal(dec(d, LINKTYPE_ETHERNET, f, sizeof(f), 1, &p), 0);
    assert_int_equal(p.error, DECODE_OK);
    assert_int_equal(p.payload_len, 4);

    /* same for TCP: padding must not become payload */
    uint8_t seg[64], l3[128], g[128];
    size_t n = put_tcp(seg, 4, 1000, 53, 9, 0x10, NULL, 0);
    n = put_ipv4(l3, 6, 1, 0, NULL, 0, seg, n);
    n = eth_wrap(g, 0x0800, l3, n);
    memset(g + n, 0, 60 - n);
    assert_int_equal(dec(d, LINKTYPE_ETHERNET, g, 60, 1, &p), 0);
    assert_int_equal(p.error, DECODE_OK);
    assert_int_equal(p.l4, 6);
    assert_int_equal(p.payload_len, 0);
}

static void test_ipv4_options_tcp(void **state)
{
    struct decoder *d = *state;
    struct packet p;
    assert_int_equal(dec(d, LINKTYPE_ETHERNET, F_ETH_V4OPT_TCP, sizeof(F_ETH_V4OPT_TCP), 1, &p), 0);
    assert_int_equal(p.error, DECODE_OK);
    assert_int_equal(p.l3, 4);
    assert_int_equal(p.l4, 6);
    assert_int_equal(p.sport, 80);
    assert_int_equal(p.dport, 40000);
    assert_int_equal(p.tcp_seq, 0x01020304);
    assert_int_equal(p.tcp_flags, 0x12);
    assert_int_equal(p.payload_len, 3);
    assert_memory_equal(p.payload, "xyz", 3);
    char buf[64];
    assert_int_equal(ip_addr_format(&p.src, buf, sizeof(buf)), 8);
    assert_string_equal(buf, "10.0.0.1");

    /* 40 bytes of options (IHL 15): NOPs and an end-of-list */
    uint8_t opts[40];
    memset(opts, 1, sizeof(opts));
    opts[39] = 0;
    uint8_t udp[64], l3[128], f[160];
    size_t n = put_udp(udp, 4, 1111, 53, DNS_Q, 12);
    n = put_ipv4(l3, 17, 2, 0, opts, sizeof(opts), udp, n);
    n = eth_wrap(f, 0x0800, l3, n);
    assert_int_equal(dec(d, LINKTYPE_ETHERNET, f, n, 1, &p), 0);
    assert_int_equal(p.error, DECODE_OK);
    assert_int_equal(p.l4, 17);
    assert_int_equal(p.sport, 1111);
    assert_int_equal(p.payload_len, 12);
    assert_memory_equal(p.payload, DNS_Q, 12);
}

/* ---- link types -------------------------------------------------------- */

static size_t v4_udp(uint8_t *l3)
{
    uint8_t udp[64];
    size_t n = put_udp(udp, 4, 5353, 53, DNS_Q, 12);
    return put_ipv4(l3, 17, 77, 0x4000, NULL, 0, udp, n);
}

static size_t v6_udp(uint8_t *l3)
{
    uint8_t udp[64];
    size_t n = put_udp(udp, 6, 5353, 53, DNS_Q, 12);
    return put_ipv6(l3, 17, NULL, 0, udp, n);
}

static void expect_udp(struct decoder *d, int lt, const uint8_t *f, size_t n, int family)
{
    struct packet p;
    assert_int_equal(dec(d, lt, f, n, 1, &p), 0);
    assert_int_equal(p.error, DECODE_OK);
    assert_int_equal(p.l3, family);
    assert_int_equal(p.l4, 17);
    assert_int_equal(p.sport, 5353);
    assert_int_equal(p.dport, 53);
    assert_int_equal(p.payload_len, 12);
    assert_memory_equal(p.payload, DNS_Q, 12);
    assert_addrs(&p, family);
}

static void test_linktype_ethernet_both_families(void **state)
{
    struct decoder *d = *state;
    uint8_t l3[128], f[160];
    size_t n = eth_wrap(f, 0x0800, l3, v4_udp(l3));
    expect_udp(d, LINKTYPE_ETHERNET, f, n, 4);
    n = eth_wrap(f, 0x86dd, l3, v6_udp(l3));
    expect_udp(d, LINKTYPE_ETHERNET, f, n, 6);
}

static void test_vlan_single_and_double(void **state)
{
    struct decoder *d = *state;
    uint8_t l3[128], f[160];
    size_t m = v4_udp(l3);
    struct packet p;

    /* 802.1Q */
    size_t o = put_eth(f, 0x8100);
    o += put_tag(f + o, 100, 0x0800);
    memcpy(f + o, l3, m);
    expect_udp(d, LINKTYPE_ETHERNET, f, o + m, 4);
    assert_int_equal(dec(d, LINKTYPE_ETHERNET, f, o + m, 1, &p), 0);
    assert_int_equal(p.vlan_depth, 1);

    /* 802.1ad outer, 802.1Q inner, IPv6 */
    m = v6_udp(l3);
    o = put_eth(f, 0x88a8);
    o += put_tag(f + o, 200, 0x8100);
    o += put_tag(f + o, 100, 0x86dd);
    memcpy(f + o, l3, m);
    expect_udp(d, LINKTYPE_ETHERNET, f, o + m, 6);
    assert_int_equal(dec(d, LINKTYPE_ETHERNET, f, o + m, 1, &p), 0);
    assert_int_equal(p.vlan_depth, 2);

    /* pre-standard QinQ 0x9100 outer, three tags in all */
    m = v4_udp(l3);
    o = put_eth(f, 0x9100);
    o += put_tag(f + o, 300, 0x88a8);
    o += put_tag(f + o, 200, 0x8100);
    o += put_tag(f + o, 100, 0x0800);
    memcpy(f + o, l3, m);
    assert_int_equal(dec(d, LINKTYPE_ETHERNET, f, o + m, 1, &p), 0);
    assert_int_equal(p.vlan_depth, 3);
    assert_int_equal(p.l4, 17);

    /* a tag followed by ARP: not IP, no error */
    o = put_eth(f, 0x8100);
    o += put_tag(f + o, 100, 0x0806);
    memset(f + o, 0, 28);
    assert_int_equal(dec(d, LINKTYPE_ETHERNET, f, o + 28, 1, &p), -1);
    assert_int_equal(p.error, DECODE_OK);
    assert_int_equal(p.l3, 0);
    assert_int_equal(p.vlan_depth, 1);
}

static void test_linktype_sll(void **state)
{
    struct decoder *d = *state;
    uint8_t l3[128], f[160];
    /* packet type 0 (to us), ARPHRD_ETHER, address length 6, address padded
     * to 8, protocol */
    static const uint8_t hdr[14] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x66,
                                    0x77, 0x88, 0x99, 0xaa, 0xbb, 0x00, 0x00};
    size_t m = v4_udp(l3);
    memcpy(f, hdr, 14);
    put16(f + 14, 0x0800);
    memcpy(f + 16, l3, m);
    expect_udp(d, LINKTYPE_LINUX_SLL, f, 16 + m, 4);
    m = v6_udp(l3);
    put16(f + 14, 0x86dd);
    memcpy(f + 16, l3, m);
    expect_udp(d, LINKTYPE_LINUX_SLL, f, 16 + m, 6);
    /* a VLAN tag left in by the capture */
    put16(f + 14, 0x8100);
    put_tag(f + 16, 5, 0x86dd);
    memcpy(f + 20, l3, m);
    expect_udp(d, LINKTYPE_LINUX_SLL, f, 20 + m, 6);
}

static void test_linktype_sll2(void **state)
{
    struct decoder *d = *state;
    uint8_t l3[128], f[160];
    /* protocol, reserved, ifindex 2, ARPHRD_ETHER, packet type 4
     * (outgoing), address length 6, address padded to 8 */
    static const uint8_t hdr[20] = {0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01,
                                    0x04, 0x06, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x00, 0x00};
    size_t m = v4_udp(l3);
    memcpy(f, hdr, 20);
    memcpy(f + 20, l3, m);
    expect_udp(d, LINKTYPE_LINUX_SLL2, f, 20 + m, 4);
    m = v6_udp(l3);
    put16(f, 0x86dd);
    memcpy(f + 20, l3, m);
    expect_udp(d, LINKTYPE_LINUX_SLL2, f, 20 + m, 6);
}

static void test_linktype_raw(void **state)
{
    struct decoder *d = *state;
    uint8_t l4[128], l6[128];
    size_t n4 = v4_udp(l4), n6 = v6_udp(l6);
    expect_udp(d, LINKTYPE_RAW, l4, n4, 4);
    expect_udp(d, LINKTYPE_RAW, l6, n6, 6);
    expect_udp(d, DLT_RAW_ALT, l4, n4, 4);
    expect_udp(d, DLT_RAW_ALT, l6, n6, 6);
    expect_udp(d, LINKTYPE_IPV4, l4, n4, 4);
    expect_udp(d, LINKTYPE_IPV6, l6, n6, 6);

    /* the wrong version for a single-family link type is malformed */
    struct packet p;
    assert_int_equal(dec(d, LINKTYPE_IPV4, l6, n6, 1, &p), -1);
    assert_int_equal(p.error, DECODE_ERR_MALFORMED);
    assert_int_equal(dec(d, LINKTYPE_IPV6, l4, n4, 1, &p), -1);
    assert_int_equal(p.error, DECODE_ERR_MALFORMED);
    /* version 5 on raw */
    uint8_t bad[128];
    memcpy(bad, l4, n4);
    bad[0] = 0x55;
    assert_int_equal(dec(d, LINKTYPE_RAW, bad, n4, 1, &p), -1);
    assert_int_equal(p.error, DECODE_ERR_MALFORMED);
    assert_int_equal(decoder_stats(d)->malformed, 3);
}

static void test_linktype_null_loop(void **state)
{
    struct decoder *d = *state;
    uint8_t l3[128], f[160];
    size_t n4 = v4_udp(l3);
    static const uint32_t v6fams[] = {24, 28, 30};

    for (int lt = 0; lt < 2; lt++) {
        int linktype = lt ? LINKTYPE_LOOP : LINKTYPE_NULL;
        /* AF_INET little-endian (x86 host order) and big-endian */
        n4 = v4_udp(l3);
        memcpy(f + 4, l3, n4);
        memcpy(f, "\x02\x00\x00\x00", 4);
        expect_udp(d, linktype, f, 4 + n4, 4);
        memcpy(f, "\x00\x00\x00\x02", 4);
        expect_udp(d, linktype, f, 4 + n4, 4);

        size_t n6 = v6_udp(l3);
        memcpy(f + 4, l3, n6);
        for (size_t i = 0; i < 3; i++) {
            uint8_t fam = (uint8_t)v6fams[i];
            uint8_t le[4] = {fam, 0, 0, 0}, be[4] = {0, 0, 0, fam};
            memcpy(f, le, 4);
            expect_udp(d, linktype, f, 4 + n6, 6);
            memcpy(f, be, 4);
            expect_udp(d, linktype, f, 4 + n6, 6);
        }
        /* AF 7 (OSI): not IP, no error */
        memcpy(f, "\x07\x00\x00\x00", 4);
        struct packet p;
        assert_int_equal(dec(d, linktype, f, 4 + n6, 1, &p), -1);
        assert_int_equal(p.error, DECODE_OK);
        assert_int_equal(p.l3, 0);
    }
    assert_int_equal(decoder_stats(d)->truncated + decoder_stats(d)->malformed, 0);
}

static void test_linktype_unknown(void **state)
{
    struct decoder *d = *state;
    struct packet p;
    assert_int_equal(dec(d, 147, F_ETH_V4_UDP, sizeof(F_ETH_V4_UDP), 1, &p), -1);
    assert_int_equal(p.error, DECODE_ERR_LINKTYPE);
    assert_int_equal(decoder_stats(d)->unknown_linktype, 1);
    static const int yes[] = {0, 1, 12, 101, 108, 113, 228, 229, 276};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        assert_true(decode_linktype_supported(yes[i]));
    assert_false(decode_linktype_supported(105));
    assert_false(decode_linktype_supported(-1));
    assert_false(decode_linktype_supported(147));
}

/* ---- IPv6 extension headers -------------------------------------------- */

/* Hop-by-hop (router alert + PadN), destination options (PadN 4), fragment
 * header (offset 0, M, id 0xdeadbeef), then the first 16 bytes of a UDP
 * datagram. */
static const uint8_t EXT_HBH_DST_FRAG[24] = {
    60, 0, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00, /* HBH -> DST */
    44, 0, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, /* DST -> FRAG */
    17, 0, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef, /* FRAG -> UDP, off 0, M */
};

static void test_ipv6_hbh_dst_frag(void **state)
{
    struct decoder *d = *state;
    uint8_t udp[64], l3[160], f[200];
    uint8_t data[24];
    for (int i = 0; i < 24; i++)
        data[i] = (uint8_t)(i * 3);
    size_t un = put_udp(udp, 6, 4000, 53, data, sizeof(data)); /* 32 bytes */
    size_t n = put_ipv6(l3, 0, EXT_HBH_DST_FRAG, sizeof(EXT_HBH_DST_FRAG), udp, 16);
    n = eth_wrap(f, 0x86dd, l3, n);
    struct packet p;
    assert_int_equal(dec(d, LINKTYPE_ETHERNET, f, n, 10, &p), 0);
    assert_int_equal(p.error, DECODE_OK);
    assert_int_equal(p.l3, 6);
    assert_true(p.fragment);
    assert_false(p.reassembled);
    assert_int_equal(p.ip_proto, 17);
    assert_int_equal(p.l4, 17);
    assert_int_equal(p.sport, 4000);
    assert_int_equal(p.dport, 53);
    assert_null(p.payload);
    assert_int_equal(p.payload_len, 0);

    /* second and last fragment: offset 16 (2 units), no M; no L4 here */
    uint8_t ext2[24];
    memcpy(ext2, EXT_HBH_DST_FRAG, 24);
    put16(ext2 + 18, 16);
    n = put_ipv6(l3, 0, ext2, sizeof(ext2), udp + 16, un - 16);
    n = eth_wrap(f, 0x86dd, l3, n);
    assert_int_equal(dec(d, LINKTYPE_ETHERNET, f, n, 11, &p), 0);
    assert_true(p.fragment);
    assert_true(p.reassembled);
    assert_int_equal(p.l4, 0);
    assert_int_equal(p.ip_proto, 17);
    assert_int_equal(p.sport, 4000);
    assert_int_equal(p.dport, 53);
    assert_int_equal(p.payload_len, 24);
    assert_memory_equal(p.payload, data, 24);
    assert_int_equal(decoder_stats(d)->fragments, 2);
    assert_int_equal(decoder_stats(d)->reassembled, 1);

    /* an atomic fragment (offset 0, no M) is a whole datagram */
    uint8_t ext3[24];
    memcpy(ext3, EXT_HBH_DST_FRAG, 24);
    put16(ext3 + 18, 0);
    n = put_ipv6(l3, 0, ext3, sizeof(ext3), udp, un);
    n = eth_wrap(f, 0x86dd, l3, n);
    assert_int_equal(dec(d, LINKTYPE_ETHERNET, f, n, 12, &p), 0);
    assert_false(p.fragment);
    assert_int_equal(p.l4, 17);
    assert_int_equal(p.payload_len, 24);
    assert_memory_equal(p.payload, data, 24);
    assert_int_equal(decoder_stats(d)->fragments, 2);
}

static void test_ipv6_routing_ah_esp_none(void **state)
{
    struct decoder *d = *state;
    /* routing (type 2, 24 bytes) -> AH (payload len 4: 24 bytes) -> TCP */
    uint8_t ext[48] = {0};
    ext[0] = 51;
    ext[1] = 2;
    ext[2] = 2;
    ext[3] = 1;
    memcpy(ext + 8, V6_B, 16);
    ext[24] = 6;
    ext[25] = 4;
    put32(ext + 28, 0x1000);
    put32(ext + 32, 1);
    uint8_t tcp[64], l3[200], f[240];
    size_t tn = put_tcp(tcp, 6, 443, 50000, 0xfffffff0, 0x18, (const uint8_t *)"hi", 2);
    size_t n = put_ipv6(l3, 43, ext, sizeof(ext), tcp, tn);
    n = eth_wrap(f, 0x86dd, l3, n);
    struct packet p;
    assert_int_equal(dec(d, LINKTYPE_ETHERNET, f, n, 1, &p), 0);
    assert_int_equal(p.error, DECODE_OK);
    assert_int_equal(p.ip_proto, 6);
    assert_int_equal(p.l4, 6);
    assert_int_equal(p.sport, 443);
    assert_int_equal(p.dport, 50000);
    assert_int_equal(p.tcp_seq, 0xfffffff0u);
    assert_int_equal(p.tcp_flags, 0x18);
    assert_int_equal(p.payload_len, 2);
    assert_memory_equal(p.payload, "hi", 2);

    /* ESP: the walk stops, nothing after it is readable */
    uint8_t esp[16] = {0, 0, 0x10, 0, 0, 0, 0, 1};
    n = put_ipv6(l3, 50, NULL, 0, esp, sizeof(esp));
    assert_int_equal(dec(d, LINKTYPE_RAW, l3, n, 1, &p), 0);
    assert_int_equal(p.error, DECODE_OK);
    assert_int_equal(p.ip_proto, 50);
    assert_int_equal(p.l4, 0);
    assert_null(p.payload);

    /* destination options -> no next header */
    static const uint8_t dst_none[8] = {59, 0, 1, 4, 0, 0, 0, 0};
    n = put_ipv6(l3, 60, dst_none, sizeof(dst_none), NULL, 0);
    assert_int_equal(dec(d, LINKTYPE_RAW, l3, n, 1, &p), 0);
    assert_int_equal(p.error, DECODE_OK);
    assert_int_equal(p.ip_proto, 59);
    assert_int_equal(p.l4, 0);

    /* an extension header longer than the payload length is malformed */
    static const uint8_t hbh_long[8] = {17, 3, 1, 4, 0, 0, 0, 0};
    n = put_ipv6(l3, 0, hbh_long, sizeof(hbh_long), NULL, 0);
    uint8_t big[128] = {0};
    memcpy(big, l3, n);
    assert_int_equal(dec(d, LINKTYPE_RAW, big, sizeof(big), 1, &p), 0);
    assert_int_equal(p.l3, 6);
    assert_int_equal(p.error, DECODE_ERR_MALFORMED);
    assert_int_equal(p.l4, 0);
}

/* ---- L4 ---------------------------------------------------------------- */

static void test_tcp_flags_and_errors(void **state)
{
    struct decoder *d = *state;
    uint8_t tcp[64], l3[128];
    struct packet p;
    static const uint8_t flags[] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x11, 0xc2};
    for (size_t i = 0; i < sizeof(flags); i++) {
        size_t n = put_tcp(tcp, 4, (uint16_t)(1024 + i), 53, (uint32_t)i * 1000, flags[i], NULL, 0);
        n = put_ipv4(l3, 6, 1, 0x4000, NULL, 0, tcp, n);
        assert_int_equal(dec(d, LINKTYPE_IPV4, l3, n, 1, &p), 0);
        assert_int_equal(p.error, DECODE_OK);
        assert_int_equal(p.l4, 6);
        assert_int_equal(p.tcp_flags, flags[i]);
        assert_int_equal(p.sport, 1024 + i);
        assert_int_equal(p.tcp_seq, i * 1000);
        assert_non_null(p.payload);
        assert_int_equal(p.payload_len, 0);
    }

    /* data offset 4 (< 5 words) */
    size_t n = put_tcp(tcp, 4, 1, 2, 3, 0x02, NULL, 0);
    tcp[12] = 4 << 4;
    n = put_ipv4(l3, 6, 1, 0, NULL, 0, tcp, n);
    assert_int_equal(dec(d, LINKTYPE_IPV4, l3, n, 1, &p), 0);
    assert_int_equal(p.error, DECODE_ERR_MALFORMED);
    assert_int_equal(p.l4, 0);
    assert_int_equal(p.sport, 0);

    /* data offset 15 words but the segment is 20 bytes */
    n = put_tcp(tcp, 4, 1, 2, 3, 0x02, NULL, 0);
    tcp[12] = 15 << 4;
    n = put_ipv4(l3, 6, 1, 0, NULL, 0, tcp, n);
    assert_int_equal(dec(d, LINKTYPE_IPV4, l3, n, 1, &p), 0);
    assert_int_equal(p.error, DECODE_ERR_MALFORMED);
    assert_int_equal(decoder_stats(d)->malformed, 2);
}

static void test_udp_errors(void **state)
{
    struct decoder *d = *state;
    uint8_t udp[64], l3[128];
    struct packet p;
    /* UDP length 7 */
    size_t n = put_udp(udp, 4, 1, 53, DNS_Q, 12);
    put16(udp + 4, 7);
    n = put_ipv4(l3, 17, 1, 0, NULL, 0, udp, n);
    assert_int_equal(dec(d, LINKTYPE_IPV4, l3, n, 1, &p), 0);
    assert_int_equal(p.error, DECODE_ERR_MALFORMED);
    assert_int_equal(p.l4, 17);
    assert_null(p.payload);
    /* UDP length past the IP payload */
    n = put_udp(udp, 4, 1, 53, DNS_Q, 12);
    put16(udp + 4, 21);
    n = put_ipv4(l3, 17, 1, 0, NULL, 0, udp, n);
    assert_int_equal(dec(d, LINKTYPE_IPV4, l3, n, 1, &p), 0);
    assert_int_equal(p.error, DECODE_ERR_MALFORMED);
    assert_null(p.payload);
    /* UDP length shorter than the IP payload: UDP's wins */
    n = put_udp(udp, 4, 1, 53, DNS_Q, 12);
    put16(udp + 4, 10);
    n = put_ipv4(l3, 17, 1, 0, NULL, 0, udp, n);
    assert_int_equal(dec(d, LINKTYPE_IPV4, l3, n, 1, &p), 0);
    assert_int_equal(p.error, DECODE_OK);
    assert_int_equal(p.payload_len, 2);
    /* zero-length payload */
    n = put_udp(udp, 6, 9, 53, NULL, 0);
    n = put_ipv6(l3, 17, NULL, 0, udp, n);
    assert_int_equal(dec(d, LINKTYPE_IPV6, l3, n, 1, &p), 0);
    assert_int_equal(p.error, DECODE_OK);
    assert_int_equal(p.payload_len, 0);
}

static void test_icmp_icmpv6(void **state)
{
    struct decoder *d = *state;
    uint8_t icmp[16] = {8, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g'};
    put16(icmp + 2, fold(sum16(icmp, 12, 0)));
    uint8_t l3[128];
    struct packet p;
    size_t n = put_ipv4(l3, 1, 5, 0, NULL, 0, icmp, 12);
    assert_int_equal(dec(d, LINKTYPE_RAW, l3, n, 1, &p), 0);
    assert_int_equal(p.error, DECODE_OK);
    assert_int_equal(p.l4, 1);
    assert_int_equal(p.icmp_type, 8);
    assert_int_equal(p.icmp_code, 0);
    assert_int_equal(p.sport + p.dport, 0);
    assert_null(p.payload);

    /* ICMPv6 destination unreachable, port unreachable (1/4), behind a
     * hop-by-hop header */
    uint8_t icmp6[8] = {1, 4, 0, 0, 0, 0, 0, 0};
    set_l4_csum(6, 58, icmp6, 8, 2);
    static const uint8_t hbh[8] = {58, 0, 5, 2, 0, 0, 1, 0};
    n = put_ipv6(l3, 0, hbh, 8, icmp6, 8);
    assert_int_equal(dec(d, LINKTYPE_RAW, l3, n, 1, &p), 0);
    assert_int_equal(p.error, DECODE_OK);
    assert_int_equal(p.l4, 58);
    assert_int_equal(p.ip_proto, 58);
    assert_int_equal(p.icmp_type, 1);
    assert_int_equal(p.icmp_code, 4);
}

static void test_ipv4_malformed(void **state)
{
    struct decoder *d = *state;
    uint8_t l3[128], bad[128];
    size_t n = v4_udp(l3);
    struct packet p;
    /* IHL 4 */
    memcpy(bad, l3, n);
    bad[0] = 0x44;
    assert_int_equal(dec(d, LINKTYPE_RAW, bad, n, 1, &p), -1);
    assert_int_equal(p.error, DECODE_ERR_MALFORMED);
    assert_int_equal(p.l3, 0);
    /* total length 19 < header */
    memcpy(bad, l3, n);
    put16(bad + 2, 19);
    assert_int_equal(dec(d, LINKTYPE_RAW, bad, n, 1, &p), -1);
    assert_int_equal(p.error, DECODE_ERR_MALFORMED);
    /* ethertype IPv4 but version 6 */
    uint8_t f[160];
    size_t m = eth_wrap(f, 0x0800, l3, v6_udp(l3));
    assert_int_equal(dec(d, LINKTYPE_ETHERNET, f, m, 1, &p), -1);
    assert_int_equal(p.error, DECODE_ERR_MALFORMED);
    assert_int_equal(decoder_stats(d)->malformed, 3);
}

/* IP length larger than the capture: what was captured is used, the frame
 * reports truncation; UDP's payload is only given whole. */
static void test_length_beyond_caplen(void **state)
{
    struct decoder *d = *state;
    uint8_t l3[128];
    size_t n = v4_udp(l3);
    struct packet p;
    put16(l3 + 2, 1400);
    put16(l3 + 20 + 4, 1380); /* UDP agrees: the capture lost the rest */
    put16(l3 + 10, 0);
    put16(l3 + 10, fold(sum16(l3, 20, 0)));
    assert_int_equal(dec(d, LINKTYPE_RAW, l3, n, 1, &p), 0);
    assert_int_equal(p.error, DECODE_ERR_TRUNCATED);
    assert_int_equal(p.l3, 4);
    assert_int_equal(p.l4, 17);
    assert_int_equal(p.sport, 5353);
    assert_null(p.payload);

    uint8_t tcp[64];
    size_t tn = put_tcp(tcp, 6, 53, 4444, 1, 0x18, DNS_Q, 12);
    n = put_ipv6(l3, 6, NULL, 0, tcp, tn);
    put16(l3 + 4, 1000);
    assert_int_equal(dec(d, LINKTYPE_RAW, l3, n, 1, &p), 0);
    assert_int_equal(p.error, DECODE_ERR_TRUNCATED);
    assert_int_equal(p.l4, 6);
    assert_int_equal(p.payload_len, 12);
    assert_memory_equal(p.payload, DNS_Q, 12);
    assert_int_equal(decoder_stats(d)->truncated, 2);
}

static void test_addr_format(void **state)
{
    (void)state;
    struct ip_addr a;
    char buf[64];
    memset(&a, 0, sizeof(a));
    assert_int_equal(ip_addr_format(&a, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    a.family = 6;
    assert_int_equal(ip_addr_format(&a, buf, sizeof(buf)), 2);
    assert_string_equal(buf, "::");
    static const uint8_t x[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
    memcpy(a.a.v6, x, 16);
    ip_addr_format(&a, buf, sizeof(buf));
    assert_string_equal(buf, "2001:db8::1:0:0:1"); /* RFC 5952 4.2.3: first longest run */
    static const uint8_t y[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
    memcpy(a.a.v6, y, 16);
    ip_addr_format(&a, buf, sizeof(buf));
    assert_string_equal(buf, "2001:db8:0:1:1:1:1:1"); /* 4.2.2: no :: for one field */
    static const uint8_t m[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
    memcpy(a.a.v6, m, 16);
    ip_addr_format(&a, buf, sizeof(buf));
    assert_string_equal(buf, "::ffff:192.0.2.1"); /* 5: mapped IPv4 */
    a.family = 4;
    memcpy(a.a.v4, "\xff\xff\xff\xff", 4);
    assert_int_equal(ip_addr_format(&a, buf, sizeof(buf)), 15);
    assert_string_equal(buf, "255.255.255.255");
    assert_int_equal(ip_addr_format(&a, buf, 8), 0); /* too small: empty */
    assert_string_equal(buf, "");
}

/* ---- fragments --------------------------------------------------------- */

/* A 48-byte UDP datagram (53 -> 33000, 40 bytes of payload) cut into three
 * 16-byte pieces. */
static uint8_t g_dgram[48];
static uint8_t g_payload[40];

static void make_dgram(int family)
{
    for (int i = 0; i < 40; i++)
        g_payload[i] = (uint8_t)(i * 7 + 3);
    put_udp(g_dgram, family, 53, 33000, g_payload, 40);
}

static size_t frag4(uint8_t *f, uint8_t proto, uint16_t id, uint32_t off, bool more,
                    const uint8_t *data, size_t n)
{
    uint8_t l3[128];
    uint16_t fr = (uint16_t)((more ? 0x2000 : 0) | (off / 8));
    size_t m = put_ipv4(l3, proto, id, fr, NULL, 0, data, n);
    return eth_wrap(f, 0x0800, l3, m);
}

static size_t frag6(uint8_t *f, uint32_t id, uint32_t off, bool more, const uint8_t *data, size_t n)
{
    uint8_t ext[8] = {17, 0, 0, 0, 0, 0, 0, 0};
    put16(ext + 2, (uint16_t)(off | (more ? 1 : 0)));
    put32(ext + 4, id);
    uint8_t l3[128];
    size_t m = put_ipv6(l3, 44, ext, 8, data, n);
    return eth_wrap(f, 0x86dd, l3, m);
}

/* Feed piece i (0..2) of g_dgram. */
static int piece4(struct decoder *d, uint16_t id, int i, int64_t ts, struct packet *p)
{
    uint8_t f[128];
    size_t n = frag4(f, 17, id, (uint32_t)i * 16, i < 2, g_dgram + i * 16, 16);
    return dec(d, LINKTYPE_ETHERNET, f, n, ts, p);
}

static int piece6(struct decoder *d, uint32_t id, int i, int64_t ts, struct packet *p)
{
    uint8_t f[160];
    size_t n = frag6(f, id, (uint32_t)i * 16, i < 2, g_dgram + i * 16, 16);
    return dec(d, LINKTYPE_ETHERNET, f, n, ts, p);
}

static void assert_whole(const struct packet *p)
{
    assert_true(p->fragment);
    assert_true(p->reassembled);
    assert_int_equal(p->error, DECODE_OK);
    assert_int_equal(p->sport, 53);
    assert_int_equal(p->dport, 33000);
    assert_int_equal(p->payload_len, 40);
    assert_memory_equal(p->payload, g_payload, 40);
}

static void test_frag4_in_order(void **state)
{
    struct decoder *d = *state;
    struct packet p;
    make_dgram(4);
    assert_int_equal(piece4(d, 0x1111, 0, 100, &p), 0);
    assert_true(p.fragment);
    assert_false(p.reassembled);
    assert_int_equal(p.l4, 17);
    assert_int_equal(p.sport, 53);
    assert_null(p.payload);
    assert_int_equal(piece4(d, 0x1111, 1, 100, &p), 0);
    assert_true(p.fragment);
    assert_int_equal(p.l4, 0);
    assert_int_equal(p.sport, 0);
    assert_int_equal(p.ip_proto, 17);
    assert_null(p.payload);
    assert_int_equal(piece4(d, 0x1111, 2, 101, &p), 0);
    assert_whole(&p);
    assert_int_equal(p.l4, 0);
    const struct decode_stats *st = decoder_stats(d);
    assert_int_equal(st->fragments, 3);
    assert_int_equal(st->reassembled, 1);
    assert_int_equal(st->frag_invalid + st->frag_evicted + st->frag_timeout, 0);
    /* the reassembled payload lives until the next decode; the next one
     * does not see it again */
    assert_int_equal(piece4(d, 0x1111, 2, 101, &p), 0);
    assert_false(p.reassembled);
}

static void test_frag4_out_of_order_and_duplicate(void **state)
{
    struct decoder *d = *state;
    struct packet p;
    make_dgram(4);
    piece4(d, 7, 2, 5, &p);
    assert_false(p.reassembled);
    piece4(d, 7, 2, 5, &p); /* exact duplicate: ignored */
    assert_false(p.reassembled);
    piece4(d, 7, 0, 5, &p);
    assert_false(p.reassembled);
    assert_int_equal(p.l4, 17); /* first fragment carries the header */
    piece4(d, 7, 0, 6, &p);
    assert_false(p.reassembled);
    piece4(d, 7, 1, 6, &p);
    assert_whole(&p);
    const struct decode_stats *st = decoder_stats(d);
    assert_int_equal(st->fragments, 5);
    assert_int_equal(st->reassembled, 1);
    assert_int_equal(st->frag_invalid, 0);

    /* last piece arriving first, then the first completing the datagram: that
     * frame carries both the L4 header and the whole payload */
    piece4(d, 8, 2, 7, &p);
    piece4(d, 8, 1, 7, &p);
    piece4(d, 8, 0, 7, &p);
    assert_whole(&p);
    assert_int_equal(p.l4, 17);
}

static void test_frag4_overlap_and_conflicts(void **state)
{
    struct decoder *d = *state;
    struct packet p;
    uint8_t f[128];
    make_dgram(4);
    const struct decode_stats *st = decoder_stats(d);

    /* [0,16) then [8,24): overlap drops the datagram; its remaining pieces
     * are swallowed, not reassembled */
    piece4(d, 1, 0, 10, &p);
    size_t n = frag4(f, 17, 1, 8, true, g_dgram + 8, 16);
    dec(d, LINKTYPE_ETHERNET, f, n, 10, &p);
    assert_false(p.reassembled);
    assert_int_equal(st->frag_invalid, 1);
    piece4(d, 1, 1, 10, &p);
    piece4(d, 1, 2, 10, &p);
    assert_false(p.reassembled);
    assert_int_equal(st->frag_invalid, 1);

    /* a duplicate with different bytes is inconsistent */
    piece4(d, 2, 0, 10, &p);
    uint8_t alt[16];
    memcpy(alt, g_dgram, 16);
    alt[15] ^= 1;
    n = frag4(f, 17, 2, 0, true, alt, 16);
    dec(d, LINKTYPE_ETHERNET, f, n, 10, &p);
    assert_int_equal(st->frag_invalid, 2);

    /* two different ends */
    piece4(d, 3, 2, 10, &p);
    n = frag4(f, 17, 3, 40, false, g_dgram + 40, 8);
    dec(d, LINKTYPE_ETHERNET, f, n, 10, &p);
    assert_int_equal(st->frag_invalid, 3);

    /* a non-final piece not a multiple of 8 */
    n = frag4(f, 17, 4, 0, true, g_dgram, 12);
    dec(d, LINKTYPE_ETHERNET, f, n, 10, &p);
    assert_int_equal(st->frag_invalid, 4);

    /* data past 65535: offset 65528 + 16 */
    n = frag4(f, 17, 5, 65528, false, g_dgram, 16);
    dec(d, LINKTYPE_ETHERNET, f, n, 10, &p);
    assert_true(p.fragment);
    assert_int_equal(st->frag_invalid, 5);

    /* a piece past an already known end */
    piece4(d, 6, 2, 10, &p);
    n = frag4(f, 17, 6, 48, true, g_dgram, 16);
    dec(d, LINKTYPE_ETHERNET, f, n, 10, &p);
    assert_int_equal(st->frag_invalid, 6);

    /* more than 64 pieces (8 bytes each) in one datagram */
    static const uint8_t eight[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (uint32_t i = 0; i <= 64; i++) {
        n = frag4(f, 17, 10, i * 8 + 8, true, eight, 8);
        dec(d, LINKTYPE_ETHERNET, f, n, 10, &p);
        assert_int_equal(st->frag_invalid, i < 64 ? 6 : 7);
    }

    /* same id but another protocol or another source is another datagram */
    piece4(d, 9, 0, 10, &p);
    n = frag4(f, 6, 9, 16, true, g_dgram + 16, 16);
    dec(d, LINKTYPE_ETHERNET, f, n, 10, &p); /* TCP: counted, not stored */
    assert_true(p.fragment);
    piece4(d, 9, 1, 10, &p);
    piece4(d, 9, 2, 10, &p);
    assert_whole(&p);
    assert_int_equal(st->frag_invalid, 7);
    assert_int_equal(st->reassembled, 1);
}

static void test_frag4_timeout(void **state)
{
    struct decoder *d = *state;
    struct packet p;
    make_dgram(4);
    const struct decode_stats *st = decoder_stats(d);
    piece4(d, 42, 0, 1000, &p);
    piece4(d, 42, 1, 1000, &p);
    /* just inside the timeout */
    piece4(d, 42, 2, 1000 + DECODE_FRAG_TIMEOUT - 1, &p);
    assert_whole(&p);

    piece4(d, 43, 0, 2000, &p);
    piece4(d, 43, 1, 2000, &p);
    piece4(d, 43, 2, 2000 + DECODE_FRAG_TIMEOUT, &p);
    assert_false(p.reassembled);
    assert_int_equal(st->frag_timeout, 1);
    /* the late piece started a new datagram, which the others complete */
    piece4(d, 43, 0, 2001 + DECODE_FRAG_TIMEOUT, &p);
    piece4(d, 43, 1, 2001 + DECODE_FRAG_TIMEOUT, &p);
    assert_whole(&p);

    /* any frame advances the clock: unrelated traffic expires a stale one */
    piece4(d, 44, 0, 3000, &p);
    dec(d, LINKTYPE_ETHERNET, F_ETH_V4_UDP, sizeof(F_ETH_V4_UDP), 3100, &p);
    assert_int_equal(st->frag_timeout, 2);
    /* a clock going backwards expires nothing */
    piece4(d, 45, 0, 5000, &p);
    dec(d, LINKTYPE_ETHERNET, F_ETH_V4_UDP, sizeof(F_ETH_V4_UDP), 10, &p);
    assert_int_equal(st->frag_timeout, 2);
    assert_int_equal(st->reassembled, 2);
}

static void test_frag4_table_full(void **state)
{
    struct decoder *d = *state;
    struct packet p;
    make_dgram(4);
    const struct decode_stats *st = decoder_stats(d);
    for (int i = 0; i <= DECODE_FRAG_MAX; i++)
        piece4(d, (uint16_t)i, 0, 50, &p);
    assert_int_equal(st->frag_evicted, 1); /* id 0, the oldest, is gone */
    /* id 0's other pieces open a new datagram, evicting id 1 */
    piece4(d, 0, 1, 51, &p);
    piece4(d, 0, 2, 51, &p);
    assert_false(p.reassembled);
    assert_int_equal(st->frag_evicted, 2);
    /* the newest is intact */
    piece4(d, DECODE_FRAG_MAX, 1, 52, &p);
    piece4(d, DECODE_FRAG_MAX, 2, 52, &p);
    assert_whole(&p);
    /* id 2 is still there too */
    piece4(d, 2, 2, 52, &p);
    piece4(d, 2, 1, 52, &p);
    assert_whole(&p);
    assert_int_equal(st->reassembled, 2);
}

/* A bigger datagram: 8 pieces of 1480 bytes, in reverse order, to exercise
 * buffer growth. */
static void test_frag4_large(void **state)
{
    struct decoder *d = *state;
    enum { PAY = 11000, DG = PAY + 8, PIECE = 1480 };
    uint8_t *dgram = malloc(DG);
    uint8_t *payload = malloc(PAY);
    uint8_t *f = malloc(2000);
    uint8_t *l3 = malloc(2000);
    assert_non_null(dgram);
    assert_non_null(payload);
    assert_non_null(f);
    assert_non_null(l3);
    for (int i = 0; i < PAY; i++)
        payload[i] = (uint8_t)(i ^ (i >> 8));
    put_udp(dgram, 4, 53, 1234, payload, PAY);
    struct packet p;
    int pieces = (DG + PIECE - 1) / PIECE;
    for (int i = pieces - 1; i >= 0; i--) {
        size_t off = (size_t)i * PIECE;
        size_t n = DG - off < PIECE ? DG - off : PIECE;
        uint16_t fr = (uint16_t)((i < pieces - 1 ? 0x2000 : 0) | (off / 8));
        size_t m = put_ipv4(l3, 17, 0xbeef, fr, NULL, 0, dgram + off, n);
        m = eth_wrap(f, 0x0800, l3, m);
        dec(d, LINKTYPE_ETHERNET, f, m, 1, &p);
        assert_int_equal(p.reassembled, i == 0);
    }
    assert_int_equal(p.payload_len, PAY);
    assert_memory_equal(p.payload, payload, PAY);
    free(dgram);
    free(payload);
    free(f);
    free(l3);
}

static void test_frag6_reassembly(void **state)
{
    struct decoder *d = *state;
    struct packet p;
    make_dgram(6);
    const struct decode_stats *st = decoder_stats(d);
    /* in order */
    piece6(d, 0x01020304, 0, 1, &p);
    assert_true(p.fragment);
    assert_int_equal(p.l4, 17);
    piece6(d, 0x01020304, 1, 1, &p);
    assert_int_equal(p.l4, 0);
    assert_int_equal(p.ip_proto, 17);
    piece6(d, 0x01020304, 2, 1, &p);
    assert_whole(&p);
    /* out of order with a duplicate */
    piece6(d, 5, 1, 2, &p);
    piece6(d, 5, 2, 2, &p);
    piece6(d, 5, 1, 2, &p);
    assert_false(p.reassembled);
    piece6(d, 5, 0, 2, &p);
    assert_whole(&p);
    assert_int_equal(st->reassembled, 2);
    /* overlapping */
    uint8_t f[160];
    piece6(d, 6, 1, 3, &p);
    size_t n = frag6(f, 6, 8, true, g_dgram + 8, 16);
    dec(d, LINKTYPE_ETHERNET, f, n, 3, &p);
    piece6(d, 6, 0, 3, &p);
    piece6(d, 6, 2, 3, &p);
    assert_false(p.reassembled);
    assert_int_equal(st->frag_invalid, 1);
    /* IPv4 and IPv6 with the same numeric id do not mix */
    make_dgram(6);
    piece6(d, 77, 0, 4, &p);
    make_dgram(4);
    piece4(d, 77, 1, 4, &p);
    piece4(d, 77, 2, 4, &p);
    assert_false(p.reassembled);
    assert_int_equal(st->fragments, 14);
}

static void test_frag_edge_cases(void **state)
{
    struct decoder *d = *state;
    struct packet p;
    uint8_t f[160];
    size_t n;
    const struct decode_stats *st = decoder_stats(d);
    make_dgram(4);

    /* two last pieces that do not overlap but disagree on the end */
    piece4(d, 1, 2, 10, &p);
    n = frag4(f, 17, 1, 48, false, g_dgram, 8);
    dec(d, LINKTYPE_ETHERNET, f, n, 10, &p);
    assert_int_equal(st->frag_invalid, 1);

    /* a last piece ending before data already held */
    piece4(d, 2, 1, 10, &p);
    n = frag4(f, 17, 2, 8, false, g_dgram + 8, 8);
    dec(d, LINKTYPE_ETHERNET, f, n, 10, &p);
    assert_int_equal(st->frag_invalid, 2);

    /* data ending exactly at 65535 is allowed (the buffer grows to its cap) */
    n = frag4(f, 17, 3, 65520, false, g_dgram, 15);
    dec(d, LINKTYPE_ETHERNET, f, n, 10, &p);
    assert_int_equal(st->frag_invalid, 2);
    assert_false(p.reassembled);

    /* reassembled, but the UDP length claims more than the datagram */
    uint8_t bad[48];
    memcpy(bad, g_dgram, sizeof(bad));
    put16(bad + 4, 200);
    for (int i = 0; i < 3; i++) {
        n = frag4(f, 17, 4, (uint32_t)i * 16, i < 2, bad + i * 16, 16);
        dec(d, LINKTYPE_ETHERNET, f, n, 10, &p);
    }
    assert_false(p.reassembled);
    assert_int_equal(p.error, DECODE_ERR_MALFORMED);
    assert_int_equal(st->reassembled, 0);

    /* at 100, id 3 (pending since 10) times out; ids 1 and 2 were already
     * dropped as invalid and do not count again */
    piece4(d, 5, 0, 100, &p);
    assert_int_equal(st->frag_timeout, 1);

    /* a clock that went backwards leaves an expired datagram behind a newer
     * head; finding it expired still drops it */
    piece4(d, 6, 0, 50, &p);
    piece4(d, 6, 1, 100 + DECODE_FRAG_TIMEOUT - 1, &p);
    assert_int_equal(st->frag_timeout, 2);
    piece4(d, 6, 2, 100 + DECODE_FRAG_TIMEOUT - 1, &p);
    assert_false(p.reassembled);
    piece4(d, 6, 0, 100 + DECODE_FRAG_TIMEOUT - 1, &p);
    assert_whole(&p);
}

/* A second fragment header after a real one is malformed. */
static void test_ipv6_two_fragment_headers(void **state)
{
    struct decoder *d = *state;
    static const uint8_t ext[16] = {44, 0, 0, 1, 0, 0, 0, 9, 17, 0, 0, 1, 0, 0, 0, 9};
    uint8_t l3[128];
    struct packet p;
    make_dgram(6);
    size_t n = put_ipv6(l3, 44, ext, sizeof(ext), g_dgram, 16);
    assert_int_equal(dec(d, LINKTYPE_RAW, l3, n, 1, &p), 0);
    assert_int_equal(p.error, DECODE_ERR_MALFORMED);
    assert_true(p.fragment);
    assert_int_equal(p.l4, 0);
}

/* Non-UDP fragments are counted but not stored. */
static void test_frag_non_udp(void **state)
{
    struct decoder *d = *state;
    struct packet p;
    uint8_t tcp[64], f[160];
    size_t tn = put_tcp(tcp, 4, 179, 5000, 77, 0x18, DNS_Q, 12);
    size_t n = frag4(f, 6, 3, 0, true, tcp, 24);
    assert_int_equal(dec(d, LINKTYPE_ETHERNET, f, n, 1, &p), 0);
    assert_true(p.fragment);
    assert_int_equal(p.l4, 6);
    assert_int_equal(p.sport, 179);
    n = frag4(f, 6, 3, 24, false, tcp + 24, tn - 24);
    assert_int_equal(dec(d, LINKTYPE_ETHERNET, f, n, 1, &p), 0);
    assert_true(p.fragment);
    assert_false(p.reassembled);
    assert_int_equal(p.l4, 0);
    assert_int_equal(p.ip_proto, 6);
    assert_int_equal(decoder_stats(d)->fragments, 2);
    assert_int_equal(decoder_stats(d)->reassembled, 0);
}

/* ---- truncation at every length ---------------------------------------- */

/* Decode frame cut at every caplen 0..len into a fresh exact-size buffer.
 * Below `whole` bytes the frame must say TRUNCATED (-1 if L3 is not all
 * there); from `whole` on it decodes as the full frame. */
static void check_every_length(int lt, const uint8_t *frame, size_t len, size_t whole)
{
    struct decoder *d = decoder_new();
    assert_non_null(d);
    struct packet full;
    assert_int_equal(decode_packet(d, lt, frame, (uint32_t)len, (uint32_t)len, 1, 0, &full), 0);
    assert_int_equal(full.error, DECODE_OK);
    decoder_free(&d);

    for (size_t cap = 0; cap <= len; cap++) {
        d = decoder_new();
        assert_non_null(d);
        uint8_t *b = malloc(cap ? cap : 1);
        assert_non_null(b);
        memcpy(b, frame, cap);
        struct packet p;
        int rc = decode_packet(d, lt, b, (uint32_t)cap, (uint32_t)len, 1, 0, &p);
        const struct decode_stats *st = decoder_stats(d);
        if (cap < whole) {
            assert_int_equal(p.error, DECODE_ERR_TRUNCATED);
            assert_int_equal(st->truncated, 1);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(p.error, DECODE_OK);
            assert_int_equal(p.payload_len, full.payload_len);
        }
        assert_int_equal(st->malformed, 0);
        if (rc < 0) {
            assert_int_equal(p.l3, 0);
            assert_null(p.payload);
        } else {
            assert_int_equal(p.l3, full.l3);
            assert_memory_equal(&p.src, &full.src, sizeof(p.src));
            assert_memory_equal(&p.dst, &full.dst, sizeof(p.dst));
            assert_int_equal(p.ip_proto == full.ip_proto || p.error != DECODE_OK, 1);
        }
        if (p.l4) {
            assert_int_equal(p.l4, full.l4);
            assert_int_equal(p.sport, full.sport);
            assert_int_equal(p.dport, full.dport);
            assert_int_equal(p.tcp_flags, full.tcp_flags);
        }
        if (p.payload) {
            assert_true(p.payload >= b && p.payload + p.payload_len <= b + cap);
            assert_true(p.payload_len <= full.payload_len);
        }
        assert_int_equal(p.vlan_depth <= full.vlan_depth, 1);
        free(b);
        decoder_free(&d);
    }
}

static void test_truncated_every_length(void **state)
{
    (void)state;
    uint8_t l3[256], f[300], seg[128];

    check_every_length(LINKTYPE_ETHERNET, F_ETH_V4_UDP, sizeof(F_ETH_V4_UDP), sizeof(F_ETH_V4_UDP));
    check_every_length(LINKTYPE_ETHERNET, F_ETH_V4OPT_TCP, sizeof(F_ETH_V4OPT_TCP),
                       sizeof(F_ETH_V4OPT_TCP));

    /* padded to 60: everything past the IP datagram may be cut freely */
    uint8_t pad[60] = {0};
    memcpy(pad, F_ETH_V4_UDP, sizeof(F_ETH_V4_UDP));
    check_every_length(LINKTYPE_ETHERNET, pad, sizeof(pad), sizeof(F_ETH_V4_UDP));

    /* QinQ / IPv6 / HBH / DST / FRAG (first) / UDP */
    size_t n = put_udp(seg, 6, 4000, 53, DNS_Q, 12);
    size_t m = put_ipv6(l3, 0, EXT_HBH_DST_FRAG, sizeof(EXT_HBH_DST_FRAG), seg, 16);
    size_t o = put_eth(f, 0x88a8);
    o += put_tag(f + o, 10, 0x8100);
    o += put_tag(f + o, 20, 0x86dd);
    memcpy(f + o, l3, m);
    check_every_length(LINKTYPE_ETHERNET, f, o + m, o + m);

    /* SLL2 / IPv6 / routing / AH / TCP */
    uint8_t ext[48] = {0};
    ext[0] = 51;
    ext[1] = 2;
    ext[2] = 2;
    ext[24] = 6;
    ext[25] = 4;
    n = put_tcp(seg, 6, 443, 50000, 5, 0x11, (const uint8_t *)"data", 4);
    m = put_ipv6(l3, 43, ext, sizeof(ext), seg, n);
    memset(f, 0, 20);
    put16(f, 0x86dd);
    memcpy(f + 20, l3, m);
    check_every_length(LINKTYPE_LINUX_SLL2, f, 20 + m, 20 + m);

    /* SLL / IPv4 / ICMP */
    uint8_t icmp[8] = {0, 0, 0, 0, 0, 1, 0, 2};
    put16(icmp + 2, fold(sum16(icmp, 8, 0)));
    m = put_ipv4(l3, 1, 9, 0, NULL, 0, icmp, 8);
    memset(f, 0, 16);
    put16(f + 14, 0x0800);
    memcpy(f + 16, l3, m);
    check_every_length(LINKTYPE_LINUX_SLL, f, 16 + m, 16 + m);

    /* NULL / IPv6 / ICMPv6, and raw IPv4 fragment (not first) */
    uint8_t icmp6[8] = {128, 0, 0, 0, 0, 1, 0, 1};
    set_l4_csum(6, 58, icmp6, 8, 2);
    m = put_ipv6(l3, 58, NULL, 0, icmp6, 8);
    memcpy(f, "\x1e\x00\x00\x00", 4);
    memcpy(f + 4, l3, m);
    check_every_length(LINKTYPE_NULL, f, 4 + m, 4 + m);
    m = put_ipv4(l3, 17, 9, 0x0002, NULL, 0, DNS_Q, 8);
    check_every_length(LINKTYPE_RAW, l3, m, m);
}

/* ---- real captures ----------------------------------------------------- */

struct counts {
    unsigned long frames, ipv4, ipv6, udp, tcp, fragments, reassembled, errors, not_ip;
    unsigned long reassembled_bytes;
    unsigned long udp_payload_bytes; /* of whole, unfragmented datagrams */
};

static struct counts count_fixture(const char *name)
{
    struct counts c;
    memset(&c, 0, sizeof(c));
    char path[4096];
    fixture_path(path, sizeof(path), name);
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, err);
    if (pc == NULL)
        fail_msg("%s: %s", path, err);
    int lt = pcap_datalink(pc);
    assert_true(decode_linktype_supported(lt));
    struct decoder *d = decoder_new();
    assert_non_null(d);
    struct pcap_pkthdr *h;
    const u_char *data;
    while (pcap_next_ex(pc, &h, &data) == 1) {
        struct packet p;
        int rc = decode_packet(d, lt, data, h->caplen, h->len, h->ts.tv_sec,
                               (int64_t)h->ts.tv_usec * 1000, &p);
        c.frames++;
        if (rc < 0 && p.error == DECODE_OK)
            c.not_ip++;
        if (p.error != DECODE_OK)
            c.errors++;
        c.ipv4 += p.l3 == 4;
        c.ipv6 += p.l3 == 6;
        c.udp += p.l4 == 17;
        c.tcp += p.l4 == 6;
        c.fragments += p.fragment;
        if (p.l4 == 17 && !p.fragment)
            c.udp_payload_bytes += p.payload_len;
        if (p.reassembled) {
            c.reassembled++;
            c.reassembled_bytes += p.payload_len + 8;
        }
    }
    const struct decode_stats *st = decoder_stats(d);
    assert_int_equal(st->packets, c.frames);
    assert_int_equal(st->fragments, c.fragments);
    assert_int_equal(st->reassembled, c.reassembled);
    decoder_free(&d);
    pcap_close(pc);
    return c;
}

static void test_fixture_dns_ipv4_udp(void **state)
{
    (void)state;
    struct counts c = count_fixture("dns_ipv4_udp.pcap");
    assert_int_equal(c.frames, 140); /* capinfos -c tests/fixtures/dns_ipv4_udp.pcap */
    assert_int_equal(c.udp, 140);    /* tshark -r tests/fixtures/dns_ipv4_udp.pcap -Y udp | wc -l */
    assert_int_equal(c.tcp, 0);      /* tshark -r tests/fixtures/dns_ipv4_udp.pcap -Y tcp | wc -l */
    assert_int_equal(c.ipv4, 140);   /* tshark -r tests/fixtures/dns_ipv4_udp.pcap -Y ip | wc -l */
    assert_int_equal(c.ipv6, 0); /* tshark -r tests/fixtures/dns_ipv4_udp.pcap -Y ipv6 | wc -l */
    assert_int_equal(c.errors, 0);
    assert_int_equal(c.fragments, 0);
}

static void test_fixture_dns_udp_tcp_random(void **state)
{
    (void)state;
    struct counts c = count_fixture("dns_udp_tcp_random.pcap");
    assert_int_equal(c.frames, 16147); /* capinfos -c tests/fixtures/dns_udp_tcp_random.pcap */
    /* tshark -r tests/fixtures/dns_udp_tcp_random.pcap -Y udp | wc -l */
    assert_int_equal(c.udp, 2971);
    /* tshark -r tests/fixtures/dns_udp_tcp_random.pcap -Y tcp | wc -l */
    assert_int_equal(c.tcp, 13176);
    /* tshark -r tests/fixtures/dns_udp_tcp_random.pcap -Y ip | wc -l */
    assert_int_equal(c.ipv4, 16147);
    assert_int_equal(c.ipv6, 0); /* tshark ... -Y ipv6 | wc -l */
    assert_int_equal(c.errors, 0);
    assert_int_equal(c.fragments, 0);
}

/* Real IPv4 and IPv6 fragmented DNS responses. */
static void test_fixture_ecs_fragments(void **state)
{
    (void)state;
    struct counts c = count_fixture("ecs.pcap");
    assert_int_equal(c.frames, 66); /* capinfos -c tests/fixtures/ecs.pcap */
    assert_int_equal(c.ipv4, 22);   /* tshark -r tests/fixtures/ecs.pcap -Y ip | wc -l */
    assert_int_equal(c.ipv6, 44);   /* tshark -r tests/fixtures/ecs.pcap -Y ipv6 | wc -l */
    assert_int_equal(c.tcp, 20);    /* tshark -r tests/fixtures/ecs.pcap -Y tcp | wc -l */
    /* tshark -r tests/fixtures/ecs.pcap -Y udp | wc -l (one per datagram) */
    assert_int_equal(c.udp, 39);
    /* tshark -r tests/fixtures/ecs.pcap -Y 'ip.flags.mf==1 || ip.frag_offset>0' | wc -l
     * gives 8; tshark -r tests/fixtures/ecs.pcap -Y ipv6.fraghdr | wc -l gives 6 */
    assert_int_equal(c.fragments, 14);
    /* tshark -r tests/fixtures/ecs.pcap -Y 'ip.fragments || ipv6.fragments' -T fields
     *   -e udp.length: 1710 1509 1498 1498 1710 1738 1738 */
    assert_int_equal(c.reassembled, 7);
    assert_int_equal(c.reassembled_bytes, 1710 + 1509 + 1498 + 1498 + 1710 + 1738 + 1738);
    assert_int_equal(c.errors, 0);
}

/* Linux cooked capture. */
static void test_fixture_ipfix_sll(void **state)
{
    (void)state;
    struct counts c = count_fixture("ipfix.pcap");
    assert_int_equal(c.frames, 43); /* capinfos -c tests/fixtures/ipfix.pcap */
    assert_int_equal(c.udp, 43);    /* tshark -r tests/fixtures/ipfix.pcap -Y udp | wc -l */
    assert_int_equal(c.ipv4, 43);   /* tshark -r tests/fixtures/ipfix.pcap -Y ip | wc -l */
    assert_int_equal(c.errors, 0);
}

/* These frames end with a 4-byte Ethernet FCS, which the IP length trims. */
static void test_fixture_nf9_fcs(void **state)
{
    (void)state;
    struct counts c = count_fixture("nf9.pcap");
    assert_int_equal(c.frames, 5); /* capinfos -c tests/fixtures/nf9.pcap */
    assert_int_equal(c.udp, 5);    /* tshark -r tests/fixtures/nf9.pcap -Y udp | wc -l */
    /* tshark -r tests/fixtures/nf9.pcap -T fields -e udp.length -e eth.fcs:
     * 120, 52, 52, 1472, 41, each frame with an FCS; payload = length - 8 */
    assert_int_equal(c.udp_payload_bytes, 120 + 52 + 52 + 1472 + 41 - 5 * 8);
    assert_int_equal(c.errors, 0);
}

/* The first frames of every capture, cut at every length. */
static void test_fixture_truncation(void **state)
{
    (void)state;
    static const char *names[] = {
        "bgp.pcap",          "dhcp-flow.pcap",    "dhcpv6.pcap", "dns_ipv4_tcp.pcap",
        "dns_ipv6_tcp.pcap", "dns_ipv6_udp.pcap", "dnssec.pcap", "dns_udp_mixed_rcode.pcap",
        "ecs.pcap",          "ipfix.pcap",        "nf5.pcap",    "nf9.pcap",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char path[4096];
        fixture_path(path, sizeof(path), names[i]);
        char err[PCAP_ERRBUF_SIZE];
        pcap_t *pc = pcap_open_offline(path, err);
        if (pc == NULL)
            fail_msg("%s: %s", path, err);
        int lt = pcap_datalink(pc);
        struct decoder *d = decoder_new();
        assert_non_null(d);
        struct pcap_pkthdr *h;
        const u_char *data;
        for (int k = 0; k < 12 && pcap_next_ex(pc, &h, &data) == 1; k++) {
            struct packet full;
            int frc = decode_packet(d, lt, data, h->caplen, h->len, 1, 0, &full);
            assert_int_equal(full.error, DECODE_OK);
            if (frc != 0 || full.fragment)
                continue;
            /* padding may be cut without harm, so OK is fine too */
            for (uint32_t cap = 0; cap < h->caplen; cap++) {
                uint8_t *b = malloc(cap ? cap : 1);
                assert_non_null(b);
                memcpy(b, data, cap);
                struct packet p;
                int rc = decode_packet(d, lt, b, cap, h->len, 1, 0, &p);
                assert_true(p.error == DECODE_ERR_TRUNCATED || p.error == DECODE_OK);
                assert_true(rc == 0 || p.l3 == 0);
                if (p.payload)
                    assert_true(p.payload >= b && p.payload + p.payload_len <= b + cap);
                if (p.l4)
                    assert_int_equal(p.sport, full.sport);
                free(b);
            }
        }
        assert_int_equal(decoder_stats(d)->malformed, 0);
        decoder_free(&d);
        pcap_close(pc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_checksums),
        cmocka_unit_test_setup_teardown(test_eth_ipv4_udp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eth_padding_trimmed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv4_options_tcp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linktype_ethernet_both_families, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vlan_single_and_double, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linktype_sll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linktype_sll2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linktype_raw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linktype_null_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linktype_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_hbh_dst_frag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_routing_ah_esp_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_flags_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_icmpv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv4_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_length_beyond_caplen, setup, teardown),
        cmocka_unit_test(test_addr_format),
        cmocka_unit_test_setup_teardown(test_frag4_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frag4_out_of_order_and_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frag4_overlap_and_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frag4_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frag4_table_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frag4_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frag6_reassembly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frag_edge_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_two_fragment_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frag_non_udp, setup, teardown),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_fixture_dns_ipv4_udp),
        cmocka_unit_test(test_fixture_dns_udp_tcp_random),
        cmocka_unit_test(test_fixture_ecs_fragments),
        cmocka_unit_test(test_fixture_ipfix_sll),
        cmocka_unit_test(test_fixture_nf9_fcs),
        cmocka_unit_test(test_fixture_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
