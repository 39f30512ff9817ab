/*
 * test_hostspec.c - -H parsing, direction rule and formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostspec.h"

static struct hostspec hs;

static int reset(void **state)
{
    (void)state;
    memset(&hs, 0, sizeof(hs));
    return 0;
}

/* Parse and expect failure with exactly msg; hs must be left as it was. */
static void expect_error(const char *spec, const char *msg)
{
    char err[256] = "";
    uint32_t n = hs.n;

    assert_int_equal(hostspec_parse(&hs, spec, err, sizeof(err)), -1);
    assert_string_equal(err, msg);
    assert_int_equal(hs.n, n);
}

static void expect_ok(const char *spec)
{
    char err[256] = "";

    if (hostspec_parse(&hs, spec, err, sizeof(err)) != 0)
        fail_msg("parse '%s' failed: %s", spec, err);
}

static void fmt(uint32_t i, char *buf, size_t size)
{
    size_t n = hostspec_format(&hs, i, buf, size);
    assert_int_equal(n, strlen(buf));
}

static void set_addr(struct ip_addr *a, const char *s)
{
    memset(a, 0, sizeof(*a));
    if (strchr(s, ':') != NULL) {
        a->family = 6;
        assert_int_equal(inet_pton(AF_INET6, s, a->a.v6), 1);
    } else {
        a->family = 4;
        assert_int_equal(inet_pton(AF_INET, s, a->a.v4), 1);
    }
}

static enum packet_dir dir_of(const char *src, const char *dst)
{
    struct packet p;

    memset(&p, 0, sizeof(p));
    set_addr(&p.src, src);
    set_addr(&p.dst, dst);
    p.l3 = p.src.family;
    return hostspec_direction(&hs, &p);
}

/* ---- parsing ---- */

static void test_parse_empty(void **state)
{
    (void)state;
    expect_ok("");
    assert_int_equal(hs.n, 0);
    expect_ok("   \t ");
    assert_int_equal(hs.n, 0);
    expect_ok(NULL);
    assert_int_equal(hs.n, 0);
}

static void test_parse_ipv4(void **state)
{
    static const uint8_t addr[4] = {192, 168, 0, 0};
    static const uint8_t mask[16] = {255, 255, 255, 0};

    (void)state;
    expect_ok("192.168.0.0/24");
    assert_int_equal(hs.n, 1);
    assert_int_equal(hs.e[0].family, 4);
    assert_int_equal(hs.e[0].prefix, 24);
    assert_memory_equal(hs.e[0].addr, addr, 4);
    assert_memory_equal(hs.e[0].mask, mask, 16);
}

static void test_parse_keeps_address(void **state)
{
    static const uint8_t addr[4] = {10, 1, 2, 3};
    char buf[64];

    (void)state;
    /* Not normalised to 10.0.0.0. */
    expect_ok("10.1.2.3/8");
    assert_memory_equal(hs.e[0].addr, addr, 4);
    fmt(0, buf, sizeof(buf));
    assert_string_equal(buf, "10.1.2.3/8");
}

static void test_parse_ipv4_clamp(void **state)
{
    static const uint8_t all[4] = {255, 255, 255, 255};
    static const uint8_t none[4] = {0, 0, 0, 0};

    (void)state;
    expect_ok("10.0.0.1/33,10.0.0.2/-1,10.0.0.3/99999999999999999999,10.0.0.4/0,10.0.0.5/+7");
    assert_int_equal(hs.n, 5);
    assert_int_equal(hs.e[0].prefix, 32);
    assert_memory_equal(hs.e[0].mask, all, 4);
    assert_int_equal(hs.e[1].prefix, 0);
    assert_memory_equal(hs.e[1].mask, none, 4);
    assert_int_equal(hs.e[2].prefix, 32);
    assert_int_equal(hs.e[3].prefix, 0);
    assert_int_equal(hs.e[4].prefix, 7);
    assert_int_equal(hs.e[4].mask[0], 0xfe);
}

