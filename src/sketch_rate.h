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

#include <stdbool.h>
#include <stdint.h>

#include "sketch_quantile.h"

#define RATE_MAX_GAP 3600

/* Complete seconds a rate also keeps one by one: a minute's bucket. */
#define RATE_SECONDS 64

struct rate {
    int64_t cur_sec; /* second being counted; valid when started */
    uint64_t cur_count;
    uint64_t live;    /* count of the last complete second */
    uint32_t started; /* 0 idle, 1 counting, 2 closed */
    uint32_t reserved;
    struct quantile q; /* one sample per complete second */
    /* The complete seconds in order from first_sec, while there are at most
     * RATE_SECONDS of them (nsecs counts them all): what lets shares of
     * the same seconds (a tap's workers) merge exactly. */
    int64_t first_sec;
    uint64_t nsecs;
    uint64_t secs[RATE_SECONDS];
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
/* Merge a rate counted over the same seconds from another share of the
 * traffic (a tap's workers): the events of a second are the sum of the
 * shares.  Exact (the seconds summed one by one) while both span at most
 * RATE_SECONDS, which a minute's bucket does; beyond that the sketches
 * keep no seconds, only their distribution, and the samples are summed
 * rank by rank (busiest with busiest: exact when the shares rise and fall
 * together, else an upper bound of the high quantiles; at most 256 kept). */
void rate_merge_parallel(struct rate *dst, const struct rate *src);

/* rate_add of one packet (an event when `event`, else only the clock) with
 * its common case inline: a packet in the second being counted
 * (started == 1) only adds to the count, which one at a time cannot
 * overflow. */
static inline void rate_count(struct rate *r, int64_t sec, bool event)
{
    if (r->started == 1 && sec <= r->cur_sec) {
        r->cur_count += event;
        return;
    }
    rate_add(r, sec, event);
}

#endif
