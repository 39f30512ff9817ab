/*
 * sketch_quantile.c - lazy KLL compactors in one fixed array.
 *
 * Layout: items[level_start[0] .. QUANTILE_CAPACITY) holds the levels in
 * order 0, 1, .., H-1; the free space is items[0 .. level_start[0]).  New
 * samples are prepended to level 0 (unsorted), so adding is a store and a
 * compare.  Levels >= 1 are kept sorted.  An item at level h stands for 2^h
 * samples.
 *
 * Capacity proof: the level capacities for H levels sum to less than
 * 3k + QUANTILE_MIN_CAP * H + QUANTILE_L0_CAP, since k (2/3)^d summed
 * over d is below 3k.
 * Adding compacts as soon as the total exceeds that sum, so at most one item
 * above it is ever held, and H is capped at QUANTILE_MAX_LEVELS (the top
 * level then halves in place).  Merging inserts src in batches of at most
 * MERGE_BATCH items, compacting first until the batch fits.  So the array
 * never overflows, whatever n and whatever the merge sequence.
 */
#include "sketch_quantile.h"

#include <math.h>
#include <string.h>

#include "hash.h"

#define CAP QUANTILE_CAPACITY
/* Largest batch a merge inserts at once; at most the room always left when
 * the items held are within the capacities. */
#define MERGE_BATCH 64

/* Level capacities sum to less than 3k + MIN_CAP * levels + L0_CAP; past
 * that a merge batch must still fit (which also covers the one new item
 * an add may hold above the capacities). */
#define CAP_BOUND (3 * QUANTILE_K + QUANTILE_MIN_CAP * QUANTILE_MAX_LEVELS + QUANTILE_L0_CAP)
_Static_assert(QUANTILE_CAPACITY >= CAP_BOUND + MERGE_BATCH,
               "capacity must hold every level at capacity plus a merge batch");
_Static_assert(QUANTILE_MIN_CAP >= 2, "a compaction must free at least one item");
_Static_assert(QUANTILE_MAX_LEVELS >= 2 && QUANTILE_MAX_LEVELS <= 48,
               "weights 2^h must fit easily in 64 bits");

const double quantile_fractions[QUANTILE_NFRAC] = {0.5, 0.9, 0.95, 0.99};
const char *const quantile_names[QUANTILE_NFRAC] = {"p50", "p90", "p95", "p99"};

static inline uint64_t sat_add(uint64_t a, uint64_t b)
{
    uint64_t r = a + b;
    return r < a ? UINT64_MAX : r;
}

/* Capacity of the level at depth d below the top: max(MIN_CAP, k (2/3)^d). */
static uint32_t depth_cap(uint32_t d)
{
    if (d >= 30) /* k (2/3)^30 < 1 */
        return QUANTILE_MIN_CAP;
    uint64_t num = (uint64_t)QUANTILE_K << d, den = 1;
    for (uint32_t i = 0; i < d; i++)
        den *= 3;
    uint64_t c = num / den;
    return c < QUANTILE_MIN_CAP ? QUANTILE_MIN_CAP : (uint32_t)c;
}

static uint32_t level_cap(uint32_t h, uint32_t levels)
{
    uint32_t c = depth_cap(levels - 1 - h);
    return h == 0 && c < QUANTILE_L0_CAP ? QUANTILE_L0_CAP : c;
}

static uint32_t total_cap(uint32_t levels)
{
    uint32_t sum = 0;
    for (uint32_t h = 0; h < levels; h++)
        sum += level_cap(h, levels);
    return sum;
}

static inline uint32_t level_size(const struct quantile *q, uint32_t h)
{
    return q->level_start[h + 1] - q->level_start[h];
}

static inline uint32_t used(const struct quantile *q)
{
    return CAP - q->level_start[0];
}

/* Coin flip from a splitmix64 sequence kept in the struct, salted with a
 * sample: sketches all start from rng 0, and without the salt the buckets
 * of a window would flip identical coins and their errors would add up
 * instead of averaging out. */
static inline uint32_t coin(struct quantile *q, uint64_t salt)
{
    q->rng += UINT64_C(0x9e3779b97f4a7c15);
    return (uint32_t)(hash_mix64(q->rng ^ hash_mix64(salt)) >> 63);
}

