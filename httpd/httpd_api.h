/*
 * httpd_api.h - the HTTP worker's read API: routes and JSON rendering.
 *
 * httpd_route() is a pure function of (source, method, path, query): it
 * matches SPEC 2's read routes, asks the source for the data and returns
 * status, content type and body.  It opens no socket and keeps no state,
 * so the unit tests and the fuzzer drive it directly; httpd_server.c wraps
 * it in libevent's evhttp.
 *
 * The data behind the routes is abstracted by struct httpd_source: a list
 * of policies, each with handler instances (name, schema key), and
 * callbacks that render bucket N or the merged window N of one instance.
 * Today the tests provide a source over in-process handlers; the snapshot
 * reader (DESIGN.md section 3: the HTTP worker reads published copies of
 * each aggregator's window and never blocks a writer) will provide one over
 * shared segments.  httpd_window_render() turns a window (window.h) into a
 * bucket or merged-window object with SPEC 2's period errors, so both
 * sources share one implementation of the period rules.
 *
 * Routing decisions (where SPEC 2 leaves room or pktvisor is wrong):
 * - Paths are matched exactly against SPEC 2's patterns: no "//", no
 *   trailing "/", no "." segments.  Percent-escapes of unreserved
 *   characters (RFC 3986 section 6.2.2.2: ALPHA DIGIT - . _ ~) are decoded
 *   before matching; any other escape ("%2F" included) or a malformed one
 *   makes the path unmatched, so an escape can never add a path separator.
 *   Paths longer than HTTPD_PATH_MAX are unmatched.  Unmatched: 404, empty
 *   body (the server default of SPEC 2).
 * - Only GET and HEAD are served.  Any other method gets 404 with an empty
 *   body, as pktvisor without --admin-api answers (cpp-httplib's default
 *   for a method with no registered route); the admin routes, when they
 *   come, will claim POST/DELETE on their paths.  HEAD answers like GET;
 *   the server sends the headers and no body.
 * - N (\d+) is parsed saturating: a number too large for any window is an
 *   invalid period (the period error), never a wrapped-around small one.
 * - The query string is ignored (pktvisor defines no parameters).
 * - JSON bodies are compact with keys sorted at every level, Content-Type
 *   application/json (SPEC 10).  The legacy routes' 500 carries the period
 *   text as text/plain, as pktvisor's does; the policy routes' 425 carries
 *   {"error":"<text>"}.
 * - Prometheus (GET /metrics, GET /api/v1/policies/{name}/metrics/
 *   prometheus; rendering in httpd_prom.h): each instance shows bucket 1
 *   when its window holds more than one bucket, else bucket 0 (SPEC 3.1);
 *   an instance with no event yet shows an empty bucket (zero gauges), as
 *   pktvisor's always-present live bucket does.  /metrics labels samples
 *   policy="default" (+ instance) and, as the legacy JSON routes do (SPEC
 *   7), shows only the last of several instances with one schema key:
 *   their series would be identical and a scrape with duplicate series is
 *   rejected.  The per-policy route adds module="<instance>" and renders
 *   instances of one schema key as one group, so each family's HELP/TYPE
 *   comes once.  Content-Type "text/plain; version=0.0.4".  Errors:
 *   /metrics without a default policy 404 with no body; unknown policy 404
 *   text/plain "policy does not exists" (sic); a source without
 *   with_window, or an instance whose window cannot be read, 500 text/plain.
 *
 * Ownership: the source and everything it points to is borrowed for the
 * duration of one httpd_route() call; trees returned by its callbacks
 * become the router's.  The response body is malloc'ed and freed by
 * httpd_response_free().  One thread (the HTTP worker's event loop).
 */
#ifndef PKTVISOR_HTTPD_API_H
#define PKTVISOR_HTTPD_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "metric.h"
#include "window.h"

#define HTTPD_PATH_MAX 1024
#define HTTPD_ERR_MAX  256

#define HTTPD_CT_JSON "application/json"
#define HTTPD_CT_TEXT "text/plain"
#define HTTPD_CT_YAML "application/yaml"
#define HTTPD_CT_PROM "text/plain; version=0.0.4"

enum httpd_view { HTTPD_BUCKET, HTTPD_WINDOW };

/* Result of a render callback. */
enum httpd_render_rc {
    HTTPD_RENDER_OK = 0,     /* *out holds the handler object */
    HTTPD_RENDER_PERIOD = 1, /* err holds a period error (SPEC 2 texts) */
    HTTPD_RENDER_FAIL = -1,  /* err holds an internal failure */
};

/* Called by a source's with_window with the window of one instance, its
 * metric table and the options to render it with; all three are valid only
 * during the call.  Returns OK, or FAIL with a message in err. */
typedef enum httpd_render_rc (*httpd_window_fn)(void *arg, const struct metric_table *t,
                                                const struct window *w, const struct render_opts *o,
                                                char *err);

/* What the API shows of one handler instance. */
struct httpd_instance {
    const char *name;       /* "default-dns" */
    const char *schema_key; /* "dns" */
    bool running;
};

