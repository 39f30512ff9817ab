#include "window.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN 64

static size_t header_size(void)
{
    return (sizeof(struct window) + ALIGN - 1) / ALIGN * ALIGN;
}

static size_t stride(const struct metric_table *t)
{
    return (t->bucket_size + ALIGN - 1) / ALIGN * ALIGN;
}

size_t window_size(const struct metric_table *t, uint32_t num_periods)
{
    return header_size() + stride(t) * num_periods;
}

void window_init(struct window *w, const struct metric_table *t, uint32_t num_periods)
{
    assert(num_periods >= 1 && num_periods <= WINDOW_MAX_PERIODS);
    memset(w, 0, sizeof(*w));
    w->num_periods = num_periods;
    w->bucket_size = stride(t);
}

struct window *window_new(const struct metric_table *t, uint32_t num_periods)
{
    /* calloc: buckets stay untouched (not resident) until used. */
    struct window *w = calloc(1, window_size(t, num_periods));
    if (w != NULL)
        window_init(w, t, num_periods);
    return w;
}

void window_free(struct window **w)
{
    free(*w);
    *w = NULL;
}

static void *slot(const struct window *w, uint32_t ring_index)
{
    return (char *)w + header_size() + (size_t)ring_index * w->bucket_size;
}

void *window_bucket(struct window *w, uint32_t i)
{
    if (i >= w->count)
        return NULL;
    if (i == 0) /* the live bucket, once per packet per handler: no division */
        return slot(w, w->head);
    return slot(w, (w->head + w->num_periods - i) % w->num_periods);
}

const void *window_bucket_const(const struct window *w, uint32_t i)
{
    return window_bucket((struct window *)w, i);
}

static int64_t minute_floor(int64_t sec)
{
    int64_t m = sec / WINDOW_PERIOD_SEC;
    if (sec < 0 && sec % WINDOW_PERIOD_SEC != 0)
        m--;
    return m * WINDOW_PERIOD_SEC;
}

bool window_advance(struct window *w, const struct metric_table *t, int64_t sec, int64_t nsec)
{
    if (w->count == 0) {
        w->count = 1;
        w->head = 0;
        metric_bucket_open(t, slot(w, 0), sec, nsec);
        w->next_shift = minute_floor(sec) + WINDOW_PERIOD_SEC;
        w->last_sec = sec;
        w->last_nsec = nsec;
        return false;
    }
    if (sec > w->last_sec || (sec == w->last_sec && nsec > w->last_nsec)) {
        w->last_sec = sec;
        w->last_nsec = nsec;
    }
    if (w->num_periods == 1 || sec < w->next_shift)
        return false;

    metric_bucket_close(t, window_bucket(w, 0), w->next_shift, 0);
    w->head = (w->head + 1) % w->num_periods;
    if (w->count < w->num_periods)
        w->count++;
    int64_t start = minute_floor(sec);
    metric_bucket_open(t, slot(w, w->head), start, 0);
    w->next_shift = start + WINDOW_PERIOD_SEC;
    w->shifts++;
    return true;
}

void window_close_live(struct window *w, const struct metric_table *t, int64_t sec, int64_t nsec)
{
    void *live = window_bucket(w, 0);
    if (live != NULL)
        metric_bucket_close(t, live, sec, nsec);
}

uint32_t window_merge(const struct window *w, const struct metric_table *t, uint32_t n,
                      int64_t now_sec, void *out)
{
    uint32_t k = n < w->count ? n : w->count;
    if (k == 0)
        return 0;
    /* Start from a copy of the newest so the result keeps its live state. */
    memcpy(out, window_bucket_const(w, 0), t->bucket_size);
    struct bucket_hdr *h = out;
    if (!h->period.closed) {
        h->period.length = metric_bucket_length(out, now_sec);
        h->period.merged = 1;
    }
    for (uint32_t i = 1; i < k; i++)
        metric_bucket_merge(t, out, window_bucket_const(w, i), now_sec);
    return k;
}

/* The minute a bucket counts (one key for all with a single period). */
static int64_t bucket_key(const struct window *w, uint32_t i)
{
    const struct bucket_hdr *h = window_bucket_const(w, i);
    return w->num_periods == 1 ? 0 : minute_floor(h->period.start_sec);
}

struct window *window_merge_workers(const struct window *const *ws, size_t n,
                                    const struct metric_table *t)
{
    struct window *out = window_new(t, ws[0]->num_periods);
    if (out == NULL)
        return NULL;
    int64_t keys[WINDOW_MAX_PERIODS];
    uint32_t nkeys = 0;
    /* The newest minutes any worker holds, newest first: a worker whose
     * traffic has not reached a minute yet still has the one before live. */
    for (;;) {
        bool found = false;
        int64_t best = 0;
        for (size_t k = 0; k < n; k++)
            for (uint32_t i = 0; i < ws[k]->count; i++) {
                int64_t key = bucket_key(ws[k], i);
                if ((nkeys == 0 || key < keys[nkeys - 1]) && (!found || key > best)) {
                    best = key;
                    found = true;
                }
            }
        if (!found || nkeys == out->num_periods)
            break;
        keys[nkeys++] = best;
    }
    out->count = nkeys;
    out->head = nkeys > 0 ? nkeys - 1 : 0; /* bucket i at ring slot nkeys-1-i */
    for (uint32_t b = 0; b < nkeys; b++) {
        void *dst = window_bucket(out, b);
        bool first = true;
        for (size_t k = 0; k < n; k++)
            for (uint32_t i = 0; i < ws[k]->count; i++) {
                if (bucket_key(ws[k], i) != keys[b])
                    continue;
                if (first)
                    memcpy(dst, window_bucket_const(ws[k], i), t->bucket_size);
                else
                    metric_bucket_merge_parallel(t, dst, window_bucket_const(ws[k], i));
                first = false;
            }
    }
    for (size_t k = 0; k < n; k++) {
        const struct window *w = ws[k];
        if (w->last_sec > out->last_sec ||
            (w->last_sec == out->last_sec && w->last_nsec > out->last_nsec)) {
            out->last_sec = w->last_sec;
            out->last_nsec = w->last_nsec;
        }
        if (w->next_shift > out->next_shift)
            out->next_shift = w->next_shift;
        if (w->shifts > out->shifts)
            out->shifts = w->shifts;
    }
    return out;
}