static void test_parse_ipv6(void **state)
{
    static const uint8_t m33[16] = {0xff, 0xff, 0xff, 0xff, 0x80};
    static const uint8_t m0[16] = {0};
    uint8_t m128[16], addr[16];

    (void)state;
    memset(m128, 0xff, sizeof(m128));
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", addr), 1);

    expect_ok("2001:db8::1/33,::/0,2001:db8::1/128");
    assert_int_equal(hs.n, 3);
    assert_int_equal(hs.e[0].family, 6);
    assert_int_equal(hs.e[0].prefix, 33);
    assert_memory_equal(hs.e[0].addr, addr, 16);
    assert_memory_equal(hs.e[0].mask, m33, 16);
    assert_int_equal(hs.e[1].prefix, 0);
    assert_memory_equal(hs.e[1].mask, m0, 16);
    assert_int_equal(hs.e[2].prefix, 128);
    assert_memory_equal(hs.e[2].mask, m128, 16);
}

static void test_parse_ipv6_prefix_range(void **state)
{
    (void)state;
    expect_error("2001:db8::/129",
                 "IPv6 prefix length out of range 0..128 in CIDR: 2001:db8::/129");
    expect_error("2001:db8::/-1", "IPv6 prefix length out of range 0..128 in CIDR: 2001:db8::/-1");
    expect_error("2001:db8::/99999999999999999999",
                 "IPv6 prefix length out of range 0..128 in CIDR: "
                 "2001:db8::/99999999999999999999");
}

static void test_parse_list_and_whitespace(void **state)
{
    char buf[64];

    (void)state;
    expect_ok(" 10.0.0.0/8 ,\t2001:db8::/32,192.168.1.1/32 ");
    assert_int_equal(hs.n, 3);
    fmt(0, buf, sizeof(buf));
    assert_string_equal(buf, "10.0.0.0/8");
    fmt(1, buf, sizeof(buf));
    assert_string_equal(buf, "2001:db8::/32");
    fmt(2, buf, sizeof(buf));
    assert_string_equal(buf, "192.168.1.1/32");
    /* Parsing appends to what hs already holds. */
    expect_ok("172.16.0.0/12");
    assert_int_equal(hs.n, 4);
    fmt(3, buf, sizeof(buf));
    assert_string_equal(buf, "172.16.0.0/12");
}

static void test_parse_trailing_comma(void **state)
{
    (void)state;
    /* pktvisor's split ignored one trailing empty piece. */
    expect_ok("10.0.0.0/8,");
    assert_int_equal(hs.n, 1);
    expect_ok("10.0.0.0/8, ");
    assert_int_equal(hs.n, 2);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_error("10.0.0.0", "invalid CIDR: 10.0.0.0 (expected ADDRESS/PREFIX)");
    expect_error("10.0.0.0/8/9", "invalid CIDR: 10.0.0.0/8/9 (expected ADDRESS/PREFIX)");
    expect_error("10.0.0.0/8,,10.1.0.0/16", "invalid CIDR: empty entry (expected ADDRESS/PREFIX)");
    expect_error(",10.0.0.0/8", "invalid CIDR: empty entry (expected ADDRESS/PREFIX)");
    expect_error(" 2001:db8:: ", "invalid CIDR: 2001:db8:: (expected ADDRESS/PREFIX)");
    expect_error("10.0.0.256/8", "invalid IPv4 address: 10.0.0.256");
    expect_error("10.0.0/8", "invalid IPv4 address: 10.0.0");
    expect_error("example.com/24", "invalid IPv4 address: example.com");
    expect_error("/24", "invalid IPv4 address: ");
    expect_error("2001:zz::/32", "invalid IPv6 address: 2001:zz::");
    expect_error("2001:db8:::1/64", "invalid IPv6 address: 2001:db8:::1");
    /* ':' anywhere in the entry makes it IPv6, as in pktvisor. */
    expect_error("10.0.0.0/8:", "invalid IPv6 address: 10.0.0.0");
    expect_error("10.0.0.0/abc", "invalid prefix length in CIDR: 10.0.0.0/abc");
    expect_error("10.0.0.0/", "invalid prefix length in CIDR: 10.0.0.0/");
    expect_error("10.0.0.0/8x", "invalid prefix length in CIDR: 10.0.0.0/8x");
    expect_error("10.0.0.0/ 8", "invalid prefix length in CIDR: 10.0.0.0/ 8");
    expect_error("2001:db8::/x", "invalid prefix length in CIDR: 2001:db8::/x");
}

