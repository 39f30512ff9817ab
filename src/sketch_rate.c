/*
 * sketch_rate.c - per-second event counts on the packet clock.
 *
 * `started` is 0 before the first event or rate_start(), 1 while counting
 * and 2 once rate_close() ran: a closed rate ignores further events and
 * closes, which makes rate_close() idempotent.
 */
#include "sketch_rate.h"

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

void rate_merge(struct rate *dst, const struct rate *src)
{
    if (dst == src) {
        quantile_merge(&dst->q, &src->q);
        return;
    }
    quantile_merge(&dst->q, &src->q);
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
