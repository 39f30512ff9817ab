/*
 * The Prometheus renderer (httpd_prom.h) on a small hand-declared metric
 * table, with the expected exposition text written out by hand:
 *
 * - rate "rates.total": seconds 100..103 counted 3, 1, 0, 2 (the last
 *   flushed by the close at 104): sorted 0 1 2 3, n = 4, so p50 = index
 *   floor(0.5*4) = 2 -> 2, p90/p95/p99 = index 3 -> 3; sum 6, count 4.
 * - counter "wire.total" = 7, with a HELP text holding a backslash, quotes
 *   and a newline (HELP escapes \\ and \n only).
 * - cardinality of 3 distinct hashes = 3 (exact below 1000).
 * - quantile "xact.quantiles_us" of 5 1 3 2 4: sorted 1..5, p50 = index
 *   floor(2.5) = 2 -> 3, p90 = index floor(4.5) = 4 -> 5, p95 = index 4,
 *   p99 = index 4 -> 5; sum 15 (the maximum would be 5), count 5.
 * - an empty quantile and an empty top-N: no lines at all, not even HELP.
 * - top-N: a"b 5, caf<e-acute> 4, c\d 3, e<newline>f 2, and the lone byte
 *   0xff 1 (not UTF-8: U+FFFD).
 * - health: restarts 2, ring_overruns 0, poison_packets 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "handler.h"
#include "httpd_prom.h"

/* The test table, declared the way the aggregator/ .def files declare real ones. */
#define TEST_METRICS(M)                                                                            \
    M(RATE, rate, "rates.total", "Rate of test events per second")                                 \
    M(COUNTER, total, "wire.total", "Total \"test\" events \\ all\nof them")                       \
    M(CARD, card, "cardinality.keys", "Distinct keys")                                             \
    M(QUANTILE, q, "xact.quantiles_us", "Transaction time in microseconds")                        \
    M(QUANTILE, q_empty, "xact.empty_us", "Never observed")                                        \
    M(TOPN, top, "top_names", "Top names")                                                         \
    M(TOPN, top_empty, "top_empty", "Never seen")

struct tb {
    struct bucket_hdr hdr;
    TEST_METRICS(METRIC_FIELD)
};

#define TB_DESC(kind, id, path, help) METRIC_DESC(struct tb, kind, id, path, help)
static const struct metric_desc tb_metrics[] = {TEST_METRICS(TB_DESC)};
static const struct metric_table tb_table = {
    .schema_key = "test",
    .bucket_size = sizeof(struct tb),
    .metrics = tb_metrics,
    .count = sizeof(tb_metrics) / sizeof(tb_metrics[0]),
};

static struct tb *new_bucket(void)
{
    struct tb *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    metric_bucket_open(&tb_table, b, 100, 0);
    rate_add(&b->rate, 100, 3);
    rate_add(&b->rate, 101, 1);
    rate_add(&b->rate, 103, 2);
    b->total = 7;
    card_add(&b->card, 0x1111111111111111ull);
    card_add(&b->card, 0x2222222222222222ull);
    card_add(&b->card, 0x3333333333333333ull);
    card_add(&b->card, 0x2222222222222222ull);
    const uint64_t qs[] = {5, 1, 3, 2, 4};
    for (size_t i = 0; i < 5; i++)
        quantile_add(&b->q, qs[i]);
    topn_add_text(&b->top, "c\\d", 3, 3);
    topn_add_text(&b->top, "a\"b", 3, 5);
    topn_add_text(&b->top, "\xff", 1, 1);
    topn_add_text(&b->top, "e\nf", 3, 2);
    topn_add_text(&b->top, "caf\xc3\xa9", 5, 4);
    metric_bucket_close(&tb_table, b, 104, 0);
    b->hdr.health.restarts = 2;
    b->hdr.health.poison_packets = 1;
    return b;
}

/* The whole exposition of new_bucket() with labels L (already in the
 * form key="value", sorted: instance, policy) and the "name"/"quantile"
 * label placed between them. */