static void insertion_sort(uint64_t *a, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        uint64_t v = a[i];
        uint32_t j = i;
        while (j > 0 && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

/* LSD radix sort skipping bytes that are equal in every item: no
 * adversarial worst case, and small values need one or two passes. */
static void sort_u64(uint64_t *a, uint32_t n)
{
    if (n < 48) {
        insertion_sort(a, n);
        return;
    }
    uint64_t tmp[CAP];
    uint64_t diff = 0;
    for (uint32_t i = 1; i < n; i++)
        diff |= a[i] ^ a[0];
    uint64_t *src = a, *dst = tmp;
    for (int shift = 0; shift < 64; shift += 8) {
        if (((diff >> shift) & 0xff) == 0)
            continue;
        uint32_t pos[256] = {0};
        for (uint32_t i = 0; i < n; i++)
            pos[(src[i] >> shift) & 0xff]++;
        uint32_t sum = 0;
        for (int b = 0; b < 256; b++) {
            uint32_t c = pos[b];
            pos[b] = sum;
            sum += c;
        }
        for (uint32_t i = 0; i < n; i++)
            dst[pos[(src[i] >> shift) & 0xff]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof(*a));
}

void quantile_init(struct quantile *q)
{
    memset(q, 0, sizeof(*q));
}

static void ensure_started(struct quantile *q)
{
    if (q->num_levels == 0) {
        q->num_levels = 1;
        q->level_start[0] = CAP;
        q->level_start[1] = CAP;
        q->cap_total = total_cap(1);
    }
}

static void add_top_level(struct quantile *q)
{
    uint32_t h = q->num_levels;
    q->level_start[h + 1] = CAP;
    q->num_levels = h + 1;
    q->cap_total = total_cap(h + 1);
}

/* Halve level h: every other item (random phase) moves up to level h + 1,
 * merged into its sorted run; an odd leftover stays, keeping its weight.
 * At the level cap the top level halves in place: there each item survives
 * with probability 1/2 and no leftover is spared, since a spared item would
 * gain weight relative to the others on every halving. */
static void compact_level(struct quantile *q, uint32_t h)
{
    if (h + 1 == q->num_levels && q->num_levels < QUANTILE_MAX_LEVELS)
        add_top_level(q);
    bool in_place = h + 1 == q->num_levels;

    uint32_t *ls = q->level_start;
    uint32_t a = ls[h], b = ls[h + 1];
    uint32_t c = in_place ? b : ls[h + 2];
    uint32_t s = b - a;
    if (h == 0)
        sort_u64(&q->items[a], s);
    uint32_t phase = coin(q, q->items[b - 1]);
    uint32_t a2, n_up;
    if (in_place) {
        a2 = a;
        n_up = (s + 1 - phase) / 2;
    } else {
        a2 = a + (s & 1);
        n_up = (b - a2) / 2;
    }
    uint32_t gap = (b - a2) - n_up;

    uint64_t up[CAP / 2 + 1];
    for (uint32_t i = 0; i < n_up; i++)
        up[i] = q->items[a2 + phase + 2 * i];

    /* Forward merge into [b - n_up, c): the write index stays behind the
     * read index of the upper run until `up` is used up. */
    uint32_t w = b - n_up, j = b;
    for (uint32_t i = 0; i < n_up;) {
        if (j < c && q->items[j] < up[i])
            q->items[w++] = q->items[j++];
        else
            q->items[w++] = up[i++];
    }

    /* Close the gap left at [a2, b - n_up). */
    uint32_t lo = ls[0];
    memmove(&q->items[lo + gap], &q->items[lo], (a2 - lo) * sizeof(uint64_t));
    for (uint32_t l = 0; l <= h; l++)
        ls[l] += gap;
    if (!in_place)
        ls[h + 1] = b - n_up;
}

/* One compaction of the lowest level over its capacity. */
static void compress(struct quantile *q)
{
    uint32_t levels = q->num_levels;
    for (uint32_t h = 0; h < levels; h++) {
        if (level_size(q, h) > level_cap(h, levels)) {
            compact_level(q, h);
            return;
        }
    }
    /* Not reached while used > cap_total; compact the largest level to
     * make progress anyway. */
    uint32_t best = 0;
    for (uint32_t h = 1; h < levels; h++) {
        if (level_size(q, h) > level_size(q, best))
            best = h;
    }
    compact_level(q, best);
}

void quantile_add(struct quantile *q, uint64_t v)
{
    ensure_started(q);
    if (q->n == 0) {
        q->min = v;
        q->max = v;
    } else {
        if (v < q->min)
            q->min = v;
        if (v > q->max)
            q->max = v;
    }
    q->n = sat_add(q->n, 1);
    q->sum = sat_add(q->sum, v);
    q->items[--q->level_start[0]] = v;
    if (used(q) > q->cap_total)
        compress(q);
}

/* Insert n items of level h, taken from src with the given stride (a
 * sorted subsequence when h > 0); needs n free slots. */
static void insert_batch(struct quantile *q, uint32_t h, const uint64_t *src, uint32_t stride,
                         uint32_t n)
{
    uint32_t *ls = q->level_start;
    if (h == 0) {
        ls[0] -= n;
        for (uint32_t i = 0; i < n; i++)
            q->items[ls[0] + i] = src[i * stride];
        return;
    }
    uint32_t lo = ls[0], a = ls[h], end = ls[h + 1];
    memmove(&q->items[lo - n], &q->items[lo], (a - lo) * sizeof(uint64_t));
    for (uint32_t l = 0; l < h; l++)
        ls[l] -= n;
    uint32_t w = a - n, j = a;
    for (uint32_t i = 0; i < n;) {
        if (j < end && q->items[j] < src[i * stride])
            q->items[w++] = q->items[j++];
        else
            q->items[w++] = src[i++ * stride];
    }
    ls[h] = a - n;
}

void quantile_merge(struct quantile *dst, const struct quantile *src)
{
    struct quantile copy;
    if (src->num_levels == 0 || src->n == 0)
        return;
    if (dst == src) {
        memcpy(&copy, src, sizeof(copy));
        src = &copy;
    }
    ensure_started(dst);
    if (dst->n == 0) {
        dst->min = src->min;
        dst->max = src->max;
    } else {
        if (src->min < dst->min)
            dst->min = src->min;
        if (src->max > dst->max)
            dst->max = src->max;
    }
    dst->n = sat_add(dst->n, src->n);
    dst->sum = sat_add(dst->sum, src->sum);
    while (dst->num_levels < src->num_levels)
        add_top_level(dst);

    /* A level goes in as interleaved batches (items i, i + nb, i + 2nb..):
     * a compaction between batches then sees a spread of values, never
     * just the low end of the level, so partial merges stay unbiased. */
    for (uint32_t h = 0; h < src->num_levels; h++) {
        const uint64_t *p = &src->items[src->level_start[h]];
        uint32_t size = level_size(src, h);
        uint32_t nb = (size + MERGE_BATCH - 1) / MERGE_BATCH;
        for (uint32_t k = 0; k < nb; k++) {
            uint32_t n = (size - k + nb - 1) / nb;
            while (dst->level_start[0] < n)
                compress(dst);
            insert_batch(dst, h, p + k, nb, n);
        }
    }
    while (used(dst) > dst->cap_total)
        compress(dst);
}

/* Answer nf rank queries in one pass: level 0 is sorted in a copy, then
 * the sorted levels are merged on the fly, accumulating weight. */
static bool query(const struct quantile *q, const double *fr, uint64_t *out, int nf)
{
    if (q->n == 0 || q->num_levels == 0)
        return false;

    uint32_t levels = q->num_levels;
    uint64_t w_total = 0;
    for (uint32_t h = 0; h < levels; h++)
        w_total += (uint64_t)level_size(q, h) << h;
    if (w_total == 0)
        return false;

    /* Targets in ascending rank order; 0 and 1 are the true min and max. */
    uint64_t target[QUANTILE_NFRAC];
    int order[QUANTILE_NFRAC];
    int pending = 0;
    for (int i = 0; i < nf; i++) {
        double f = fr[i];
        if (isnan(f))
            return false;
        if (f <= 0.0) {
            out[i] = q->min;
            continue;
        }
        if (f >= 1.0) {
            out[i] = q->max;
            continue;
        }
        double r = floor(f * (double)w_total);
        target[i] = r >= (double)w_total ? w_total - 1 : (uint64_t)r;
        int j = pending++;
        while (j > 0 && target[order[j - 1]] > target[i]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    if (pending == 0)
        return true;

    uint64_t l0[CAP];
    uint32_t n0 = level_size(q, 0);
    memcpy(l0, &q->items[q->level_start[0]], n0 * sizeof(uint64_t));
    sort_u64(l0, n0);

    uint32_t pos[QUANTILE_MAX_LEVELS];
    for (uint32_t h = 0; h < levels; h++)
        pos[h] = h == 0 ? 0 : q->level_start[h];

    uint64_t cum = 0;
    int t = 0;
    for (;;) {
        /* Smallest head among the levels. */
        int best = -1;
        uint64_t bv = 0;
        if (pos[0] < n0) {
            best = 0;
            bv = l0[pos[0]];
        }
        for (uint32_t h = 1; h < levels; h++) {
            if (pos[h] < q->level_start[h + 1] && (best < 0 || q->items[pos[h]] < bv)) {
                best = (int)h;
                bv = q->items[pos[h]];
            }
        }
        if (best < 0)
            break; /* unreachable: targets are below w_total */
        pos[best]++;
        cum += UINT64_C(1) << best;
        while (t < pending && target[order[t]] < cum) {
            out[order[t]] = bv;
            t++;
        }
        if (t == pending)
            break;
    }
    return true;
}

bool quantile_get(const struct quantile *q, double f, uint64_t *out)
{
    return query(q, &f, out, 1);
}

bool quantile_get4(const struct quantile *q, uint64_t out[QUANTILE_NFRAC])
{
    return query(q, quantile_fractions, out, QUANTILE_NFRAC);
}
