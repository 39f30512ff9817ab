/*
 * httpd_child.c - the HTTP worker process (agent.h): libevent's evhttp on
 * the listening socket the supervisor bound, answering from the handler
 * instances' published snapshots.
 *
 * The supervisor sends, after our READY, one PROC_MSG_INSTANCE per handler
 * instance with its metric segment's fd, which we map read-only (the
 * worker can read every aggregator's snapshots and write none), then
 * PROC_MSG_START.  Each request copies the prefix of the newest snapshot it
 * needs (the block's window, not the dns transaction table) into a buffer
 * of the instance and renders it: the aggregators never wait for us
 * (DESIGN.md property 4).  The control socket closing means the supervisor
 * is gone: the worker stops.
 *
 * With --tls the worker loads the certificate and key itself, before its
 * privilege drop (chrooted and unprivileged it could not read them), and
 * is the only process holding the key (httpd_tls.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent.h"
#include "agg_loop.h"
#include "httpd_server.h"
#include "httpd_tls.h"
#include "log.h"
#include "metric_seg.h"
#include "proc_msg.h"
#include "visor_config.h"

/* httpd/openapi.yaml, embedded at build time (httpd/Makefile.inc). */
extern const char httpd_openapi_yaml[];

#define MAX_POLICIES AGENT_MAX_INSTANCES

struct hinst {
    struct proc_msg_instance m;
    const struct handler_type *type;
    struct segment *seg;
    void *buf; /* the block's prefix up to the end of its window */
    size_t len;
    size_t policy;
    uint64_t gen; /* of the snapshot in buf; 0: none copied yet */
};

/* Admin requests waiting for the supervisor's answer. */
#define MAX_PENDING 64

struct pend {
    bool used;
    uint32_t id;
    enum httpd_admin_op op;
    struct httpd_pending *req;
    char name[64]; /* DELETE: the policy */
    char *body;    /* POST: the document, applied to our copy once created */
    size_t len;
};

struct hctx {
    struct hinst inst[AGENT_MAX_INSTANCES];
    size_t ninst;
    char policies[MAX_POLICIES][64];
    size_t npolicies;
    int64_t start_ns;
    struct event_base *base;
    struct httpd_server *srv;
    struct event *sock_ev;
    struct event *stop_ev;
    int sock;
    const struct httpd_source *src;
    /* Our copy, as of the fork, then with the policies created and
     * deleted through us applied as the supervisor applied them. */
    struct visor_config *cfg;
    struct pend pend[MAX_PENDING];
    uint32_t next_id;
};

static int64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Instance i of policy p as the API shows it: worker 0 of a tap with
 * workers stands for all of them. */
static struct hinst *find(struct hctx *c, size_t p, size_t i)
{
    size_t k = 0;
    for (size_t j = 0; j < c->ninst; j++)
        if (c->inst[j].policy == p && c->inst[j].m.worker == 0 && k++ == i)
            return &c->inst[j];
    return NULL;
}

/* Worker w of the instance h stands for. */
static struct hinst *find_worker(struct hctx *c, const struct hinst *h, uint32_t w)
{
    for (size_t j = 0; j < c->ninst; j++)
        if (c->inst[j].policy == h->policy && c->inst[j].m.worker == w &&
            strcmp(c->inst[j].m.name, h->m.name) == 0)
            return &c->inst[j];
    return NULL;
}

static size_t s_policy_count(void *ctx)
{
    return ((struct hctx *)ctx)->npolicies;
}

static const char *s_policy_name(void *ctx, size_t p)
{
    return ((struct hctx *)ctx)->policies[p];
}

static size_t s_instance_count(void *ctx, size_t p)
{
    struct hctx *c = ctx;
    size_t n = 0;
    for (size_t j = 0; j < c->ninst; j++)
        n += c->inst[j].policy == p && c->inst[j].m.worker == 0;
    return n;
}

