/*
 * Metric catalogue, window rotation, JSON rendering and the net handler,
 * driven with hand-built struct packets whose expected counts are worked
 * out by hand in each test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <netinet/in.h>

#include "handler.h"

static struct handler *new_net(uint32_t periods, uint32_t deep)
{
    struct handler_config cfg = {.num_periods = periods, .deep_sample_rate = deep};
    char err[256];
    struct handler *h = handler_new(&handler_net, "default-net", &cfg, err, sizeof(err));
    assert_non_null(h);
    return h;
}

static struct packet pkt4(int64_t sec, uint8_t proto, const char *src, const char *dst,
                          enum packet_dir dir)
{
    struct packet p;
    memset(&p, 0, sizeof(p));
    p.ts_sec = sec;
    p.l3 = 4;
    p.ip_proto = proto;
    p.l4 = proto;
    p.src.family = 4;
    p.dst.family = 4;
    unsigned a, b, c, d;
    assert_int_equal(sscanf(src, "%u.%u.%u.%u", &a, &b, &c, &d), 4);
    p.src.a.v4[0] = (uint8_t)a, p.src.a.v4[1] = (uint8_t)b, p.src.a.v4[2] = (uint8_t)c,
    p.src.a.v4[3] = (uint8_t)d;
    assert_int_equal(sscanf(dst, "%u.%u.%u.%u", &a, &b, &c, &d), 4);
    p.dst.a.v4[0] = (uint8_t)a, p.dst.a.v4[1] = (uint8_t)b, p.dst.a.v4[2] = (uint8_t)c,
    p.dst.a.v4[3] = (uint8_t)d;
    p.dir = dir;
    return p;
}

static char *render(cJSON *j)
{
    assert_non_null(j);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

static uint64_t num_at(const char *json, const char *path)
{
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    cJSON *cur = root;
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *tok = strtok(buf, "."); tok != NULL; tok = strtok(NULL, "."))
        cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
    assert_non_null(cur);
    uint64_t v = (uint64_t)cJSON_GetNumberValue(cur);
    cJSON_Delete(root);
    return v;
}

/* Keys are sorted at every level and integers are printed exactly. */
static void test_json_sorted_and_exact(void **state)
{
    (void)state;
    cJSON *o = cJSON_CreateObject();
    cJSON *inner = cJSON_AddObjectToObject(o, "zeta");
    json_add_u64(inner, "b", UINT64_C(18446744073709551615));
    json_add_u64(inner, "a", 1);
    json_add_i64(o, "alpha", -5);
    cJSON_AddArrayToObject(o, "mid");
    json_sort_keys(o);
    char *s = render(o);
    assert_string_equal(s,
                        "{\"alpha\":-5,\"mid\":[],\"zeta\":{\"a\":1,\"b\":18446744073709551615}}");
    free(s);
}

/* 3 packets in: 10.0.0.1 -> host twice, 10.0.0.2 -> host once; 1 out to
 * 10.0.0.1; 1 unknown; one ICMP; one IPv6 unknown. */
static void test_net_counts(void **state)
{
    (void)state;
    struct handler *h = new_net(5, 100);
    struct packet ps[] = {
        pkt4(100, IPPROTO_UDP, "10.0.0.1", "192.0.2.1", DIR_IN),
        pkt4(100, IPPROTO_UDP, "10.0.0.1", "192.0.2.1", DIR_IN),
        pkt4(101, IPPROTO_TCP, "10.0.0.2", "192.0.2.1", DIR_IN),
        pkt4(101, IPPROTO_UDP, "192.0.2.1", "10.0.0.1", DIR_OUT),
        pkt4(102, IPPROTO_ICMP, "10.9.9.9", "10.8.8.8", DIR_UNKNOWN),
    };
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
        handler_feed(h, &ps[i]);
    struct packet v6;
    memset(&v6, 0, sizeof(v6));
    v6.ts_sec = 103;
    v6.l3 = 6;
    v6.ip_proto = IPPROTO_UDP;
    handler_feed(h, &v6);
    struct packet arp;
    memset(&arp, 0, sizeof(arp));
    arp.ts_sec = 103;
    handler_feed(h, &arp);
    handler_finish(h);

    struct render_opts ro = {.now_sec = 103};
    char *s = render(handler_window_json(h, 5, &ro));
    assert_int_equal(num_at(s, "total"), 7);
    assert_int_equal(num_at(s, "udp"), 4);
    assert_int_equal(num_at(s, "tcp"), 1);
    assert_int_equal(num_at(s, "other_l4"), 2);
    assert_int_equal(num_at(s, "ipv4"), 5);
    assert_int_equal(num_at(s, "ipv6"), 1);
    assert_int_equal(num_at(s, "in"), 3);
    assert_int_equal(num_at(s, "out"), 1);
    assert_int_equal(num_at(s, "deep_samples"), 7);
    assert_int_equal(num_at(s, "cardinality.src_ips_in"), 2);
    assert_int_equal(num_at(s, "cardinality.dst_ips_out"), 1);
    /* Remote addresses: 10.0.0.1 in twice + out once = 3, 10.0.0.2 once. */
    assert_non_null(strstr(s, "\"top_ipv4\":[{\"estimate\":3,\"name\":\"10.0.0.1\"},"
                              "{\"estimate\":1,\"name\":\"10.0.0.2\"}]"));
    assert_non_null(strstr(s, "\"top_ipv6\":[]"));
    assert_non_null(strstr(s, "\"top_ASN\":[]"));
    assert_non_null(strstr(s, "\"top_geoLoc\":[]"));
    /* Packet seconds 100..103: totals per second 2,2,1,2 (close at 103
     * flushes the partial second): sorted 1,2,2,2 -> p50 = [2] = 2. */
    assert_int_equal(num_at(s, "rates.pps_total.p50"), 2);
    assert_int_equal(num_at(s, "rates.pps_total.p99"), 2);
    /* in: 2,1,0,0 -> sorted 0,0,1,2 -> p50 = [2] = 1, p90 = [3] = 2. */
    assert_int_equal(num_at(s, "rates.pps_in.p50"), 1);
    assert_int_equal(num_at(s, "rates.pps_in.p90"), 2);
    assert_int_equal(num_at(s, "period.start_ts"), 100);
    assert_int_equal(num_at(s, "period.length"), 3);
    assert_null(strstr(s, "live"));
    free(s);
    handler_free(&h);
    assert_null(h);
}

