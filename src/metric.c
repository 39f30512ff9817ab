#include "metric.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AT(bucket, d)  ((char *)(bucket) + (d)->offset)
#define CAT(bucket, d) ((const char *)(bucket) + (d)->offset)

#define HEALTH_DESC(id, path, help)                                                                \
    {METRIC_COUNTER, (uint32_t)offsetof(struct bucket_health, id), path, help},
const struct metric_desc bucket_health_metrics[] = {BUCKET_HEALTH(HEALTH_DESC)};
const size_t bucket_health_count = sizeof(bucket_health_metrics) / sizeof(bucket_health_metrics[0]);

void metric_bucket_open(const struct metric_table *t, void *bucket, int64_t sec, int64_t nsec)
{
    memset(bucket, 0, t->bucket_size);
    struct bucket_hdr *h = bucket;
    h->period.start_sec = sec;
    h->period.start_nsec = nsec;
    for (size_t i = 0; i < t->count; i++) {
        const struct metric_desc *d = &t->metrics[i];
        if (d->kind == METRIC_RATE)
            rate_start((struct rate *)AT(bucket, d), sec);
    }
}

void metric_bucket_close(const struct metric_table *t, void *bucket, int64_t sec, int64_t nsec)
{
    struct bucket_hdr *h = bucket;
    if (h->period.closed)
        return;
    /* A clock that went backwards must not give a negative length. */
    if (sec < h->period.start_sec) {
        sec = h->period.start_sec;
        nsec = h->period.start_nsec;
    }
    for (size_t i = 0; i < t->count; i++) {
        const struct metric_desc *d = &t->metrics[i];
        if (d->kind == METRIC_RATE)
            rate_close((struct rate *)AT(bucket, d), sec);
    }
    h->period.end_sec = sec;
    h->period.end_nsec = nsec;
    h->period.length = sec - h->period.start_sec;
    h->period.closed = 1;
}

int64_t metric_bucket_length(const void *bucket, int64_t now_sec)
{
    const struct bucket_hdr *h = bucket;
    if (h->period.closed || h->period.merged)
        return h->period.length;
    return now_sec > h->period.start_sec ? now_sec - h->period.start_sec : 0;
}

static bool starts_before(const struct period *a, const struct period *b)
{
    return a->start_sec < b->start_sec ||
           (a->start_sec == b->start_sec && a->start_nsec < b->start_nsec);
}

/* The metrics and health of src into dst: parallel for shares of the same
 * period (only rates differ). */
static void merge_metrics(const struct metric_table *t, void *dst, const void *src, bool parallel)
{
    struct bucket_hdr *dh = dst;
    const struct bucket_hdr *sh = src;

    dh->events += sh->events;
    for (size_t i = 0; i < bucket_health_count; i++)
        *(uint64_t *)AT(&dh->health, &bucket_health_metrics[i]) +=
            *(const uint64_t *)CAT(&sh->health, &bucket_health_metrics[i]);

    for (size_t i = 0; i < t->count; i++) {
        const struct metric_desc *d = &t->metrics[i];
        switch (d->kind) {
        case METRIC_COUNTER:
            *(uint64_t *)AT(dst, d) += *(const uint64_t *)CAT(src, d);
            break;
        case METRIC_CARD:
            card_merge((struct card *)AT(dst, d), (const struct card *)CAT(src, d));
            break;
        case METRIC_TOPN:
            topn_merge((struct topn *)AT(dst, d), (const struct topn *)CAT(src, d));
            break;
        case METRIC_PORTS:
            ports_merge((struct ports *)AT(dst, d), (const struct ports *)CAT(src, d));
            break;
        case METRIC_QUANTILE:
            quantile_merge((struct quantile *)AT(dst, d), (const struct quantile *)CAT(src, d));
            break;
        case METRIC_RATE:
            if (parallel)
                rate_merge_parallel((struct rate *)AT(dst, d), (const struct rate *)CAT(src, d));
            else
                rate_merge((struct rate *)AT(dst, d), (const struct rate *)CAT(src, d));
            break;
        }
    }
}