static int s_instance_get(void *ctx, size_t p, size_t i, struct httpd_instance *out)
{
    struct hinst *h = find(ctx, p, i);
    if (h == NULL)
        return -1;
    out->name = h->m.name;
    out->schema_key = h->type->table->schema_key;
    out->running = true;
    return 0;
}

/* Load instance i of policy p's newest snapshot and call fn with its
 * window: a copy in the instance's buffer (valid until its next load), or
 * an empty window while nothing was published yet, freed after fn. */
/* The instance's newest window: the copy in h->buf (refreshed when a newer
 * snapshot was published), or *empty (allocated) before the first one. */
static enum httpd_render_rc load_window(struct hinst *h, const struct window **w,
                                        struct window **empty, char *err)
{
    /* Copy only a newer snapshot than the one in buf: they change at most
     * every 100 ms, requests may come much faster (a dns window is 7.5 MB). */
    struct snap cur = {.area = metric_seg_snap(h->seg)};
    uint64_t gen = snap_generation(&cur);
    int rc = gen != 0 && gen == h->gen ? SNAP_OK : SNAP_BUSY;
    for (int tries = 0; tries < 8 && rc == SNAP_BUSY; tries++) {
        struct snap_meta meta;
        rc = agg_snapshot_load(metric_seg_snap(h->seg), h->type, h->m.num_periods, h->buf, h->len,
                               &meta);
        h->gen = rc == SNAP_OK ? meta.generation : 0;
    }
    *empty = NULL;
    if (rc == SNAP_OK) {
        *w = handler_block_window(h->buf, h->len, h->type, h->m.num_periods);
    } else if (rc == SNAP_NONE) {
        /* Nothing counted yet: an empty window (an empty live bucket). */
        *empty = window_new(h->type->table, h->m.num_periods);
        *w = *empty;
    } else {
        snprintf(err, HTTPD_ERR_MAX, "%s: snapshot unavailable", h->m.name);
        return HTTPD_RENDER_FAIL;
    }
    if (*w == NULL) {
        snprintf(err, HTTPD_ERR_MAX, "%s: out of memory", h->m.name);
        return HTTPD_RENDER_FAIL;
    }
    return HTTPD_RENDER_OK;
}

/* The window of the instance h stands for: its own (load_window), or for
 * a tap with workers a new window merging theirs (window_merge_workers);
 * *owned is what the caller frees.  *open_items: the workers' sum. */
static enum httpd_render_rc load_instance(struct hctx *c, struct hinst *h, const struct window **w,
                                          struct window **owned, uint64_t *open_items, char *err)
{
    const struct window *ws[CONFIG_WORKERS_MAX] = {0};
    struct window *empty[CONFIG_WORKERS_MAX] = {0};
    uint32_t n = h->m.nworkers;
    enum httpd_render_rc rc = HTTPD_RENDER_OK;

    *owned = NULL;
    *open_items = 0;
    for (uint32_t k = 0; k < n && rc == HTTPD_RENDER_OK; k++) {
        struct hinst *hk = n == 1 ? h : find_worker(c, h, k);
        if (hk == NULL) {
            snprintf(err, HTTPD_ERR_MAX, "%s: worker %u missing", h->m.name, (unsigned)k);
            rc = HTTPD_RENDER_FAIL;
            break;
        }
        rc = load_window(hk, &ws[k], &empty[k], err);
        if (rc == HTTPD_RENDER_OK && empty[k] == NULL)
            *open_items += ((const struct handler_block *)hk->buf)->open_items;
    }
    if (rc == HTTPD_RENDER_OK && n == 1) {
        *w = ws[0];
        *owned = empty[0];
        return rc;
    }
    if (rc == HTTPD_RENDER_OK) {
        *owned = window_merge_workers(ws, n, h->type->table);
        *w = *owned;
        if (*owned == NULL) {
            snprintf(err, HTTPD_ERR_MAX, "%s: out of memory", h->m.name);
            rc = HTTPD_RENDER_FAIL;
        }
    }
    for (uint32_t k = 0; k < n; k++)
        window_free(&empty[k]);
    return rc;
}

