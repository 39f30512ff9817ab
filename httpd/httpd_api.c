/*
 * httpd_api.c - SPEC 2's read routes over a struct httpd_source.
 *
 * A request is handled in three steps: the path is normalized and split
 * into segments (parse_path), the segments are matched against the route
 * table in route() and the matching renderer builds a cJSON tree, which
 * respond_json() prints compact with sorted keys (the Prometheus routes
 * build text with httpd_prom.h instead).  Nothing here touches a socket or
 * a clock: the source supplies time (up_time_min) and data.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpd_api.h"
#include "httpd_prom.h"
#include "log.h"

#define MAX_SEGMENTS 8

#define ERR_NO_DEFAULT    "no \"default\" policy exists"
#define ERR_NO_POLICY     "policy does not exists" /* sic, SPEC 2 */
#define ERR_NO_POLICY_MET "policy does not exist"
#define ERR_NO_PROM       "Prometheus output is not available"
#define RATES_BODY                                                                                 \
    "{\"packets\":{\"in\":0,\"out\":0},\"warning\":\"deprecated: use 'live' data from "            \
    "/api/v1/metrics/bucket/0 instead\"}"

struct segments {
    char buf[HTTPD_PATH_MAX + 1];
    const char *seg[MAX_SEGMENTS];
    size_t n;
};

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* RFC 3986 unreserved: decoding these never changes what a path means. */
static bool is_unreserved(int c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Decode escapes of unreserved characters and split at '/'.  Any other
 * escape, a control or non-ASCII byte, an empty segment ("//", a trailing
 * "/"), too many segments or too long a path: -1 (unmatched). */
static int parse_path(const char *path, struct segments *s)
{
    size_t len = 0;
    if (path[0] != '/')
        return -1;
    for (const char *c = path; *c != '\0'; c++) {
        int ch = (unsigned char)*c;
        if (ch == '%') {
            int hi = hexval(c[1]);
            int lo = hi < 0 ? -1 : hexval(c[2]);
            if (lo < 0)
                return -1;
            ch = hi * 16 + lo;
            if (!is_unreserved(ch))
                return -1;
            c += 2;
        } else if (ch < 0x21 || ch > 0x7e) {
            return -1;
        }
        if (len >= HTTPD_PATH_MAX)
            return -1;
        s->buf[len++] = (char)ch;
    }
    s->buf[len] = '\0';

    s->n = 0;
    char *p = s->buf + 1;
    for (;;) {
        char *slash = strchr(p, '/');
        if (slash == p || *p == '\0' || s->n == MAX_SEGMENTS)
            return -1;
        s->seg[s->n++] = p;
        if (slash == NULL)
            return 0;
        *slash = '\0';
        p = slash + 1;
    }
}

/* {name} = [a-zA-Z_][a-zA-Z0-9_-]* (SPEC 2). */
static bool is_name(const char *s)
{
    if (!is_alpha((unsigned char)s[0]) && s[0] != '_')
        return false;
    for (s++; *s != '\0'; s++)
        if (!is_alpha((unsigned char)*s) && !is_digit((unsigned char)*s) && *s != '_' && *s != '-')
            return false;
    return true;
}

/* N = \d+, saturating: an N beyond any window is an invalid period. */
static bool parse_n(const char *s, uint64_t *n)
{
    uint64_t v = 0;
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        if (!is_digit((unsigned char)*s))
            return false;
        unsigned d = (unsigned)(*s - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
    }
    *n = v;
    return true;
}

static void respond_empty(struct httpd_response *res, int status)
{
    res->status = status;
    res->content_type = NULL;
    res->body = NULL;
    res->body_len = 0;
}

static int respond_text(struct httpd_response *res, int status, const char *ct, const char *text)
{
    char *b = strdup(text);
    if (b == NULL) {
        respond_empty(res, 500);
        return -1;
    }
    res->status = status;
    res->content_type = ct;
    res->body = b;
    res->body_len = strlen(b);
    return 0;
}

/* Takes root (may be NULL: out of memory). */
static int respond_json(struct httpd_response *res, int status, cJSON *root)
{
    char *b = NULL;
    if (root != NULL) {
        json_sort_keys(root);
        b = cJSON_PrintUnformatted(root);
        cJSON_Delete(root);
    }
    if (b == NULL) {
        respond_empty(res, 500);
        return -1;
    }
    res->status = status;
    res->content_type = HTTPD_CT_JSON;
    res->body = b;
    res->body_len = strlen(b);
    return 0;
}

static int respond_error(struct httpd_response *res, int status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    if (o != NULL && cJSON_AddStringToObject(o, "error", msg) == NULL) {
        cJSON_Delete(o);
        o = NULL;
    }
    return respond_json(res, status, o);
}

/* Add item under key, replacing an earlier one (SPEC 7: handlers with the
 * same schema key overwrite each other).  Takes item, even on failure. */
static bool put(cJSON *obj, const char *key, cJSON *item)
{
    bool ok;
    if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL)
        ok = cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
    else
        ok = cJSON_AddItemToObject(obj, key, item);
    if (!ok)
        cJSON_Delete(item);
    return ok;
}

