/*
 * The HTTP worker's router (httpd_api.h) on a fake source whose "default"
 * policy holds real net and dns handler instances fed hand-built packets,
 * plus a second, younger policy with a smaller window: every read route of
 * SPEC 2, every status and error body, the hoisted legacy period, __all's
 * omission of policies with period errors, bad N, odd paths and methods.
 *
 * Packets (worked out by hand): default-net sees 3 frames at t=100..101
 * (bucket [100,120): the first bucket opens at the first packet) and 2 at
 * t=130 (bucket [120,..)), so its window holds 2 buckets; default-dns sees
 * a query and its response at t=100 (1 bucket).  second-net (3 periods)
 * sees 1 frame at t=100.
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
#include "httpd_api.h"
#include "httpd_prom.h"

/* --- the fake source ---------------------------------------------------- */

struct fake_inst {
    struct handler *h;
    bool running;
    bool fail; /* render reports an internal failure */
};

struct fake_policy {
    const char *name;
    struct fake_inst inst[4];
    size_t n;
};

struct fake {
    struct fake_policy pol[4];
    size_t n;
    cJSON *taps; /* duplicated per call; NULL: no taps */
    int64_t now;
    bool agent;                /* render the health counters */
    bool no_prom;              /* a source without with_window */
    const char *prom_instance; /* --prom-instance */
};

static size_t f_policy_count(void *ctx)
{
    return ((struct fake *)ctx)->n;
}

static const char *f_policy_name(void *ctx, size_t p)
{
    return ((struct fake *)ctx)->pol[p].name;
}

static size_t f_instance_count(void *ctx, size_t p)
{
    return ((struct fake *)ctx)->pol[p].n;
}

static int f_instance_get(void *ctx, size_t p, size_t i, struct httpd_instance *out)
{
    const struct fake_inst *fi = &((struct fake *)ctx)->pol[p].inst[i];
    out->name = fi->h->name;
    out->schema_key = fi->h->type->table->schema_key;
    out->running = fi->running;
    return 0;
}

static enum httpd_render_rc f_render(void *ctx, size_t p, size_t i, enum httpd_view view,
                                     uint64_t n, cJSON **out, char *err)
{
    struct fake *f = ctx;
    const struct fake_inst *fi = &f->pol[p].inst[i];
    if (fi->fail) {
        snprintf(err, HTTPD_ERR_MAX, "segment vanished");
        return HTTPD_RENDER_FAIL;
    }
    struct render_opts ro = {.now_sec = f->now, .show_live = false};
    return httpd_window_render(fi->h->type->table, fi->h->win, view, n, &ro, out, err);
}

static enum httpd_render_rc f_with_window(void *ctx, size_t p, size_t i, httpd_window_fn fn,
                                          void *arg, char *err)
{
    struct fake *f = ctx;
    const struct fake_inst *fi = &f->pol[p].inst[i];
    if (fi->fail) {
        snprintf(err, HTTPD_ERR_MAX, "segment vanished");
        return HTTPD_RENDER_FAIL;
    }
    struct render_opts ro = {.now_sec = f->now, .agent = f->agent};
    return fn(arg, fi->h->type->table, fi->h->win, &ro, err);
}

static cJSON *f_taps(void *ctx)
{
    struct fake *f = ctx;
    return f->taps != NULL ? cJSON_Duplicate(f->taps, true) : NULL;
}

static cJSON *f_extra(void *ctx, size_t p, size_t i)
{
    const struct fake_inst *fi = &((struct fake *)ctx)->pol[p].inst[i];
    if (fi->h->type != &handler_dns)
        return NULL;
    cJSON *x = cJSON_CreateObject();
    cJSON *xact = cJSON_AddObjectToObject(cJSON_AddObjectToObject(x, "dns"), "xact");
    cJSON_AddNumberToObject(xact, "open", handler_dns_open_xacts(fi->h));
    cJSON_AddStringToObject(x, "module", "must not replace ours");
    return x;
}

static double f_up(void *ctx)
{
    (void)ctx;
    return 1.5;
}

static struct httpd_source source_of(struct fake *f)
{
    struct httpd_source s = {
        .ctx = f,
        .policy_count = f_policy_count,
        .policy_name = f_policy_name,
        .instance_count = f_instance_count,
        .instance_get = f_instance_get,
        .render = f_render,
        .instance_extra = f_extra,
        .taps = f_taps,
        .up_time_min = f_up,
        .with_window = f->no_prom ? NULL : f_with_window,
        .prom_instance = f->prom_instance,
    };
    return s;
}

/* --- packets ------------------------------------------------------------ */

static struct packet pkt4(int64_t sec, const char *src, const char *dst, enum packet_dir dir)
{
    struct packet p;
    unsigned a[4];
    memset(&p, 0, sizeof(p));
    p.ts_sec = sec;
    p.l3 = 4;
    p.l4 = p.ip_proto = IPPROTO_UDP;
    p.src.family = p.dst.family = 4;
    assert_int_equal(sscanf(src, "%u.%u.%u.%u", &a[0], &a[1], &a[2], &a[3]), 4);
    for (int i = 0; i < 4; i++)
        p.src.a.v4[i] = (uint8_t)a[i];
    assert_int_equal(sscanf(dst, "%u.%u.%u.%u", &a[0], &a[1], &a[2], &a[3]), 4);
    for (int i = 0; i < 4; i++)
        p.dst.a.v4[i] = (uint8_t)a[i];
    p.dir = dir;
    return p;
}

/* A DNS message for example.com A: header, one question. */
static size_t dns_msg(uint8_t *b, uint16_t id, int qr)
{
    static const uint8_t q[] = {7,   'e', 'x', 'a', 'm', 'p', 'l', 'e', 3,
                                'c', 'o', 'm', 0,   0,   1,   0,   1};
    memset(b, 0, 12);
    b[0] = (uint8_t)(id >> 8);
    b[1] = (uint8_t)id;
    b[2] = (uint8_t)(qr ? 0x81 : 0x01);
    b[5] = 1;
    memcpy(b + 12, q, sizeof(q));
    return 12 + sizeof(q);
}