/* A live bucket's length runs on the wall clock for live capture, on the
 * packet clock for a file (its time is the packets'). */
static struct render_opts render_opts_of(const struct hinst *h, const struct window *w)
{
    return (struct render_opts){
        .now_sec = h->m.live != 0 ? real_ns() / 1000000000 : w->last_sec,
        .show_live = h->m.live != 0,
        .agent = true,
    };
}

static enum httpd_render_rc s_with_window(void *ctx, size_t p, size_t i, httpd_window_fn fn,
                                          void *arg, char *err)
{
    struct hinst *h = find(ctx, p, i);
    const struct window *w;
    struct window *empty;
    uint64_t open;
    if (h == NULL) {
        snprintf(err, HTTPD_ERR_MAX, "no such handler");
        return HTTPD_RENDER_FAIL;
    }
    enum httpd_render_rc lr = load_instance(ctx, h, &w, &empty, &open, err);
    if (lr != HTTPD_RENDER_OK)
        return lr;
    struct render_opts ro = render_opts_of(h, w);
    enum httpd_render_rc r = fn(arg, h->type->table, w, &ro, err);
    window_free(&empty);
    return r;
}

struct json_arg {
    enum httpd_view view;
    uint64_t n;
    cJSON **out;
};

static enum httpd_render_rc json_fn(void *arg, const struct metric_table *t, const struct window *w,
                                    const struct render_opts *o, char *err)
{
    struct json_arg *a = arg;
    return httpd_window_render(t, w, a->view, a->n, o, a->out, err);
}

static enum httpd_render_rc s_render(void *ctx, size_t p, size_t i, enum httpd_view view,
                                     uint64_t n, cJSON **out, char *err)
{
    struct json_arg a = {view, n, out};
    *out = NULL;
    return s_with_window(ctx, p, i, json_fn, &a, err);
}

/* ---- what the API shows of the configuration ---- */

/* Options as JSON (SPEC 5 typing: integer, boolean, string, string list). */
static cJSON *opts_json(const struct handler_opt *o, size_t n)
{
    cJSON *j = cJSON_CreateObject();
    for (size_t i = 0; j != NULL && i < n; i++) {
        cJSON *v = NULL;
        switch (o[i].type) {
        case HOPT_UINT:
            v = cJSON_CreateNumber((double)o[i].u);
            break;
        case HOPT_BOOL:
            v = cJSON_CreateBool(o[i].b);
            break;
        case HOPT_STRING:
            v = cJSON_CreateString(o[i].s);
            break;
        case HOPT_LIST:
            v = cJSON_CreateStringArray(o[i].list, (int)o[i].nlist);
            break;
        }
        if (v == NULL || !cJSON_AddItemToObject(j, o[i].key, v)) {
            cJSON_Delete(v);
            cJSON_Delete(j);
            return NULL;
        }
    }
    return j;
}

/* GET /api/v1/taps: taps do not change at run time, so the worker's copy
 * of the configuration (inherited at fork) is the truth. */
static cJSON *s_taps(void *ctx)
{
    const struct visor_config *vc = ((struct hctx *)ctx)->cfg;
    if (vc == NULL || vc->ntaps == 0)
        return NULL; /* SPEC 2: null */
    cJSON *all = cJSON_CreateObject();
    for (size_t i = 0; all != NULL && i < vc->ntaps; i++) {
        const struct config_tap *t = &vc->taps[i];
        cJSON *o = cJSON_AddObjectToObject(all, t->name);
        cJSON *cfg = opts_json(t->config, t->nconfig);
        if (o == NULL || cfg == NULL ||
            cJSON_AddStringToObject(o, "input_type", t->input_type) == NULL ||
            cJSON_AddStringToObject(o, "interface", "visor.module.input/1.0") == NULL ||
            !cJSON_AddItemToObject(o, "config", cfg)) {
            cJSON_Delete(cfg);
            cJSON_Delete(all);
            return NULL;
        }
    }
    return all;
}

