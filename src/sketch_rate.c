/*
 * sketch_rate.c - per-second event counts on the packet clock.
 *
 * `started` is 0 before the first event or rate_start(), 1 while counting
 * and 2 once rate_close() ran: a closed rate ignores further events and
 * closes, which makes rate_close() idempotent.
 */
#include "sketch_rate.h"

#include <stdbool.h>
#include <string.h>

enum { RATE_IDLE = 0, RATE_OPEN = 1, RATE_CLOSED = 2 };

void rate_init(struct rate *r)
{
    memset(r, 0, sizeof(*r));
}

/* Finish the current second, then queue a zero for each of `empty` empty
 * seconds after it (capped: a timestamp jump must not stall the caller). */
static void flush(struct rate *r, uint64_t empty)
{
    if (r->nsecs == 0)
        r->first_sec = r->cur_sec;
    if (r->nsecs < RATE_SECONDS)
        r->secs[r->nsecs] = r->cur_count; /* the empty seconds stay 0 */
    r->nsecs += 1 + empty;
    quantile_add(&r->q, r->cur_count);
    r->live = r->cur_count;
    if (empty > RATE_MAX_GAP)
        empty = RATE_MAX_GAP;
    for (uint64_t i = 0; i < empty; i++)
        quantile_add(&r->q, 0);
    if (empty > 0)
        r->live = 0;
    r->cur_count = 0;
}

/* Seconds strictly between the current second and a later sec; unsigned
 * arithmetic cannot overflow for any pair of int64 seconds. */
static uint64_t seconds_between(const struct rate *r, int64_t sec)
{
    return (uint64_t)sec - (uint64_t)r->cur_sec - 1;
}

void rate_start(struct rate *r, int64_t sec)
{
    if (r->started == RATE_IDLE) {
        r->started = RATE_OPEN;
        r->cur_sec = sec;
        r->cur_count = 0;
    } else {
        rate_add(r, sec, 0);
    }
}

void rate_add(struct rate *r, int64_t sec, uint64_t n)
{
    if (r->started != RATE_OPEN) {
        if (r->started == RATE_CLOSED)
            return;
        r->started = RATE_OPEN;
        r->cur_sec = sec;
        r->cur_count = 0;
    }
    if (sec > r->cur_sec) {
        flush(r, seconds_between(r, sec));
        r->cur_sec = sec;
    }
    uint64_t c = r->cur_count + n;
    r->cur_count = c < n ? UINT64_MAX : c;
}

void rate_close(struct rate *r, int64_t end_sec)
{
    if (r->started != RATE_OPEN) {
        r->started = RATE_CLOSED;
        return;
    }
    /* The current second ends here even when end_sec is not later. */
    if (end_sec > r->cur_sec) {
        flush(r, seconds_between(r, end_sec));
        r->cur_sec = end_sec;
    } else {
        flush(r, 0);
    }
    r->started = RATE_CLOSED;
}

/* The clock, current count and live of a merge. */
static void merge_clock(struct rate *dst, const struct rate *src)
{
    if (src->started == RATE_IDLE)
        return;
    /* The later clock wins; the same second from two sources adds up. */
    if (dst->started == RATE_IDLE || src->cur_sec > dst->cur_sec) {
        dst->cur_sec = src->cur_sec;
        dst->cur_count = src->cur_count;
        dst->live = src->live;
        dst->started = src->started;
    } else if (src->cur_sec == dst->cur_sec) {
        uint64_t c = dst->cur_count + src->cur_count;
        dst->cur_count = c < src->cur_count ? UINT64_MAX : c;
        uint64_t l = dst->live + src->live;
        dst->live = l < src->live ? UINT64_MAX : l;
    }
}

void rate_merge(struct rate *dst, const struct rate *src)
{
    quantile_merge(&dst->q, &src->q);
    if (dst != src)
        merge_clock(dst, src);
}

/* Samples kept when summing two rates' seconds rank by rank. */
#define RATE_PARALLEL_SAMPLES 256

static void merge_ranks(struct rate *dst, const struct rate *src)
{
    uint64_t n1 = dst->q.n, n2 = src->q.n;
    if (n2 > 0 && n1 == 0) {
        dst->q = src->q;
    } else if (n2 > 0) {
        uint64_t m = n1 > n2 ? n1 : n2;
        if (m > RATE_PARALLEL_SAMPLES)
            m = RATE_PARALLEL_SAMPLES;
        struct quantile *sum = &(struct quantile){0};
        quantile_init(sum);
        for (uint64_t i = 0; i < m; i++) {
            /* The middle of the i-th of m equal ranks: exactly sample i
             * of a sketch holding m samples. */
            double f = ((double)i + 0.5) / (double)m;
            uint64_t a = 0, b = 0;
            quantile_get(&dst->q, f, &a);
            quantile_get(&src->q, f, &b);
            quantile_add(sum, a + b);
        }
        uint64_t total = dst->q.sum + src->q.sum;
        sum->sum = total < src->q.sum ? UINT64_MAX : total;
        dst->q = *sum;
    }
    dst->nsecs = RATE_SECONDS + 1; /* no longer second by second */
    merge_clock(dst, src);
}

/* Events of second s in a rate that kept its seconds: complete, or the
 * one it is counting. */
static uint64_t count_at(const struct rate *r, int64_t s)
{
    if (r->nsecs > 0 && s >= r->first_sec && (uint64_t)(s - r->first_sec) < r->nsecs)
        return r->secs[s - r->first_sec];
    return s == r->cur_sec && r->started == RATE_OPEN ? r->cur_count : 0;
}

static int64_t first_second(const struct rate *r)
{
    return r->nsecs > 0 ? r->first_sec : r->cur_sec;
}

/* After the complete seconds and the one being counted. */
static int64_t end_second(const struct rate *r)
{
    int64_t complete = r->nsecs > 0 ? r->first_sec + (int64_t)r->nsecs : r->cur_sec;
    return complete > r->cur_sec ? complete : r->cur_sec;
}

void rate_merge_parallel(struct rate *dst, const struct rate *src)
{
    if (src->started == RATE_IDLE)
        return;
    if (dst->started == RATE_IDLE) {
        *dst = *src;
        return;
    }
    int64_t start = first_second(dst) < first_second(src) ? first_second(dst) : first_second(src);
    int64_t end = end_second(dst) > end_second(src) ? end_second(dst) : end_second(src);
    if (dst->nsecs > RATE_SECONDS || src->nsecs > RATE_SECONDS || end < start ||
        (uint64_t)end - (uint64_t)start > RATE_SECONDS) {
        merge_ranks(dst, src);
        return;
    }
    /* Second by second up to the newest clock; a share whose clock is
     * behind has its current second complete in the other's time. */
    struct rate *out = &(struct rate){0};
    bool open = dst->started == RATE_OPEN || src->started == RATE_OPEN;
    rate_init(out);
    out->started = open ? RATE_OPEN : RATE_CLOSED;
    out->cur_sec = end;
    out->cur_count = count_at(dst, end) + count_at(src, end);
    out->first_sec = start;
    out->nsecs = (uint64_t)(end - start);
    for (int64_t s = start; s < end; s++) {
        uint64_t v = count_at(dst, s) + count_at(src, s);
        out->secs[s - start] = v;
        quantile_add(&out->q, v);
    }
    out->live = end > start ? out->secs[end - 1 - start] : dst->live + src->live;
    *dst = *out;
}