static void test_parse_error_is_atomic(void **state)
{
    char err[128];

    (void)state;
    expect_ok("10.0.0.0/8");
    assert_int_equal(hostspec_parse(&hs, "192.168.0.0/16,bogus/1", err, sizeof(err)), -1);
    assert_string_equal(err, "invalid IPv4 address: bogus");
    assert_int_equal(hs.n, 1);
    /* A tiny or absent error buffer is tolerated. */
    assert_int_equal(hostspec_parse(&hs, "bogus/1", err, 8), -1);
    assert_string_equal(err, "invalid");
    assert_int_equal(hostspec_parse(&hs, "bogus/1", NULL, 0), -1);
}

static void test_parse_long_address(void **state)
{
    char spec[200], msg[256];

    (void)state;
    memset(spec, '1', 100);
    strcpy(spec + 100, "/8");
    snprintf(msg, sizeof(msg), "invalid IPv4 address: %.100s", spec);
    expect_error(spec, msg);
}

static void test_parse_too_many(void **state)
{
    char *spec = malloc((HOSTSPEC_MAX + 1) * 20);
    char msg[64];
    size_t off = 0;

    (void)state;
    assert_non_null(spec);
    for (int i = 0; i < HOSTSPEC_MAX; i++)
        off += (size_t)sprintf(spec + off, "%s10.%d.%d.0/24", i ? "," : "", i / 256, i % 256);
    expect_ok(spec);
    assert_int_equal(hs.n, HOSTSPEC_MAX);

    snprintf(msg, sizeof(msg), "too many host CIDRs (at most %d)", HOSTSPEC_MAX);
    expect_error("10.255.0.0/16", msg);

    /* 257 in one spec fails as a whole. */
    memset(&hs, 0, sizeof(hs));
    strcpy(spec + off, ",10.255.0.0/16");
    expect_error(spec, msg);
    assert_int_equal(hs.n, 0);
    free(spec);
}

/* ---- append ---- */

static void test_append(void **state)
{
    static const uint8_t v4[4] = {192, 0, 2, 1};
    uint8_t v6[16];
    char buf[64];

    (void)state;
    assert_int_equal(inet_pton(AF_INET6, "fe80::1", v6), 1);
    assert_int_equal(hostspec_append(&hs, 4, v4, 24), 0);
    assert_int_equal(hostspec_append(&hs, 6, v6, 64), 0);
    assert_int_equal(hostspec_append(&hs, 4, v4, 40), 0); /* clamped */
    assert_int_equal(hostspec_append(&hs, 6, v6, 129), -1);
    assert_int_equal(hostspec_append(&hs, 5, v4, 8), -1);
    assert_int_equal(hs.n, 3);
    fmt(0, buf, sizeof(buf));
    assert_string_equal(buf, "192.0.2.1/24");
    fmt(1, buf, sizeof(buf));
    assert_string_equal(buf, "fe80::1/64");
    fmt(2, buf, sizeof(buf));
    assert_string_equal(buf, "192.0.2.1/32");

    hs.n = HOSTSPEC_MAX;
    assert_int_equal(hostspec_append(&hs, 4, v4, 24), -1);
    assert_int_equal(hs.n, HOSTSPEC_MAX);
}