static struct handler *new_handler(const struct handler_type *t, const char *name, uint32_t periods)
{
    struct handler_config cfg = {.num_periods = periods, .deep_sample_rate = 100};
    char err[256];
    struct handler *h = handler_new(t, name, &cfg, err, sizeof(err));
    assert_non_null(h);
    return h;
}

static struct fake F; /* default + second */

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof(F));
    F.now = 130;
    struct handler *net = new_handler(&handler_net, "default-net", 5);
    struct handler *dns = new_handler(&handler_dns, "default-dns", 5);
    struct handler *net2 = new_handler(&handler_net, "second-net", 3);

    struct packet ps[] = {
        pkt4(100, "10.0.0.1", "192.0.2.1", DIR_IN),  pkt4(100, "10.0.0.2", "192.0.2.1", DIR_IN),
        pkt4(101, "192.0.2.1", "10.0.0.1", DIR_OUT), pkt4(130, "10.0.0.3", "192.0.2.1", DIR_IN),
        pkt4(130, "10.0.0.4", "192.0.2.1", DIR_IN),
    };
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
        handler_feed(net, &ps[i]);
    handler_feed(net2, &ps[0]);

    static uint8_t qb[64], rb[64];
    struct packet q = pkt4(100, "192.0.2.1", "10.0.0.53", DIR_OUT);
    q.sport = 40000;
    q.dport = 53;
    q.payload = qb;
    q.payload_len = (uint32_t)dns_msg(qb, 0x1234, 0);
    struct packet r = pkt4(100, "10.0.0.53", "192.0.2.1", DIR_IN);
    r.ts_nsec = 5000000;
    r.sport = 53;
    r.dport = 40000;
    r.payload = rb;
    r.payload_len = (uint32_t)dns_msg(rb, 0x1234, 1);
    handler_feed(dns, &q);
    handler_feed(dns, &r);

    F.pol[0] = (struct fake_policy){
        .name = "default", .inst = {{net, true, false}, {dns, true, false}}, .n = 2};
    F.pol[1] = (struct fake_policy){.name = "second", .inst = {{net2, false, false}}, .n = 1};
    F.n = 2;
    assert_int_equal(net->win->count, 2);
    assert_int_equal(dns->win->count, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t p = 0; p < F.n; p++)
        for (size_t i = 0; i < F.pol[p].n; i++)
            handler_free(&F.pol[p].inst[i].h);
    cJSON_Delete(F.taps);
    return 0;
}

/* --- helpers ------------------------------------------------------------ */

struct reply {
    int status;
    const char *ct;
    char *body;
    cJSON *json; /* parsed body when JSON */
};

static struct reply do_req(struct fake *f, const char *method, const char *path)
{
    struct httpd_source src = source_of(f);
    struct httpd_response res;
    struct reply r;
    memset(&res, 0xa5, sizeof(res)); /* the router must not read it */
    assert_int_equal(httpd_route(&src, method, path, NULL, &res), 0);
    r.status = res.status;
    r.ct = res.content_type;
    r.body = res.body;
    r.json = NULL;
    if (res.body != NULL) {
        assert_int_equal(strlen(res.body), res.body_len);
        assert_non_null(r.ct);
        if (strcmp(r.ct, HTTPD_CT_JSON) == 0) {
            r.json = cJSON_Parse(r.body);
            assert_non_null(r.json);
        }
    } else {
        assert_int_equal(res.body_len, 0);
        assert_null(r.ct);
    }
    return r;
}

static struct reply get(const char *path)
{
    return do_req(&F, "GET", path);
}

static void reply_free(struct reply *r)
{
    free(r->body);
    cJSON_Delete(r->json);
}

/* The node at a '/'-separated key path, or NULL. */
static cJSON *at(cJSON *root, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    cJSON *cur = root;
    for (char *tok = strtok(buf, "/"); tok != NULL && cur != NULL; tok = strtok(NULL, "/"))
        cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
    return cur;
}

static double num(cJSON *root, const char *path)
{
    cJSON *n = at(root, path);
    /* Trees straight from metric.c hold exact integers as raw text. */
    if (n != NULL && cJSON_IsRaw(n))
        return strtod(n->valuestring, NULL);
    if (n == NULL || !cJSON_IsNumber(n))
        fail_msg("no number at %s", path);
    return cJSON_GetNumberValue(n);
}

static bool keys_sorted(const cJSON *j)
{
    for (const cJSON *c = j->child; c != NULL; c = c->next) {
        if (cJSON_IsObject(j) && c->next != NULL && strcmp(c->string, c->next->string) >= 0)
            return false;
        if (!keys_sorted(c))
            return false;
    }
    return true;
}

static void expect_json(struct reply *r, int status)
{
    assert_int_equal(r->status, status);
    assert_non_null(r->ct);
    assert_string_equal(r->ct, "application/json");
    assert_non_null(r->json);
    assert_true(keys_sorted(r->json));
    /* Compact: printing the parsed tree again gives the same bytes. */
    char *again = cJSON_PrintUnformatted(r->json);
    assert_string_equal(again, r->body);
    free(again);
}

static void expect_error(const char *method, const char *path, int status, const char *msg)
{
    struct reply r = do_req(&F, method, path);
    expect_json(&r, status);
    char want[512];
    snprintf(want, sizeof(want), "{\"error\":\"%s\"}", msg);
    assert_string_equal(r.body, want);
    reply_free(&r);
}

static void expect_text(const char *path, int status, const char *text)
{
    struct reply r = get(path);
    assert_int_equal(r.status, status);
    assert_string_equal(r.ct, "text/plain");
    assert_string_equal(r.body, text);
    reply_free(&r);
}

static void expect_404_empty(const char *method, const char *path)
{
    struct reply r = do_req(&F, method, path);
    if (r.status != 404 || r.body != NULL)
        fail_msg("%s %s: %d %s", method, path, r.status, r.body ? r.body : "(no body)");
    reply_free(&r);
}

#define NOT_YET1 "requested metrics period has not yet accumulated, current range is [0, 1]"
#define NOT_YET0 "requested metrics period has not yet accumulated, current range is [0, 0]"

/* --- tests -------------------------------------------------------------- */

