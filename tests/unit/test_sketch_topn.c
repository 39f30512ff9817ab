/*
 * test_sketch_topn.c - frequent items: exactness, error bounds, merge, text.
 *
 * Every expectation is computed here from the generated stream: true counts
 * are tallied in a plain array and the sketch is checked against them.
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

#include "hash.h"
#include "sketch_topn.h"

/* splitmix64: small, deterministic, good enough for test streams. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

static size_t key_text(uint32_t id, char *buf, size_t size)
{
    return (size_t)snprintf(buf, size, "host-%u.example.net", id);
}

static uint64_t key_hash(uint32_t id)
{
    char buf[64];
    size_t n = key_text(id, buf, sizeof(buf));
    return hash64(buf, n, HASH_SEED);
}

/* Parse an id back out of a reported text. */
static uint32_t text_id(const struct topn_item *it)
{
    char buf[TOPN_TEXT_MAX + 1];
    unsigned id;
    memcpy(buf, it->text, it->len);
    buf[it->len] = '\0';
    if (sscanf(buf, "host-%u.example.net", &id) != 1)
        fail_msg("unexpected text '%s'", buf);
    return id;
}

static void add_id(struct topn *t, uint32_t id, uint64_t w)
{
    char buf[64];
    size_t n = key_text(id, buf, sizeof(buf));
    topn_add_text(t, buf, n, w);
}

/* Zipf(s) over ids 0..n-1 by inverse transform on a cumulative table. */
struct zipf {
    double *cdf;
    uint32_t n;
};

static void zipf_init(struct zipf *z, uint32_t n, double s)
{
    z->n = n;
    z->cdf = malloc(n * sizeof(double));
    assert_non_null(z->cdf);
    double sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        sum += pow((double)(i + 1), -s);
        z->cdf[i] = sum;
    }
    for (uint32_t i = 0; i < n; i++)
        z->cdf[i] /= sum;
}