/* ---- direction ---- */

static void test_dir_basic(void **state)
{
    (void)state;
    expect_ok("192.168.0.0/24");
    assert_int_equal(dir_of("8.8.8.8", "192.168.0.10"), DIR_IN);
    assert_int_equal(dir_of("192.168.0.10", "8.8.8.8"), DIR_OUT);
    assert_int_equal(dir_of("8.8.8.8", "8.8.4.4"), DIR_UNKNOWN);
    assert_int_equal(dir_of("192.168.1.10", "192.168.0.255"), DIR_IN);
    assert_int_equal(dir_of("192.168.0.0", "192.168.1.0"), DIR_OUT);
}

static void test_dir_between_hosts_is_in(void **state)
{
    (void)state;
    expect_ok("192.168.0.0/24,10.0.0.0/8");
    assert_int_equal(dir_of("192.168.0.1", "192.168.0.2"), DIR_IN);
    assert_int_equal(dir_of("10.0.0.1", "10.0.0.2"), DIR_IN);
}

static void test_dir_list_order(void **state)
{
    (void)state;
    /* The first entry decides: src matches entry 0 before dst is tried
     * against entry 1. */
    expect_ok("10.0.0.0/8,192.168.0.0/16");
    assert_int_equal(dir_of("10.1.1.1", "192.168.1.1"), DIR_OUT);
    assert_int_equal(dir_of("192.168.1.1", "10.1.1.1"), DIR_IN);

    reset(NULL);
    expect_ok("192.168.0.0/16,10.0.0.0/8");
    assert_int_equal(dir_of("10.1.1.1", "192.168.1.1"), DIR_IN);
    assert_int_equal(dir_of("192.168.1.1", "10.1.1.1"), DIR_OUT);
}

static void test_dir_address_as_given(void **state)
{
    (void)state;
    expect_ok("192.168.0.77/24");
    assert_int_equal(dir_of("1.2.3.4", "192.168.0.5"), DIR_IN);
    assert_int_equal(dir_of("192.168.0.200", "1.2.3.4"), DIR_OUT);
    assert_int_equal(dir_of("1.2.3.4", "192.168.1.77"), DIR_UNKNOWN);
}

static void test_dir_mixed_families(void **state)
{
    (void)state;
    expect_ok("2001:db8::/32");
    assert_int_equal(dir_of("10.0.0.1", "10.0.0.2"), DIR_UNKNOWN);
    assert_int_equal(dir_of("2001:db8::1", "2a00::1"), DIR_OUT);

    reset(NULL);
    expect_ok("0.0.0.0/0");
    /* ::/0 is not implied by an IPv4 catch-all, nor v4-mapped addresses. */
    assert_int_equal(dir_of("2001:db8::1", "::ffff:10.0.0.1"), DIR_UNKNOWN);
    assert_int_equal(dir_of("1.1.1.1", "2.2.2.2"), DIR_IN);

    reset(NULL);
    expect_ok("10.0.0.0/8,2001:db8::/32,192.168.0.0/16,2001:db8:1::/48");
    assert_int_equal(dir_of("192.168.1.1", "8.8.8.8"), DIR_OUT);
    assert_int_equal(dir_of("2001:db8:1::1", "2a00::1"), DIR_OUT);
    assert_int_equal(dir_of("2a00::1", "2001:db8:1::1"), DIR_IN);
    assert_int_equal(dir_of("2a00::1", "2a01::1"), DIR_UNKNOWN);

    /* IPv6 list order: the /48 comes first and matches src before the /32
     * is tried against dst. */
    reset(NULL);
    expect_ok("2001:db8:1::/48,10.0.0.0/8,2001:db8::/32");
    assert_int_equal(dir_of("2001:db8:1::1", "2001:db8:2::1"), DIR_OUT);
    assert_int_equal(dir_of("2001:db8:2::1", "2001:db8:1::1"), DIR_IN);
}