static void test_app_and_rates(void **state)
{
    (void)state;
    struct reply r = get("/api/v1/metrics/app");
    expect_json(&r, 200);
    assert_string_equal(cJSON_GetStringValue(at(r.json, "app/version")), "3.3.0");
    assert_true(num(r.json, "app/up_time_min") == 1.5);
    assert_string_equal(r.body, "{\"app\":{\"up_time_min\":1.5,\"version\":\"3.3.0\"}}");
    reply_free(&r);

    r = get("/api/v1/metrics/rates");
    expect_json(&r, 200);
    assert_string_equal(r.body, "{\"packets\":{\"in\":0,\"out\":0},\"warning\":\"deprecated: use "
                                "'live' data from /api/v1/metrics/bucket/0 instead\"}");
    reply_free(&r);
}

static void test_legacy_bucket(void **state)
{
    (void)state;
    /* Bucket 1 of default-net is [100,120); default-dns has no bucket 1,
     * so the legacy route fails as a whole with pktvisor's 500. */
    expect_text("/api/v1/metrics/bucket/1", 500, NOT_YET0);

    struct reply r = get("/api/v1/metrics/bucket/0");
    expect_json(&r, 200);
    /* The first handler's (net) period is hoisted. */
    assert_true(num(r.json, "1m/period/start_ts") == 120);
    assert_true(num(r.json, "1m/packets/period/start_ts") == 120);
    assert_true(num(r.json, "1m/period/length") == num(r.json, "1m/packets/period/length"));
    assert_true(num(r.json, "1m/packets/total") == 2);
    assert_true(num(r.json, "1m/dns/wire_packets/total") == 2);
    assert_true(num(r.json, "1m/dns/wire_packets/queries") == 1);
    assert_true(num(r.json, "1m/dns/period/start_ts") == 100);
    assert_int_equal(cJSON_GetArraySize(at(r.json, "1m")), 3); /* dns, packets, period */
    assert_int_equal(cJSON_GetArraySize(r.json), 1);
    reply_free(&r);

    expect_text("/api/v1/metrics/bucket/5", 500, "invalid metrics period, specify [0, 4]");
    expect_text("/api/v1/metrics/bucket/4294967296", 500, "invalid metrics period, specify [0, 4]");
    expect_text("/api/v1/metrics/bucket/99999999999999999999999999999999999", 500,
                "invalid metrics period, specify [0, 4]");
    /* Leading zeros are digits too. */
    r = get("/api/v1/metrics/bucket/000");
    expect_json(&r, 200);
    reply_free(&r);
}

static void test_legacy_window(void **state)
{
    (void)state;
    struct reply r = get("/api/v1/metrics/window/5");
    expect_json(&r, 200);
    assert_int_equal(cJSON_GetArraySize(r.json), 1);
    assert_null(at(r.json, "5m/period")); /* no hoisting for windows */
    assert_true(num(r.json, "5m/packets/total") == 5);
    assert_true(num(r.json, "5m/packets/in") == 4);
    assert_true(num(r.json, "5m/packets/out") == 1);
    assert_true(num(r.json, "5m/packets/period/start_ts") == 100);
    /* Merged length = sum: closed [100,120) = 20, live 120..now 130 = 10. */
    assert_true(num(r.json, "5m/packets/period/length") == 30);
    assert_true(num(r.json, "5m/dns/wire_packets/total") == 2);
    reply_free(&r);

    r = get("/api/v1/metrics/window/02");
    expect_json(&r, 200);
    assert_non_null(at(r.json, "2m/packets"));
    reply_free(&r);

    expect_text("/api/v1/metrics/window/1", 500, "invalid metrics period, specify [2, 5]");
    expect_text("/api/v1/metrics/window/0", 500, "invalid metrics period, specify [2, 5]");
    expect_text("/api/v1/metrics/window/6", 500, "invalid metrics period, specify [2, 5]");
    expect_text("/api/v1/metrics/window/18446744073709551621", 500,
                "invalid metrics period, specify [2, 5]");
}

/* Without a "default" policy the legacy routes answer 404. */
static void test_legacy_no_default(void **state)
{
    (void)state;
    struct fake f = F;
    f.pol[0] = F.pol[1];
    f.n = 1;
    const char *paths[] = {"/api/v1/metrics/bucket/0", "/api/v1/metrics/window/5"};
    for (size_t i = 0; i < 2; i++) {
        struct reply r = do_req(&f, "GET", paths[i]);
        expect_json(&r, 404);
        assert_string_equal(r.body, "{\"error\":\"no \\\"default\\\" policy exists\"}");
        reply_free(&r);
    }
}

/* Two handlers with the same schema key: the later one wins (SPEC 7);
 * the period is still the first handler's. */
static void test_legacy_same_schema_key(void **state)
{
    (void)state;
    struct fake f;
    memset(&f, 0, sizeof(f));
    f.now = 130;
    struct handler *young = new_handler(&handler_net, "default-net2", 5);
    struct packet p = pkt4(125, "10.0.0.9", "192.0.2.1", DIR_IN);
    handler_feed(young, &p);
    f.pol[0] = (struct fake_policy){
        .name = "default", .inst = {F.pol[0].inst[0], {young, true, false}}, .n = 2};
    f.n = 1;
    struct reply r = do_req(&f, "GET", "/api/v1/metrics/bucket/0");
    expect_json(&r, 200);
    assert_true(num(r.json, "1m/packets/total") == 1);
    assert_true(num(r.json, "1m/packets/period/start_ts") == 125);
    assert_true(num(r.json, "1m/period/start_ts") == 120);
    reply_free(&r);
    handler_free(&young);
}

