/*
 * sketch_quantile.h - quantiles of uint64 samples, fixed size, pointer-free.
 *
 * A KLL sketch (Karnin, Lang, Liberty 2016) laid out in one fixed array:
 * levels of compactors, level h with capacity
 * max(QUANTILE_MIN_CAP, k * (2/3)^(H-1-h)) items (level 0 at least
 * QUANTILE_L0_CAP: new samples are sorted in batches, and bigger batches
 * cost less per sample), with start offsets kept as indices (never
 * pointers).  Compaction is lazy: when the items held exceed
 * the sum of the capacities, the lowest level over its capacity is halved
 * into the next.  Past QUANTILE_MAX_LEVELS levels (n beyond about 2^47)
 * the top level is halved in place instead, so the array can never
 * overflow; answers then come from the retained weight rather than from n,
 * and their error no longer shrinks as n grows.
 * While n <= QUANTILE_K nothing is compacted and
 * the answer is exact with pktvisor's rule: the item at 0-based index
 * floor(q * n) of the sorted samples (n-1 if that equals n).  Above that the
 * normalized rank error stays under 1% (k = QUANTILE_K).  Compaction uses a
 * deterministic generator stored in the struct, so the same stream gives the
 * same answers in every process.
 *
 * The sketch also keeps count, sum and max (Prometheus summaries want a
 * true _sum).
 *
 * Ownership: plain data; all-zero bytes are a valid empty sketch; memcpy
 * copies it.  No allocation.
 */
#ifndef PKTVISOR_SKETCH_QUANTILE_H
#define PKTVISOR_SKETCH_QUANTILE_H

#include <stdbool.h>
#include <stdint.h>

#define QUANTILE_K          400
#define QUANTILE_MIN_CAP    8
#define QUANTILE_L0_CAP     128 /* level 0 buffers at least this many samples */
#define QUANTILE_MAX_LEVELS 40
/* >= 3k + MIN_CAP * levels + L0_CAP + a merge batch; checked in the .c */
#define QUANTILE_CAPACITY 1712

struct quantile {
    uint64_t n;   /* samples added */
    uint64_t sum; /* saturating */
    uint64_t max;
    uint64_t min;
    uint64_t rng;        /* generator state for compaction coin flips */
    uint32_t num_levels; /* 0 = empty */
    uint32_t cap_total;  /* sum of the level capacities for num_levels */
    uint32_t level_start[QUANTILE_MAX_LEVELS +
                         1]; /* level h = items[level_start[h] .. level_start[h+1]) */
    uint64_t items[QUANTILE_CAPACITY];
};

void quantile_init(struct quantile *q);
void quantile_add(struct quantile *q, uint64_t v);
void quantile_merge(struct quantile *dst, const struct quantile *src);
static inline uint64_t quantile_count(const struct quantile *q)
{
    return q->n;
}
static inline uint64_t quantile_sum(const struct quantile *q)
{
    return q->sum;
}
static inline uint64_t quantile_max(const struct quantile *q)
{
    return q->max;
}
/* Value at fraction f in [0,1]; false when empty. */
bool quantile_get(const struct quantile *q, double f, uint64_t *out);

/* The four fractions every renderer reports. */
#define QUANTILE_NFRAC 4
extern const double quantile_fractions[QUANTILE_NFRAC];  /* .5 .9 .95 .99 */
extern const char *const quantile_names[QUANTILE_NFRAC]; /* "p50".. */
/* All four at once (one sort); false when empty. */
bool quantile_get4(const struct quantile *q, uint64_t out[QUANTILE_NFRAC]);

#endif