#define HELP_TYPE(n, h, t) "# HELP " n " " h "\n# TYPE " n " " t "\n"
#define EXPECTED_NODE_DEFAULT                                                                                                                                                                                                                                                       \
    HELP_TYPE("test_rates_total", "Rate of test events per second", "summary")                                                                                                                                                                                                      \
    "test_rates_total{instance=\"node\",policy=\"default\",quantile=\"0.5\"} 2\n"                                                                                                                                                                                                   \
    "test_rates_total{instance=\"node\",policy=\"default\",quantile=\"0.9\"} 3\n"                                                                                                                                                                                                   \
    "test_rates_total{instance=\"node\",policy=\"default\",quantile=\"0.95\"} 3\n"                                                                                                                                                                                                  \
    "test_rates_total{instance=\"node\",policy=\"default\",quantile=\"0.99\"} 3\n"                                                                                                                                                                                                  \
    "test_rates_total_sum{instance=\"node\",policy=\"default\"} 6\n"                                                                                                                                                                                                                \
    "test_rates_total_count{instance=\"node\",policy=\"default\"} 4\n" HELP_TYPE(                                                                                                                                                                                                   \
        "test_wire_total", "Total \"test\" events \\\\ all\\nof them",                                                                                                                                                                                                              \
        "gauge") "test_wire_total{instance=\"node\",policy=\"default\"} 7\n" HELP_TYPE("test_"                                                                                                                                                                                      \
                                                                                       "cardinali"                                                                                                                                                                                  \
                                                                                       "ty_keys",                                                                                                                                                                                   \
                                                                                       "Distinct "                                                                                                                                                                                  \
                                                                                       "keys",                                                                                                                                                                                      \
                                                                                       "gauge") "test_cardinality_keys{instance=\"node\",policy=\"default\"} 3\n" HELP_TYPE("test_xact_quantiles_us",                                                                               \
                                                                                                                                                                            "Transaction time in microseconds",                                                                     \
                                                                                                                                                                            "summary") "test_xact_quantiles_us{instance=\"node\",policy=\"default\",quantile=\"0.5\"} 3\n"          \
                                                                                                                                                                                       "test_xact_quantiles_us{instance=\"node\",policy=\"default\",quantile=\"0.9\"} 5\n"          \
                                                                                                                                                                                       "test_xact_quantiles_us{instance=\"node\",policy=\"default\",quantile=\"0.95\"} 5\n"         \
                                                                                                                                                                                       "test_xact_quantiles_us{instance=\"node\",policy=\"default\",quantile=\"0.99\"} 5\n"         \
                                                                                                                                                                                       "test_xact_quantiles_us_sum{instance=\"node\",policy=\"default\"} 15\n"                      \
                                                                                                                                                                                       "test_xact_quantiles_us_count{instance=\"node\",policy=\"default\"} 5\n" HELP_TYPE(          \
                                                                                                                                                                                           "test_top_names",                                                                        \
                                                                                                                                                                                           "Top names",                                                                             \
                                                                                                                                                                                           "gauge") "test_top_names{instance=\"node\",name=\"a\\\"b\",policy=\"default\"} 5\n"      \
                                                                                                                                                                                                    "test_top_names{instance=\"node\",name=\"caf\xc3\xa9\",policy=\"default\"} 4\n" \
                                                                                                                                                                                                    "test_top_names{instance=\"node\",name=\"c\\\\d\",policy=\"default\"} 3\n"      \
                                                                                                                                                                                                    "test_top_names{instance=\"node\",name=\"e\\nf\",policy=\"default\"} 2\n"       \
                                                                                                                                                                                                    "test_top_names{instance=\"node\",name=\"\xef\xbf\xbd\",policy=\"default\"} 1\n"

#define EXPECTED_HEALTH                                                                                                                                                   \
    HELP_TYPE("test_agent_restarts", "Times this handler's process was restarted", "gauge")                                                                               \
    "test_agent_restarts{instance=\"node\",policy=\"default\"} 2\n" HELP_TYPE(                                                                                            \
        "test_agent_ring_overruns",                                                                                                                                       \
        "Packets this handler lost because it fell a whole packet ring behind the capture",                                                                               \
        "gauge") "test_agent_ring_overruns{instance=\"node\",policy=\"default\"} 0\n" HELP_TYPE("test_agent_poison_packets",                                              \
                                                                                                "Packets skipped because this handler crashed twice while counting them", \
                                                                                                "gauge") "test_agent_poison_packets{instance=\"node\",policy=\"default\"} 1\n"