/* Index of the policy named name, or -1. */
static long find_policy(const struct httpd_source *src, const char *name)
{
    size_t n = src->policy_count(src->ctx);
    for (size_t p = 0; p < n; p++) {
        const char *pn = src->policy_name(src->ctx, p);
        if (pn != NULL && strcmp(pn, name) == 0)
            return (long)p;
    }
    return -1;
}

static int route_app(const struct httpd_source *src, struct httpd_response *res)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *app = cJSON_AddObjectToObject(root, "app");
    double up = src->up_time_min != NULL ? src->up_time_min(src->ctx) : 0.0;
    if (cJSON_AddStringToObject(app, "version", PKTVISOR_VERSION) == NULL ||
        cJSON_AddNumberToObject(app, "up_time_min", up) == NULL) {
        cJSON_Delete(root);
        root = NULL;
    }
    return respond_json(res, 200, root);
}

/* GET /api/v1/metrics/(bucket|window)/N: the default policy, every
 * handler under its schema key in "1m" (bucket) or "<N>m" (window); for a
 * bucket the first handler's period is also hoisted to 1m.period. */
static int route_legacy(const struct httpd_source *src, enum httpd_view view, uint64_t n,
                        struct httpd_response *res)
{
    long p = find_policy(src, "default");
    if (p < 0)
        return respond_error(res, 404, ERR_NO_DEFAULT);

    char key[32];
    if (view == HTTPD_BUCKET)
        snprintf(key, sizeof(key), "1m");
    else
        snprintf(key, sizeof(key), "%llum", (unsigned long long)n);
    cJSON *root = cJSON_CreateObject();
    cJSON *top = cJSON_AddObjectToObject(root, key);
    if (top == NULL)
        goto oom;
    bool hoisted = view != HTTPD_BUCKET;
    size_t count = src->instance_count(src->ctx, (size_t)p);
    for (size_t i = 0; i < count; i++) {
        struct httpd_instance inst;
        char err[HTTPD_ERR_MAX] = "";
        cJSON *obj = NULL;
        if (src->instance_get(src->ctx, (size_t)p, i, &inst) != 0)
            continue;
        enum httpd_render_rc rc = src->render(src->ctx, (size_t)p, i, view, n, &obj, err);
        if (rc != HTTPD_RENDER_OK) {
            cJSON_Delete(obj);
            cJSON_Delete(root);
            /* pktvisor answers 500 with the exception text as text/plain. */
            return respond_text(res, 500, HTTPD_CT_TEXT, err);
        }
        if (obj == NULL || !put(top, inst.schema_key, obj))
            goto oom;
        cJSON *period = cJSON_GetObjectItemCaseSensitive(obj, "period");
        if (!hoisted && period != NULL) {
            cJSON *copy = cJSON_Duplicate(period, true);
            if (copy == NULL || !put(top, "period", copy))
                goto oom;
            hoisted = true;
        }
    }
    return respond_json(res, 200, root);
oom:
    cJSON_Delete(root);
    return respond_json(res, 500, NULL);
}

/* Render every instance of policy p into pobj.  Returns the render code of
 * the first failure, with its message in err. */