static void test_policy_metrics(void **state)
{
    (void)state;
    struct reply r = get("/api/v1/policies/default/metrics/bucket/0");
    expect_json(&r, 200);
    assert_int_equal(cJSON_GetArraySize(r.json), 1);
    assert_int_equal(cJSON_GetArraySize(at(r.json, "default")), 2);
    assert_true(num(r.json, "default/default-net/packets/total") == 2);
    assert_true(num(r.json, "default/default-dns/dns/wire_packets/replies") == 1);
    assert_null(at(r.json, "default/period"));
    reply_free(&r);

    r = get("/api/v1/policies/default/metrics/window/5");
    expect_json(&r, 200);
    assert_true(num(r.json, "default/default-net/packets/total") == 5);
    assert_true(num(r.json, "default/default-dns/dns/xact/counts/total") == 1);
    reply_free(&r);

    r = get("/api/v1/policies/second/metrics/window/3");
    expect_json(&r, 200);
    assert_true(num(r.json, "second/second-net/packets/total") == 1);
    reply_free(&r);

    expect_error("GET", "/api/v1/policies/default/metrics/bucket/1", 425, NOT_YET0);
    expect_error("GET", "/api/v1/policies/second/metrics/bucket/1", 425, NOT_YET0);
    expect_error("GET", "/api/v1/policies/second/metrics/bucket/3", 425,
                 "invalid metrics period, specify [0, 2]");
    expect_error("GET", "/api/v1/policies/default/metrics/bucket/5", 425,
                 "invalid metrics period, specify [0, 4]");
    expect_error("GET", "/api/v1/policies/default/metrics/window/1", 425,
                 "invalid metrics period, specify [2, 5]");
    expect_error("GET", "/api/v1/policies/second/metrics/window/4", 425,
                 "invalid metrics period, specify [2, 3]");
    expect_error("GET", "/api/v1/policies/default/metrics/bucket/18446744073709551616", 425,
                 "invalid metrics period, specify [0, 4]");
    expect_error("GET", "/api/v1/policies/nope/metrics/bucket/0", 404, "policy does not exist");
    expect_error("GET", "/api/v1/policies/a-b_c/metrics/window/5", 404, "policy does not exist");
    expect_error("GET", "/api/v1/policies/_x/metrics/window/5", 404, "policy does not exist");
}

/* bucket 1 of default-net alone, through a policy with only that handler. */
static void test_policy_bucket1(void **state)
{
    (void)state;
    struct fake f;
    memset(&f, 0, sizeof(f));
    f.now = 130;
    f.pol[0] = (struct fake_policy){.name = "default", .inst = {F.pol[0].inst[0]}, .n = 1};
    f.n = 1;
    struct reply r = do_req(&f, "GET", "/api/v1/policies/default/metrics/bucket/1");
    expect_json(&r, 200);
    assert_true(num(r.json, "default/default-net/packets/total") == 3);
    assert_true(num(r.json, "default/default-net/packets/period/start_ts") == 100);
    assert_true(num(r.json, "default/default-net/packets/period/length") == 20);
    reply_free(&r);
    r = do_req(&f, "GET", "/api/v1/metrics/bucket/1");
    expect_json(&r, 200);
    assert_true(num(r.json, "1m/period/start_ts") == 100);
    assert_true(num(r.json, "1m/period/length") == 20);
    assert_true(num(r.json, "1m/packets/in") == 2);
    reply_free(&r);
    expect_text("/api/v1/metrics/bucket/2", 500, NOT_YET1); /* F: net fails first */
    struct reply r2 = do_req(&f, "GET", "/api/v1/metrics/bucket/2");
    assert_int_equal(r2.status, 500);
    assert_string_equal(r2.body, NOT_YET1);
    reply_free(&r2);
}

static void test_all(void **state)
{
    (void)state;
    struct reply r = get("/api/v1/policies/__all/metrics/bucket/0");
    expect_json(&r, 200);
    assert_int_equal(cJSON_GetArraySize(r.json), 2);
    assert_true(num(r.json, "default/default-net/packets/total") == 2);
    assert_true(num(r.json, "second/second-net/packets/total") == 1);
    reply_free(&r);

    /* window/4: default (5 periods) fine, second (3) invalid: omitted. */
    r = get("/api/v1/policies/__all/metrics/window/4");
    expect_json(&r, 200);
    assert_int_equal(cJSON_GetArraySize(r.json), 1);
    assert_non_null(at(r.json, "default/default-dns/dns"));
    assert_null(at(r.json, "second"));
    reply_free(&r);

    /* bucket/1: neither has one in every handler. */
    r = get("/api/v1/policies/__all/metrics/bucket/1");
    expect_json(&r, 200);
    assert_string_equal(r.body, "{}");
    reply_free(&r);

    /* An internal failure is not a period error: 500. */
    struct fake f = F;
    f.pol[1].inst[0].fail = true;
    r = do_req(&f, "GET", "/api/v1/policies/__all/metrics/window/2");
    expect_json(&r, 500);
    assert_string_equal(r.body, "{\"error\":\"segment vanished\"}");
    reply_free(&r);
    r = do_req(&f, "GET", "/api/v1/policies/second/metrics/bucket/0");
    expect_json(&r, 500);
    reply_free(&r);
    r = do_req(&f, "GET", "/api/v1/policies/default/metrics/bucket/0");
    expect_json(&r, 200);
    reply_free(&r);
}

static void test_policies(void **state)
{
    (void)state;
    struct reply r = get("/api/v1/policies");
    expect_json(&r, 200);
    assert_int_equal(cJSON_GetArraySize(r.json), 2);
    assert_string_equal(cJSON_GetStringValue(at(r.json, "default/modules/default-net/module/name")),
                        "default-net");
    assert_true(cJSON_IsTrue(at(r.json, "default/modules/default-net/module/running")));
    assert_string_equal(
        cJSON_GetStringValue(at(r.json, "default/modules/default-dns/module/policy/name")),
        "default");
    assert_true(num(r.json, "default/modules/default-dns/dns/xact/open") == 0);
    assert_true(cJSON_IsObject(at(r.json, "default/modules/default-dns/module")));
    assert_null(at(r.json, "default/modules/default-net/dns"));
    assert_true(cJSON_IsFalse(at(r.json, "second/modules/second-net/module/running")));
    assert_null(at(r.json, "default/input")); /* the source has none */
    reply_free(&r);

    r = get("/api/v1/policies/second");
    expect_json(&r, 200);
    assert_string_equal(r.body, "{\"second\":{\"modules\":{\"second-net\":{\"module\":{\"name\":"
                                "\"second-net\",\"policy\":{\"name\":\"second\"},\"running\":"
                                "false}}}}}");
    reply_free(&r);

    expect_error("GET", "/api/v1/policies/nope", 404, "policy does not exists");
    expect_error("GET", "/api/v1/policies/__all", 404, "policy does not exists");

    struct fake empty;
    memset(&empty, 0, sizeof(empty));
    r = do_req(&empty, "GET", "/api/v1/policies");
    expect_json(&r, 200);
    assert_string_equal(r.body, "{}");
    reply_free(&r);
    r = do_req(&empty, "GET", "/api/v1/policies/__all/metrics/window/5");
    expect_json(&r, 200);
    assert_string_equal(r.body, "{}");
    reply_free(&r);
}