void metric_bucket_merge(const struct metric_table *t, void *dst, const void *src, int64_t now_sec)
{
    struct bucket_hdr *dh = dst;
    const struct bucket_hdr *sh = src;
    int64_t dlen = metric_bucket_length(dst, now_sec);
    int64_t slen = metric_bucket_length(src, now_sec);

    if (starts_before(&sh->period, &dh->period)) {
        dh->period.start_sec = sh->period.start_sec;
        dh->period.start_nsec = sh->period.start_nsec;
    }
    dh->period.length = dlen + slen;
    dh->period.merged = 1;
    merge_metrics(t, dst, src, false);
}

void metric_bucket_merge_parallel(const struct metric_table *t, void *dst, const void *src)
{
    struct period *d = &((struct bucket_hdr *)dst)->period;
    const struct period *s = &((const struct bucket_hdr *)src)->period;

    if (starts_before(s, d)) {
        d->start_sec = s->start_sec;
        d->start_nsec = s->start_nsec;
    }
    /* Closed when every share is; then it ends with the last one. */
    if (d->closed && s->closed) {
        if (s->end_sec > d->end_sec || (s->end_sec == d->end_sec && s->end_nsec > d->end_nsec)) {
            d->end_sec = s->end_sec;
            d->end_nsec = s->end_nsec;
        }
        d->length = d->end_sec - d->start_sec;
    } else {
        d->closed = 0;
    }
    if (s->merged && s->length > d->length)
        d->length = s->length;
    d->merged |= s->merged;
    merge_metrics(t, dst, src, true);
}

cJSON *json_add_u64(cJSON *obj, const char *key, uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    return cJSON_AddRawToObject(obj, key, buf);
}

cJSON *json_add_i64(cJSON *obj, const char *key, int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    return cJSON_AddRawToObject(obj, key, buf);
}

/* Walk "a.b.c" creating objects for every segment but the last, which is
 * returned in *leaf. */
static cJSON *json_parent(cJSON *root, const char *path, char *leaf, size_t leafsz)
{
    cJSON *cur = root;
    const char *seg = path;
    for (;;) {
        const char *dot = strchr(seg, '.');
        size_t len = dot != NULL ? (size_t)(dot - seg) : strlen(seg);
        char name[64];
        assert(len < sizeof(name) && len < leafsz);
        memcpy(name, seg, len);
        name[len] = '\0';
        if (dot == NULL) {
            memcpy(leaf, name, len + 1);
            return cur;
        }
        cJSON *next = cJSON_GetObjectItemCaseSensitive(cur, name);
        if (next == NULL && (next = cJSON_AddObjectToObject(cur, name)) == NULL)
            return NULL;
        cur = next;
        seg = dot + 1;
    }
}

static cJSON *quantile_json(const struct quantile *q)
{
    uint64_t v[QUANTILE_NFRAC];
    if (!quantile_get4(q, v))
        return NULL;
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    for (size_t i = 0; i < QUANTILE_NFRAC; i++)
        json_add_u64(o, quantile_names[i], v[i]);
    return o;
}

void metric_top_report(enum metric_kind kind, const void *sketch, struct metric_top *out)
{
    if (kind == METRIC_PORTS)
        out->n = ports_report(sketch, out->items, out->port_text);
    else
        out->n = topn_report(sketch, out->items);
}

static cJSON *top_json(const struct metric_top *top)
{
    cJSON *a = cJSON_CreateArray();
    if (a == NULL)
        return NULL;
    for (size_t i = 0; i < top->n; i++) {
        const struct topn_item *it = &top->items[i];
        cJSON *e = cJSON_CreateObject();
        char name[TOPN_TEXT_MAX + 1];
        memcpy(name, it->text, it->len);
        name[it->len] = '\0';
        if (e == NULL)
            break;
        cJSON_AddItemToArray(a, e);
        json_add_u64(e, "estimate", it->estimate);
        cJSON_AddStringToObject(e, "name", name);
    }
    return a;
}

