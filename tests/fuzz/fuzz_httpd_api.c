/*
 * fuzz_httpd_api.c - libFuzzer target for the HTTP worker's router.
 *
 * Input: method, path and query separated by '\n' (missing parts are "").
 * The source holds a "default" policy with a net and a dns handler (empty
 * windows of 5 periods) and a "second" policy with 1 period, so the
 * legacy, policy, __all, Prometheus and period-error paths all run.
 * Checked promises (httpd_api.h): the router answers 0; the status is 200,
 * 404, 425 or 500; a body has a content type and its length; JSON bodies
 * parse; a Prometheus body is a 200 ending in a newline; a
 * method other than GET/HEAD, or a path with "//", "%2F" or a control
 * byte, is a 404 with no body.  A broken promise traps.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Ihttpd -Isrc -Iaggregator -I<build> \
 *       httpd/httpd_api.c httpd/httpd_prom.c src/log.c src/metric.c src/sketch_*.c src/hash.c \
 *       src/decode.c src/ipfrag.c src/dns.c src/tcp_stream.c src/geo.c src/hostspec.c \
 *       aggregator/handler*.c aggregator/window.c aggregator/dns_qname.c \
 *       tests/fuzz/fuzz_httpd_api.c -lcjson -lmaxminddb -lpcap -lm -o /tmp/fuzz_httpd_api
 *   /tmp/fuzz_httpd_api -max_total_time=180 tests/fuzz/corpus/httpd_api
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler.h"
#include "httpd_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

static struct handler *hs[3];
static const char *const pnames[] = {"default", "second"};

static size_t f_policy_count(void *ctx)
{
    (void)ctx;
    return 2;
}

static const char *f_policy_name(void *ctx, size_t p)
{
    (void)ctx;
    return pnames[p];
}

static size_t f_instance_count(void *ctx, size_t p)
{
    (void)ctx;
    return p == 0 ? 2 : 1;
}

static struct handler *inst(size_t p, size_t i)
{
    return p == 0 ? hs[i] : hs[2];
}

static int f_instance_get(void *ctx, size_t p, size_t i, struct httpd_instance *out)
{
    (void)ctx;
    struct handler *h = inst(p, i);
    out->name = h->name;
    out->schema_key = h->type->table->schema_key;
    out->running = true;
    return 0;
}

static enum httpd_render_rc f_render(void *ctx, size_t p, size_t i, enum httpd_view view,
                                     uint64_t n, cJSON **out, char *err)
{
    (void)ctx;
    struct handler *h = inst(p, i);
    struct render_opts ro = {.now_sec = 0};
    return httpd_window_render(h->type->table, h->win, view, n, &ro, out, err);
}

static enum httpd_render_rc f_with_window(void *ctx, size_t p, size_t i, httpd_window_fn fn,
                                          void *arg, char *err)
{
    (void)ctx;
    struct handler *h = inst(p, i);
    struct render_opts ro = {.agent = true};
    return fn(arg, h->type->table, h->win, &ro, err);
}

static const struct httpd_source src = {
    .policy_count = f_policy_count,
    .policy_name = f_policy_name,
    .instance_count = f_instance_count,
    .instance_get = f_instance_get,
    .render = f_render,
    .with_window = f_with_window,
    .prom_instance = "fuzz",
};

static void init(void)
{
    struct handler_config five = {.num_periods = 5, .deep_sample_rate = 100};
    struct handler_config one = {.num_periods = 1, .deep_sample_rate = 100};
    char err[256];
    hs[0] = handler_new(&handler_net, "default-net", &five, err, sizeof(err));
    hs[1] = handler_new(&handler_dns, "default-dns", &five, err, sizeof(err));
    hs[2] = handler_new(&handler_net, "second-net", &one, err, sizeof(err));
    check(hs[0] != NULL && hs[1] != NULL && hs[2] != NULL);
}

/* Next '\n'-separated part of the input, as a new C string. */
static char *part(const uint8_t **d, const uint8_t *end)
{
    const uint8_t *nl = memchr(*d, '\n', (size_t)(end - *d));
    const uint8_t *stop = nl != NULL ? nl : end;
    size_t len = (size_t)(stop - *d);
    char *s = malloc(len + 1);
    check(s != NULL);
    memcpy(s, *d, len);
    s[len] = '\0';
    *d = nl != NULL ? nl + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (hs[0] == NULL)
        init();
    const uint8_t *d = data, *end = data + size;
    char *method = part(&d, end);
    char *path = part(&d, end);
    char *query = part(&d, end);
    struct httpd_response res;

    check(httpd_route(&src, method, path, query, &res) == 0);
    check(res.status == 200 || res.status == 404 || res.status == 425 || res.status == 500);
    if (res.body != NULL) {
        check(res.content_type != NULL);
        check(strlen(res.body) == res.body_len);
        if (strcmp(res.content_type, HTTPD_CT_JSON) == 0) {
            cJSON *j = cJSON_Parse(res.body);
            check(j != NULL);
            cJSON_Delete(j);
        }
        /* A Prometheus answer is 200 and ends its last line. */
        if (strcmp(res.content_type, HTTPD_CT_PROM) == 0)
            check(res.status == 200 && (res.body_len == 0 || res.body[res.body_len - 1] == '\n'));
    } else {
        check(res.body_len == 0 && res.content_type == NULL);
    }
    bool odd =
        strstr(path, "//") != NULL || strstr(path, "%2F") != NULL || strstr(path, "%2f") != NULL;
    for (const char *c = path; *c != '\0'; c++)
        odd = odd || (unsigned char)*c < 0x20;
    if (odd || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0))
        check(res.status == 404 && res.body == NULL);
    httpd_response_free(&res);
    free(method);
    free(path);
    free(query);
    return 0;
}
