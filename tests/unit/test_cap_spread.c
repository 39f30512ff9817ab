/*
 * test_cap_spread.c - a file tap's worker of a frame (cap_spread.h), on
 * frames built here byte by byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cap_spread.h"
#include "decode.h"

/* Ethernet (optionally one 802.1Q tag) + IPv4 + 4 bytes of UDP ports. */
static size_t ipv4_frame(uint8_t *f, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp,
                         uint16_t frag, bool vlan)
{
    size_t o = 12;
    memset(f, 0, 64);
    if (vlan) {
        f[o++] = 0x81, f[o++] = 0x00, f[o++] = 0x00, f[o++] = 0x07;
    }
    f[o++] = 0x08, f[o++] = 0x00;
    uint8_t *ip = f + o;
    ip[0] = 0x45;
    ip[6] = (uint8_t)(frag >> 8), ip[7] = (uint8_t)frag;
    ip[9] = 17;
    for (int i = 0; i < 4; i++) {
        ip[12 + i] = (uint8_t)(src >> (24 - 8 * i));
        ip[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
    }
    ip[20] = (uint8_t)(sp >> 8), ip[21] = (uint8_t)sp;
    ip[22] = (uint8_t)(dp >> 8), ip[23] = (uint8_t)dp;
    return o + 28;
}

static size_t ipv6_frame(uint8_t *f, uint8_t s_last, uint8_t d_last, uint16_t sp, uint16_t dp)
{
    memset(f, 0, 80);
    f[12] = 0x86, f[13] = 0xdd;
    uint8_t *ip = f + 14;
    ip[0] = 0x60;
    ip[6] = 6; /* TCP */
    ip[8] = 0x20, ip[9] = 0x01, ip[23] = s_last;
    ip[24] = 0x20, ip[25] = 0x01, ip[39] = d_last;
    ip[40] = (uint8_t)(sp >> 8), ip[41] = (uint8_t)sp;
    ip[42] = (uint8_t)(dp >> 8), ip[43] = (uint8_t)dp;
    return 14 + 44;
}

static void test_symmetric(void **state)
{
    (void)state;
    uint8_t f[128];
    srand(3);
    for (int i = 0; i < 1000; i++) {
        uint32_t a = (uint32_t)rand(), b = (uint32_t)rand();
        uint16_t p = (uint16_t)rand(), q = (uint16_t)rand();
        for (unsigned n = 2; n <= 8; n++) {
            size_t l1 = ipv4_frame(f, a, b, p, q, 0, false);
            unsigned w1 = cap_spread_worker(LINKTYPE_ETHERNET, f, (uint32_t)l1, n);
            size_t l2 = ipv4_frame(f, b, a, q, p, 0, false);
            assert_int_equal(cap_spread_worker(LINKTYPE_ETHERNET, f, (uint32_t)l2, n), w1);
            /* The same flow behind a VLAN tag. */
            size_t l3 = ipv4_frame(f, b, a, q, p, 0, true);
            assert_int_equal(cap_spread_worker(LINKTYPE_ETHERNET, f, (uint32_t)l3, n), w1);
            assert_true(w1 < n);
        }
        size_t l6 = ipv6_frame(f, (uint8_t)a, (uint8_t)b, p, q);
        unsigned w6 = cap_spread_worker(LINKTYPE_ETHERNET, f, (uint32_t)l6, 4);
        l6 = ipv6_frame(f, (uint8_t)b, (uint8_t)a, q, p);
        assert_int_equal(cap_spread_worker(LINKTYPE_ETHERNET, f, (uint32_t)l6, 4), w6);
    }
}

/* Every fragment of a datagram (ports in the first only) in one worker,
 * whatever the ports say. */
static void test_fragments(void **state)
{
    (void)state;
    uint8_t f[128];
    for (uint32_t a = 1; a < 200; a++) {
        size_t l = ipv4_frame(f, 0x0a000000 + a, 0xc0a80001, 53, (uint16_t)(1000 + a), 0x2000,
                              false); /* MF, offset 0 */
        unsigned first = cap_spread_worker(LINKTYPE_ETHERNET, f, (uint32_t)l, 3);
        l = ipv4_frame(f, 0xc0a80001, 0x0a000000 + a, 0x1234, 0x5678, 0x00b9, false); /* last */
        assert_int_equal(cap_spread_worker(LINKTYPE_ETHERNET, f, (uint32_t)l, 3), first);
    }
}

/* Many clients of one server: the workers share them about evenly. */
static void test_balance(void **state)
{
    (void)state;
    uint8_t f[128];
    unsigned count[2] = {0};
    for (uint32_t c = 0; c < 10000; c++) {
        size_t l =
            ipv4_frame(f, 0x0a000000 + c, 0xc0a80001, (uint16_t)(1024 + c % 50000), 53, 0, false);
        count[cap_spread_worker(LINKTYPE_ETHERNET, f, (uint32_t)l, 2)]++;
    }
    assert_in_range(count[0], 4700, 5300);
}

static void test_not_ip(void **state)
{
    (void)state;
    uint8_t f[128];
    size_t l = ipv4_frame(f, 1, 2, 3, 4, 0, false);
    assert_int_equal(cap_spread_worker(LINKTYPE_ETHERNET, f, (uint32_t)l, 1), 0);
    /* Cut before the destination address. */
    for (uint32_t cut = 0; cut < 14 + 20; cut++)
        assert_int_equal(cap_spread_worker(LINKTYPE_ETHERNET, f, cut, 7), 0);
    f[12] = 0x08, f[13] = 0x06; /* ARP */
    assert_int_equal(cap_spread_worker(LINKTYPE_ETHERNET, f, (uint32_t)l, 7), 0);
    /* Raw IP of a version that is neither 4 nor 6. */
    f[0] = 0x50;
    assert_int_equal(cap_spread_worker(LINKTYPE_RAW, f, 40, 7), 0);
}

/* Link types other than Ethernet find the same IP header. */
static void test_link_types(void **state)
{
    (void)state;
    uint8_t eth[128], other[160];
    size_t l = ipv4_frame(eth, 0x01020304, 0x05060708, 99, 53, 0, false);
    unsigned want = cap_spread_worker(LINKTYPE_ETHERNET, eth, (uint32_t)l, 5);
    memcpy(other, eth + 14, l - 14); /* raw */
    assert_int_equal(cap_spread_worker(LINKTYPE_RAW, other, (uint32_t)(l - 14), 5), want);
    memset(other, 0, 16); /* Linux cooked: protocol at 14 */
    other[14] = 0x08;
    memcpy(other + 16, eth + 14, l - 14);
    assert_int_equal(cap_spread_worker(LINKTYPE_LINUX_SLL, other, (uint32_t)(l + 2), 5), want);
    memset(other, 0, 4); /* BSD loopback, either byte order */
    other[0] = 2;
    memcpy(other + 4, eth + 14, l - 14);
    assert_int_equal(cap_spread_worker(LINKTYPE_NULL, other, (uint32_t)(l - 10), 5), want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_symmetric),  cmocka_unit_test(test_fragments),
        cmocka_unit_test(test_balance),    cmocka_unit_test(test_not_ip),
        cmocka_unit_test(test_link_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
