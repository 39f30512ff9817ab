/*
 * sketch_quantile.c - lazy KLL compactors in one fixed array.
 *
 * Layout: items[level_start[0] .. QUANTILE_CAPACITY) holds the levels in
 * order 0, 1, .., H-1; the free space is items[0 .. level_start[0]).  New
 * samples are prepended to level 0 (unsorted), so adding is a store and a
 * compare.  Levels >= 1 are kept sorted.  An item at level h stands for 2^h
 * samples.
 *
 * Cost: per sample, about 25 instructions in quantile_add, then its share
 * of a level-0 compaction: an LSD radix sort on the bits that vary (every
 * item lies in [min, max]) into a buffer the merge reads with stride 2, and
 * the merge into level 1.  How the sort and the merge are done never
 * shows: the sorted level, the coin flips and the merged run are the same,
 * so answers are bit-identical to a plain sort (test_sort_shapes drives
 * every sort path).
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

/* Capacity of the level at depth d below the top: max(MIN_CAP, k (2/3)^d),
 * from a table (compress looks it up for every level); k (2/3)^30 < 1. */
#define DEPTH_CAP(d, pow3)                                                                         \
    (((uint64_t)QUANTILE_K << (d)) / (pow3) < QUANTILE_MIN_CAP                                     \
         ? QUANTILE_MIN_CAP                                                                        \
         : (uint32_t)(((uint64_t)QUANTILE_K << (d)) / (pow3)))
static const uint32_t depth_caps[30] = {
    DEPTH_CAP(0, UINT64_C(1)),
    DEPTH_CAP(1, UINT64_C(3)),
    DEPTH_CAP(2, UINT64_C(9)),
    DEPTH_CAP(3, UINT64_C(27)),
    DEPTH_CAP(4, UINT64_C(81)),
    DEPTH_CAP(5, UINT64_C(243)),
    DEPTH_CAP(6, UINT64_C(729)),
    DEPTH_CAP(7, UINT64_C(2187)),
    DEPTH_CAP(8, UINT64_C(6561)),
    DEPTH_CAP(9, UINT64_C(19683)),
    DEPTH_CAP(10, UINT64_C(59049)),
    DEPTH_CAP(11, UINT64_C(177147)),
    DEPTH_CAP(12, UINT64_C(531441)),
    DEPTH_CAP(13, UINT64_C(1594323)),
    DEPTH_CAP(14, UINT64_C(4782969)),
    DEPTH_CAP(15, UINT64_C(14348907)),
    DEPTH_CAP(16, UINT64_C(43046721)),
    DEPTH_CAP(17, UINT64_C(129140163)),
    DEPTH_CAP(18, UINT64_C(387420489)),
    DEPTH_CAP(19, UINT64_C(1162261467)),
    DEPTH_CAP(20, UINT64_C(3486784401)),
    DEPTH_CAP(21, UINT64_C(10460353203)),
    DEPTH_CAP(22, UINT64_C(31381059609)),
    DEPTH_CAP(23, UINT64_C(94143178827)),
    DEPTH_CAP(24, UINT64_C(282429536481)),
    DEPTH_CAP(25, UINT64_C(847288609443)),
    DEPTH_CAP(26, UINT64_C(2541865828329)),
    DEPTH_CAP(27, UINT64_C(7625597484987)),
    DEPTH_CAP(28, UINT64_C(22876792454961)),
    DEPTH_CAP(29, UINT64_C(68630377364883)),
};

static inline uint32_t depth_cap(uint32_t d)
{
    return d < 30 ? depth_caps[d] : QUANTILE_MIN_CAP;
}

static inline uint32_t level_cap(uint32_t h, uint32_t levels)
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

/* Below this many items a sort is an insertion sort. */
#define SORT_SMALL 32
/* Counters the radix sort keeps: digits * 2^width at most. */
#define RADIX_COUNTS 4096
_Static_assert(QUANTILE_CAPACITY < 65536, "sort counters are 16-bit");
/* A span of this many bits at most takes two radix passes anyway: no read
 * to find the bits that really vary. */
#define RADIX_HINT_BITS 18

/* Exclusive prefix sums of c[0 .. r), r even. */
static void prefix_sums(uint16_t *c, uint32_t r)
{
    uint32_t sum = 0;
    for (uint16_t *p = c, *end = c + r; p < end; p += 2) {
        uint32_t c0 = p[0], c1 = p[1];
        p[0] = (uint16_t)sum;
        p[1] = (uint16_t)(sum + c0);
        sum += c0 + c1;
    }
}

/* One stable pass: dst gets src ordered by the digit (v >> sh) & m, given
 * the digit's bucket starts in c. */