/* A policy as the worker's copy of the configuration knows it. */
static const struct config_policy *policy_cfg(struct hctx *c, size_t p)
{
    return c->cfg != NULL ? config_find_policy(c->cfg, c->policies[p]) : NULL;
}

static cJSON *s_policy_input(void *ctx, size_t p)
{
    struct hctx *c = ctx;
    const struct config_policy *pc = policy_cfg(c, p);
    if (pc == NULL)
        return NULL;
    size_t consumers = 0;
    for (size_t j = 0; j < c->ninst; j++)
        consumers += c->inst[j].policy == p;
    cJSON *in = cJSON_CreateObject();
    cJSON *one = cJSON_AddObjectToObject(in, pc->input_name);
    cJSON *mod = cJSON_AddObjectToObject(one, "module");
    cJSON *run = cJSON_AddObjectToObject(one, "input");
    cJSON *cfg = opts_json(pc->input_config, pc->ninput_config);
    if (mod == NULL || run == NULL || cfg == NULL ||
        cJSON_AddStringToObject(mod, "name", pc->input_name) == NULL ||
        !cJSON_AddItemToObject(mod, "config", cfg) ||
        cJSON_AddBoolToObject(run, "running", true) == NULL ||
        cJSON_AddNumberToObject(run, "consumers", (double)consumers) == NULL) {
        cJSON_Delete(in);
        return NULL;
    }
    return in;
}

static cJSON *s_instance_config(void *ctx, size_t p, size_t i)
{
    struct hctx *c = ctx;
    const struct config_policy *pc = policy_cfg(c, p);
    const struct hinst *h = find(c, p, i);
    for (size_t k = 0; pc != NULL && h != NULL && k < pc->nmodules; k++)
        if (strcmp(pc->modules[k].name, h->m.name) == 0)
            return opts_json(pc->modules[k].opts, pc->modules[k].nopts);
    return NULL;
}

static cJSON *add_tstamp(cJSON *o, const char *key, int64_t sec)
{
    char buf[32];
    struct tm tm;
    time_t t = (time_t)sec;
    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
    return cJSON_AddStringToObject(o, key, buf);
}

/* SPEC 2's policy info for a dns instance: "metrics" (the periods held) and
 * "dns": {"xact": {"open": N}} (published in the block header). */
static cJSON *s_instance_extra(void *ctx, size_t p, size_t i)
{
    struct hctx *c = ctx;
    struct hinst *h = find(c, p, i);
    const struct window *w;
    struct window *owned;
    uint64_t open;
    char err[HTTPD_ERR_MAX];
    if (h == NULL || h->type != &handler_dns || load_instance(c, h, &w, &owned, &open, err) != 0)
        return NULL;
    const struct metric_table *t = h->type->table;
    const struct metric_desc *deep = metric_find(t, "wire_packets.deep_samples");
    struct render_opts ro = render_opts_of(h, w);
    cJSON *x = cJSON_CreateObject();
    cJSON *m = cJSON_AddObjectToObject(x, "metrics");
    cJSON *periods = cJSON_AddArrayToObject(m, "periods");
    cJSON *cfg = s_instance_config(ctx, p, i);
    cJSON *rate = cJSON_GetObjectItem(cfg, "deep_sample_rate");
    if (rate != NULL)
        cJSON_AddNumberToObject(m, "deep_sample_rate", rate->valuedouble);
    cJSON_Delete(cfg);
    cJSON_AddNumberToObject(m, "periods_configured", h->m.num_periods);
    for (uint32_t b = 0; periods != NULL && b < w->count; b++) {
        const struct bucket_hdr *bh = window_bucket_const(w, b);
        cJSON *o = cJSON_CreateObject();
        cJSON *bj = metric_bucket_json(t, bh, &ro);
        cJSON *ev = cJSON_AddObjectToObject(o, "events");
        add_tstamp(o, "start_tstamp", bh->period.start_sec);
        if (bh->period.closed)
            add_tstamp(o, "end_tstamp", bh->period.end_sec);
        cJSON_AddBoolToObject(o, "read_only", bh->period.closed != 0);
        json_add_i64(o, "length", metric_bucket_length(bh, ro.now_sec));
        json_add_u64(ev, "total", bh->events);
        if (deep != NULL)
            json_add_u64(ev, "deep_samples", *(const uint64_t *)((const char *)bh + deep->offset));
        cJSON *rates = cJSON_GetObjectItem(bj, "rates");
        cJSON *total = cJSON_DetachItemFromObject(rates, "total");
        if (total != NULL)
            cJSON_AddItemToObject(ev, "rates", total);
        cJSON_Delete(bj);
        cJSON_AddItemToArray(periods, o);
    }
    cJSON *xact = cJSON_AddObjectToObject(cJSON_AddObjectToObject(x, "dns"), "xact");
    json_add_u64(xact, "open", open);
    window_free(&owned);
    return x;
}