/*
 * The data the routes read.  Indexes are stable for one httpd_route()
 * call.  Required: policy_count, policy_name, instance_count,
 * instance_get, render.  The rest may be NULL.
 */
struct httpd_source {
    void *ctx;
    size_t (*policy_count)(void *ctx);
    const char *(*policy_name)(void *ctx, size_t p);
    size_t (*instance_count)(void *ctx, size_t p);
    /* 0, or -1 when the instance vanished (it is then skipped). */
    int (*instance_get)(void *ctx, size_t p, size_t i, struct httpd_instance *out);
    /* Bucket n (0 = live) or the window merging the newest n buckets of
     * instance i of policy p, as the handler object (keys need not be
     * sorted).  On error a message in err (HTTPD_ERR_MAX bytes). */
    enum httpd_render_rc (*render)(void *ctx, size_t p, size_t i, enum httpd_view view, uint64_t n,
                                   cJSON **out, char *err);
    /* Optional extras of the policy info (SPEC 2): the policy's "input"
     * object, an instance's "module.config", and members to merge into an
     * instance's entry ("metrics", "dns").  NULL result: omitted. */
    cJSON *(*policy_input)(void *ctx, size_t p);
    cJSON *(*instance_config)(void *ctx, size_t p, size_t i);
    cJSON *(*instance_extra)(void *ctx, size_t p, size_t i);
    /* GET /api/v1/taps: an object, or NULL for the JSON null of no taps. */
    cJSON *(*taps)(void *ctx);
    /* --admin-api: the write routes exist (SPEC 2). */
    bool admin_api;
    /* GET /api/v1/openapi.yaml: the API's own description; NULL: 404. */
    const char *openapi;
    /* Minutes since the agent started (GET /api/v1/metrics/app). */
    double (*up_time_min)(void *ctx);
    /* The Prometheus routes: call fn(arg, ...) with instance i's window
     * (the router picks the bucket, SPEC 3.1) and return what fn returns;
     * when the window cannot be had, FAIL with a message in err.  A
     * visitor rather than a getter, so the source decides how long the
     * window lives (a snapshot copy, an empty window it allocates).  NULL:
     * GET /metrics and .../metrics/prometheus answer 500 (text/plain). */
    enum httpd_render_rc (*with_window)(void *ctx, size_t p, size_t i, httpd_window_fn fn,
                                        void *arg, char *err);
    /* The "instance" label of every Prometheus sample (--prom-instance);
     * NULL: no such label. */
    const char *prom_instance;
};

/* The admin API's write routes (only with --admin-api): the router checks
 * the request and names the operation; the HTTP worker carries it out (it
 * asks the supervisor) and answers later. */
enum httpd_admin_op {
    HTTPD_ADMIN_NONE = 0,
    HTTPD_ADMIN_POLICY_ADD,  /* POST /api/v1/policies: the request body */
    HTTPD_ADMIN_POLICY_DEL,  /* DELETE /api/v1/policies/{name} */
    HTTPD_ADMIN_SERVER_STOP, /* DELETE /api/v1/server */
};

struct httpd_response {
    int status;
    const char *content_type; /* static string; NULL when there is no body */
    char *body;               /* malloc'ed, NUL-terminated, or NULL */
    size_t body_len;
    enum httpd_admin_op admin; /* != NONE: no answer yet (status 0): do it */
    char admin_name[64];       /* HTTPD_ADMIN_POLICY_DEL: the policy */
};

/* What the router needs of a request beyond its method and path. */
struct httpd_request_info {
    const char *content_type; /* the Content-Type header, or NULL */
};

/* Route one request.  method and path must not be NULL; query may be.
 * path is the request target's path, still percent-encoded.  Fills res
 * (previous contents ignored).  Returns 0, or -1 when memory ran out
 * (res is then a 500 with an empty body). */
int httpd_route(const struct httpd_source *src, const char *method, const char *path,
                const char *query, struct httpd_response *res);
/* The same with the request's headers: the admin routes (src->admin_api)
 * check the Content-Type of a POST (400 "must include Content-Type header" /
 * "Content-Type not supported": application/x-yaml only) and otherwise set
 * res->admin (status 0, no body). */
int httpd_route_request(const struct httpd_source *src, const char *method, const char *path,
                        const char *query, const struct httpd_request_info *info,
                        struct httpd_response *res);
void httpd_response_free(struct httpd_response *res);

/* Render bucket n or merged window n of window w (of table t) with SPEC 2's
 * period rules: bucket n >= P -> "invalid metrics period, specify [0, P-1]";
 * n not yet accumulated -> "requested metrics period has not yet
 * accumulated, current range is [0, count-1]"; window n <= 1 or n > P ->
 * "invalid metrics period, specify [2, P]".  Before the first event the
 * live bucket is rendered empty (pktvisor always has one).  A window merge
 * allocates one bucket-sized scratch (about 1.5 MiB for dns). */
enum httpd_render_rc httpd_window_render(const struct metric_table *t, const struct window *w,
                                         enum httpd_view view, uint64_t n,
                                         const struct render_opts *o, cJSON **out, char *err);

#endif