static uint32_t zipf_draw(const struct zipf *z, uint64_t *rng)
{
    double u = rng_unit(rng);
    uint32_t lo = 0, hi = z->n - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (z->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Scatter ranks over ids so the heavy keys are not simply 0..9. */
static uint32_t scatter(uint32_t rank, uint32_t n)
{
    return (uint32_t)(((uint64_t)rank * 2654435761u) % n);
}

static struct topn *new_topn(void)
{
    /* calloc'ed memory must be a valid empty sketch without topn_init. */
    struct topn *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    return t;
}

/* Ids of the true top 10 by count (then by text, as the report orders). */
static int cmp_text_ids(uint32_t a, uint32_t b)
{
    char x[64], y[64];
    key_text(a, x, sizeof(x));
    key_text(b, y, sizeof(y));
    return strcmp(x, y);
}

static void true_top(const uint64_t *count, uint32_t n, uint32_t top[TOPN_REPORT + 1])
{
    size_t k = 0;
    for (uint32_t id = 0; id < n; id++) {
        if (count[id] == 0)
            continue;
        if (k == TOPN_REPORT + 1 && count[id] <= count[top[k - 1]])
            continue;
        size_t j = k < TOPN_REPORT + 1 ? k++ : k - 1;
        while (j > 0 && (count[id] > count[top[j - 1]] ||
                         (count[id] == count[top[j - 1]] && cmp_text_ids(id, top[j - 1]) < 0))) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = id;
    }
}

/* Every stored item is found by lookup (probe chains intact), and the
 * occupancy and text bookkeeping agree with the arrays. */
static void check_structure(const struct topn *t)
{
    uint32_t active = 0, texts = 0;
    for (uint32_t i = 0; i < TOPN_SLOTS; i++) {
        const struct topn_slot *x = &t->slots[i];
        if (x->key == 0) {
            assert_int_equal(x->count, 0);
            continue;
        }
        active++;
        uint64_t count = x->count & ((UINT64_C(1) << 56) - 1);
        assert_true(count > 0);
        assert_int_equal(topn_estimate(t, x->key), count + t->offset);
        uint32_t ts = (uint32_t)(x->count >> 56) & 0x7f;
        bool flag = (x->count >> 63) != 0;
        if (ts) {
            assert_true(ts <= TOPN_TEXT_SLOTS);
            assert_int_equal(t->texts[ts - 1].hash, x->key);
            assert_int_equal(t->text_est[ts - 1], count + t->offset);
            /* The counter's copy of has_text agrees with the table. */
            assert_int_equal(flag, t->texts[ts - 1].has_text != 0);
        } else {
            assert_false(flag);
        }
    }
    for (int s = 0; s < TOPN_TEXT_SLOTS; s++)
        texts += t->texts[s].hash != 0;
    assert_int_equal(active, t->active);
    assert_int_equal(texts, t->text_used);
    assert_true(active <= TOPN_MAX_ACTIVE);
}

/* Bounds for every key (tracked or not) and the report's own order. */
static void check_bounds(const struct topn *t, const uint64_t *count, uint32_t n)
{
    check_structure(t);
    for (uint32_t id = 0; id < n; id++) {
        uint64_t est = topn_estimate(t, key_hash(id));
        if (est == 0) {
            if (count[id] > t->offset)
                fail_msg("id %u count %llu untracked above offset %llu", id,
                         (unsigned long long)count[id], (unsigned long long)t->offset);
            continue;
        }
        if (est < count[id] || est > count[id] + t->offset)
            fail_msg("id %u est %llu count %llu offset %llu", id, (unsigned long long)est,
                     (unsigned long long)count[id], (unsigned long long)t->offset);
    }
    struct topn_item out[TOPN_REPORT];
    size_t m = topn_report(t, out);
    for (size_t i = 0; i < m; i++) {
        uint32_t id = text_id(&out[i]);
        assert_int_equal(out[i].estimate, topn_estimate(t, key_hash(id)));
        assert_true(out[i].estimate >= count[id]);
        assert_true(out[i].estimate <= count[id] + t->offset);
        if (i > 0) {
            assert_true(out[i - 1].estimate >= out[i].estimate);
            if (out[i - 1].estimate == out[i].estimate)
                assert_true(cmp_text_ids(text_id(&out[i - 1]), id) < 0);
        }
    }
}

/* The report must be exactly the true top 10 as a set; where true counts
 * differ by more than the offset the order must agree too. */
static void check_top10(const struct topn *t, const uint64_t *count, uint32_t n)
{
    uint32_t top[TOPN_REPORT + 1];
    true_top(count, n, top);
    /* The test is meaningful only if the 10th and 11th differ. */
    assert_true(count[top[TOPN_REPORT - 1]] > count[top[TOPN_REPORT]]);

    struct topn_item out[TOPN_REPORT];
    assert_int_equal(topn_report(t, out), TOPN_REPORT);
    for (size_t i = 0; i < TOPN_REPORT; i++) {
        uint32_t id = text_id(&out[i]);
        bool in_top = false;
        for (size_t j = 0; j < TOPN_REPORT; j++)
            in_top |= top[j] == id;
        if (!in_top)
            fail_msg("reported id %u (count %llu) is not in the true top 10", id,
                     (unsigned long long)count[id]);
        if (i > 0) {
            uint64_t prev = count[text_id(&out[i - 1])];
            if (count[id] > prev + t->offset)
                fail_msg("order: %llu before %llu", (unsigned long long)prev,
                         (unsigned long long)count[id]);
        }
    }
}

static void test_empty(void **state)
{
    (void)state;
    struct topn *t = new_topn();
    struct topn_item out[TOPN_REPORT];
    assert_int_equal(topn_report(t, out), 0);
    assert_int_equal(topn_estimate(t, 12345), 0);
    assert_int_equal(topn_estimate(t, 0), 0);
    assert_false(topn_add(t, 7, 0));
    assert_int_equal(topn_estimate(t, 7), 0);
    topn_init(t);
    assert_int_equal(topn_report(t, out), 0);
    free(t);
}

static void test_exact_below_capacity(void **state)
{
    (void)state;
    struct topn *t = new_topn();
    const uint32_t n = TOPN_MAX_ACTIVE;
    uint64_t *count = calloc(n, sizeof(*count));
    uint64_t rng = 1;

    /* Random weights in random order, every key several times. */
    for (int round = 0; round < 4; round++) {
        for (uint32_t i = 0; i < n; i++) {
            uint32_t id = (uint32_t)(rng_next(&rng) % n);
            uint64_t w = 1 + rng_next(&rng) % 1000000;
            if (count[id] == 0 && round > 0)
                continue; /* keep exactly n distinct at the end */
            add_id(t, id, w);
            count[id] += w;
        }
        if (round == 0) {
            /* Make sure every id appeared once. */
            for (uint32_t id = 0; id < n; id++) {
                if (count[id] == 0) {
                    add_id(t, id, 1);
                    count[id] = 1;
                }
            }
        }
    }
    assert_int_equal(t->active, n);
    assert_int_equal(t->offset, 0);
    for (uint32_t id = 0; id < n; id++)
        assert_int_equal(topn_estimate(t, key_hash(id)), count[id]);

    /* Exact counts: the report is exactly the true top 10, in order. */
    uint32_t top[TOPN_REPORT + 1];
    true_top(count, n, top);
    struct topn_item out[TOPN_REPORT];
    assert_int_equal(topn_report(t, out), TOPN_REPORT);
    for (size_t i = 0; i < TOPN_REPORT; i++) {
        assert_int_equal(text_id(&out[i]), top[i]);
        assert_int_equal(out[i].estimate, count[top[i]]);
    }

    /* One more distinct key forces the first purge. */
    add_id(t, n, 1);
    assert_true(t->offset > 0);
    assert_true(t->active <= TOPN_MAX_ACTIVE / 2 + 1);
    uint64_t *count2 = calloc(n + 1, sizeof(*count2));
    memcpy(count2, count, n * sizeof(*count));
    count2[n] = 1;
    check_bounds(t, count2, n + 1);
    check_top10(t, count2, n + 1);
    free(count2);
    free(count);
    free(t);
}

static void run_zipf(uint32_t keys, double s, uint64_t seed)
{
    struct zipf z;
    zipf_init(&z, keys, s);
    struct topn *t = new_topn();
    uint64_t *count = calloc(keys, sizeof(*count));
    uint64_t rng = seed;
    for (uint32_t i = 0; i < 1000000; i++) {
        uint32_t id = scatter(zipf_draw(&z, &rng), keys);
        add_id(t, id, 1);
        count[id]++;
    }
    assert_int_equal(t->total_weight, 1000000);
    assert_true(t->offset > 0);
    check_bounds(t, count, keys);
    check_top10(t, count, keys);
    free(count);
    free(t);
    free(z.cdf);
}

static void test_zipf_1m_keys(void **state)
{
    (void)state;
    run_zipf(1000000, 1.1, 42);
}

static void test_zipf_100k_keys(void **state)
{
    (void)state;
    run_zipf(100000, 1.1, 7);
}

static void test_uniform(void **state)
{
    (void)state;
    const uint32_t keys = 100000;
    struct topn *t = new_topn();
    uint64_t *count = calloc(keys, sizeof(*count));
    uint64_t rng = 99;
    for (uint32_t i = 0; i < 1000000; i++) {
        uint32_t id = (uint32_t)(rng_next(&rng) % keys);
        add_id(t, id, 1);
        count[id]++;
    }
    assert_true(t->offset > 0);
    check_bounds(t, count, keys);
    struct topn_item out[TOPN_REPORT];
    assert_int_equal(topn_report(t, out), TOPN_REPORT);
    free(count);
    free(t);
}

static void test_merge(void **state)
{
    (void)state;
    const uint32_t keys = 200000;
    struct zipf z;
    zipf_init(&z, keys, 1.1);
    struct topn *a = new_topn(), *b = new_topn(), *all = new_topn();
    uint64_t *count = calloc(keys, sizeof(*count));
    uint64_t rng = 2024;
    for (uint32_t i = 0; i < 1000000; i++) {
        uint32_t id = scatter(zipf_draw(&z, &rng), keys);
        /* Two halves with different orders of arrival. */
        add_id(i < 500000 ? a : b, id, 1);
        add_id(all, id, 1);
        count[id]++;
    }
    topn_merge(a, b);
    assert_int_equal(a->total_weight, 1000000);
    check_bounds(a, count, keys);
    check_top10(a, count, keys);
    check_bounds(all, count, keys);
    check_top10(all, count, keys);

    /* The merged report matches the concatenated stream's report. */
    struct topn_item ra[TOPN_REPORT], rall[TOPN_REPORT];
    assert_int_equal(topn_report(a, ra), topn_report(all, rall));
    for (size_t i = 0; i < TOPN_REPORT; i++) {
        uint32_t id = text_id(&ra[i]);
        uint64_t e = topn_estimate(all, key_hash(id));
        assert_true(e > 0);
        /* Both are upper bounds within their own offsets of the count. */
        assert_true(ra[i].estimate <= count[id] + a->offset);
        assert_true(e <= count[id] + all->offset);
    }
    free(count);
    free(a);
    free(b);
    free(all);
    free(z.cdf);
}

static void test_merge_exact_and_self(void **state)
{
    (void)state;
    const uint32_t n = 5000;
    struct topn *a = new_topn(), *b = new_topn();
    uint64_t *count = calloc(n, sizeof(*count));
    uint64_t rng = 5;
    /* Overlapping ranges, 5000 distinct in the union: stays exact.  Every
     * 50th event goes to one of 30 heavy ids (some in the overlap), so the
     * union's top 10 is heavy in at least one input, where its text is. */
    for (uint32_t i = 0; i < 60000; i++) {
        bool to_b = i & 1;
        uint32_t id;
        if (i % 50 < 2)
            id = 1000 + 131 * (uint32_t)(rng_next(&rng) % 30);
        else
            id = (uint32_t)(rng_next(&rng) % 3000) + (to_b ? 2000 : 0);
        if (id < 2000)
            to_b = false;
        else if (id >= 3000)
            to_b = true;
        uint64_t w = 1 + (rng_next(&rng) % 97);
        add_id(to_b ? b : a, id, w);
        count[id] += w;
    }
    topn_merge(a, b);
    assert_int_equal(a->offset, 0);
    for (uint32_t id = 0; id < n; id++)
        assert_int_equal(topn_estimate(a, key_hash(id)), count[id]);
    check_top10(a, count, n);

    /* Merging a sketch with itself doubles every estimate. */
    uint64_t before = topn_estimate(a, key_hash(2500));
    topn_merge(a, a);
    assert_int_equal(topn_estimate(a, key_hash(2500)), 2 * before);
    for (uint32_t id = 0; id < n; id++)
        count[id] *= 2;
    check_bounds(a, count, n);
    check_top10(a, count, n);

    /* Merging into an empty sketch copies texts along. */
    struct topn *e = new_topn();
    topn_merge(e, a);
    check_top10(e, count, n);
    free(e);
    free(count);
    free(a);
    free(b);
}

/* An item whose text only dst held may be pushed out of dst's text table
 * mid-merge by src's items and come back when its src count lands: its
 * text must survive. */
static void test_merge_text_recovery(void **state)
{
    (void)state;
    const uint32_t n = 400;
    struct topn *a = new_topn(), *b = new_topn();
    uint64_t *count = calloc(n, sizeof(*count));
    add_id(a, 1, 850);
    count[1] += 850;
    for (uint32_t id = 100; id < 163; id++) {
        add_id(a, id, 500);
        count[id] += 500;
    }
    for (uint32_t id = 200; id < 400; id++) {
        add_id(b, id, 700 + id);
        count[id] += 700 + id;
    }
    add_id(b, 1, 800); /* below b's text threshold: b holds no text for 1 */
    count[1] += 800;
    topn_merge(a, b);
    struct topn_item out[TOPN_REPORT];
    assert_int_equal(topn_report(a, out), TOPN_REPORT);
    assert_int_equal(text_id(&out[0]), 1);
    assert_int_equal(out[0].estimate, 1650);
    check_top10(a, count, n);
    free(count);
    free(a);
    free(b);
}

static void test_text_contract(void **state)
{
    (void)state;
    struct topn *t = new_topn();
    /* A new item is reportable while the text table has room. */
    assert_true(topn_add(t, 1001, 5));
    /* Not supplied yet: still asks. */
    assert_true(topn_add(t, 1001, 1));
    topn_set_text(t, 1001, "a", 1);
    assert_false(topn_add(t, 1001, 1));

    /* Fill the text table with heavier items; each asks once. */
    for (uint64_t h = 1; h <= TOPN_TEXT_SLOTS; h++) {
        assert_true(topn_add(t, 5000 + h, 100 + h));
        topn_set_text(t, 5000 + h, "x", 1);
    }
    /* 1001 (estimate 7) was evicted by the 64th heavy item. */
    struct topn_item out[TOPN_REPORT];
    assert_int_equal(topn_report(t, out), TOPN_REPORT);
    assert_int_equal(out[0].estimate, 100 + TOPN_TEXT_SLOTS);
    assert_int_equal(topn_estimate(t, 1001), 7);
    /* Below the smallest text estimate: not reportable, no text asked. */
    assert_false(topn_add(t, 1001, 1));
    /* Growing past it makes it reportable again. */
    assert_true(topn_add(t, 1001, 1000));
    topn_set_text(t, 1001, "a", 1);
    assert_int_equal(topn_report(t, out), TOPN_REPORT);
    assert_int_equal(out[0].estimate, 1008);
    assert_int_equal(out[0].len, 1);
    assert_memory_equal(out[0].text, "a", 1);
    /* Text for an item without a text slot is ignored. */
    topn_set_text(t, 424242, "zzz", 3);
    assert_int_equal(topn_estimate(t, 424242), 0);
    free(t);
}

static void test_ties_by_text(void **state)
{
    (void)state;
    struct topn *t = new_topn();
    const char *names[] = {"delta", "alpha", "charlie", "bravo", "alph"};
    for (size_t i = 0; i < 5; i++)
        topn_add_text(t, names[i], strlen(names[i]), 10);
    topn_add_text(t, "zulu", 4, 11);
    struct topn_item out[TOPN_REPORT];
    assert_int_equal(topn_report(t, out), 6);
    const char *want[] = {"zulu", "alph", "alpha", "bravo", "charlie", "delta"};
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(out[i].len, strlen(want[i]));
        assert_memory_equal(out[i].text, want[i], out[i].len);
    }
    free(t);
}

static void test_long_text(void **state)
{
    (void)state;
    struct topn *t = new_topn();
    char longtext[400], other[400];
    for (size_t i = 0; i < sizeof(longtext); i++)
        longtext[i] = (char)('a' + i % 26);
    memcpy(other, longtext, sizeof(other));
    other[300] = '#'; /* differs only past the limit */

    topn_add_text(t, longtext, sizeof(longtext), 3);
    topn_add_text(t, other, sizeof(other), 4);
    topn_add_text(t, longtext, TOPN_TEXT_MAX, 5);
    struct topn_item out[TOPN_REPORT];
    assert_int_equal(topn_report(t, out), 1);
    assert_int_equal(out[0].len, TOPN_TEXT_MAX);
    assert_int_equal(out[0].estimate, 12);
    assert_memory_equal(out[0].text, longtext, TOPN_TEXT_MAX);

    /* topn_set_text truncates as well; exactly 255 bytes is kept whole. */
    assert_true(topn_add(t, 77, 1));
    topn_set_text(t, 77, other, sizeof(other));
    assert_true(topn_add(t, 78, 1));
    topn_set_text(t, 78, other, TOPN_TEXT_MAX - 1);
    /* Equal estimates: the shorter text, a prefix of the other, first. */
    assert_int_equal(topn_report(t, out), 3);
    assert_int_equal(out[1].len, TOPN_TEXT_MAX - 1);
    assert_int_equal(out[2].len, TOPN_TEXT_MAX);
    assert_memory_equal(out[2].text, other, TOPN_TEXT_MAX);
    free(t);
}

static void test_hash_zero(void **state)
{
    (void)state;
    struct topn *t = new_topn();
    assert_true(topn_add(t, 0, 5));
    topn_set_text(t, 0, "zero", 4);
    assert_int_equal(topn_estimate(t, 0), 5);
    assert_int_equal(topn_estimate(t, 1), 0);
    /* Many neighbours around slot 0 must not disturb it. */
    for (uint64_t h = 1; h < 5000; h++)
        topn_add(t, h * TOPN_SLOTS, 1);
    assert_int_equal(topn_estimate(t, 0), 5);
    assert_false(topn_add(t, 0, 5));
    assert_int_equal(topn_estimate(t, 0), 10);
    struct topn_item out[TOPN_REPORT];
    assert_true(topn_report(t, out) >= 1);
    assert_int_equal(out[0].estimate, 10);
    assert_memory_equal(out[0].text, "zero", 4);
    free(t);
}

/* Weight 0 counts nothing; a count stops at its field's maximum without
 * spilling into the text bits beside it; the stream length saturates. */
static void test_saturation(void **state)
{
    (void)state;
    const uint64_t cmax = (UINT64_C(1) << 56) - 1;
    struct topn *t = new_topn();
    assert_false(topn_add(t, 42, 0));
    assert_int_equal(t->active, 0);
    assert_int_equal(t->total_weight, 0);
    assert_true(topn_add(t, 42, cmax - 1));
    topn_set_text(t, 42, "big", 3);
    assert_false(topn_add(t, 42, 1));
    assert_int_equal(topn_estimate(t, 42), cmax);
    assert_false(topn_add(t, 42, 1));
    assert_int_equal(topn_estimate(t, 42), cmax);
    assert_false(topn_add(t, 42, UINT64_MAX));
    assert_int_equal(topn_estimate(t, 42), cmax);
    assert_int_equal(t->total_weight, UINT64_MAX);
    check_structure(t);
    struct topn_item out[TOPN_REPORT];
    assert_int_equal(topn_report(t, out), 1);
    assert_int_equal(out[0].estimate, cmax);
    assert_memory_equal(out[0].text, "big", 3);
    free(t);
}

/* Adversarial order: many light keys between purges, heavy keys rare. */
static void test_purge_stress(void **state)
{
    (void)state;
    const uint32_t keys = 300000;
    struct topn *t = new_topn();
    uint64_t *count = calloc(keys, sizeof(*count));
    uint64_t rng = 3;
    for (uint32_t i = 0; i < 600000; i++) {
        uint32_t id = i % 20 == 0 ? (uint32_t)(rng_next(&rng) % 12)
                                  : 12 + (uint32_t)(rng_next(&rng) % (keys - 12));
        uint64_t w = 1 + rng_next(&rng) % 3;
        add_id(t, id, w);
        count[id] += w;
    }
    assert_true(t->active <= TOPN_MAX_ACTIVE);
    check_bounds(t, count, keys);
    check_top10(t, count, keys);
    free(count);
    free(t);
}

/* Keys whose homes come in pairs over a run of slots that wraps past the
 * end of the map (below 2^29 a key's home is its low 13 bits): one long
 * probe cluster for a purge to re-pack. */
static uint64_t clustered_key(uint32_t i)
{
    return (uint64_t)((6000 + i / 2) & (TOPN_SLOTS - 1)) | ((uint64_t)(i + 1) << 13);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Fill the map with clustered keys of weight w[i], then purge by adding
 * one more key: every outcome is known from the weights. */
static void check_one_purge(const uint64_t *w)
{
    const uint32_t n = TOPN_MAX_ACTIVE;
    struct topn *t = new_topn();
    for (uint32_t i = 0; i < n; i++) {
        if (topn_add(t, clustered_key(i), w[i]))
            topn_set_text(t, clustered_key(i), "k", 1);
    }
    assert_int_equal(t->active, n);
    assert_int_equal(t->offset, 0);
    check_structure(t);

    /* The median is the (active / 2)-th smallest count. */
    uint64_t *sorted = malloc(n * sizeof(*sorted));
    assert_non_null(sorted);
    memcpy(sorted, w, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_u64);
    uint64_t m = sorted[n / 2];
    free(sorted);

    uint64_t fresh = clustered_key(n);
    topn_add(t, fresh, 1);
    assert_int_equal(t->offset, m);
    check_structure(t);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t est = topn_estimate(t, clustered_key(i));
        if (w[i] > m) {
            assert_int_equal(est, w[i]);
            kept++;
        } else {
            assert_int_equal(est, 0);
        }
    }
    assert_int_equal(topn_estimate(t, fresh), m + 1);
    assert_int_equal(t->active, kept + 1);
    free(t);
}

/* A purge keeps exactly the counts above the median, re-packed so that
 * every key is still found, also in a cluster wrapping the map's end;
 * text slots of dropped keys are freed. */
static void test_purge_exact(void **state)
{
    (void)state;
    uint64_t *w = malloc(TOPN_MAX_ACTIVE * sizeof(*w));
    assert_non_null(w);
    uint64_t rng = 9;
    /* A median above 255 (the radix selection). */
    for (uint32_t i = 0; i < TOPN_MAX_ACTIVE; i++)
        w[i] = 1 + rng_next(&rng) % 1000;
    check_one_purge(w);
    /* Small counts with many ties at the median. */
    for (uint32_t i = 0; i < TOPN_MAX_ACTIVE; i++)
        w[i] = 1 + rng_next(&rng) % 4;
    check_one_purge(w);
    /* Equal counts: everything drops, the texts too. */
    for (uint32_t i = 0; i < TOPN_MAX_ACTIVE; i++)
        w[i] = 3;
    check_one_purge(w);
    free(w);
}

/* topn_count is topn_add with weight 1 (no saturation to differ on at
 * these counts): fed the same stream, with purges, texts supplied when
 * asked and a hash of 0, both sketches are the same bytes. */
static void test_count_is_add_one(void **state)
{
    (void)state;
    struct topn *a = new_topn(), *b = new_topn();
    struct zipf z;
    zipf_init(&z, 50000, 0.9);
    uint64_t rng = 11;
    for (uint32_t i = 0; i < 400000; i++) {
        uint32_t id = scatter(zipf_draw(&z, &rng), 50000);
        uint64_t h = i % 1000 == 0 ? 0 : key_hash(id);
        char buf[64];
        size_t n = key_text(id, buf, sizeof(buf));
        bool want_a = topn_count(a, h);
        bool want_b = topn_add(b, h, 1);
        assert_int_equal(want_a, want_b);
        if (want_a) {
            topn_set_text(a, h, buf, n);
            topn_set_text(b, h, buf, n);
        }
    }
    assert_true(a->offset > 0); /* purges happened */
    assert_memory_equal(a, b, sizeof(*a));
    check_structure(a);
    free(z.cdf);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_exact_below_capacity),
        cmocka_unit_test(test_zipf_1m_keys),
        cmocka_unit_test(test_zipf_100k_keys),
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_merge_exact_and_self),
        cmocka_unit_test(test_merge_text_recovery),
        cmocka_unit_test(test_text_contract),
        cmocka_unit_test(test_ties_by_text),
        cmocka_unit_test(test_long_text),
        cmocka_unit_test(test_hash_zero),
        cmocka_unit_test(test_saturation),
        cmocka_unit_test(test_purge_stress),
        cmocka_unit_test(test_purge_exact),
        cmocka_unit_test(test_count_is_add_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