static double s_up_time_min(void *ctx)
{
    struct hctx *c = ctx;
    return (double)(real_ns() - c->start_ns) / 60e9;
}

static int add_instance(struct hctx *c, const struct proc_msg_instance *m, int fd)
{
    char err[256];
    struct proc_msg_instance mm = *m;
    mm.policy[sizeof(mm.policy) - 1] = mm.name[sizeof(mm.name) - 1] = '\0';
    mm.type[sizeof(mm.type) - 1] = mm.tap[sizeof(mm.tap) - 1] = '\0';
    const struct handler_type *t = handler_type_find(mm.type);
    if (c->ninst >= AGENT_MAX_INSTANCES || t == NULL || mm.num_periods < 1 ||
        mm.num_periods > WINDOW_MAX_PERIODS || mm.nworkers < 1 ||
        mm.nworkers > CONFIG_WORKERS_MAX || mm.worker >= mm.nworkers) {
        log_warnx("instance %s: refused (type %s, %" PRIu32 " periods)", mm.name, mm.type,
                  mm.num_periods);
        return -1;
    }
    struct hinst *h = &c->inst[c->ninst];
    memset(h, 0, sizeof(*h));
    h->m = mm;
    h->type = t;
    h->seg = metric_seg_attach(fd, false, t, mm.num_periods, err, sizeof(err));
    if (h->seg == NULL) {
        log_warnx("instance %s: %s", mm.name, err);
        return -1;
    }
    h->len = handler_block_window_end(t, mm.num_periods);
    h->buf = malloc(h->len);
    if (h->buf == NULL) {
        segment_free(&h->seg);
        return -1;
    }
    size_t p = 0;
    while (p < c->npolicies && strcmp(c->policies[p], mm.policy) != 0)
        p++;
    if (p == c->npolicies) {
        snprintf(c->policies[p], sizeof(c->policies[p]), "%s", mm.policy);
        c->npolicies++;
    }
    h->policy = p;
    c->ninst++;
    return 0;
}

/* PROC_MSG_INSTANCE_GONE: a deleted policy's instance. */
static void remove_instance(struct hctx *c, const char *name)
{
    size_t j = 0;
    while (j < c->ninst && strcmp(c->inst[j].m.name, name) != 0)
        j++;
    if (j == c->ninst)
        return;
    segment_free(&c->inst[j].seg);
    free(c->inst[j].buf);
    memmove(&c->inst[j], &c->inst[j + 1], (c->ninst - j - 1) * sizeof(c->inst[0]));
    c->ninst--;
    /* The policy list again, in order of first appearance. */
    c->npolicies = 0;
    for (size_t k = 0; k < c->ninst; k++) {
        size_t p = 0;
        while (p < c->npolicies && strcmp(c->policies[p], c->inst[k].m.policy) != 0)
            p++;
        if (p == c->npolicies)
            snprintf(c->policies[c->npolicies++], sizeof(c->policies[0]), "%s",
                     c->inst[k].m.policy);
        c->inst[k].policy = p;
    }
}