static void test_taps(void **state)
{
    (void)state;
    struct reply r = get("/api/v1/taps");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ct, "application/json");
    assert_string_equal(r.body, "null");
    reply_free(&r);

    F.taps = cJSON_Parse("{\"default\":{\"interface\":\"visor.module.input/1.0\","
                         "\"input_type\":\"pcap\",\"config\":{\"iface\":\"eth0\"}}}");
    r = get("/api/v1/taps");
    expect_json(&r, 200);
    assert_string_equal(r.body, "{\"default\":{\"config\":{\"iface\":\"eth0\"},\"input_type\":"
                                "\"pcap\",\"interface\":\"visor.module.input/1.0\"}}");
    reply_free(&r);
    cJSON_Delete(F.taps);
    F.taps = NULL;
}

static void test_methods(void **state)
{
    (void)state;
    const char *methods[] = {"POST",  "PUT",     "DELETE", "PATCH", "OPTIONS",
                             "TRACE", "CONNECT", "get",    "",      "GETX"};
    const char *paths[] = {"/api/v1/metrics/app",
                           "/api/v1/policies",
                           "/api/v1/policies/default",
                           "/api/v1/policies/default/metrics/bucket/0",
                           "/api/v1/taps",
                           "/api/v1/server",
                           "/metrics",
                           "/api/v1/policies/default/metrics/prometheus"};
    for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++)
        for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++)
            expect_404_empty(methods[m], paths[p]);

    /* HEAD answers exactly like GET (the server drops the body). */
    struct reply g = get("/api/v1/policies/default/metrics/window/5");
    struct reply h = do_req(&F, "HEAD", "/api/v1/policies/default/metrics/window/5");
    assert_int_equal(h.status, g.status);
    assert_string_equal(h.ct, g.ct);
    assert_string_equal(h.body, g.body);
    reply_free(&g);
    reply_free(&h);
    expect_error("HEAD", "/api/v1/policies/nope", 404, "policy does not exists");
}

static void test_odd_paths(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "/",
        "api/v1/metrics/app",
        "//api/v1/metrics/app",
        "/api//v1/metrics/app",
        "/api/v1/metrics/app/",
        "/api/v1/metrics/app//",
        "/api/v1/metrics/app?x=1", /* the query is the server's to split */
        "/api/v1/metrics/app#x",
        "/API/v1/metrics/app",
        "/api/v2/metrics/app",
        "/api/v1/metrics",
        "/api/v1",
        "/api/v1/metrics/bucket",
        "/api/v1/metrics/bucket/",
        "/api/v1/metrics/bucket/-1",
        "/api/v1/metrics/bucket/+1",
        "/api/v1/metrics/bucket/1a",
        "/api/v1/metrics/bucket/0x1",
        "/api/v1/metrics/bucket/1.0",
        "/api/v1/metrics/bucket/%201",
        "/api/v1/metrics/bucket/1/",
        "/api/v1/metrics/bucket/1/2",
        "/api/v1/metrics/buckets/1",
        "/api/v1/metrics/prometheus",
        "/api/v1/policies/",
        "/api/v1/policies/1abc",
        "/api/v1/policies/-abc",
        "/api/v1/policies/a.b",
        "/api/v1/policies/a b",
        "/api/v1/policies/..",
        "/api/v1/policies/../metrics/app",
        "/api/v1/policies/./default",
        "/api/v1/policies/%2e%2e",
        "/api/v1/policies/%2E%2E/metrics/app",
        "/api/v1/policies/default%2Fmetrics%2Fbucket%2F0",
        "/api/v1/policies/default%2fmetrics/bucket/0",
        "/api/v1/policies/default%00",
        "/api/v1/policies/default%",
        "/api/v1/policies/default%4",
        "/api/v1/policies/default%zz",
        "/api/v1/policies/default%C3%A9",
        "/api/v1/policies/d\xc3\xa9",
        "/api/v1/policies/default\t",
        "/api/v1/policies/default/metrics",
        "/api/v1/policies/default/metrics/bucket",
        "/api/v1/policies/default/metrics/bucket/-1",
        "/api/v1/policies/default/metrics/bucket/x",
        "/api/v1/policies/default/metrics/hour/1",
        "/api/v1/policies/default/metrics/prometheus/",
        "/api/v1/policies/default/metrics/prometheus/0",
        "/api/v1/policies/default/prometheus",
        "/api/v1/policies/default/metrics/bucket/1/extra",
        "/api/v1/policies/default/x/bucket/1",
        "/api/v1/taps/",
        "/api/v1/taps/default",
        "/metrics/",
        "/metrics/0",
        "//metrics",
        "/METRICS",
        "/metrics%2F",
        "/../../etc/passwd",
        "/api/v1/metrics/../metrics/app",
        "\\api\\v1\\metrics\\app",
        "/a/b/c/d/e/f/g/h/i/j/k",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_404_empty("GET", bad[i]);

    /* Escaped unreserved characters mean the same path (RFC 3986 6.2.2.2). */
    struct reply r = get("/api/v1/metrics/%61pp");
    expect_json(&r, 200);
    reply_free(&r);
    r = get("/api/v1/policies/%64efault/metrics/bucket/%30");
    expect_json(&r, 200);
    assert_non_null(at(r.json, "default/default-net"));
    reply_free(&r);
    expect_error("GET", "/api/v1/policies/no%5Fpe", 404, "policy does not exists");

    /* The query string is ignored. */
    struct httpd_source src = source_of(&F);
    struct httpd_response res;
    assert_int_equal(httpd_route(&src, "GET", "/api/v1/metrics/app", "a=b&c", &res), 0);
    assert_int_equal(res.status, 200);
    httpd_response_free(&res);
    assert_null(res.body);

    /* Very long paths: over HTTPD_PATH_MAX is unmatched, whatever it says. */
    size_t big = 200000;
    char *p = malloc(big + 1);
    assert_non_null(p);
    memset(p, 'a', big);
    p[big] = '\0';
    memcpy(p, "/api/v1/policies/", 17);
    expect_404_empty("GET", p);
    p[HTTPD_PATH_MAX + 1] = '\0'; /* 1 byte too long for a name, still unmatched */
    expect_404_empty("GET", p);
    p[HTTPD_PATH_MAX] = '\0'; /* exactly the limit: a long, valid, unknown name */
    expect_error("GET", p, 404, "policy does not exists");
    memset(p, '/', big);
    expect_404_empty("GET", p);
    snprintf(p, big, "/api/v1/metrics/bucket/");
    memset(p + 23, '9', 900);
    p[923] = '\0';
    expect_text(p, 500, "invalid metrics period, specify [0, 4]");
    free(p);
}

