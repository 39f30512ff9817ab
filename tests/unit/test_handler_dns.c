/*
 * The dns and dhcp handlers driven with hand-built messages: the qname2/3
 * rule, counters, transactions (matching, direction, timeouts, top_slow),
 * filters, malformed input.  Expected values are worked out by hand beside
 * each assertion.
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

#include "dns_qname.h"
#include "handler.h"

/* --- qname2 / qname3 (SPEC 4.2) ----------------------------------------- */

static void check_levels(const char *name, const char *want2, const char *want3)
{
    struct strref q2, q3;
    dns_qname_levels(name, strlen(name), &q2, &q3);
    char got2[256], got3[256];
    snprintf(got2, sizeof(got2), "%.*s", (int)q2.len, q2.s);
    snprintf(got3, sizeof(got3), "%.*s", (int)q3.len, q3.s);
    assert_string_equal(got2, want2);
    assert_string_equal(got3, want3);
}

static void test_qname_levels(void **state)
{
    (void)state;
    check_levels("www.google.com", ".google.com", "www.google.com");
    check_levels("a.www.google.com", ".google.com", ".www.google.com");
    check_levels("google.com", "google.com", "");
    check_levels("com", "com", "");             /* shorter than 5 */
    check_levels("", "", "");                   /* the root */
    check_levels("abcdef", "abcdef", "abcdef"); /* one long label: both (quirk) */
    check_levels("www.google.com.", ".google.com.", "www.google.com.");
    check_levels("a.www.google.com.", ".google.com.", ".www.google.com.");
    check_levels("google.com.", "google.com.", "");
    check_levels(".abcde", ".abcde", ".abcde"); /* dot at index 0 */
    check_levels("x.y.z", ".y.z", "x.y.z");
}

/* --- message builder ---------------------------------------------------- */

struct msg {
    uint8_t b[512];
    size_t len;
};

/* A message with one question (name in dotted form, "" = root) and header
 * counts qd=1 plus `extra` answer records declared (not present). */
static struct msg dns_msg(uint16_t id, int qr, int rcode, const char *name, uint16_t qtype)
{
    struct msg m;
    memset(&m, 0, sizeof(m));
    m.b[0] = (uint8_t)(id >> 8);
    m.b[1] = (uint8_t)id;
    m.b[2] = (uint8_t)((qr ? 0x80 : 0) | 0x01);
    m.b[3] = (uint8_t)(rcode & 0x0f);
    m.b[5] = 1; /* qdcount */
    size_t off = 12;
    const char *p = name;
    while (*p != '\0') {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        m.b[off++] = (uint8_t)l;
        memcpy(&m.b[off], p, l);
        off += l;
        p += l;
        if (*p == '.')
            p++;
    }
    m.b[off++] = 0;
    m.b[off++] = (uint8_t)(qtype >> 8);
    m.b[off++] = (uint8_t)qtype;
    m.b[off++] = 0;
    m.b[off++] = 1; /* class IN */
    m.len = off;
    return m;
}

static struct packet udp(const struct msg *m, int64_t sec, int64_t nsec, const char *src,
                         uint16_t sport, const char *dst, uint16_t dport, enum packet_dir dir)
{
    struct packet p;
    memset(&p, 0, sizeof(p));
    p.ts_sec = sec;
    p.ts_nsec = nsec;
    p.l3 = 4;
    p.l4 = IPPROTO_UDP;
    p.ip_proto = IPPROTO_UDP;
    p.src.family = p.dst.family = 4;
    unsigned a[4];
    sscanf(src, "%u.%u.%u.%u", &a[0], &a[1], &a[2], &a[3]);
    for (int i = 0; i < 4; i++)
        p.src.a.v4[i] = (uint8_t)a[i];
    sscanf(dst, "%u.%u.%u.%u", &a[0], &a[1], &a[2], &a[3]);
    for (int i = 0; i < 4; i++)
        p.dst.a.v4[i] = (uint8_t)a[i];
    p.sport = sport;
    p.dport = dport;
    p.payload = m->b;
    p.payload_len = (uint32_t)m->len;
    p.dir = dir;
    return p;
}