static enum httpd_render_rc render_policy(const struct httpd_source *src, size_t p,
                                          enum httpd_view view, uint64_t n, cJSON *pobj, char *err)
{
    size_t count = src->instance_count(src->ctx, p);
    for (size_t i = 0; i < count; i++) {
        struct httpd_instance inst;
        cJSON *obj = NULL;
        if (src->instance_get(src->ctx, p, i, &inst) != 0)
            continue;
        enum httpd_render_rc rc = src->render(src->ctx, p, i, view, n, &obj, err);
        if (rc != HTTPD_RENDER_OK) {
            cJSON_Delete(obj);
            return rc;
        }
        cJSON *iobj = cJSON_CreateObject();
        if (obj == NULL || iobj == NULL || !cJSON_AddItemToObject(iobj, inst.schema_key, obj)) {
            cJSON_Delete(obj);
            cJSON_Delete(iobj);
            snprintf(err, HTTPD_ERR_MAX, "out of memory");
            return HTTPD_RENDER_FAIL;
        }
        if (!put(pobj, inst.name, iobj)) {
            snprintf(err, HTTPD_ERR_MAX, "out of memory");
            return HTTPD_RENDER_FAIL;
        }
    }
    return HTTPD_RENDER_OK;
}

/* GET /api/v1/policies/{name|__all}/metrics/(bucket|window)/N. */
static int route_policy_metrics(const struct httpd_source *src, const char *name,
                                enum httpd_view view, uint64_t n, struct httpd_response *res)
{
    bool all = strcmp(name, "__all") == 0;
    long one = -1;
    if (!all && (one = find_policy(src, name)) < 0)
        return respond_error(res, 404, ERR_NO_POLICY_MET);

    cJSON *root = cJSON_CreateObject();
    if (root == NULL)
        return respond_json(res, 500, NULL);
    size_t first = all ? 0 : (size_t)one;
    size_t last = all ? src->policy_count(src->ctx) : (size_t)one + 1;
    for (size_t p = first; p < last; p++) {
        const char *pname = src->policy_name(src->ctx, p);
        char err[HTTPD_ERR_MAX] = "";
        if (pname == NULL)
            continue;
        cJSON *pobj = cJSON_CreateObject();
        if (pobj == NULL || !put(root, pname, pobj)) {
            cJSON_Delete(root);
            return respond_json(res, 500, NULL);
        }
        enum httpd_render_rc rc = render_policy(src, p, view, n, pobj, err);
        if (rc == HTTPD_RENDER_PERIOD && all) {
            /* One young or small policy must not fail the whole document.
             * Debug, not warning: any client can trigger this at will. */
            log_debug("policy %s omitted from __all: %s", pname, err);
            cJSON_DeleteItemFromObjectCaseSensitive(root, pname);
            continue;
        }
        if (rc != HTTPD_RENDER_OK) {
            cJSON_Delete(root);
            return respond_error(res, rc == HTTPD_RENDER_PERIOD ? 425 : 500, err);
        }
    }
    return respond_json(res, 200, root);
}

/* SPEC 2's policy info, as far as the source knows it. */
static cJSON *policy_info(const struct httpd_source *src, size_t p, const char *pname)
{
    cJSON *info = cJSON_CreateObject();
    if (info == NULL)
        return NULL;
    if (src->policy_input != NULL) {
        cJSON *in = src->policy_input(src->ctx, p);
        if (in != NULL && !cJSON_AddItemToObject(info, "input", in)) {
            cJSON_Delete(in);
            goto fail;
        }
    }
    cJSON *mods = cJSON_AddObjectToObject(info, "modules");
    if (mods == NULL)
        goto fail;
    size_t count = src->instance_count(src->ctx, p);
    for (size_t i = 0; i < count; i++) {
        struct httpd_instance inst;
        if (src->instance_get(src->ctx, p, i, &inst) != 0)
            continue;
        cJSON *entry = cJSON_CreateObject();
        if (entry == NULL || !put(mods, inst.name, entry))
            goto fail;
        cJSON *m = cJSON_AddObjectToObject(entry, "module");
        cJSON *pol = cJSON_AddObjectToObject(m, "policy");
        if (cJSON_AddStringToObject(m, "name", inst.name) == NULL ||
            cJSON_AddBoolToObject(m, "running", inst.running) == NULL ||
            cJSON_AddStringToObject(pol, "name", pname) == NULL)
            goto fail;
        if (src->instance_config != NULL) {
            cJSON *c = src->instance_config(src->ctx, p, i);
            if (c != NULL && !put(m, "config", c))
                goto fail;
        }
        if (src->instance_extra != NULL) {
            cJSON *x = src->instance_extra(src->ctx, p, i);
            /* Move each member of x into the entry ("metrics", "dns");
             * "module" is ours. */
            while (x != NULL && x->child != NULL) {
                cJSON *item = cJSON_DetachItemViaPointer(x, x->child);
                if (item->string == NULL || strcmp(item->string, "module") == 0) {
                    cJSON_Delete(item);
                    continue;
                }
                if (!put(entry, item->string, item)) {
                    cJSON_Delete(x);
                    goto fail;
                }
            }
            cJSON_Delete(x);
        }
    }
    return info;
fail:
    cJSON_Delete(info);
    return NULL;
}