/* --- Prometheus --------------------------------------------------------- */

static size_t count_str(const char *s, const char *sub)
{
    size_t n = 0;
    for (const char *p = strstr(s, sub); p != NULL; p = strstr(p + 1, sub))
        n++;
    return n;
}

static void expect_prom(struct reply *r)
{
    assert_int_equal(r->status, 200);
    assert_non_null(r->ct);
    assert_string_equal(r->ct, "text/plain; version=0.0.4");
    assert_non_null(r->body);
}

static void expect_contains(const char *body, const char *want)
{
    if (strstr(body, want) == NULL)
        fail_msg("missing \"%s\" in:\n%s", want, body);
}

/* What the router must have produced: bucket b of instance inst of F's
 * default policy, rendered alone with labels l. */
static void render_into(struct prom_buf *out, size_t inst, uint32_t b, bool agent,
                        const struct prom_label *l, size_t n)
{
    const struct handler *h = F.pol[0].inst[inst].h;
    struct render_opts ro = {.agent = agent};
    assert_int_equal(
        prom_render_bucket(out, h->type->table, window_bucket_const(h->win, b), &ro, l, n), 0);
}

/* GET /metrics: default-net has 2 buckets, so bucket 1 ([100,120): 3
 * frames, 2 in, 1 out); default-dns has 1, so bucket 0 (the query and its
 * reply at t=100, one 5 ms = 5000 us transaction with host as client). */
static void test_prom_metrics(void **state)
{
    (void)state;
    struct reply r = get("/metrics");
    expect_prom(&r);
    const struct prom_label l[] = {{"policy", "default"}};
    struct prom_buf want = {0};
    render_into(&want, 0, 1, false, l, 1);
    render_into(&want, 1, 0, false, l, 1);
    assert_string_equal(r.body, want.data);
    prom_buf_free(&want);
    expect_contains(r.body, "# HELP packets_total Total packets processed\n"
                            "# TYPE packets_total gauge\n"
                            "packets_total{policy=\"default\"} 3\n");
    expect_contains(r.body, "\npackets_in{policy=\"default\"} 2\n");
    expect_contains(r.body, "\npackets_out{policy=\"default\"} 1\n");
    expect_contains(r.body, "\ndns_wire_packets_total{policy=\"default\"} 2\n");
    expect_contains(r.body, "\ndns_xact_out_quantiles_us{policy=\"default\",quantile=\"0.99\"} "
                            "5000\n"
                            "dns_xact_out_quantiles_us_sum{policy=\"default\"} 5000\n"
                            "dns_xact_out_quantiles_us_count{policy=\"default\"} 1\n");
    expect_contains(r.body, "\ndns_top_qname2{name=\"example.com\",policy=\"default\"} 2\n");
    assert_null(strstr(r.body, "dns_xact_in_quantiles_us")); /* empty: nothing */
    assert_null(strstr(r.body, "module="));
    assert_null(strstr(r.body, "_agent_")); /* the source did not ask */
    /* Net before dns: policy order. */
    assert_true(strstr(r.body, "\npackets_total{") < strstr(r.body, "\ndns_wire_packets_total{"));
    reply_free(&r);

    /* --prom-instance and the agent's health counters. */
    struct fake f = F;
    f.prom_instance = "node \"1\"";
    f.agent = true;
    r = do_req(&f, "GET", "/metrics");
    expect_prom(&r);
    expect_contains(r.body, "\npackets_total{instance=\"node \\\"1\\\"\",policy=\"default\"} 3\n");
    expect_contains(r.body, "# TYPE packets_agent_restarts gauge\n"
                            "packets_agent_restarts{instance=\"node \\\"1\\\"\",policy="
                            "\"default\"} 0\n");
    expect_contains(r.body, "\ndns_agent_poison_packets{instance=\"node \\\"1\\\"\",policy="
                            "\"default\"} 0\n");
    reply_free(&r);

    /* HEAD answers like GET; an escaped path means the same. */
    struct reply g = get("/metrics");
    struct reply h = do_req(&F, "HEAD", "/metrics");
    assert_int_equal(h.status, 200);
    assert_string_equal(h.ct, g.ct);
    assert_string_equal(h.body, g.body);
    reply_free(&h);
    h = get("/%6Detrics");
    assert_string_equal(h.body, g.body);
    reply_free(&h);
    reply_free(&g);
}

static void test_prom_policy(void **state)
{
    (void)state;
    struct reply r = get("/api/v1/policies/default/metrics/prometheus");
    expect_prom(&r);
    const struct prom_label ln[] = {{"module", "default-net"}, {"policy", "default"}};
    const struct prom_label ld[] = {{"module", "default-dns"}, {"policy", "default"}};
    struct prom_buf want = {0};
    render_into(&want, 0, 1, false, ln, 2);
    render_into(&want, 1, 0, false, ld, 2);
    assert_string_equal(r.body, want.data);
    prom_buf_free(&want);
    expect_contains(r.body, "\npackets_total{module=\"default-net\",policy=\"default\"} 3\n");
    expect_contains(r.body, "\ndns_wire_packets_replies{module=\"default-dns\",policy="
                            "\"default\"} 1\n");
    expect_contains(r.body, "\ndns_top_qname2{module=\"default-dns\",name=\"example.com\","
                            "policy=\"default\"} 2\n");
    reply_free(&r);

    /* second-net: one bucket (bucket 0), one frame. */
    struct fake f = F;
    f.prom_instance = "n";
    r = do_req(&f, "GET", "/api/v1/policies/second/metrics/prometheus");
    expect_prom(&r);
    expect_contains(r.body, "\npackets_total{instance=\"n\",module=\"second-net\",policy="
                            "\"second\"} 1\n");
    assert_null(strstr(r.body, "dns_"));
    reply_free(&r);

    expect_text("/api/v1/policies/nope/metrics/prometheus", 404, "policy does not exists");
    expect_text("/api/v1/policies/__all/metrics/prometheus", 404, "policy does not exists");
}

