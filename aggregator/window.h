/*
 * window.h - a handler instance's buckets: the live one and the closed ones.
 *
 * A window is one contiguous, pointer-free block: this header followed by
 * num_periods buckets of the handler's metric table, used as a ring.  Bucket
 * 0 is the live bucket; 1 the last closed minute, and so on.  That makes it
 * placeable in a shared segment later (the aggregator writes, the HTTP
 * worker reads copies).
 *
 * Rotation runs on the packet clock (SPEC 3.1 and DESIGN.md section 3): the
 * first event opens bucket 0 at its timestamp; an event at or past the next
 * minute boundary closes the live bucket at that boundary and opens a new
 * one at the boundary of the event's minute, so buckets are aligned to the
 * minute and a replayed file and live traffic behave alike.  Gaps longer
 * than a minute produce no empty buckets (as pktvisor).  With num_periods
 * == 1 nothing rotates: one summary bucket.  (An idle live capture will
 * also need rotation on the wall clock; it arrives with the agent.)
 *
 * Ownership: window_new() allocates the block (window_free NULLs the
 * pointer); window_size() lets a caller place one in memory it owns and
 * window_init() it there.  One writer; no locking here.
 */
#ifndef PKTVISOR_WINDOW_H
#define PKTVISOR_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metric.h"

#define WINDOW_PERIOD_SEC  60
#define WINDOW_MAX_PERIODS 10

struct window {
    uint32_t num_periods; /* 1..WINDOW_MAX_PERIODS */
    uint32_t count;       /* buckets in use, <= num_periods; 0 before the first event */
    uint32_t head;        /* ring index of the live bucket */
    uint32_t reserved;
    uint64_t bucket_size;
    int64_t next_shift; /* packet-clock second at which the live bucket closes */
    int64_t last_sec;   /* newest event time seen */
    int64_t last_nsec;
    uint64_t shifts;
    /* buckets follow, aligned */
};

size_t window_size(const struct metric_table *t, uint32_t num_periods);
void window_init(struct window *w, const struct metric_table *t, uint32_t num_periods);
struct window *window_new(const struct metric_table *t, uint32_t num_periods);
void window_free(struct window **w);

/* Bucket i (0 = live, newest first); NULL when i >= count. */
void *window_bucket(struct window *w, uint32_t i);
const void *window_bucket_const(const struct window *w, uint32_t i);

/* Bring the window to time ts before an event is counted.  Returns true
 * when a new live bucket was opened by this call (a period shift, not the
 * very first bucket), so the caller can run its shift hooks. */
bool window_advance(struct window *w, const struct metric_table *t, int64_t sec, int64_t nsec);

/* One window from the windows of a tap's n workers (same table and
 * num_periods): buckets of the same minute merged as shares of one period
 * (metric_bucket_merge_parallel), the newest num_periods minutes kept.
 * A new window (window_free), NULL when out of memory. */
struct window *window_merge_workers(const struct window *const *ws, size_t n,
                                    const struct metric_table *t);

/* Close the live bucket at ts (end of a capture file). */
void window_close_live(struct window *w, const struct metric_table *t, int64_t sec, int64_t nsec);

/* Merge the newest min(n, count) buckets into out (a bucket of the same
 * table, overwritten).  Returns how many were merged (0: window empty). */
uint32_t window_merge(const struct window *w, const struct metric_table *t, uint32_t n,
                      int64_t now_sec, void *out);

#endif