static int route_policies(const struct httpd_source *src, const char *name,
                          struct httpd_response *res)
{
    size_t first = 0, last = src->policy_count(src->ctx);
    if (name != NULL) {
        long p = find_policy(src, name);
        if (p < 0)
            return respond_error(res, 404, ERR_NO_POLICY);
        first = (size_t)p;
        last = first + 1;
    }
    cJSON *root = cJSON_CreateObject();
    for (size_t p = first; root != NULL && p < last; p++) {
        const char *pname = src->policy_name(src->ctx, p);
        if (pname == NULL)
            continue;
        cJSON *info = policy_info(src, p, pname);
        if (info == NULL || !put(root, pname, info)) {
            cJSON_Delete(root);
            root = NULL;
        }
    }
    return respond_json(res, 200, root);
}

static int route_taps(const struct httpd_source *src, struct httpd_response *res)
{
    cJSON *t = src->taps != NULL ? src->taps(src->ctx) : NULL;
    if (t == NULL)
        return respond_text(res, 200, HTTPD_CT_JSON, "null");
    return respond_json(res, 200, t);
}

/* One group of instances with the same schema key, filled by prom_visit. */
struct prom_visit {
    struct prom_group *g; /* created at the first instance: the table comes with it */
    const struct metric_table *t;
    struct prom_label labels[3];
    size_t nlabels;
};

/* httpd_window_fn: add the bucket Prometheus shows (SPEC 3.1) to the group. */
static enum httpd_render_rc prom_visit(void *arg, const struct metric_table *t,
                                       const struct window *w, const struct render_opts *o,
                                       char *err)
{
    struct prom_visit *v = arg;
    void *empty = NULL;
    const void *bucket;
    if (v->g == NULL) {
        if ((v->g = prom_group_new(t, o)) == NULL)
            goto oom;
        v->t = t;
    } else if (t != v->t) {
        snprintf(err, HTTPD_ERR_MAX, "handlers of schema key %s have different metrics",
                 t->schema_key);
        return HTTPD_RENDER_FAIL;
    }
    if (w->count == 0) {
        /* No event yet: pktvisor's live bucket exists and shows zeros. */
        if ((empty = calloc(1, t->bucket_size)) == NULL)
            goto oom;
        bucket = empty;
    } else {
        bucket = window_bucket_const(w, w->count > 1 ? 1 : 0);
    }
    int rc = prom_group_add(v->g, bucket, v->labels, v->nlabels);
    free(empty);
    if (rc == 0)
        return HTTPD_RENDER_OK;
oom:
    snprintf(err, HTTPD_ERR_MAX, "out of memory");
    return HTTPD_RENDER_FAIL;
}

/* Take out's text as the body of a 200 (or answer 500 when it is
 * incomplete). */
static int respond_prom(struct httpd_response *res, struct prom_buf *out)
{
    if (!out->oom && out->data == NULL)
        prom_buf_append(out, "", 0); /* no family at all: an empty body */
    if (out->oom) {
        prom_buf_free(out);
        respond_empty(res, 500);
        return -1;
    }
    res->status = 200;
    res->content_type = HTTPD_CT_PROM;
    res->body = out->data;
    res->body_len = out->len;
    memset(out, 0, sizeof(*out));
    return 0;
}

/* GET /metrics (legacy: the default policy, labels policy [+ instance])
 * and GET /api/v1/policies/{name}/metrics/prometheus (labels module,
 * policy [+ instance]).  Instances are rendered in policy order, those of
 * one schema key as one group (httpd_prom.h); legacy keeps only the last
 * of them (SPEC 7, see httpd_api.h). */
static int route_prom(const struct httpd_source *src, const char *name, bool legacy,
                      struct httpd_response *res)
{
    long p = find_policy(src, name);
    if (p < 0) {
        if (legacy)
            return 0; /* res is already 404 with no body */
        return respond_text(res, 404, HTTPD_CT_TEXT, ERR_NO_POLICY);
    }
    if (src->with_window == NULL)
        return respond_text(res, 500, HTTPD_CT_TEXT, ERR_NO_PROM);