static void answer_text(struct httpd_pending **req, int status, const char *ct, const char *text)
{
    httpd_server_answer(req, status, ct, text, text != NULL ? strlen(text) : 0);
}

static void answer_error(struct httpd_pending **req, int status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    char *body = NULL;
    if (o != NULL && cJSON_AddStringToObject(o, "error", msg) != NULL)
        body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    answer_text(req, body != NULL ? status : 500, HTTPD_CT_JSON, body);
    free(body);
}

/* A created policy's answer: {"<policy>": <policy info>} for each, as
 * GET /api/v1/policies/<name> renders them (the instances arrived before the
 * reply, on the same socket). */
static void answer_created(struct hctx *c, struct httpd_pending **req, char *names)
{
    cJSON *all = cJSON_CreateObject();
    for (char *save = NULL, *n = strtok_r(names, "\n", &save); n != NULL && all != NULL;
         n = strtok_r(NULL, "\n", &save)) {
        char path[128];
        struct httpd_response r;
        snprintf(path, sizeof(path), "/api/v1/policies/%s", n);
        if (httpd_route(c->src, "GET", path, NULL, &r) != 0 || r.status != 200)
            continue;
        cJSON *one = cJSON_Parse(r.body);
        httpd_response_free(&r);
        while (one != NULL && one->child != NULL) {
            cJSON *it = cJSON_DetachItemViaPointer(one, one->child);
            cJSON_AddItemToObject(all, it->string, it); /* the key is copied first */
        }
        cJSON_Delete(one);
    }
    char *body = all != NULL ? cJSON_PrintUnformatted(all) : NULL;
    cJSON_Delete(all);
    if (body == NULL)
        answer_error(req, 500, "out of memory");
    else
        answer_text(req, 200, HTTPD_CT_JSON, body);
    free(body);
}

/* A document the supervisor accepted, into our copy by the same path
 * (its policy info then shows its input and module configuration). */
static void copy_apply(struct hctx *c, const char *body, size_t len)
{
    char err[1024];
    config_t tree;
    if (c->cfg == NULL || body == NULL)
        return;
    config_init(&tree);
    int rc = config_parse(body, len, CONFIG_FORMAT_YAML, &tree, err, sizeof(err));
    if (rc == 0)
        rc = config_add_policies(c->cfg, &tree, err, sizeof(err));
    config_destroy(&tree);
    if (rc != 0)
        log_warnx("created policies not in our copy of the configuration: %s", err);
}

static void on_reply(struct hctx *c, const unsigned char *buf, size_t len)
{
    struct proc_msg_reply r;
    char text[PROC_MSG_TEXT_MAX + 1];
    size_t n = len - sizeof(r);
    memcpy(&r, buf, sizeof(r));
    memcpy(text, buf + sizeof(r), n);
    text[n] = '\0';
    struct pend *p = NULL;
    for (size_t i = 0; i < MAX_PENDING && p == NULL; i++)
        if (c->pend[i].used && c->pend[i].id == r.id)
            p = &c->pend[i];
    if (p == NULL)
        return;
    p->used = false;
    if (r.status != 200) {
        /* SPEC 2: a posted policy that fails is a 500, an unknown one 404. */
        answer_error(&p->req, (int)r.status, text);
        free(p->body);
        return;
    }
    switch (p->op) {
    case HTTPD_ADMIN_POLICY_ADD:
        copy_apply(c, p->body, p->len);
        answer_created(c, &p->req, text);
        break;
    case HTTPD_ADMIN_POLICY_DEL:
        if (c->cfg != NULL)
            config_remove_policy(c->cfg, p->name);
        answer_text(&p->req, 200, HTTPD_CT_JSON, "{}");
        break;
    default:
        answer_text(&p->req, 200, NULL, NULL);
        break;
    }
    free(p->body);
}