static void scatter(const uint64_t *src, uint64_t *dst, size_t n, uint16_t *c, unsigned sh,
                    uint64_t m)
{
    const uint64_t *end = src + n;
    if (sh == 0) {
        for (; src + 2 <= end; src += 2) {
            uint64_t v0 = src[0], v1 = src[1];
            dst[c[v0 & m]++] = v0;
            dst[c[v1 & m]++] = v1;
        }
    } else {
        for (; src + 2 <= end; src += 2) {
            uint64_t v0 = src[0], v1 = src[1];
            dst[c[(v0 >> sh) & m]++] = v0;
            dst[c[(v1 >> sh) & m]++] = v1;
        }
    }
    if (src < end)
        dst[c[(*src >> sh) & m]++] = *src;
}

/* LSD radix sort of a[0 .. n) (n >= 2), without writing to it: the result
 * is in buf0 or buf1 (each n items), or is a itself when all items are
 * equal; returned.  Every item differs from every other in the bits of span
 * at most (a bound the caller knows, such as min ^ max; not 0).
 *
 * Only the S bits that vary are sorted on: they are cut into p digits of
 * equal width w, p chosen to minimize p passes over the items plus p
 * prefix sums over 2^w counters.  When span leaves more than two passes,
 * one read of the items (OR and AND of all) finds the bits that really
 * vary.  One read counts every digit; a digit that turns out constant is
 * skipped.  No adversarial worst case: at most 8 passes. */
static const uint64_t *radix_sort(const uint64_t *a, uint32_t n, uint64_t span, uint64_t *buf0,
                                  uint64_t *buf1)
{
    unsigned lo = 0, bits = 64 - (unsigned)__builtin_clzll(span);
    if (bits > RADIX_HINT_BITS) {
        uint64_t or0 = 0, or1 = 0, and0 = ~UINT64_C(0), and1 = ~UINT64_C(0);
        const uint64_t *p = a, *end = a + n;
        for (; p + 2 <= end; p += 2) {
            or0 |= p[0];
            and0 &= p[0];
            or1 |= p[1];
            and1 &= p[1];
        }
        if (p < end) {
            or0 |= p[0];
            and0 &= p[0];
        }
        uint64_t diff = (or0 | or1) ^ (and0 & and1);
        if (diff == 0)
            return a;
        lo = (unsigned)__builtin_ctzll(diff);
        bits = 64 - (unsigned)__builtin_clzll(diff) - lo;
    }

    /* Cost of p passes: p (13 n + 2 * 2^w) instructions, about. */
    unsigned p = 0, w = 0;
    uint64_t best = UINT64_MAX;
    for (unsigned pp = 1; pp <= 8; pp++) {
        unsigned ww = (bits + pp - 1) / pp;
        if (ww < 1)
            ww = 1;
        if (ww > 11 || (pp << ww) > RADIX_COUNTS)
            continue;
        uint64_t cost = pp * (UINT64_C(13) * n + (UINT64_C(2) << ww));
        if (cost < best) {
            best = cost;
            p = pp;
            w = ww;
        }
    }
    const uint32_t r = UINT32_C(1) << w;
    const uint64_t m = r - 1;

    uint16_t cnt[RADIX_COUNTS];
    memset(cnt, 0, (size_t)(p << w) * sizeof(cnt[0]));
    uint16_t *c0 = cnt, *c1 = cnt + r;
    const uint64_t *end = a + n;
    if (p == 1) {
        for (const uint64_t *q = a; q < end; q++)
            c0[(*q >> lo) & m]++;
    } else if (p == 2 && lo == 0) {
        for (const uint64_t *q = a; q < end; q++) {
            uint64_t v = *q;
            c0[v & m]++;
            c1[(v >> w) & m]++;
        }
    } else {
        for (const uint64_t *q = a; q < end; q++) {
            uint64_t v = *q >> lo;
            for (unsigned k = 0; k < p; k++)
                cnt[(k << w) + ((v >> (k * w)) & m)]++;
        }
    }

    const uint64_t *src = a;
    uint64_t *dst = buf0;
    for (unsigned k = 0; k < p; k++) {
        unsigned sh = lo + k * w;
        uint16_t *c = cnt + (k << w);
        if (c[(a[0] >> sh) & m] == n)
            continue; /* constant digit */
        prefix_sums(c, r);
        scatter(src, dst, n, c, sh, m);
        src = dst;
        dst = dst == buf0 ? buf1 : buf0;
    }
    return src;
}

/* Sort a[0 .. n) without writing to it: the result is in buf0 or buf1
 * (each n items), or is a itself when all items are equal; returned.  All
 * items lie in [lo, hi] (the sketch's min and max), so only the bits of
 * lo ^ hi can differ. */