/* Buckets rotate at minute boundaries of the packet clock. */
static void test_window_rotation(void **state)
{
    (void)state;
    struct handler *h = new_net(3, 100);
    /* 1000 is 16:40 past a minute boundary at 960; next boundary 1020. */
    int64_t times[] = {1000, 1010, 1019, 1020, 1079, 1080, 1200, 1201};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        struct packet p = pkt4(times[i], IPPROTO_UDP, "10.0.0.1", "10.0.0.2", DIR_UNKNOWN);
        handler_feed(h, &p);
    }
    handler_finish(h);
    /* Buckets: [1000,1020) 3 pkts, [1020,1080) 2, [1080,1140) 1,
     * [1200, 1201] 2: only the newest 3 are kept. */
    assert_int_equal(h->win->count, 3);
    struct render_opts ro = {.now_sec = 1201};
    char *s = render(handler_bucket_json(h, 0, &ro));
    assert_int_equal(num_at(s, "total"), 2);
    assert_int_equal(num_at(s, "period.start_ts"), 1200);
    assert_int_equal(num_at(s, "period.length"), 1);
    free(s);
    s = render(handler_bucket_json(h, 1, &ro));
    assert_int_equal(num_at(s, "total"), 1);
    assert_int_equal(num_at(s, "period.start_ts"), 1080);
    assert_int_equal(num_at(s, "period.length"), 60);
    free(s);
    s = render(handler_bucket_json(h, 2, &ro));
    assert_int_equal(num_at(s, "total"), 2);
    assert_int_equal(num_at(s, "period.start_ts"), 1020);
    free(s);
    assert_null(handler_bucket_json(h, 3, &ro));
    /* Merged: counts add, start is the earliest, length the sum 60+60+1. */
    s = render(handler_window_json(h, 3, &ro));
    assert_int_equal(num_at(s, "total"), 5);
    assert_int_equal(num_at(s, "period.start_ts"), 1020);
    assert_int_equal(num_at(s, "period.length"), 121);
    free(s);
    s = render(handler_window_json(h, 2, &ro));
    assert_int_equal(num_at(s, "total"), 3);
    assert_int_equal(num_at(s, "period.length"), 61);
    free(s);
    handler_free(&h);
}

/* One period never rotates: a summary bucket. */
static void test_summary_mode(void **state)
{
    (void)state;
    struct handler *h = new_net(1, 100);
    for (int64_t t = 0; t < 500; t += 50) {
        struct packet p = pkt4(1000 + t, IPPROTO_TCP, "10.0.0.1", "10.0.0.2", DIR_UNKNOWN);
        handler_feed(h, &p);
    }
    handler_finish(h);
    struct render_opts ro = {.now_sec = 1450};
    char *s = render(handler_bucket_json(h, 0, &ro));
    assert_int_equal(num_at(s, "total"), 10);
    assert_int_equal(num_at(s, "period.length"), 450);
    free(s);
    handler_free(&h);
}

/* With a sample rate below 100 only counters see every packet. */
static void test_deep_sampling(void **state)
{
    (void)state;
    struct handler *h = new_net(5, 25);
    for (int i = 0; i < 20000; i++) {
        struct packet p = pkt4(5000, IPPROTO_UDP, "10.0.0.1", "10.0.0.2", DIR_IN);
        handler_feed(h, &p);
    }
    handler_finish(h);
    struct render_opts ro = {.now_sec = 5000};
    char *s = render(handler_window_json(h, 5, &ro));
    assert_int_equal(num_at(s, "total"), 20000);
    assert_int_equal(num_at(s, "in"), 20000);
    uint64_t deep = num_at(s, "deep_samples");
    /* Binomial(20000, 0.25): mean 5000, sd 61; 5 sd either side. */
    assert_in_range(deep, 4700, 5300);
    free(s);
    handler_free(&h);
}

/* The live bucket of live capture shows "live" rates; empty quantiles are
 * omitted. */
static void test_live_rendering(void **state)
{
    (void)state;
    struct handler *h = new_net(5, 100);
    struct packet p = pkt4(2000, IPPROTO_UDP, "10.0.0.1", "10.0.0.2", DIR_IN);
    handler_feed(h, &p);
    handler_feed(h, &p);
    p.ts_sec = 2001;
    handler_feed(h, &p);
    struct render_opts ro = {.now_sec = 2005, .show_live = true};
    char *s = render(handler_bucket_json(h, 0, &ro));
    assert_int_equal(num_at(s, "rates.pps_in.live"), 2);
    assert_int_equal(num_at(s, "period.length"), 5);
    free(s);
    handler_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_sorted_and_exact), cmocka_unit_test(test_net_counts),
        cmocka_unit_test(test_window_rotation),       cmocka_unit_test(test_summary_mode),
        cmocka_unit_test(test_deep_sampling),         cmocka_unit_test(test_live_rendering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