static char *render(const void *bucket, bool agent, const struct prom_label *l, size_t n)
{
    struct prom_buf out = {0};
    struct render_opts o = {.agent = agent};
    assert_int_equal(prom_render_bucket(&out, &tb_table, bucket, &o, l, n), 0);
    assert_false(out.oom);
    assert_non_null(out.data);
    assert_int_equal(strlen(out.data), out.len);
    return out.data;
}

static void expect_text(const char *got, const char *want)
{
    if (strcmp(got, want) != 0) {
        size_t i = 0;
        while (got[i] == want[i])
            i++;
        fail_msg("output differs at byte %zu:\n--- got:\n%s\n--- want:\n%s", i, got + i, want + i);
    }
}

/* Everything at once, caller labels given out of order. */
static void test_bucket(void **state)
{
    (void)state;
    struct tb *b = new_bucket();
    const struct prom_label l[] = {{"policy", "default"}, {"instance", "node"}};
    char *s = render(b, false, l, 2);
    expect_text(s, EXPECTED_NODE_DEFAULT);
    free(s);
    s = render(b, true, l, 2);
    expect_text(s, EXPECTED_NODE_DEFAULT EXPECTED_HEALTH);
    free(s);
    free(b);
}

/* The renderer's labels slot in by key: module < name < policy <
 * quantile; escaping applies to caller values too. */