static void test_dir_ipv6_prefixes(void **state)
{
    (void)state;
    expect_ok("2001:db8:0:0:8000::/65");
    assert_int_equal(dir_of("::1", "2001:db8::8000:0:0:1"), DIR_IN);
    assert_int_equal(dir_of("::1", "2001:db8::7fff:0:0:1"), DIR_UNKNOWN);
    assert_int_equal(dir_of("::1", "2001:db8:0:1:8000::"), DIR_UNKNOWN);

    reset(NULL);
    expect_ok("fe80::1/128");
    assert_int_equal(dir_of("fe80::1", "fe80::2"), DIR_OUT);
    assert_int_equal(dir_of("fe80::2", "fe80::3"), DIR_UNKNOWN);

    reset(NULL);
    expect_ok("::/0");
    assert_int_equal(dir_of("2a00::1", "2a01::1"), DIR_IN);
}

static void test_dir_not_ip(void **state)
{
    struct packet p;

    (void)state;
    expect_ok("0.0.0.0/0,::/0");
    memset(&p, 0, sizeof(p));
    assert_int_equal(hostspec_direction(&hs, &p), DIR_UNKNOWN);
    /* Addresses filled in but l3 == 0: still unknown. */
    set_addr(&p.src, "10.0.0.1");
    set_addr(&p.dst, "10.0.0.2");
    assert_int_equal(hostspec_direction(&hs, &p), DIR_UNKNOWN);
}

static void test_dir_empty_spec(void **state)
{
    (void)state;
    assert_int_equal(dir_of("10.0.0.1", "10.0.0.2"), DIR_UNKNOWN);
    assert_int_equal(dir_of("::1", "::2"), DIR_UNKNOWN);
}

/* Bit-by-bit reference for prefix matching. */
static bool ref_match(const uint8_t *net, const uint8_t *a, unsigned prefix)
{
    for (unsigned b = 0; b < prefix; b++) {
        unsigned sh = 7 - b % 8;
        if (((net[b / 8] >> sh) & 1) != ((a[b / 8] >> sh) & 1))
            return false;
    }
    return true;
}

static enum packet_dir ref_dir(const struct packet *p)
{
    for (uint32_t i = 0; i < hs.n; i++) {
        const struct hostspec_entry *e = &hs.e[i];
        if (e->family != p->l3)
            continue;
        if (ref_match(e->addr, p->dst.a.v6, e->prefix))
            return DIR_IN;
        if (ref_match(e->addr, p->src.a.v6, e->prefix))
            return DIR_OUT;
    }
    return DIR_UNKNOWN;
}

static void test_dir_against_reference(void **state)
{
    uint8_t base[16];
    struct packet p;

    (void)state;
    srand(12345);
    for (int round = 0; round < 200; round++) {
        reset(NULL);
        for (int k = 0; k < 8; k++) {
            int fam = rand() % 2 ? 4 : 6;
            for (int j = 0; j < 16; j++)
                base[j] = (uint8_t)rand();
            assert_int_equal(
                hostspec_append(&hs, fam, base, (unsigned)rand() % (fam == 4 ? 33 : 129)), 0);
        }
        for (int t = 0; t < 200; t++) {
            const struct hostspec_entry *e = &hs.e[rand() % hs.n];
            memset(&p, 0, sizeof(p));
            p.l3 = e->family;
            p.src.family = p.dst.family = e->family;
            /* Start near an entry so matches are common, then flip a bit. */
            memcpy(p.src.a.v6, e->addr, 16);
            memcpy(p.dst.a.v6, e->addr, 16);
            p.src.a.v6[rand() % (e->family == 4 ? 4 : 16)] ^= (uint8_t)(1u << (rand() % 8));
            p.dst.a.v6[rand() % (e->family == 4 ? 4 : 16)] ^= (uint8_t)(1u << (rand() % 8));
            if (e->family == 4) {
                memset(p.src.a.v6 + 4, 0, 12);
                memset(p.dst.a.v6 + 4, 0, 12);
            }
            assert_int_equal(hostspec_direction(&hs, &p), ref_dir(&p));
        }
    }
}