    size_t count = src->instance_count(src->ctx, (size_t)p);
    struct httpd_instance *inst = calloc(count + 1, sizeof(*inst));
    /* Instances not rendered yet (grouped by schema key below). */
    bool *pending = calloc(count + 1, sizeof(*pending));
    struct prom_buf out = {0};
    char err[HTTPD_ERR_MAX] = "";
    enum httpd_render_rc rc = HTTPD_RENDER_OK;
    if (inst == NULL || pending == NULL) {
        out.oom = true;
        goto done;
    }
    for (size_t i = 0; i < count; i++)
        pending[i] = src->instance_get(src->ctx, (size_t)p, i, &inst[i]) == 0;
    for (size_t i = 0; legacy && i < count; i++)
        for (size_t j = i + 1; pending[i] && j < count; j++)
            if (pending[j] && strcmp(inst[i].schema_key, inst[j].schema_key) == 0)
                pending[i] = false; /* a later one overwrites it */

    for (size_t i = 0; i < count && rc == HTTPD_RENDER_OK; i++) {
        struct prom_visit v = {0};
        if (!pending[i])
            continue;
        for (size_t j = i; j < count && rc == HTTPD_RENDER_OK; j++) {
            if (!pending[j] || strcmp(inst[j].schema_key, inst[i].schema_key) != 0)
                continue;
            pending[j] = false;
            v.nlabels = 0;
            if (src->prom_instance != NULL)
                v.labels[v.nlabels++] = (struct prom_label){"instance", src->prom_instance};
            if (!legacy)
                v.labels[v.nlabels++] = (struct prom_label){"module", inst[j].name};
            v.labels[v.nlabels++] = (struct prom_label){"policy", name};
            rc = src->with_window(src->ctx, (size_t)p, j, prom_visit, &v, err);
        }
        if (rc == HTTPD_RENDER_OK && v.g != NULL)
            prom_group_write(v.g, &out);
        prom_group_free(&v.g);
    }
done:
    free(inst);
    free(pending);
    if (rc != HTTPD_RENDER_OK) {
        prom_buf_free(&out);
        return respond_text(res, 500, HTTPD_CT_TEXT, err[0] != '\0' ? err : "render failed");
    }
    return respond_prom(res, &out);
}

static bool seg_is(const struct segments *s, size_t i, const char *lit)
{
    return i < s->n && strcmp(s->seg[i], lit) == 0;
}

static int view_of(const char *seg, enum httpd_view *v)
{
    if (strcmp(seg, "bucket") == 0)
        *v = HTTPD_BUCKET;
    else if (strcmp(seg, "window") == 0)
        *v = HTTPD_WINDOW;
    else
        return -1;
    return 0;
}

/* The write routes, registered only with --admin-api (SPEC 2). */
static int route_admin(const struct httpd_source *src, const char *method, const struct segments *s,
                       const struct httpd_request_info *info, struct httpd_response *res)
{
    bool post = strcmp(method, "POST") == 0, del = strcmp(method, "DELETE") == 0;
    if (!src->admin_api || (!post && !del) || !seg_is(s, 0, "api") || !seg_is(s, 1, "v1"))
        return 0;
    if (del && s->n == 3 && strcmp(s->seg[2], "server") == 0) {
        res->status = 0;
        res->admin = HTTPD_ADMIN_SERVER_STOP;
        return 0;
    }
    if (!seg_is(s, 2, "policies"))
        return 0;
    if (post && s->n == 3) {
        const char *ct = info != NULL ? info->content_type : NULL;
        if (ct == NULL)
            return respond_error(res, 400, "must include Content-Type header");
        /* The media type, without parameters (charset). */
        size_t len = strcspn(ct, "; \t");
        if (len != strlen("application/x-yaml") || strncasecmp(ct, "application/x-yaml", len) != 0)
            return respond_error(res, 400, "Content-Type not supported");
        res->status = 0;
        res->admin = HTTPD_ADMIN_POLICY_ADD;
        return 0;
    }
    if (del && s->n == 4 && is_name(s->seg[3]) && strlen(s->seg[3]) < sizeof(res->admin_name)) {
        res->status = 0;
        res->admin = HTTPD_ADMIN_POLICY_DEL;
        snprintf(res->admin_name, sizeof(res->admin_name), "%s", s->seg[3]);
        return 0;
    }
    return 0;
}

int httpd_route(const struct httpd_source *src, const char *method, const char *path,
                const char *query, struct httpd_response *res)
{
    return httpd_route_request(src, method, path, query, NULL, res);
}