static void test_label_order_and_escaping(void **state)
{
    (void)state;
    struct tb *b = new_bucket();
    const struct prom_label l[] = {
        {"policy", "p"}, {"module", "m"}, {"zone", "z\"\\\n"}, {"instance", "i"}};
    char *s = render(b, false, l, 4);
    const char *want[] = {
        "test_rates_total{instance=\"i\",module=\"m\",policy=\"p\",quantile=\"0.95\",zone=\"z\\\""
        "\\\\\\n\"} 3\n",
        "test_rates_total_sum{instance=\"i\",module=\"m\",policy=\"p\",zone=\"z\\\"\\\\\\n\"} 6\n",
        "test_top_names{instance=\"i\",module=\"m\",name=\"a\\\"b\",policy=\"p\",zone=\"z\\\"\\\\"
        "\\n\"} 5\n",
        "test_wire_total{instance=\"i\",module=\"m\",policy=\"p\",zone=\"z\\\"\\\\\\n\"} 7\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (strstr(s, want[i]) == NULL)
            fail_msg("missing %s in:\n%s", want[i], s);
    free(s);

    /* "a" sorts before "name" and "quantile"; "r" between them. */
    const struct prom_label l2[] = {{"r", "1"}, {"a", "2"}};
    s = render(b, false, l2, 2);
    assert_non_null(strstr(s, "test_top_names{a=\"2\",name=\"a\\\"b\",r=\"1\"} 5\n"));
    assert_non_null(strstr(s, "test_rates_total{a=\"2\",quantile=\"0.5\",r=\"1\"} 2\n"));
    free(s);

    /* No labels at all: "{}" (SPEC 3.2); the renderer's own still appear. */
    s = render(b, false, NULL, 0);
    assert_non_null(strstr(s, "\ntest_wire_total{} 7\n"));
    assert_non_null(strstr(s, "\ntest_rates_total_count{} 4\n"));
    assert_non_null(strstr(s, "\ntest_rates_total{quantile=\"0.5\"} 2\n"));
    assert_non_null(strstr(s, "\ntest_top_names{name=\"c\\\\d\"} 3\n"));
    free(s);
    free(b);
}

/* Malformed UTF-8 of every kind becomes U+FFFD byte by byte; good
 * sequences of every length pass; a NUL ends the value (as in JSON). */
static void test_utf8(void **state)
{
    (void)state;
    struct tb *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    const char *in[] = {
        "\xc3\xa9",         /* U+00E9 */
        "\xe2\x82\xac",     /* U+20AC */
        "\xf0\x9f\x98\x80", /* U+1F600 */
        "\xc0\xaf",         /* overlong '/' */
        "\xed\xa0\x80",     /* surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xe2\x82",         /* cut short */
        "a\0b",
    };
    const size_t len[] = {2, 3, 4, 2, 3, 4, 2, 3};
    for (size_t i = 0; i < 8; i++)
        topn_add_text(&b->top, in[i], len[i], 10 - i);
    char *s = render(b, false, NULL, 0);
#define R "\xef\xbf\xbd"
    const char *want[] = {
        "{name=\"\xc3\xa9\"} 10\n",        "{name=\"\xe2\x82\xac\"} 9\n",
        "{name=\"\xf0\x9f\x98\x80\"} 8\n", "{name=\"" R R "\"} 7\n",
        "{name=\"" R R R "\"} 6\n",        "{name=\"" R R R R "\"} 5\n",
        "{name=\"" R R "\"} 4\n",          "{name=\"a\"} 3\n",
    };
#undef R
    for (size_t i = 0; i < 8; i++)
        if (strstr(s, want[i]) == NULL)
            fail_msg("missing %s in:\n%s", want[i], s);
    free(s);
    free(b);
}

/* An empty bucket: gauges at zero, no summary, no top-N. */
static void test_empty_bucket(void **state)
{
    (void)state;
    struct tb *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    const struct prom_label l[] = {{"policy", "default"}};
    char *s = render(b, false, l, 1);
    expect_text(
        s, HELP_TYPE(
               "test_wire_total", "Total \"test\" events \\\\ all\\nof them",
               "gauge") "test_wire_total{policy=\"default\"} 0\n" HELP_TYPE("test_cardinality_keys",
                                                                            "Distinct keys",
                                                                            "gauge") "test_"
                                                                                     "cardinality_"
                                                                                     "keys{policy="
                                                                                     "\"default\"} "
                                                                                     "0\n");
    free(s);
    free(b);
}

/* Two buckets in one group: each family's lines together, HELP/TYPE once. */
static void test_group(void **state)
{
    (void)state;
    struct tb *a = new_bucket();
    struct tb *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    b->total = 1;
    topn_add_text(&b->top, "x", 1, 9);
    quantile_add(&b->rate.q, 8);
    struct render_opts o = {.agent = true};
    struct prom_group *g = prom_group_new(&tb_table, &o);
    assert_non_null(g);
    const struct prom_label la[] = {{"module", "one"}};
    const struct prom_label lb[] = {{"module", "two"}};
    assert_int_equal(prom_group_add(g, a, la, 1), 0);
    assert_int_equal(prom_group_add(g, b, lb, 1), 0);
    struct prom_buf out = {0};
    prom_buf_append(&out, "# before\n", 9); /* appends to what is there */
    assert_int_equal(prom_group_write(g, &out), 0);
    prom_group_free(&g);
    assert_null(g);
    prom_group_free(&g); /* NULL is fine */

    const char *want = "# before\n" HELP_TYPE(
        "test_rates_total", "Rate of test events per second",
        "summary") "test_rates_total{module=\"one\",quantile=\"0.5\"} 2\n"
                   "test_rates_total{module=\"one\",quantile=\"0.9\"} 3\n"
                   "test_rates_total{module=\"one\",quantile=\"0.95\"} 3\n"
                   "test_rates_total{module=\"one\",quantile=\"0.99\"} 3\n"
                   "test_rates_total_sum{module=\"one\"} 6\n"
                   "test_rates_total_count{module=\"one\"} 4\n"
                   "test_rates_total{module=\"two\",quantile=\"0.5\"} 8\n"
                   "test_rates_total{module=\"two\",quantile=\"0.9\"} 8\n"
                   "test_rates_total{module=\"two\",quantile=\"0.95\"} 8\n"
                   "test_rates_total{module=\"two\",quantile=\"0.99\"} 8\n"
                   "test_rates_total_sum{module=\"two\"} 8\n"
                   "test_rates_total_count{module=\"two\"} 1\n" HELP_TYPE(
                       "test_wire_total", "Total \"test\" events \\\\ all\\nof them",
                       "gauge") "test_wire_total{module=\"one\"} 7\n"
                                "test_wire_total{module=\"two\"} 1\n" HELP_TYPE(
                                    "test_cardinality_keys", "Distinct keys",
                                    "gauge") "test_cardinality_keys{module=\"one\"} 3\n"
                                             "test_cardinality_keys{module=\"two\"} 0\n" HELP_TYPE(
                                                 "test_xact_quantiles_us",
                                                 "Transaction time in microseconds",
                                                 "summary") "test_xact_quantiles_us{module=\"one\","
                                                            "quantile=\"0.5\"} 3\n"
                                                            "test_xact_quantiles_us{module=\"one\","
                                                            "quantile=\"0.9\"} 5\n"
                                                            "test_xact_quantiles_us{module=\"one\","
                                                            "quantile=\"0.95\"} 5\n"
                                                            "test_xact_quantiles_us{module=\"one\","
                                                            "quantile=\"0.99\"} 5\n"
                                                            "test_xact_quantiles_us_sum{module="
                                                            "\"one\"} 15\n"
                                                            "test_xact_quantiles_us_count{module="
                                                            "\"one\"} 5\n" HELP_TYPE(
                                                                "test_top_names", "Top names",
                                                                "gauge") "test_top_names{module="
                                                                         "\"one\",name=\"a\\\"b\"} "
                                                                         "5\n"
                                                                         "test_top_names{module="
                                                                         "\"one\",name="
                                                                         "\"caf\xc3\xa9\"} 4\n"
                                                                         "test_top_names{module="
                                                                         "\"one\",name=\"c\\\\d\"} "
                                                                         "3\n"
                                                                         "test_top_names{module="
                                                                         "\"one\",name=\"e\\nf\"} "
                                                                         "2\n"
                                                                         "test_top_names{module="
                                                                         "\"one\",name="
                                                                         "\"\xef\xbf\xbd\"} 1\n"
                                                                         "test_top_names{module="
                                                                         "\"two\",name=\"x\"} "
                                                                         "9\n" HELP_TYPE(
                                                                             "test_agent_restarts",
                                                                             "Times this handler's "
                                                                             "process was "
                                                                             "restarted",
                                                                             "gauge") "test_agent_"
                                                                                      "restarts{"
                                                                                      "module="
                                                                                      "\"one\"} 2\n"
                                                                                      "test_agent_"
                                                                                      "restarts{"
                                                                                      "module="
                                                                                      "\"two\"} "
                                                                                      "0\n";
    assert_true(out.len > strlen(want));
    out.data[strlen(want)] = '\0';
    expect_text(out.data, want);
    prom_buf_free(&out);
    assert_null(out.data);
    free(a);
    free(b);
}

/* The real catalogue: with every sketch holding one observation, the
 * families of each handler come out with SPEC 3.6b's names in SPEC 3.6b's
 * order, then our own health counters (SPEC 10) and the agent's. */
static const char *const spec_net[] = {"packets_rates_pps_in summary",
                                       "packets_rates_pps_out summary",
                                       "packets_rates_pps_total summary",
                                       "packets_total gauge",
                                       "packets_deep_samples gauge",
                                       "packets_udp gauge",
                                       "packets_tcp gauge",
                                       "packets_other_l4 gauge",
                                       "packets_ipv4 gauge",
                                       "packets_ipv6 gauge",
                                       "packets_in gauge",
                                       "packets_out gauge",
                                       "packets_cardinality_src_ips_in gauge",
                                       "packets_cardinality_dst_ips_out gauge",
                                       "packets_top_ipv4 gauge",
                                       "packets_top_ipv6 gauge",
                                       "packets_top_geoLoc gauge",
                                       "packets_top_ASN gauge",
                                       NULL};
static const char *const spec_dns[] = {"dns_rates_total summary",
                                       "dns_wire_packets_total gauge",
                                       "dns_wire_packets_deep_samples gauge",
                                       "dns_wire_packets_queries gauge",
                                       "dns_wire_packets_replies gauge",
                                       "dns_wire_packets_tcp gauge",
                                       "dns_wire_packets_udp gauge",
                                       "dns_wire_packets_ipv4 gauge",
                                       "dns_wire_packets_ipv6 gauge",
                                       "dns_wire_packets_nxdomain gauge",
                                       "dns_wire_packets_refused gauge",
                                       "dns_wire_packets_srvfail gauge",
                                       "dns_wire_packets_noerror gauge",
                                       "dns_wire_packets_filtered gauge",
                                       "dns_cardinality_qname gauge",
                                       "dns_xact_counts_total gauge",
                                       "dns_xact_counts_timed_out gauge",
                                       "dns_xact_in_total gauge",
                                       "dns_xact_in_top_slow gauge",
                                       "dns_xact_out_quantiles_us summary",
                                       "dns_xact_in_quantiles_us summary",
                                       "dns_xact_out_total gauge",
                                       "dns_xact_out_top_slow gauge",
                                       "dns_top_udp_ports gauge",
                                       "dns_top_qname2 gauge",
                                       "dns_top_qname3 gauge",
                                       "dns_top_nxdomain gauge",
                                       "dns_top_refused gauge",
                                       "dns_top_srvfail gauge",
                                       "dns_top_rcode gauge",
                                       "dns_top_qtype gauge",
                                       NULL};
static const char *const spec_dhcp[] = {"dhcp_rates_total summary",
                                        "dhcp_wire_packets_total gauge",
                                        "dhcp_wire_packets_deep_samples gauge",
                                        "dhcp_wire_packets_discover gauge",
                                        "dhcp_wire_packets_offer gauge",
                                        "dhcp_wire_packets_request gauge",
                                        "dhcp_wire_packets_ack gauge",
                                        "dhcp_wire_packets_filtered gauge",
                                        NULL};
static const char *const spec_pcap[] = {"pcap_tcp_reassembly_errors gauge", "pcap_os_drops gauge",
                                        "pcap_if_drops gauge", NULL};

static void check_catalogue(const struct metric_table *t, const char *const *spec)
{
    void *b = calloc(1, t->bucket_size);
    assert_non_null(b);
    for (size_t i = 0; i < t->count; i++) {
        char *at = (char *)b + t->metrics[i].offset;
        if (t->metrics[i].kind == METRIC_QUANTILE)
            quantile_add((struct quantile *)at, 1);
        else if (t->metrics[i].kind == METRIC_RATE)
            quantile_add(&((struct rate *)at)->q, 1);
        else if (t->metrics[i].kind == METRIC_TOPN)
            topn_add_text((struct topn *)at, "x", 1, 1);
        else if (t->metrics[i].kind == METRIC_PORTS)
            ports_add((struct ports *)at, 1);
    }
    const struct prom_label l[] = {{"policy", "default"}};
    struct prom_buf out = {0};
    struct render_opts o = {.agent = true};
    assert_int_equal(prom_render_bucket(&out, t, b, &o, l, 1), 0);
    char *s = out.data;
    size_t k = 0, n = 0;
    for (const char *line = strstr(s, "# TYPE "); line != NULL;
         line = strstr(line + 1, "# TYPE ")) {
        char got[160];
        size_t len = strcspn(line + 7, "\n");
        assert_true(len < sizeof(got));
        memcpy(got, line + 7, len);
        got[len] = '\0';
        if (spec[k] != NULL) {
            assert_string_equal(got, spec[k]);
            k++;
        } else {
            /* After SPEC's families: ours, then the agent's three. */
            assert_true(strncmp(got, t->schema_key, strlen(t->schema_key)) == 0);
        }
        n++;
    }
    assert_null(spec[k]);
    assert_int_equal(n, t->count + bucket_health_count);
    char last[128];
    snprintf(last, sizeof(last), "# TYPE %s_agent_poison_packets gauge\n", t->schema_key);
    assert_non_null(strstr(s, last));
    free(s);
    free(b);
}

static void test_catalogue(void **state)
{
    (void)state;
    check_catalogue(handler_net.table, spec_net);
    check_catalogue(handler_dns.table, spec_dns);
    check_catalogue(handler_dhcp.table, spec_dhcp);
    check_catalogue(handler_pcap.table, spec_pcap);
}

static void test_buffer_growth(void **state)
{
    (void)state;
    struct prom_buf b = {0};
    char chunk[1000];
    memset(chunk, 'x', sizeof(chunk));
    for (int i = 0; i < 100; i++)
        prom_buf_append(&b, chunk, sizeof(chunk));
    assert_false(b.oom);
    assert_int_equal(b.len, 100000);
    assert_int_equal(strlen(b.data), 100000);
    assert_true(b.cap > b.len);
    prom_buf_free(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket),        cmocka_unit_test(test_label_order_and_escaping),
        cmocka_unit_test(test_utf8),          cmocka_unit_test(test_empty_bucket),
        cmocka_unit_test(test_group),         cmocka_unit_test(test_catalogue),
        cmocka_unit_test(test_buffer_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