cJSON *metric_bucket_json(const struct metric_table *t, const void *bucket,
                          const struct render_opts *o)
{
    const struct bucket_hdr *h = bucket;
    cJSON *root = cJSON_CreateObject();
    if (root == NULL)
        return NULL;
    bool live = o->show_live && !h->period.closed;

    for (size_t i = 0; i < t->count; i++) {
        const struct metric_desc *d = &t->metrics[i];
        char leaf[64];
        cJSON *parent = json_parent(root, d->path, leaf, sizeof(leaf));
        cJSON *v = NULL;
        struct metric_top top;
        if (parent == NULL)
            goto fail;
        switch (d->kind) {
        case METRIC_COUNTER:
            json_add_u64(parent, leaf, *(const uint64_t *)CAT(bucket, d));
            break;
        case METRIC_CARD:
            json_add_u64(parent, leaf, card_estimate((const struct card *)CAT(bucket, d)));
            break;
        case METRIC_TOPN:
        case METRIC_PORTS:
            metric_top_report(d->kind, CAT(bucket, d), &top);
            if ((v = top_json(&top)) == NULL)
                goto fail;
            cJSON_AddItemToObject(parent, leaf, v);
            break;
        case METRIC_QUANTILE:
            /* Absent while empty (SPEC 7). */
            if ((v = quantile_json((const struct quantile *)CAT(bucket, d))) != NULL)
                cJSON_AddItemToObject(parent, leaf, v);
            break;
        case METRIC_RATE: {
            const struct rate *r = (const struct rate *)CAT(bucket, d);
            v = quantile_json(&r->q);
            if (v == NULL && live)
                v = cJSON_CreateObject();
            if (v == NULL)
                break;
            if (live)
                json_add_u64(v, "live", r->live);
            cJSON_AddItemToObject(parent, leaf, v);
            break;
        }
        }
    }
    for (size_t i = 0; o->agent && i < bucket_health_count; i++) {
        const struct metric_desc *d = &bucket_health_metrics[i];
        char leaf[64];
        cJSON *parent = json_parent(root, d->path, leaf, sizeof(leaf));
        if (parent == NULL)
            goto fail;
        json_add_u64(parent, leaf, *(const uint64_t *)CAT(&h->health, d));
    }
    cJSON *period = cJSON_AddObjectToObject(root, "period");
    if (period == NULL)
        goto fail;
    json_add_i64(period, "length", metric_bucket_length(bucket, o->now_sec));
    json_add_i64(period, "start_ts", h->period.start_sec);
    json_sort_keys(root);
    return root;
fail:
    cJSON_Delete(root);
    return NULL;
}

const struct metric_desc *metric_find(const struct metric_table *t, const char *path)
{
    for (size_t i = 0; i < t->count; i++)
        if (strcmp(t->metrics[i].path, path) == 0)
            return &t->metrics[i];
    return NULL;
}

static int key_cmp(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a;
    const cJSON *y = *(const cJSON *const *)b;
    return strcmp(x->string, y->string);
}

void json_sort_keys(cJSON *item)
{
    if (item == NULL)
        return;
    for (cJSON *c = item->child; c != NULL; c = c->next)
        json_sort_keys(c);
    if (!cJSON_IsObject(item) || item->child == NULL)
        return;

    size_t n = 0;
    for (cJSON *c = item->child; c != NULL; c = c->next)
        n++;
    cJSON *small[64];
    cJSON **v = n <= 64 ? small : malloc(n * sizeof(*v));
    if (v == NULL)
        return; /* unsorted beats a crash; only on allocation failure */
    size_t i = 0;
    for (cJSON *c = item->child; c != NULL; c = c->next)
        v[i++] = c;
    qsort(v, n, sizeof(*v), key_cmp);
    /* cJSON's list: child->prev is the last element, last->next is NULL. */
    for (i = 0; i < n; i++) {
        v[i]->next = i + 1 < n ? v[i + 1] : NULL;
        v[i]->prev = i > 0 ? v[i - 1] : v[n - 1];
    }
    item->child = v[0];
    if (v != small)
        free(v);
}