int httpd_route_request(const struct httpd_source *src, const char *method, const char *path,
                        const char *query, const struct httpd_request_info *info,
                        struct httpd_response *res)
{
    (void)query; /* pktvisor defines no parameters */
    struct segments s;
    enum httpd_view view;
    uint64_t n;

    respond_empty(res, 404);
    res->admin = HTTPD_ADMIN_NONE;
    res->admin_name[0] = '\0';
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        if (parse_path(path, &s) != 0)
            return 0;
        return route_admin(src, method, &s, info, res);
    }
    if (parse_path(path, &s) != 0)
        return 0;
    if (s.n == 1 && strcmp(s.seg[0], "metrics") == 0)
        return route_prom(src, "default", true, res);
    if (!seg_is(&s, 0, "api") || !seg_is(&s, 1, "v1") || s.n < 3)
        return 0;

    if (strcmp(s.seg[2], "metrics") == 0) {
        if (s.n == 4 && strcmp(s.seg[3], "app") == 0)
            return route_app(src, res);
        if (s.n == 4 && strcmp(s.seg[3], "rates") == 0)
            return respond_text(res, 200, HTTPD_CT_JSON, RATES_BODY);
        if (s.n == 5 && view_of(s.seg[3], &view) == 0 && parse_n(s.seg[4], &n))
            return route_legacy(src, view, n, res);
        return 0;
    }
    if (strcmp(s.seg[2], "taps") == 0 && s.n == 3)
        return route_taps(src, res);
    if (strcmp(s.seg[2], "openapi.yaml") == 0 && s.n == 3 && src->openapi != NULL)
        return respond_text(res, 200, HTTPD_CT_YAML, src->openapi);
    if (strcmp(s.seg[2], "policies") == 0) {
        if (s.n == 3)
            return route_policies(src, NULL, res);
        if (!is_name(s.seg[3]))
            return 0;
        if (s.n == 4)
            return route_policies(src, s.seg[3], res);
        if (s.n == 7 && strcmp(s.seg[4], "metrics") == 0 && view_of(s.seg[5], &view) == 0 &&
            parse_n(s.seg[6], &n))
            return route_policy_metrics(src, s.seg[3], view, n, res);
        if (s.n == 6 && strcmp(s.seg[4], "metrics") == 0 && strcmp(s.seg[5], "prometheus") == 0)
            return route_prom(src, s.seg[3], false, res);
    }
    return 0;
}

void httpd_response_free(struct httpd_response *res)
{
    free(res->body);
    res->body = NULL;
    res->body_len = 0;
}

enum httpd_render_rc httpd_window_render(const struct metric_table *t, const struct window *w,
                                         enum httpd_view view, uint64_t n,
                                         const struct render_opts *o, cJSON **out, char *err)
{
    uint32_t periods = w->num_periods;
    void *tmp = NULL;
    *out = NULL;
    if (view == HTTPD_BUCKET) {
        /* pktvisor always has a live bucket; ours opens at the first event. */
        uint32_t count = w->count > 0 ? w->count : 1;
        if (n >= periods) {
            snprintf(err, HTTPD_ERR_MAX, "invalid metrics period, specify [0, %u]", periods - 1);
            return HTTPD_RENDER_PERIOD;
        }
        if (n >= count) {
            snprintf(err, HTTPD_ERR_MAX,
                     "requested metrics period has not yet accumulated, current range is [0, %u]",
                     count - 1);
            return HTTPD_RENDER_PERIOD;
        }
        if (w->count > 0) {
            *out = metric_bucket_json(t, window_bucket_const(w, (uint32_t)n), o);
            goto done;
        }
    } else if (n <= 1 || n > periods) {
        snprintf(err, HTTPD_ERR_MAX, "invalid metrics period, specify [2, %u]", periods);
        return HTTPD_RENDER_PERIOD;
    }

    if ((tmp = malloc(t->bucket_size)) == NULL)
        goto done;
    if (view == HTTPD_BUCKET || window_merge(w, t, (uint32_t)n, o->now_sec, tmp) == 0) {
        /* No event yet: an empty bucket, not a missing object. */
        metric_bucket_open(t, tmp, 0, 0);
        metric_bucket_close(t, tmp, 0, 0);
    }
    *out = metric_bucket_json(t, tmp, o);
    free(tmp);
done:
    if (*out == NULL) {
        snprintf(err, HTTPD_ERR_MAX, "out of memory");
        return HTTPD_RENDER_FAIL;
    }
    return HTTPD_RENDER_OK;
}