static struct handler *new_dns(uint32_t periods, const struct handler_opt *opts, size_t n)
{
    struct handler_config cfg = {
        .num_periods = periods, .deep_sample_rate = 100, .opts = opts, .nopts = n};
    char err[256];
    struct handler *h = handler_new(&handler_dns, "default-dns", &cfg, err, sizeof(err));
    assert_non_null(h);
    return h;
}

static char *window_json(struct handler *h, uint32_t n)
{
    struct render_opts ro = {.now_sec = h->win->last_sec};
    cJSON *j = handler_window_json(h, n, &ro);
    assert_non_null(j);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

static char *bucket_json(struct handler *h, uint32_t i)
{
    struct render_opts ro = {.now_sec = h->win->last_sec};
    cJSON *j = handler_bucket_json(h, i, &ro);
    assert_non_null(j);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

static double num(const char *json, const char *path)
{
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    cJSON *cur = root;
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *tok = strtok(buf, "."); tok != NULL && cur != NULL; tok = strtok(NULL, "."))
        cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
    double v = cur != NULL ? cJSON_GetNumberValue(cur) : -1;
    cJSON_Delete(root);
    return v;
}

static void feed(struct handler *h, const struct msg *m, int64_t sec, int64_t nsec, bool response,
                 enum packet_dir dir)
{
    /* Client 10.0.0.1:40000 <-> server 192.0.2.53:53. */
    struct packet p = response ? udp(m, sec, nsec, "192.0.2.53", 53, "10.0.0.1", 40000, dir)
                               : udp(m, sec, nsec, "10.0.0.1", 40000, "192.0.2.53", 53, dir);
    handler_feed(h, &p);
}

/* Two pairs and a lone query; the host is the client (responses come in). */
static void test_counters_and_transactions(void **state)
{
    (void)state;
    struct handler *h = new_dns(5, NULL, 0);
    struct msg q1 = dns_msg(1, 0, 0, "www.example.com", 1);
    struct msg r1 = dns_msg(1, 1, 0, "www.example.com", 1);
    struct msg q2 = dns_msg(2, 0, 0, "nope.example.com", 28);
    struct msg r2 = dns_msg(2, 1, 3, "nope.example.com", 28);
    struct msg q3 = dns_msg(3, 0, 0, "x.other.org", 16);
    feed(h, &q1, 1000, 0, false, DIR_OUT);
    feed(h, &r1, 1000, 250000000, true, DIR_IN); /* 250000 us */
    feed(h, &q2, 1001, 0, false, DIR_OUT);
    feed(h, &r2, 1001, 1000, true, DIR_IN); /* 1 us */
    feed(h, &q3, 1002, 0, false, DIR_OUT);
    handler_finish(h);
    assert_int_equal(handler_dns_open_xacts(h), 1);

    char *s = window_json(h, 5);
    assert_int_equal(num(s, "wire_packets.total"), 5);
    assert_int_equal(num(s, "wire_packets.queries"), 3);
    assert_int_equal(num(s, "wire_packets.replies"), 2);
    assert_int_equal(num(s, "wire_packets.udp"), 5);
    assert_int_equal(num(s, "wire_packets.ipv4"), 5);
    assert_int_equal(num(s, "wire_packets.noerror"), 1);
    assert_int_equal(num(s, "wire_packets.nxdomain"), 1);
    assert_int_equal(num(s, "cardinality.qname"), 3);
    assert_int_equal(num(s, "xact.counts.total"), 2);
    assert_int_equal(num(s, "xact.out.total"), 2);
    assert_int_equal(num(s, "xact.in.total"), 0);
    /* Sorted latencies 1, 250000: p50 = [floor(0.5*2)] = [1] = 250000. */
    assert_int_equal(num(s, "xact.out.quantiles_us.p50"), 250000);
    assert_null(strstr(s, "\"in\":{\"quantiles_us\""));
    assert_non_null(strstr(s, "\"top_nxdomain\":[{\"estimate\":1,\"name\":\"nope.example.com\"}]"));
    assert_non_null(strstr(s, "\"top_qname2\":[{\"estimate\":4,\"name\":\".example.com\"},"
                              "{\"estimate\":1,\"name\":\".other.org\"}]"));
    assert_non_null(strstr(s, "{\"estimate\":2,\"name\":\"A\"}"));
    assert_non_null(strstr(s, "{\"estimate\":2,\"name\":\"AAAA\"}"));
    assert_non_null(strstr(s, "{\"estimate\":1,\"name\":\"TXT\"}"));
    assert_non_null(strstr(s, "\"top_rcode\":[{\"estimate\":1,\"name\":\"NOERROR\"},"
                              "{\"estimate\":1,\"name\":\"NXDOMAIN\"}]"));
    /* Metric port: the client's 40000, for queries (dst 53) and replies. */
    assert_non_null(strstr(s, "\"top_udp_ports\":[{\"estimate\":5,\"name\":\"40000\"}]"));
    free(s);
    handler_free(&h);
}

/* Host is the server: responses leave the host, so xact.in. Unknown
 * direction counts only xact.counts.total. */
static void test_direction(void **state)
{
    (void)state;
    struct handler *h = new_dns(5, NULL, 0);
    struct msg q = dns_msg(7, 0, 0, "a.b.c", 1), r = dns_msg(7, 1, 0, "a.b.c", 1);
    feed(h, &q, 500, 0, false, DIR_IN);
    feed(h, &r, 500, 2000, true, DIR_OUT);
    feed(h, &q, 501, 0, false, DIR_UNKNOWN);
    feed(h, &r, 501, 3000, true, DIR_UNKNOWN);
    handler_finish(h);
    char *s = window_json(h, 5);
    assert_int_equal(num(s, "xact.counts.total"), 2);
    assert_int_equal(num(s, "xact.in.total"), 1);
    assert_int_equal(num(s, "xact.out.total"), 0);
    assert_int_equal(num(s, "xact.in.quantiles_us.p50"), 2);
    free(s);
    handler_free(&h);
}

/* A query unanswered for 5 s or more is purged at the next period shift
 * into timed_out of the new bucket; a late response is then unmatched. */
static void test_timeout(void **state)
{
    (void)state;
    struct handler *h = new_dns(5, NULL, 0);
    struct msg q = dns_msg(9, 0, 0, "slow.example.com", 1);
    struct msg r = dns_msg(9, 1, 0, "slow.example.com", 1);
    struct msg q2 = dns_msg(10, 0, 0, "fresh.example.com", 1);
    feed(h, &q, 1000, 0, false, DIR_OUT);  /* bucket [1000, 1020) */
    feed(h, &q2, 1017, 0, false, DIR_OUT); /* 3 s before the shift: kept */
    feed(h, &r, 1021, 0, true, DIR_IN);    /* shift at 1020 first: q purged */
    handler_finish(h);
    char *live = bucket_json(h, 0);
    assert_int_equal(num(live, "xact.counts.timed_out"), 1);
    assert_int_equal(num(live, "xact.counts.total"), 0);
    free(live);
    assert_int_equal(handler_dns_open_xacts(h), 1);
    handler_free(&h);
}

/* top_slow: the closed bucket's p90 becomes the threshold. */
static void test_top_slow(void **state)
{
    (void)state;
    struct handler *h = new_dns(5, NULL, 0);
    /* Bucket 1 ([960,1020)): ten transactions of 1..10 ms: p90 = sorted[9]
     * = 10000 us. */
    for (uint16_t i = 1; i <= 10; i++) {
        struct msg q = dns_msg(i, 0, 0, "warm.example.com", 1);
        struct msg r = dns_msg(i, 1, 0, "warm.example.com", 1);
        feed(h, &q, 1000, 0, false, DIR_OUT);
        feed(h, &r, 1000, (int64_t)i * 1000000, true, DIR_IN);
    }
    /* Bucket 2: 20 ms is slow, 5 ms is not. */
    struct msg q = dns_msg(100, 0, 0, "slow.example.com", 1);
    struct msg r = dns_msg(100, 1, 0, "slow.example.com", 1);
    feed(h, &q, 1030, 0, false, DIR_OUT);
    feed(h, &r, 1030, 20000000, true, DIR_IN);
    q = dns_msg(101, 0, 0, "quick.example.com", 1);
    r = dns_msg(101, 1, 0, "quick.example.com", 1);
    feed(h, &q, 1031, 0, false, DIR_OUT);
    feed(h, &r, 1031, 5000000, true, DIR_IN);
    handler_finish(h);
    char *live = bucket_json(h, 0);
    assert_non_null(strstr(live, "\"top_slow\":[{\"estimate\":1,\"name\":\"slow.example.com\"}]"));
    free(live);
    char *first = bucket_json(h, 1);
    assert_non_null(strstr(first, "\"out\":{\"quantiles_us\":{\"p50\":6000,\"p90\":10000,"));
    assert_non_null(strstr(first, "\"top_slow\":[]"));
    free(first);
    handler_free(&h);
}

static void test_filters(void **state)
{
    (void)state;
    struct msg msgs[] = {
        dns_msg(1, 0, 0, "www.google.com", 1),     dns_msg(1, 1, 0, "www.google.com", 1),
        dns_msg(2, 0, 0, "notgoogle.com", 1),      dns_msg(2, 1, 3, "notgoogle.com", 1),
        dns_msg(3, 0, 0, "WWW.Example.NET", 1),    dns_msg(3, 1, 5, "WWW.Example.NET", 1),
        dns_msg(4, 1, 2, "broken.example.org", 1),
    };
    size_t n = sizeof(msgs) / sizeof(msgs[0]);
    struct {
        struct handler_opt opt;
        int kept;
    } cases[] = {
        /* NOERROR: 3 queries + 1 reply => 3 of 7 kept. */
        {{.key = "exclude_noerror", .type = HOPT_BOOL, .b = true}, 3},
        {{.key = "only_rcode", .type = HOPT_UINT, .u = 3}, 1},
        {{.key = "only_rcode", .type = HOPT_UINT, .u = 0}, 4},
        /* Plain suffix match: google.com also matches notgoogle.com. */
        {{.key = "only_qname_suffix",
          .type = HOPT_LIST,
          .list = (const char *const[]){"google.com"},
          .nlist = 1},
         4},
        /* Case-insensitive. */
        {{.key = "only_qname_suffix",
          .type = HOPT_LIST,
          .list = (const char *const[]){".example.net", ".example.org"},
          .nlist = 2},
         3},
        {{.key = "only_qname",
          .type = HOPT_LIST,
          .list = (const char *const[]){"www.google.com."},
          .nlist = 1},
         2},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct handler *h = new_dns(5, &cases[c].opt, 1);
        for (size_t i = 0; i < n; i++)
            feed(h, &msgs[i], 2000, (int64_t)i, msgs[i].b[2] & 0x80, DIR_UNKNOWN);
        handler_finish(h);
        char *s = window_json(h, 5);
        assert_int_equal(num(s, "wire_packets.total"), 7);
        assert_int_equal(num(s, "wire_packets.filtered"), 7 - cases[c].kept);
        assert_int_equal(num(s, "wire_packets.queries") + num(s, "wire_packets.replies"),
                         cases[c].kept);
        /* Filtered messages still count as deep samples at 100%. */
        assert_int_equal(num(s, "wire_packets.deep_samples"), 7);
        free(s);
        handler_free(&h);
    }
    /* Unsupported rcode: the handler refuses to start, with pktvisor's text. */
    struct handler_opt bad = {.key = "only_rcode", .type = HOPT_UINT, .u = 4};
    struct handler_config cfg = {
        .num_periods = 5, .deep_sample_rate = 100, .opts = &bad, .nopts = 1};
    char err[256] = "";
    assert_null(handler_new(&handler_dns, "x-dns", &cfg, err, sizeof(err)));
    assert_string_equal(err, "only_rcode contained an invalid/unsupported rcode");
}

/* A name the fast path takes (plain) and names it leaves to the renderer
 * (a label holding '.' or a control byte) must meet in the same items:
 * SPEC 4.2 cuts the text at every '.', so all of these have qname2
 * ".b.com". */
static void test_names_either_path(void **state)
{
    (void)state;
    struct msg esc_dot = dns_msg(2, 0, 0, "a/b.com", 1);
    struct msg esc_ctl = dns_msg(3, 0, 0, "c/d.b.com", 1);
    esc_dot.b[12 + 2] = '.';  /* label "a.b": text "a\.b.com" */
    esc_ctl.b[12 + 2] = 0x01; /* label "c\001d" */
    struct msg nx_esc = esc_dot;
    nx_esc.b[2] |= 0x80;
    nx_esc.b[3] = 3;
    struct msg msgs[] = {
        dns_msg(1, 0, 0, "x.b.com", 1),
        esc_dot,
        esc_ctl,
        dns_msg(4, 0, 0, "y.x.b.com", 1),
        dns_msg(5, 0, 0, "x.b.com", 1),
        nx_esc,
        dns_msg(1, 1, 3, "x.b.com", 1),
    };
    struct handler *h = new_dns(5, NULL, 0);
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
        feed(h, &msgs[i], 2000, (int64_t)i, msgs[i].b[2] & 0x80, DIR_UNKNOWN);
    handler_finish(h);
    char *s = window_json(h, 5);
    assert_int_equal(num(s, "wire_packets.queries"), 5);
    assert_int_equal(num(s, "cardinality.qname"), 4);
    assert_non_null(strstr(s, "\"top_qname2\":[{\"estimate\":7,\"name\":\".b.com\"}]"));
    assert_non_null(strstr(s, "{\"estimate\":3,\"name\":\"x.b.com\"}"));
    assert_non_null(strstr(s, "{\"estimate\":2,\"name\":\"a\\\\.b.com\"}"));
    assert_non_null(strstr(s, "{\"estimate\":1,\"name\":\"c\\\\001d.b.com\"}"));
    assert_non_null(strstr(s, "{\"estimate\":1,\"name\":\".x.b.com\"}"));
    assert_non_null(strstr(s, "\"top_nxdomain\":[{\"estimate\":1,\"name\":\"a\\\\.b.com\"},"
                              "{\"estimate\":1,\"name\":\"x.b.com\"}]"));
    free(s);
    handler_free(&h);
}

/* Names that begin like a name seen before (the handler remembers recent
 * names by their first 16 bytes) are still parsed as what they are. */
static void test_names_alike(void **state)
{
    (void)state;
    struct msg q1 = dns_msg(1, 0, 0, "abcdefghijklmno.example.com", 1);
    struct msg other = dns_msg(2, 0, 0, "abcdefghijklmno.example.org", 1);
    struct msg cut_name = q1, cut_class = q1, pointer = q1;
    cut_name.len = 12 + 10;      /* ends inside the name */
    cut_class.len = 12 + 29 + 2; /* the name (29 wire bytes) and the type only */
    pointer.b[12 + 16] = 0xc0;   /* after the first label: a pointer to itself */
    pointer.b[12 + 17] = 12 + 16;
    struct msg aaaa = dns_msg(3, 0, 0, "abcdefghijklmno.example.com", 28);
    struct msg msgs[] = {q1, cut_class, pointer, cut_name, other, aaaa, q1};
    struct handler *h = new_dns(5, NULL, 0);
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
        feed(h, &msgs[i], 2000, (int64_t)i, false, DIR_UNKNOWN);
    handler_finish(h);
    char *s = window_json(h, 5);
    assert_int_equal(num(s, "wire_packets.queries"), 7);
    assert_int_equal(num(s, "wire_packets.malformed"), 3);
    assert_int_equal(num(s, "cardinality.qname"), 2);
    assert_non_null(strstr(s, "\"top_qname2\":[{\"estimate\":3,\"name\":\".example.com\"},"
                              "{\"estimate\":1,\"name\":\".example.org\"}]"));
    assert_non_null(strstr(s, "\"top_qtype\":[{\"estimate\":3,\"name\":\"A\"},"
                              "{\"estimate\":1,\"name\":\"AAAA\"}]"));
    free(s);
    handler_free(&h);
}

static void test_malformed(void **state)
{
    (void)state;
    struct handler *h = new_dns(5, NULL, 0);
    struct msg shortm = {.len = 11};
    feed(h, &shortm, 3000, 0, false, DIR_UNKNOWN);
    struct msg counts = dns_msg(5, 0, 0, "a.example.com", 1);
    counts.b[7] = 101; /* ancount 101: over the 100-record sanity limit */
    feed(h, &counts, 3000, 1, false, DIR_UNKNOWN);
    struct msg loop = dns_msg(6, 0, 0, "", 1);
    loop.b[12] = 0xc0; /* question name: a pointer to itself */
    loop.b[13] = 12;
    loop.len = 18;
    feed(h, &loop, 3000, 2, false, DIR_UNKNOWN);
    handler_finish(h);
    char *s = window_json(h, 5);
    /* The short message is no DNS event; the other two are, but malformed. */
    assert_int_equal(num(s, "wire_packets.total"), 2);
    assert_int_equal(num(s, "wire_packets.malformed"), 3);
    assert_int_equal(num(s, "cardinality.qname"), 0);
    free(s);
    handler_free(&h);
}

/* SPEC 4.4: header record counts summed over 100 make a message
 * malformed; 100 exactly does not, nor a count's high byte left clear. */
static void test_record_counts(void **state)
{
    (void)state;
    struct handler *h = new_dns(5, NULL, 0);
    struct msg at_limit = dns_msg(1, 0, 0, "a.example.com", 1);
    at_limit.b[7] = 40;  /* an 40 */
    at_limit.b[9] = 30;  /* ns 30 */
    at_limit.b[11] = 29; /* ar 29: 1 + 40 + 30 + 29 = 100 */
    struct msg over = at_limit;
    over.b[11] = 30; /* 101 */
    struct msg high = dns_msg(2, 0, 0, "b.example.com", 1);
    high.b[8] = 1; /* ns 256 */
    feed(h, &at_limit, 3000, 0, false, DIR_UNKNOWN);
    feed(h, &over, 3000, 1, false, DIR_UNKNOWN);
    feed(h, &high, 3000, 2, false, DIR_UNKNOWN);
    handler_finish(h);
    char *s = window_json(h, 5);
    assert_int_equal(num(s, "wire_packets.malformed"), 2);
    assert_int_equal(num(s, "cardinality.qname"), 1);
    free(s);
    handler_free(&h);
}

/* Not DNS: other ports are ignored; 5353 and 53000 are DNS ports. */
static void test_ports(void **state)
{
    (void)state;
    struct handler *h = new_dns(5, NULL, 0);
    struct msg q = dns_msg(1, 0, 0, "host.local", 1);
    struct packet p = udp(&q, 100, 0, "10.0.0.1", 1234, "10.0.0.2", 8080, DIR_UNKNOWN);
    handler_feed(h, &p);
    p = udp(&q, 100, 0, "10.0.0.1", 5353, "224.0.0.251", 5353, DIR_UNKNOWN);
    handler_feed(h, &p);
    p = udp(&q, 100, 0, "10.0.0.1", 53000, "10.0.0.2", 41000, DIR_UNKNOWN);
    handler_feed(h, &p);
    handler_finish(h);
    char *s = window_json(h, 5);
    assert_int_equal(num(s, "wire_packets.total"), 2);
    assert_non_null(strstr(s, "{\"estimate\":1,\"name\":\"41000\"}"));
    assert_non_null(strstr(s, "{\"estimate\":1,\"name\":\"5353\"}"));
    free(s);
    handler_free(&h);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Transactions against SPEC 4.3 written out as a plain map (key -> query
 * time; a query stores or overwrites, a response matching a key counts
 * its latency and removes it): few keys, so that retransmitted queries,
 * duplicate and unmatched responses, and a query right after the answer
 * of the same key all happen, at every distance from each other.  Counts,
 * the open transactions at every step and the exact latencies (fewer
 * than QUANTILE_K, so the sketch is exact) must be the map's. */
static void test_transactions_model(void **state)
{
    (void)state;
    enum { KEYS = 12, STEPS = 700 };
    struct handler *h = new_dns(5, NULL, 0);
    struct msg q[KEYS], r[KEYS];
    for (int k = 0; k < KEYS; k++) {
        q[k] = dns_msg((uint16_t)(k % 4), 0, 0, "m.example.com", 1);
        r[k] = dns_msg((uint16_t)(k % 4), 1, 0, "m.example.com", 1);
    }
    int64_t open_ns[KEYS];
    bool open[KEYS] = {false};
    uint64_t lat[STEPS];
    unsigned nlat = 0, nopen = 0;
    uint64_t rng = 12345;
    int64_t t = 0;
    for (int i = 0; i < STEPS; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        int k = (int)(rng % KEYS);
        bool response = (rng >> 8) % 5 < 2;
        t += 1 + (int64_t)((rng >> 16) % 3000000);
        /* Key = client port (three of them) and DNS id (k % 4). */
        uint16_t port = (uint16_t)(40000 + k / 4);
        struct packet p = response ? udp(&r[k], 1000 + t / 1000000000, t % 1000000000, "192.0.2.53",
                                         53, "10.0.0.1", port, DIR_IN)
                                   : udp(&q[k], 1000 + t / 1000000000, t % 1000000000, "10.0.0.1",
                                         port, "192.0.2.53", 53, DIR_OUT);
        handler_feed(h, &p);
        if (!response) {
            nopen += !open[k];
            open[k] = true;
            open_ns[k] = t;
        } else if (open[k]) {
            lat[nlat++] = (uint64_t)(t - open_ns[k]) / 1000;
            open[k] = false;
            nopen--;
        }
        assert_int_equal(handler_dns_open_xacts(h), nopen);
    }
    handler_finish(h);
    assert_int_equal(handler_dns_open_xacts(h), nopen);
    char *s = window_json(h, 5);
    assert_int_equal(num(s, "xact.counts.total"), nlat);
    assert_int_equal(num(s, "xact.out.total"), nlat);
    assert_true(nlat > 100 && nlat < 400);
    qsort(lat, nlat, sizeof(lat[0]), cmp_u64);
    /* pktvisor's rule: the sample at index floor(q * n). */
    assert_int_equal(num(s, "xact.out.quantiles_us.p50"), lat[nlat / 2]);
    assert_int_equal(num(s, "xact.out.quantiles_us.p90"), lat[nlat * 90 / 100]);
    assert_int_equal(num(s, "xact.out.quantiles_us.p99"), lat[nlat * 99 / 100]);
    free(s);
    handler_free(&h);
}

/* A flood of never-answered queries from distinct clients: the table stops
 * at its cap (3/4 of 2^18 slots = 196608), the rest are counted as dropped,
 * and the next period shift purges them as timed out. */
static void test_query_flood(void **state)
{
    (void)state;
    struct handler *h = new_dns(5, NULL, 0);
    const uint32_t n = 250000, cap = (1u << 18) / 4 * 3;
    struct msg q = dns_msg(1, 0, 0, "flood.example.com", 1);
    for (uint32_t i = 0; i < n; i++) {
        struct packet p = udp(&q, 1000, i, "10.0.0.1", 40000, "192.0.2.53", 53, DIR_OUT);
        /* A distinct client address per query: a distinct flow. */
        p.src.a.v4[1] = (uint8_t)(i >> 16);
        p.src.a.v4[2] = (uint8_t)(i >> 8);
        p.src.a.v4[3] = (uint8_t)i;
        handler_feed(h, &p);
    }
    assert_int_equal(handler_dns_open_xacts(h), cap);
    struct msg other = dns_msg(2, 0, 0, "later.example.com", 1);
    feed(h, &other, 1100, 0, false, DIR_OUT); /* one shift: the new bucket starts at 1080 */
    handler_finish(h);
    assert_int_equal(handler_dns_open_xacts(h), 1);
    char *s = window_json(h, 5);
    assert_int_equal(num(s, "wire_packets.total"), n + 1);
    assert_int_equal(num(s, "xact.counts.dropped"), n - cap);
    assert_int_equal(num(s, "xact.counts.timed_out"), cap);
    free(s);
    handler_free(&h);
}

/* DHCP: message types from option 53 (a hand-built BOOTP header). */
static void test_dhcp(void **state)
{
    (void)state;
    struct handler_config cfg = {.num_periods = 5, .deep_sample_rate = 100};
    char err[256];
    struct handler *h = handler_new(&handler_dhcp, "default-dhcp", &cfg, err, sizeof(err));
    assert_non_null(h);
    int types[] = {1, 2, 3, 5, 5, 8};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        struct msg m;
        memset(&m, 0, sizeof(m));
        m.b[0] = 1;
        m.b[236] = 99, m.b[237] = 130, m.b[238] = 83, m.b[239] = 99;
        m.b[240] = 0;  /* pad */
        m.b[241] = 53; /* message type */
        m.b[242] = 1;
        m.b[243] = (uint8_t)types[i];
        m.b[244] = 255;
        m.len = 245;
        struct packet p = udp(&m, 10, 0, "0.0.0.0", 68, "255.255.255.255", 67, DIR_UNKNOWN);
        handler_feed(h, &p);
    }
    struct msg junk = {.len = 100};
    struct packet p = udp(&junk, 11, 0, "10.0.0.1", 67, "10.0.0.2", 68, DIR_UNKNOWN);
    handler_feed(h, &p);
    handler_finish(h);
    char *s = window_json(h, 5);
    assert_int_equal(num(s, "wire_packets.total"), 7);
    assert_int_equal(num(s, "wire_packets.discover"), 1);
    assert_int_equal(num(s, "wire_packets.offer"), 1);
    assert_int_equal(num(s, "wire_packets.request"), 1);
    assert_int_equal(num(s, "wire_packets.ack"), 2);
    assert_int_equal(num(s, "wire_packets.malformed"), 1);
    assert_int_equal(num(s, "wire_packets.filtered"), 0);
    free(s);
    handler_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qname_levels),
        cmocka_unit_test(test_counters_and_transactions),
        cmocka_unit_test(test_direction),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_top_slow),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_names_either_path),
        cmocka_unit_test(test_names_alike),
        cmocka_unit_test(test_record_counts),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_transactions_model),
        cmocka_unit_test(test_query_flood),
        cmocka_unit_test(test_dhcp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