static void test_prom_errors(void **state)
{
    (void)state;
    /* No default policy: /metrics is 404 with no body, others still work. */
    struct fake f = F;
    f.pol[0] = F.pol[1];
    f.n = 1;
    struct reply r = do_req(&f, "GET", "/metrics");
    assert_int_equal(r.status, 404);
    assert_null(r.body);
    reply_free(&r);
    r = do_req(&f, "GET", "/api/v1/policies/second/metrics/prometheus");
    expect_prom(&r);
    reply_free(&r);
    f.no_prom = true;
    r = do_req(&f, "GET", "/metrics"); /* no default comes first */
    assert_int_equal(r.status, 404);
    assert_null(r.body);
    reply_free(&r);

    /* A source that cannot give windows: 500, text. */
    f = F;
    f.no_prom = true;
    const char *paths[] = {"/metrics", "/api/v1/policies/default/metrics/prometheus"};
    for (size_t i = 0; i < 2; i++) {
        r = do_req(&f, "GET", paths[i]);
        assert_int_equal(r.status, 500);
        assert_string_equal(r.ct, "text/plain");
        assert_string_equal(r.body, "Prometheus output is not available");
        reply_free(&r);
    }
    r = do_req(&f, "GET", "/api/v1/policies/nope/metrics/prometheus");
    assert_int_equal(r.status, 404);
    reply_free(&r);

    /* An instance whose window cannot be read fails the whole answer. */
    f = F;
    f.pol[0].inst[1].fail = true;
    for (size_t i = 0; i < 2; i++) {
        r = do_req(&f, "GET", paths[i]);
        assert_int_equal(r.status, 500);
        assert_string_equal(r.ct, "text/plain");
        assert_string_equal(r.body, "segment vanished");
        reply_free(&r);
    }

    /* A policy with no instance at all: 200 and an empty exposition. */
    f = F;
    f.pol[0].n = 0;
    r = do_req(&f, "GET", "/metrics");
    expect_prom(&r);
    assert_string_equal(r.body, "");
    reply_free(&r);
}

/* Two net instances and a dns one in the default policy: /metrics shows
 * only the last net (SPEC 7, as the legacy JSON); the per-policy route
 * shows both nets as one group (each family's HELP/TYPE once, its lines
 * together), then dns.  A young instance with no event shows zeros. */
static void test_prom_same_schema_key(void **state)
{
    (void)state;
    struct fake f;
    memset(&f, 0, sizeof(f));
    f.now = 130;
    struct handler *net2 = new_handler(&handler_net, "default-net2", 5);
    struct handler *idle = new_handler(&handler_net, "idle-net", 5);
    struct packet p = pkt4(125, "10.0.0.9", "192.0.2.1", DIR_IN);
    handler_feed(net2, &p);
    f.pol[0] =
        (struct fake_policy){.name = "default",
                             .inst = {F.pol[0].inst[0], F.pol[0].inst[1], {net2, true, false}},
                             .n = 3};
    f.pol[1] = (struct fake_policy){.name = "idle", .inst = {{idle, true, false}}, .n = 1};
    f.n = 2;

    struct reply r = do_req(&f, "GET", "/metrics");
    expect_prom(&r);
    assert_int_equal(count_str(r.body, "# TYPE packets_total gauge\n"), 1);
    assert_int_equal(count_str(r.body, "\npackets_total{"), 1);
    expect_contains(r.body, "\npackets_total{policy=\"default\"} 1\n"); /* net2's bucket 0 */
    expect_contains(r.body, "\ndns_wire_packets_total{policy=\"default\"} 2\n");
    assert_true(strstr(r.body, "\ndns_wire_packets_total{") < strstr(r.body, "\npackets_total{"));
    reply_free(&r);

    r = do_req(&f, "GET", "/api/v1/policies/default/metrics/prometheus");
    expect_prom(&r);
    for (const char *t = r.body; (t = strstr(t, "# TYPE ")) != NULL; t++) {
        char line[160];
        size_t len = strcspn(t, "\n");
        snprintf(line, sizeof(line), "%.*s\n", (int)len, t);
        if (count_str(r.body, line) != 1)
            fail_msg("%s repeated", line);
    }
    expect_contains(r.body, "# TYPE packets_total gauge\n"
                            "packets_total{module=\"default-net\",policy=\"default\"} 3\n"
                            "packets_total{module=\"default-net2\",policy=\"default\"} 1\n"
                            "# HELP packets_deep_samples");
    expect_contains(r.body, "packets_top_ipv4{module=\"default-net2\",name=\"10.0.0.9\","
                            "policy=\"default\"} 1\n");
    assert_true(strstr(r.body, "packets_top_ipv4") < strstr(r.body, "\ndns_wire_packets_total{"));
    reply_free(&r);

    r = do_req(&f, "GET", "/api/v1/policies/idle/metrics/prometheus");
    expect_prom(&r);
    expect_contains(r.body, "# TYPE packets_total gauge\n"
                            "packets_total{module=\"idle-net\",policy=\"idle\"} 0\n");
    assert_null(strstr(r.body, "summary"));
    assert_null(strstr(r.body, "top_"));
    reply_free(&r);
    handler_free(&net2);
    handler_free(&idle);
}

/* httpd_window_render on its own: an empty window, and P = 1. */
/* The write routes: only with --admin-api; the router checks and names
 * the operation, the HTTP worker carries it out (status 0 until then). */
static struct httpd_response admin_req(bool admin, const char *method, const char *path,
                                       const char *ct)
{
    struct httpd_source src = source_of(&F);
    struct httpd_request_info info = {.content_type = ct};
    struct httpd_response res;
    src.admin_api = admin;
    memset(&res, 0xa5, sizeof(res));
    assert_int_equal(httpd_route_request(&src, method, path, NULL, &info, &res), 0);
    return res;
}

