/*
 * sketch_rate.h - events per second on the packet clock, fed into quantiles.
 *
 * A rate counts events in the current second of packet time.  When an event
 * (or a tick) arrives in a later second, the finished second's count is
 * appended to the quantile sketch, and a zero for every empty second in
 * between (at most RATE_MAX_GAP of them, so a hostile timestamp jump cannot
 * stall the caller).  `live` is the count of the last complete second.
 * Timestamps that go backwards count in the current second.  rate_close()
 * ends the bucket: it flushes the current second and the empty seconds up to
 * the bucket's end.
 *
 * Ownership: plain data; all-zero bytes are a valid empty rate (the first
 * event or rate_start() sets the clock).  No allocation.
 */
#ifndef PKTVISOR_SKETCH_RATE_H
#define PKTVISOR_SKETCH_RATE_H

#include <stdint.h>

#include "sketch_quantile.h"

#define RATE_MAX_GAP 3600

struct rate {
    int64_t cur_sec; /* second being counted; valid when started */
    uint64_t cur_count;
    uint64_t live;    /* count of the last complete second */
    uint32_t started; /* 0 idle, 1 counting, 2 closed */
    uint32_t reserved;
    struct quantile q; /* one sample per complete second */
};

void rate_init(struct rate *r);
/* Set the clock to `sec` without counting (bucket start); on a running
 * rate it is rate_add(r, sec, 0). */
void rate_start(struct rate *r, int64_t sec);
/* Count n events at second `sec` (n may be 0: only advances the clock). */
void rate_add(struct rate *r, int64_t sec, uint64_t n);
/* Flush the current second and empty seconds before end_sec; idempotent:
 * the rate is closed, later events and closes are ignored. */
void rate_close(struct rate *r, int64_t end_sec);
/* Merge the samples; the clock, current count and live come from the rate
 * with the later current second (summed when both are at the same one). */
void rate_merge(struct rate *dst, const struct rate *src);

#endif