/* The server hands over an admin request: ask the supervisor. */
static void on_admin(void *arg, struct httpd_pending *req, const struct httpd_response *route,
                     const char *body, size_t len)
{
    static unsigned char msg[sizeof(struct proc_msg_req) + PROC_MSG_TEXT_MAX];
    struct hctx *c = arg;
    struct pend *p = NULL;
    for (size_t i = 0; i < MAX_PENDING && p == NULL; i++)
        if (!c->pend[i].used)
            p = &c->pend[i];
    if (p == NULL || len > PROC_MSG_TEXT_MAX) {
        answer_error(&req, p == NULL ? 503 : 413,
                     p == NULL ? "too many requests in progress" : "request body too large");
        return;
    }
    struct proc_msg_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.id = ++c->next_id;
    snprintf(rq.name, sizeof(rq.name), "%s", route->admin_name);
    enum proc_msg_type type = route->admin == HTTPD_ADMIN_POLICY_ADD   ? PROC_MSG_POLICY_ADD
                              : route->admin == HTTPD_ADMIN_POLICY_DEL ? PROC_MSG_POLICY_DEL
                                                                       : PROC_MSG_SERVER_STOP;
    size_t n = type == PROC_MSG_POLICY_ADD ? len : 0;
    memcpy(msg, &rq, sizeof(rq));
    if (n > 0)
        memcpy(msg + sizeof(rq), body, n);
    if (proc_msg_send(c->sock, type, msg, sizeof(rq) + n, -1) != 0) {
        log_warn("asking the supervisor");
        answer_error(&req, 500, "the supervisor is not answering");
        return;
    }
    *p = (struct pend){.used = true, .id = rq.id, .op = route->admin, .req = req};
    snprintf(p->name, sizeof(p->name), "%s", route->admin_name);
    if (n > 0 && (p->body = malloc(n)) != NULL) {
        memcpy(p->body, body, n);
        p->len = n;
    }
}

static void on_sock(evutil_socket_t fd, short what, void *arg)
{
    struct hctx *c = arg;
    unsigned char buf[PROC_MSG_MAX];
    char err[256];
    uint32_t type;
    size_t len;
    int mfd;
    (void)fd;
    (void)what;

    for (;;) {
        int rc = proc_msg_recv(c->sock, &type, buf, &len, &mfd, err, sizeof(err));
        if (rc == -2)
            return;
        if (rc <= 0) {
            if (rc < 0)
                log_warnx("%s", err);
            event_base_loopbreak(c->base);
            return;
        }
        if (type == PROC_MSG_INSTANCE) {
            struct proc_msg_instance m;
            memcpy(&m, buf, sizeof(m));
            add_instance(c, &m, mfd);
            close(mfd);
        } else if (type == PROC_MSG_INSTANCE_GONE) {
            struct proc_msg_gone g;
            memcpy(&g, buf, sizeof(g));
            g.name[sizeof(g.name) - 1] = '\0';
            remove_instance(c, g.name);
        } else if (type == PROC_MSG_REPLY) {
            on_reply(c, buf, len);
        } else if (type == PROC_MSG_START) {
            struct proc_msg_start st;
            memcpy(&st, buf, sizeof(st));
            c->start_ns = st.start_ns;
            log_debug("serving %zu handler instances of %zu policies", c->ninst, c->npolicies);
        } else {
            log_warnx("unexpected message %" PRIu32 " from the supervisor", type);
            event_base_loopbreak(c->base);
            return;
        }
    }
}

static void on_stopped(void *arg)
{
    event_base_loopbreak(((struct hctx *)arg)->base);
}