/* ---- format ---- */

static void test_format_round_trip(void **state)
{
    static const char *const in[] = {
        "10.0.0.0/8", "192.168.0.77/24", "0.0.0.0/0",         "2001:db8::/32",
        "::/0",       "fe80::1/128",     "::ffff:10.0.0.1/96"};
    char buf[64];
    struct hostspec copy;

    (void)state;
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        reset(NULL);
        expect_ok(in[i]);
        fmt(0, buf, sizeof(buf));
        assert_string_equal(buf, in[i]);
    }

    /* Non-canonical input renders canonically and parses back the same. */
    reset(NULL);
    expect_ok("2001:DB8:0:0::1/64,10.0.0.1/40,2001:0db8:0000::/128");
    memcpy(&copy, &hs, sizeof(hs));
    fmt(0, buf, sizeof(buf));
    assert_string_equal(buf, "2001:db8::1/64");
    fmt(1, buf, sizeof(buf));
    assert_string_equal(buf, "10.0.0.1/32");
    fmt(2, buf, sizeof(buf));
    assert_string_equal(buf, "2001:db8::/128");
    for (uint32_t i = 0; i < copy.n; i++) {
        hostspec_format(&copy, i, buf, sizeof(buf));
        reset(NULL);
        expect_ok(buf);
        assert_memory_equal(&hs.e[0], &copy.e[i], sizeof(hs.e[0]));
    }
}

static void test_format_bounds(void **state)
{
    char buf[8];

    (void)state;
    expect_ok("192.168.100.200/24");
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(hostspec_format(&hs, 0, buf, sizeof(buf)), 7);
    assert_string_equal(buf, "192.168");
    assert_int_equal(hostspec_format(&hs, 0, buf, 0), 0);
    buf[0] = 'x';
    assert_int_equal(hostspec_format(&hs, 1, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_parse_empty, reset),
        cmocka_unit_test_setup(test_parse_ipv4, reset),
        cmocka_unit_test_setup(test_parse_keeps_address, reset),
        cmocka_unit_test_setup(test_parse_ipv4_clamp, reset),
        cmocka_unit_test_setup(test_parse_ipv6, reset),
        cmocka_unit_test_setup(test_parse_ipv6_prefix_range, reset),
        cmocka_unit_test_setup(test_parse_list_and_whitespace, reset),
        cmocka_unit_test_setup(test_parse_trailing_comma, reset),
        cmocka_unit_test_setup(test_parse_errors, reset),
        cmocka_unit_test_setup(test_parse_error_is_atomic, reset),
        cmocka_unit_test_setup(test_parse_long_address, reset),
        cmocka_unit_test_setup(test_parse_too_many, reset),
        cmocka_unit_test_setup(test_append, reset),
        cmocka_unit_test_setup(test_dir_basic, reset),
        cmocka_unit_test_setup(test_dir_between_hosts_is_in, reset),
        cmocka_unit_test_setup(test_dir_list_order, reset),
        cmocka_unit_test_setup(test_dir_address_as_given, reset),
        cmocka_unit_test_setup(test_dir_mixed_families, reset),
        cmocka_unit_test_setup(test_dir_ipv6_prefixes, reset),
        cmocka_unit_test_setup(test_dir_not_ip, reset),
        cmocka_unit_test_setup(test_dir_empty_spec, reset),
        cmocka_unit_test_setup(test_dir_against_reference, reset),
        cmocka_unit_test_setup(test_format_round_trip, reset),
        cmocka_unit_test_setup(test_format_bounds, reset),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