static void expect_admin(const char *method, const char *path, const char *ct,
                         enum httpd_admin_op op, const char *name)
{
    struct httpd_response r = admin_req(true, method, path, ct);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.admin, op);
    assert_null(r.body);
    assert_string_equal(r.admin_name, name);
    /* Without --admin-api the routes do not exist: the default 404. */
    r = admin_req(false, method, path, ct);
    assert_int_equal(r.status, 404);
    assert_int_equal(r.admin, HTTPD_ADMIN_NONE);
    assert_null(r.body);
}

static void expect_admin_error(const char *ct, const char *msg)
{
    struct httpd_response r = admin_req(true, "POST", "/api/v1/policies", ct);
    assert_int_equal(r.status, 400);
    assert_int_equal(r.admin, HTTPD_ADMIN_NONE);
    assert_string_equal(r.content_type, HTTPD_CT_JSON);
    cJSON *j = cJSON_Parse(r.body);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "error")->valuestring, msg);
    cJSON_Delete(j);
    httpd_response_free(&r);
}

static void test_admin_routes(void **state)
{
    (void)state;
    expect_admin("POST", "/api/v1/policies", "application/x-yaml", HTTPD_ADMIN_POLICY_ADD, "");
    expect_admin("POST", "/api/v1/policies", "Application/X-YAML; charset=utf-8",
                 HTTPD_ADMIN_POLICY_ADD, "");
    expect_admin("DELETE", "/api/v1/policies/default", NULL, HTTPD_ADMIN_POLICY_DEL, "default");
    expect_admin("DELETE", "/api/v1/policies/new_one-2", NULL, HTTPD_ADMIN_POLICY_DEL, "new_one-2");
    expect_admin("DELETE", "/api/v1/server", NULL, HTTPD_ADMIN_SERVER_STOP, "");
    expect_admin_error(NULL, "must include Content-Type header");
    expect_admin_error("application/json", "Content-Type not supported");
    expect_admin_error("application/x-yamlx", "Content-Type not supported");
    expect_admin_error("text/yaml", "Content-Type not supported");

    /* Everything else stays the default 404, even with --admin-api. */
    const char *no[][2] = {{"PUT", "/api/v1/policies"},
                           {"POST", "/api/v1/policies/default"},
                           {"DELETE", "/api/v1/policies"},
                           {"DELETE", "/api/v1/policies/9bad"},
                           {"DELETE", "/api/v1/policies/default/"},
                           {"POST", "/api/v1/server"},
                           {"DELETE", "/api/v1/server/x"},
                           {"DELETE", "/api/v2/server"}};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        struct httpd_response r = admin_req(true, no[i][0], no[i][1], "application/x-yaml");
        assert_int_equal(r.status, 404);
        assert_int_equal(r.admin, HTTPD_ADMIN_NONE);
        assert_null(r.body);
    }
}

static void test_openapi(void **state)
{
    (void)state;
    struct httpd_source src = source_of(&F);
    struct httpd_response res;
    assert_int_equal(httpd_route(&src, "GET", "/api/v1/openapi.yaml", NULL, &res), 0);
    assert_int_equal(res.status, 404); /* no document: no route */
    src.openapi = "openapi: 3.0.3\n";
    assert_int_equal(httpd_route(&src, "GET", "/api/v1/openapi.yaml", NULL, &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.content_type, HTTPD_CT_YAML);
    assert_string_equal(res.body, "openapi: 3.0.3\n");
    httpd_response_free(&res);
    assert_int_equal(httpd_route(&src, "GET", "/api/v1/openapi.yaml/", NULL, &res), 0);
    assert_int_equal(res.status, 404);
}

static void test_window_render(void **state)
{
    (void)state;
    struct handler *h = new_handler(&handler_net, "x-net", 1);
    struct render_opts ro = {.now_sec = 10};
    char err[HTTPD_ERR_MAX];
    cJSON *out = NULL;
    /* Before any event: bucket 0 is an empty bucket, bucket 1 invalid. */
    assert_int_equal(httpd_window_render(h->type->table, h->win, HTTPD_BUCKET, 0, &ro, &out, err),
                     HTTPD_RENDER_OK);
    assert_true(num(out, "total") == 0);
    assert_true(num(out, "period/length") == 0);
    cJSON_Delete(out);
    assert_int_equal(httpd_window_render(h->type->table, h->win, HTTPD_BUCKET, 1, &ro, &out, err),
                     HTTPD_RENDER_PERIOD);
    assert_null(out);
    assert_string_equal(err, "invalid metrics period, specify [0, 0]");
    assert_int_equal(httpd_window_render(h->type->table, h->win, HTTPD_WINDOW, 2, &ro, &out, err),
                     HTTPD_RENDER_PERIOD);
    assert_string_equal(err, "invalid metrics period, specify [2, 1]");
    handler_free(&h);

    h = new_handler(&handler_net, "y-net", 4);
    assert_int_equal(httpd_window_render(h->type->table, h->win, HTTPD_WINDOW, 4, &ro, &out, err),
                     HTTPD_RENDER_OK);
    assert_true(num(out, "total") == 0);
    cJSON_Delete(out);
    assert_int_equal(httpd_window_render(h->type->table, h->win, HTTPD_BUCKET, 1, &ro, &out, err),
                     HTTPD_RENDER_PERIOD);
    assert_string_equal(err, NOT_YET0);
    handler_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_app_and_rates),
        cmocka_unit_test(test_legacy_bucket),
        cmocka_unit_test(test_legacy_window),
        cmocka_unit_test(test_legacy_no_default),
        cmocka_unit_test(test_legacy_same_schema_key),
        cmocka_unit_test(test_policy_metrics),
        cmocka_unit_test(test_policy_bucket1),
        cmocka_unit_test(test_all),
        cmocka_unit_test(test_policies),
        cmocka_unit_test(test_taps),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_odd_paths),
        cmocka_unit_test(test_window_render),
        cmocka_unit_test(test_admin_routes),
        cmocka_unit_test(test_openapi),
        cmocka_unit_test(test_prom_metrics),
        cmocka_unit_test(test_prom_policy),
        cmocka_unit_test(test_prom_errors),
        cmocka_unit_test(test_prom_same_schema_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
