#include "handler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct handler_type *const types[] = {
    &handler_net,
    &handler_dns,
    &handler_dhcp,
};

const struct handler_opt *handler_opt_find(const struct handler_config *c, const char *key)
{
    for (size_t i = 0; i < c->nopts; i++)
        if (strcmp(c->opts[i].key, key) == 0)
            return &c->opts[i];
    return NULL;
}

const struct handler_type *handler_type_find(const char *name)
{
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(types[i]->name, name) == 0)
            return types[i];
    return NULL;
}

struct handler *handler_new(const struct handler_type *type, const char *name,
                            const struct handler_config *cfg, char *err, size_t errlen)
{
    struct handler *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->type = type;
    snprintf(h->name, sizeof(h->name), "%s", name);
    h->cfg = *cfg;
    h->cfg.opts = NULL; /* only valid during init */
    h->cfg.nopts = 0;
    /* Fixed seed: the same packets give the same samples in every front end. */
    h->rng = UINT64_C(0x853c49e6748fea9b);
    h->win = window_new(type->table, cfg->num_periods);
    h->state = type->state_size != 0 ? calloc(1, type->state_size) : NULL;
    if (h->win == NULL || (type->state_size != 0 && h->state == NULL)) {
        snprintf(err, errlen, "out of memory");
        handler_free(&h);
        return NULL;
    }
    if (type->init != NULL && type->init(h, cfg, err, errlen) != 0) {
        free(h->state);
        h->state = NULL;
        h->type = NULL;
        handler_free(&h);
        return NULL;
    }
    return h;
}

void handler_free(struct handler **hp)
{
    struct handler *h = *hp;
    if (h == NULL)
        return;
    if (h->type != NULL && h->type->fini != NULL)
        h->type->fini(h);
    window_free(&h->win);
    free(h->state);
    free(h);
    *hp = NULL;
}

void handler_feed(struct handler *h, const struct packet *p)
{
    const struct handler_type *t = h->type;
    if (window_advance(h->win, t->table, p->ts_sec, p->ts_nsec) && t->shift != NULL)
        t->shift(h, window_bucket(h->win, 1), window_bucket(h->win, 0));
    t->packet(h, window_bucket(h->win, 0), p);
}

void handler_finish(struct handler *h)
{
    if (h->type->finish != NULL)
        h->type->finish(h);
    window_close_live(h->win, h->type->table, h->win->last_sec, h->win->last_nsec);
}

bool handler_deep(struct handler *h)
{
    if (h->cfg.deep_sample_rate >= 100)
        return true;
    /* xorshift64*: cheap, and good enough for a sampling coin. */
    uint64_t x = h->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    h->rng = x;
    return (x * UINT64_C(0x2545f4914f6cdd1d)) % 100 < h->cfg.deep_sample_rate;
}

cJSON *handler_bucket_json(const struct handler *h, uint32_t i, const struct render_opts *o)
{
    const void *b = window_bucket_const(h->win, i);
    return b != NULL ? metric_bucket_json(h->type->table, b, o) : NULL;
}

cJSON *handler_window_json(const struct handler *h, uint32_t n, const struct render_opts *o)
{
    const struct metric_table *t = h->type->table;
    void *tmp = malloc(t->bucket_size);
    cJSON *j = NULL;
    if (tmp == NULL)
        return NULL;
    if (window_merge(h->win, t, n, o->now_sec, tmp) == 0) {
        /* No event yet: an empty bucket, not a missing object. */
        metric_bucket_open(t, tmp, 0, 0);
        metric_bucket_close(t, tmp, 0, 0);
    }
    j = metric_bucket_json(t, tmp, o);
    free(tmp);
    return j;
}