static void on_stop_check(evutil_socket_t fd, short what, void *arg)
{
    struct hctx *c = arg;
    (void)fd;
    (void)what;
    if (agent_child_stop) {
        event_del(c->stop_ev);
        httpd_server_stop(c->srv, 2, on_stopped, c);
    }
}

int httpd_child_run(struct agent *a, int sock)
{
    static struct hctx c;
    char err[512];
    int status = 1;
    struct httpd_tls *tls = NULL;

    memset(&c, 0, sizeof(c));
    c.sock = sock;
    agent_release(a, NULL, true, NULL);
    if (a->opt.tls) {
        tls = httpd_tls_new(a->opt.tls_cert, a->opt.tls_key, err, sizeof(err));
        if (tls == NULL) {
            log_warnx("%s", err);
            return PRIVSEP_EXIT_NORESPAWN;
        }
    }
    int lfd = a->listen_fd;
    if (agent_drop_and_ready(a, sock, &lfd, 1, SECCOMP_ROLE_HTTPD) != 0) {
        httpd_tls_free(&tls);
        return PRIVSEP_EXIT_NORESPAWN;
    }

    struct httpd_source src = {
        .ctx = &c,
        .policy_count = s_policy_count,
        .policy_name = s_policy_name,
        .instance_count = s_instance_count,
        .instance_get = s_instance_get,
        .render = s_render,
        .up_time_min = s_up_time_min,
        .with_window = s_with_window,
        .prom_instance = a->opt.prom_instance,
        .admin_api = a->opt.admin_api,
        .taps = s_taps,
        .policy_input = s_policy_input,
        .instance_config = s_instance_config,
        .instance_extra = s_instance_extra,
        .openapi = httpd_openapi_yaml,
    };
    c.src = &src;
    c.cfg = a->cfg;
    c.base = event_base_new();
    if (c.base == NULL) {
        log_warnx("event_base_new failed");
        httpd_tls_free(&tls);
        return 1;
    }
    /* Descriptors of our own before the server starts (httpd_server.h). */
    c.sock_ev = event_new(c.base, sock, EV_READ | EV_PERSIST, on_sock, &c);
    c.stop_ev = event_new(c.base, -1, EV_PERSIST, on_stop_check, &c);
    struct timeval tick = {0, 100000};
    if (c.sock_ev == NULL || c.stop_ev == NULL || event_add(c.sock_ev, NULL) != 0 ||
        event_add(c.stop_ev, &tick) != 0) {
        log_warnx("event setup failed");
        goto out;
    }
    /* The instances first, then requests: no 404 for a configured policy
     * while its description is on the way. */
    for (int waited = 0; c.start_ns == 0 && waited < 5000; waited += 10) {
        on_sock(sock, EV_READ, &c);
        if (c.start_ns == 0)
            usleep(10000);
    }
    if (c.start_ns == 0)
        c.start_ns = a->start_ns; /* the same clock, from our copy of the agent */
    struct httpd_server_config sc = {
        .listen_fd = lfd,
        .source = &src,
        .tls = tls,
        .on_admin = on_admin,
        .admin_arg = &c,
    };
    a->listen_fd = -1; /* adopted */
    c.srv = httpd_server_new(c.base, &sc, err, sizeof(err));
    if (c.srv == NULL) {
        log_warnx("%s", err);
        goto out;
    }
    event_base_dispatch(c.base);
    status = 0;
out:
    httpd_server_free(&c.srv);
    if (c.sock_ev != NULL)
        event_free(c.sock_ev);
    if (c.stop_ev != NULL)
        event_free(c.stop_ev);
    event_base_free(c.base);
    httpd_tls_free(&tls); /* after the connections' SSL objects */
    for (size_t i = 0; i < c.ninst; i++) {
        segment_free(&c.inst[i].seg);
        free(c.inst[i].buf);
    }
    return status;
}