static const uint64_t *sort_u64(const uint64_t *a, uint32_t n, uint64_t lo, uint64_t hi,
                                uint64_t *buf0, uint64_t *buf1)
{
    if (n < SORT_SMALL) {
        memcpy(buf0, a, n * sizeof(*a));
        insertion_sort(buf0, n);
        return buf0;
    }
    if (lo == hi)
        return a;
    return radix_sort(a, n, lo ^ hi, buf0, buf1);
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

/* Merge n sorted items up[0], up[st], up[2 st] .. into the sorted run
 * items[j .. c), writing from items[j - n]; on ties the run's item goes
 * after.  The up items not above the run's last item come first: for them
 * the run needs no bound (its last item stops it), and the write index
 * stays behind the run's read index.  The rest of the run then moves down
 * and the up items above it follow.  up must not overlap items[j - n .. c). */
static void merge_into(uint64_t *items, uint32_t j, uint32_t c, const uint64_t *up, size_t st,
                       uint32_t n)
{
    uint32_t u = 0; /* first up index above items[c - 1] */
    if (j < c) {
        uint64_t top = items[c - 1];
        uint32_t hi = n;
        while (u < hi) {
            uint32_t mid = u + (hi - u) / 2;
            if (up[mid * st] <= top)
                u = mid + 1;
            else
                hi = mid;
        }
    }
    uint64_t *out = &items[j - n];
    const uint64_t *r = &items[j];
    for (const uint64_t *up_mid = up + (size_t)u * st; up < up_mid; up += st) {
        uint64_t y = *up, x;
        while ((x = *r) < y) {
            *out++ = x;
            r++;
        }
        *out++ = y;
    }
    if (u == n)
        return; /* the rest of the run is in place */
    size_t rest = (size_t)(&items[c] - r);
    memmove(out, r, rest * sizeof(uint64_t));
    out += rest;
    size_t left = n - u, i = 0;
    for (; i + 2 <= left; i += 2) {
        out[i] = up[i * st];
        out[i + 1] = up[(i + 1) * st];
    }
    if (i < left)
        out[i] = up[i * st];
}

/* Halve level h: every other item (random phase) moves up to level h + 1,
 * merged into its sorted run; an odd leftover stays, keeping its weight.
 * At the level cap the top level halves in place: there each item survives
 * with probability 1/2 and no leftover is spared, since a spared item would
 * gain weight relative to the others on every halving.  Level 0 is sorted
 * into a buffer, which the merge then reads directly. */
static void compact_level(struct quantile *q, uint32_t h)
{
    if (h + 1 == q->num_levels && q->num_levels < QUANTILE_MAX_LEVELS)
        add_top_level(q);
    bool in_place = h + 1 == q->num_levels;

    uint32_t *ls = q->level_start;
    uint32_t a = ls[h], b = ls[h + 1];
    uint32_t c = in_place ? b : ls[h + 2];
    uint32_t s = b - a;
    uint64_t buf[2 * CAP];
    const uint64_t *run = &q->items[a]; /* level h, sorted */
    if (h == 0 && s > 0)
        run = sort_u64(run, s, q->min, q->max, buf, buf + CAP);
    uint32_t phase = coin(q, s > 0 ? run[s - 1] : 0);
    uint32_t skip, n_up;
    if (in_place) {
        skip = 0;
        n_up = (s + 1 - phase) / 2;
    } else {
        skip = s & 1;
        n_up = (s - skip) / 2;
    }
    uint32_t a2 = a + skip;
    uint32_t gap = (b - a2) - n_up;

    if (run == &q->items[a]) { /* the merge overwrites the level: copy */
        memcpy(buf, run, s * sizeof(uint64_t));
        run = buf;
    } else if (skip) {
        q->items[a] = run[0]; /* the leftover: the level's smallest */
    }
    merge_into(q->items, b, c, run + skip + phase, 2, n_up);

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

/* The first sample (or a sample into a sketch not started). */
static void __attribute__((noinline)) add_first(struct quantile *q, uint64_t v)
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

void quantile_add(struct quantile *q, uint64_t v)
{
    /* n > 0 implies a started sketch (num_levels > 0). */
    if (__builtin_expect(q->n == 0, 0)) {
        add_first(q, v);
        return;
    }
    if (v < q->min)
        q->min = v;
    if (v > q->max)
        q->max = v;
    if (__builtin_add_overflow(q->n, 1, &q->n))
        q->n = UINT64_MAX;
    if (__builtin_add_overflow(q->sum, v, &q->sum))
        q->sum = UINT64_MAX;
    uint32_t l0 = q->level_start[0] - 1;
    q->level_start[0] = l0;
    q->items[l0] = v;
    if (l0 + q->cap_total < CAP)
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
    merge_into(q->items, a, end, src, stride, n);
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

    uint64_t buf[2 * CAP];
    uint32_t n0 = level_size(q, 0);
    const uint64_t *l0 =
        n0 ? sort_u64(&q->items[q->level_start[0]], n0, q->min, q->max, buf, buf + CAP) : buf;

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
