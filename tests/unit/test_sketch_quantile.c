/*
 * test_sketch_quantile.c - KLL quantiles: exact mode, rank error on large
 * streams, merges, structural invariants and saturation.
 *
 * True ranks come from sorting the generated samples here; an answer v for
 * fraction f is judged by where v sits in the sorted truth.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sketch_quantile.h"

#define N_BIG 1000000u

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s)
{
    /* (0, 1]: safe to raise to negative powers */
    return (double)((rng_next(s) >> 11) + 1) * 0x1.0p-53;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static struct quantile *new_q(void)
{
    struct quantile *q = calloc(1, sizeof(*q));
    assert_non_null(q);
    return q;
}

/* Layout invariants that keep every access inside the array. */
static void check_layout(const struct quantile *q)
{
    if (q->num_levels == 0)
        return;
    assert_true(q->num_levels <= QUANTILE_MAX_LEVELS);
    assert_int_equal(q->level_start[q->num_levels], QUANTILE_CAPACITY);
    for (uint32_t h = 0; h < q->num_levels; h++) {
        uint32_t a = q->level_start[h], b = q->level_start[h + 1];
        assert_true(a <= b);
        if (h > 0) {
            for (uint32_t i = a + 1; i < b; i++)
                assert_true(q->items[i - 1] <= q->items[i]);
        }
    }
    assert_true(QUANTILE_CAPACITY - q->level_start[0] <= q->cap_total);
}

/* Normalized rank error of answer v for fraction f against sorted truth:
 * zero when v is the item at index floor(f n), else the distance from that
 * index to the nearest index holding v (or where v would go). */
static double rank_error(const uint64_t *sorted, size_t n, double f, uint64_t v)
{
    size_t r = (size_t)floor(f * (double)n);
    if (r >= n)
        r = n - 1;
    size_t lo = 0, hi = n;
    while (lo < hi) { /* first index with sorted[i] >= v */
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t first = lo;
    hi = n;
    while (lo < hi) { /* first index with sorted[i] > v */
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t last = lo; /* v occupies [first, last) */
    if (r < first)
        return (double)(first - r) / (double)n;
    if (r >= last)
        return (double)(r - last + 1) / (double)n;
    return 0.0;
}

static const double probe_fracs[] = {0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999};

/* Worst rank error over the reported fractions (and a few more); also
 * checks that get4 agrees with get. */
static double worst_error(const struct quantile *q, uint64_t *data, size_t n, const char *what)
{
    qsort(data, n, sizeof(*data), cmp_u64);
    double worst = 0;
    uint64_t four[QUANTILE_NFRAC];
    assert_true(quantile_get4(q, four));
    for (int i = 0; i < QUANTILE_NFRAC; i++) {
        uint64_t v;
        assert_true(quantile_get(q, quantile_fractions[i], &v));
        assert_int_equal(v, four[i]);
    }
    for (size_t i = 0; i < sizeof(probe_fracs) / sizeof(probe_fracs[0]); i++) {
        uint64_t v;
        assert_true(quantile_get(q, probe_fracs[i], &v));
        double e = rank_error(data, n, probe_fracs[i], v);
        if (e > worst)
            worst = e;
    }
    print_message("%-28s n=%zu levels=%u max rank error %.4f%%\n", what, n, q->num_levels,
                  100 * worst);
    return worst;
}

static void test_empty(void **state)
{
    (void)state;
    struct quantile *q = new_q();
    uint64_t v, four[QUANTILE_NFRAC];
    assert_false(quantile_get(q, 0.5, &v));
    assert_false(quantile_get4(q, four));
    assert_int_equal(quantile_count(q), 0);
    struct quantile *e = new_q();
    quantile_merge(q, e);
    assert_false(quantile_get(q, 0.5, &v));
    quantile_add(q, 42);
    assert_true(quantile_get(q, 0.5, &v));
    assert_int_equal(v, 42);
    assert_true(quantile_get4(q, four));
    for (int i = 0; i < QUANTILE_NFRAC; i++)
        assert_int_equal(four[i], 42);
    assert_string_equal(quantile_names[0], "p50");
    assert_string_equal(quantile_names[3], "p99");
    free(q);
    free(e);
}

/* For every n up to QUANTILE_K the answer is sorted[floor(f n)]. */
/* Exact mode: the answer for each fraction is pktvisor's, the sample at
 * index floor(f * n) of the sorted truth (n - 1 if that is n). */
static void assert_exact(const struct quantile *q, const uint64_t *sorted, size_t n,
                         const double *fr, size_t nfr)
{
    for (size_t i = 0; i < nfr; i++) {
        size_t r = (size_t)floor(fr[i] * (double)n);
        if (r == n)
            r = n - 1;
        uint64_t v;
        assert_true(quantile_get(q, fr[i], &v));
        assert_int_equal(v, sorted[r]);
    }
}

static void test_exact(void **state)
{
    (void)state;
    struct quantile *q = new_q();
    uint64_t vals[QUANTILE_K], sorted[QUANTILE_K];
    uint64_t rng = 8;
    const double fr[] = {0.0, 0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0};
    for (size_t n = 1; n <= QUANTILE_K; n++) {
        vals[n - 1] = rng_next(&rng) % 300; /* duplicates on purpose */
        quantile_add(q, vals[n - 1]);
        memcpy(sorted, vals, n * sizeof(*vals));
        qsort(sorted, n, sizeof(*sorted), cmp_u64);
        assert_exact(q, sorted, n, fr, sizeof(fr) / sizeof(fr[0]));
        uint64_t four[QUANTILE_NFRAC];
        assert_true(quantile_get4(q, four));
        for (int i = 0; i < QUANTILE_NFRAC; i++) {
            size_t r = (size_t)floor(quantile_fractions[i] * (double)n);
            assert_int_equal(four[i], sorted[r]);
        }
    }
    assert_int_equal(q->num_levels, 1);
    free(q);
}

static void test_stats(void **state)
{
    (void)state;
    struct quantile *q = new_q();
    uint64_t rng = 3, sum = 0, max = 0, min = UINT64_MAX;
    for (int i = 0; i < 100000; i++) {
        uint64_t v = rng_next(&rng) >> 24;
        quantile_add(q, v);
        sum += v;
        max = v > max ? v : max;
        min = v < min ? v : min;
    }
    assert_int_equal(quantile_count(q), 100000);
    assert_int_equal(quantile_sum(q), sum);
    assert_int_equal(quantile_max(q), max);
    uint64_t v;
    assert_true(quantile_get(q, 1.0, &v));
    assert_int_equal(v, max);
    assert_true(quantile_get(q, 0.0, &v));
    assert_int_equal(v, min);

    /* Saturating sum, in add and in merge. */
    struct quantile *s = new_q(), *t = new_q();
    quantile_add(s, UINT64_MAX - 1);
    assert_int_equal(quantile_sum(s), UINT64_MAX - 1);
    quantile_add(s, 5);
    assert_int_equal(quantile_sum(s), UINT64_MAX);
    quantile_add(s, 5);
    assert_int_equal(quantile_sum(s), UINT64_MAX);
    quantile_add(t, UINT64_MAX / 2 + 1);
    quantile_add(t, UINT64_MAX / 2);
    assert_int_equal(quantile_sum(t), UINT64_MAX);
    quantile_init(t);
    quantile_add(t, UINT64_MAX / 2 + 7);
    struct quantile *u = new_q();
    quantile_add(u, UINT64_MAX / 2 + 7);
    quantile_merge(t, u);
    assert_int_equal(quantile_sum(t), UINT64_MAX);
    assert_int_equal(quantile_count(t), 2);
    assert_int_equal(quantile_max(t), UINT64_MAX / 2 + 7);
    free(q);
    free(s);
    free(t);
    free(u);
}

enum dist { UNIFORM, PARETO, ZIPF_LIKE, ASCENDING, DESCENDING, FEW_VALUES };

static uint64_t draw(enum dist d, uint64_t *rng, size_t i, size_t n)
{
    switch (d) {
    case UNIFORM:
        return rng_next(rng) % 1000000000;
    case PARETO: /* heavy tail, alpha 1.1: latencies, sizes */
        return (uint64_t)(1000.0 * pow(rng_unit(rng), -1.0 / 1.1));
    case ZIPF_LIKE: /* discrete power law: half the samples are 1 */
        return (uint64_t)floor(pow(rng_unit(rng), -1.0 / 1.1));
    case ASCENDING:
        return i;
    case DESCENDING:
        return n - i;
    case FEW_VALUES:
        return (rng_next(rng) % 7) * 1000;
    }
    return 0;
}

static void run_stream(enum dist d, const char *name, uint64_t seed)
{
    struct quantile *q = new_q();
    uint64_t *data = malloc(N_BIG * sizeof(*data));
    uint64_t rng = seed;
    for (size_t i = 0; i < N_BIG; i++) {
        data[i] = draw(d, &rng, i, N_BIG);
        quantile_add(q, data[i]);
    }
    check_layout(q);
    assert_int_equal(quantile_count(q), N_BIG);
    assert_true(worst_error(q, data, N_BIG, name) <= 0.01);
    free(data);
    free(q);
}

static void test_uniform(void **state)
{
    (void)state;
    run_stream(UNIFORM, "uniform", 1);
}

static void test_pareto(void **state)
{
    (void)state;
    run_stream(PARETO, "pareto", 2);
}

static void test_zipf_like(void **state)
{
    (void)state;
    run_stream(ZIPF_LIKE, "zipf-like", 3);
}

static void test_ascending(void **state)
{
    (void)state;
    run_stream(ASCENDING, "ascending", 4);
}

static void test_descending(void **state)
{
    (void)state;
    run_stream(DESCENDING, "descending", 5);
}

static void test_few_values(void **state)
{
    (void)state;
    run_stream(FEW_VALUES, "few values", 6);
}

/* Split a stream over `parts` sketches, merge them into a fresh one. */
static void merge_parts(enum dist d, size_t total, size_t parts, const char *name)
{
    struct quantile *all = new_q(), *part = new_q();
    uint64_t *data = malloc(total * sizeof(*data));
    uint64_t rng = 77 + parts;
    uint64_t sum = 0, max = 0;
    size_t i = 0;
    for (size_t p = 0; p < parts; p++) {
        quantile_init(part);
        size_t end = total * (p + 1) / parts;
        for (; i < end; i++) {
            data[i] = draw(d, &rng, i, total);
            quantile_add(part, data[i]);
            sum += data[i];
            max = data[i] > max ? data[i] : max;
        }
        quantile_merge(all, part);
        check_layout(all);
    }
    assert_int_equal(quantile_count(all), total);
    assert_int_equal(quantile_sum(all), sum);
    assert_int_equal(quantile_max(all), max);
    assert_true(worst_error(all, data, total, name) <= 0.01);
    free(data);
    free(all);
    free(part);
}

static void test_merge_windows(void **state)
{
    (void)state;
    merge_parts(UNIFORM, N_BIG, 5, "merge 5 x 200k uniform");
    merge_parts(PARETO, N_BIG, 10, "merge 10 x 100k pareto");
    merge_parts(ASCENDING, N_BIG, 10, "merge 10 x 100k ascending");
    merge_parts(UNIFORM, N_BIG, 400, "merge 400 x 2500 uniform");
    merge_parts(PARETO, 400000, 2000, "merge 2000 x 200 pareto");
}

/* Merge a binary tree of sketches: both sides carry compacted levels. */
static void test_merge_tree(void **state)
{
    (void)state;
    enum { LEAVES = 16, PER = 60000 };
    struct quantile *q[LEAVES];
    uint64_t *data = malloc(LEAVES * PER * sizeof(*data));
    uint64_t rng = 12;
    for (int l = 0; l < LEAVES; l++) {
        q[l] = new_q();
        for (int i = 0; i < PER; i++) {
            uint64_t v = draw(l % 2 ? PARETO : UNIFORM, &rng, 0, 0);
            data[l * PER + i] = v;
            quantile_add(q[l], v);
        }
    }
    for (int step = 1; step < LEAVES; step *= 2) {
        for (int l = 0; l + step < LEAVES; l += 2 * step) {
            quantile_merge(q[l], q[l + step]);
            check_layout(q[l]);
        }
    }
    assert_int_equal(quantile_count(q[0]), LEAVES * PER);
    assert_true(worst_error(q[0], data, LEAVES * PER, "merge tree 16 x 60k") <= 0.01);
    for (int l = 0; l < LEAVES; l++)
        free(q[l]);
    free(data);
}

/* Small sketches whose union still fits stay exact when merged. */
static void test_merge_exact(void **state)
{
    (void)state;
    struct quantile *all = new_q(), *part = new_q();
    uint64_t data[QUANTILE_K], rng = 4;
    size_t n = 0;
    for (int p = 0; p < 8; p++) {
        quantile_init(part);
        for (int i = 0; i < QUANTILE_K / 8; i++) {
            data[n] = rng_next(&rng) % 1000;
            quantile_add(part, data[n++]);
        }
        quantile_merge(all, part);
    }
    qsort(data, n, sizeof(*data), cmp_u64);
    for (size_t i = 0; i < sizeof(probe_fracs) / sizeof(probe_fracs[0]); i++) {
        uint64_t v;
        assert_true(quantile_get(all, probe_fracs[i], &v));
        assert_int_equal(v, data[(size_t)floor(probe_fracs[i] * (double)n)]);
    }
    free(all);
    free(part);
}

/* A few million samples, checking the layout as it grows. */
static void test_capacity_many(void **state)
{
    (void)state;
    struct quantile *q = new_q();
    uint64_t rng = 99;
    for (uint32_t i = 0; i < 4000000; i++) {
        quantile_add(q, rng_next(&rng) % 100000);
        if ((i & 0xffff) == 0)
            check_layout(q);
    }
    check_layout(q);
    uint64_t v;
    assert_true(quantile_get(q, 0.5, &v));
    /* Uniform on [0, 1e5): the median is near 5e4. */
    assert_true(v > 49000 && v < 51000);
    free(q);
}

/* Doubling by self-merge reaches n near 2^64 and the level cap quickly;
 * the distribution is unchanged, so the base truth still applies.  Below
 * the cap the usual bound must hold; past it only safety is promised. */
static void test_capacity_self_merge(void **state)
{
    (void)state;
    enum { BASE = 20000 };
    struct quantile *q = new_q();
    uint64_t *data = malloc(BASE * sizeof(*data));
    uint64_t rng = 123;
    uint64_t min = UINT64_MAX, max = 0;
    for (int i = 0; i < BASE; i++) {
        data[i] = draw(PARETO, &rng, 0, 0);
        quantile_add(q, data[i]);
        min = data[i] < min ? data[i] : min;
        max = data[i] > max ? data[i] : max;
    }
    bool checked_below_cap = false;
    for (int d = 0; d < 60; d++) {
        quantile_merge(q, q);
        check_layout(q);
        if (!checked_below_cap && q->num_levels >= QUANTILE_MAX_LEVELS - 1) {
            assert_true(worst_error(q, data, BASE, "self-merged, below cap") <= 0.01);
            checked_below_cap = true;
        }
        uint64_t four[QUANTILE_NFRAC];
        assert_true(quantile_get4(q, four));
        for (int i = 0; i < QUANTILE_NFRAC; i++)
            assert_true(four[i] >= min && four[i] <= max);
    }
    assert_true(checked_below_cap);
    assert_int_equal(q->num_levels, QUANTILE_MAX_LEVELS);
    assert_int_equal(quantile_count(q), UINT64_MAX); /* saturated */
    assert_int_equal(quantile_sum(q), UINT64_MAX);
    assert_int_equal(quantile_max(q), max);
    worst_error(q, data, BASE, "self-merged 60 times");
    free(data);
    free(q);
}

/* Random interleavings of adds and merges (self merges, empty sides,
 * big into small) must keep the layout valid and count everything. */
static void test_random_ops(void **state)
{
    (void)state;
    enum { POOL = 6, OPS = 3000 };
    struct quantile *q[POOL];
    uint64_t n[POOL] = {0}, lo[POOL], hi[POOL];
    for (int i = 0; i < POOL; i++) {
        q[i] = new_q();
        lo[i] = UINT64_MAX;
        hi[i] = 0;
    }
    uint64_t rng = 31;
    for (int op = 0; op < OPS; op++) {
        uint64_t r = rng_next(&rng);
        int a = (int)(r % POOL), b = (int)((r >> 8) % POOL);
        switch ((r >> 16) % 8) {
        case 0: /* reset */
            quantile_init(q[a]);
            n[a] = 0;
            lo[a] = UINT64_MAX;
            hi[a] = 0;
            break;
        case 1:
        case 2: /* merge, possibly with itself */
            quantile_merge(q[a], q[b]);
            n[a] = n[a] + n[b] < n[a] ? UINT64_MAX : n[a] + n[b];
            lo[a] = lo[b] < lo[a] ? lo[b] : lo[a];
            hi[a] = hi[b] > hi[a] ? hi[b] : hi[a];
            break;
        default: { /* a burst of adds */
            uint32_t k = (uint32_t)((r >> 24) % 3000);
            for (uint32_t i = 0; i < k; i++) {
                uint64_t v = rng_next(&rng) >> (r >> 56 & 63);
                quantile_add(q[a], v);
                lo[a] = v < lo[a] ? v : lo[a];
                hi[a] = v > hi[a] ? v : hi[a];
            }
            n[a] += k;
            break;
        }
        }
        check_layout(q[a]);
        assert_int_equal(quantile_count(q[a]), n[a]);
        uint64_t four[QUANTILE_NFRAC];
        if (n[a] == 0) {
            assert_false(quantile_get4(q[a], four));
            continue;
        }
        assert_true(quantile_get4(q[a], four));
        for (int i = 0; i < QUANTILE_NFRAC; i++)
            assert_true(four[i] >= lo[a] && four[i] <= hi[a]);
        assert_int_equal(quantile_max(q[a]), hi[a]);
    }
    for (int i = 0; i < POOL; i++)
        free(q[i]);
}

static void test_deterministic(void **state)
{
    (void)state;
    struct quantile *a = new_q(), *b = new_q();
    uint64_t r1 = 5, r2 = 5;
    for (int i = 0; i < 300000; i++) {
        quantile_add(a, rng_next(&r1) % 5000);
        quantile_add(b, rng_next(&r2) % 5000);
    }
    assert_memory_equal(a, b, sizeof(*a));
    /* A memcpy'd sketch is a working sketch. */
    struct quantile *c = new_q();
    memcpy(c, a, sizeof(*a));
    quantile_add(a, 7);
    quantile_add(c, 7);
    assert_memory_equal(a, c, sizeof(*a));
    free(a);
    free(b);
    free(c);
}

/* Level 0 is sorted for every query and compaction, by a path chosen from
 * the values (radix passes over the bits that vary, fewer when the values
 * crowd into a narrow range; insertion below 32 items): in exact mode
 * every answer is the sorted truth's, whatever the shape. */
static void test_sort_shapes(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 2, 31, 32, 33, 100, 257, QUANTILE_K};
    const double fr[] = {0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0};
    struct quantile *q = new_q();
    uint64_t vals[QUANTILE_K], sorted[QUANTILE_K];
    uint64_t rng = 17;
    for (int shape = 0; shape < 10; shape++) {
        for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
            size_t n = sizes[si];
            quantile_init(q);
            for (size_t i = 0; i < n; i++) {
                uint64_t r = rng_next(&rng);
                switch (shape) {
                case 0: /* decades */
                    vals[i] = ((r >> 20) % 1000 + 100) << (r >> 8) % 15;
                    break;
                case 1: /* crowded: one log bucket */
                    vals[i] = (UINT64_C(1) << 40) + r % 5000;
                    break;
                case 2: /* crowded and descending */
                    vals[i] = (UINT64_C(1) << 50) - i;
                    break;
                case 3: /* past 2^62 */
                    vals[i] = r | UINT64_C(1) << 63;
                    break;
                case 4: /* full range, extremes included */
                    vals[i] = i % 3 == 0 ? 0 : i % 3 == 1 ? UINT64_MAX : r;
                    break;
                case 5: /* zeros and one large value */
                    vals[i] = i == n / 2 ? UINT64_C(1) << 61 : 0;
                    break;
                case 6: /* constant */
                    vals[i] = 12345;
                    break;
                case 7: /* ascending, low bits constant */
                    vals[i] = (uint64_t)i << 20;
                    break;
                case 8: /* just below 2^62 */
                    vals[i] = (UINT64_C(1) << 62) - 1 - r % 100;
                    break;
                default: /* uniform */
                    vals[i] = r % 100000;
                    break;
                }
                quantile_add(q, vals[i]);
            }
            memcpy(sorted, vals, n * sizeof(*vals));
            qsort(sorted, n, sizeof(*sorted), cmp_u64);
            assert_exact(q, sorted, n, fr, sizeof(fr) / sizeof(fr[0]));
        }
    }
    free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),         cmocka_unit_test(test_exact),
        cmocka_unit_test(test_stats),         cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_pareto),        cmocka_unit_test(test_zipf_like),
        cmocka_unit_test(test_ascending),     cmocka_unit_test(test_descending),
        cmocka_unit_test(test_few_values),    cmocka_unit_test(test_merge_windows),
        cmocka_unit_test(test_merge_tree),    cmocka_unit_test(test_merge_exact),
        cmocka_unit_test(test_capacity_many), cmocka_unit_test(test_capacity_self_merge),
        cmocka_unit_test(test_random_ops),    cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_sort_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
