/*
 * test_sketch_card.c - distinct counting: exact mode, HLL accuracy, merges,
 * and the statistical quality of hash64 that the HLL relies on.
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
#include "sketch_card.h"

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Keys as the handlers see them: 8 bytes of an id run through hash64, so
 * the test also exercises the hash on structured (sequential) input. */
static uint64_t key(uint64_t seed, uint64_t id)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(id >> (8 * i));
    return hash64(b, sizeof(b), HASH_SEED + seed);
}

static struct card *new_card(void)
{
    struct card *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    return c;
}

static void test_hash_alignment_and_lengths(void **state)
{
    (void)state;
    uint8_t buf[512 + 16];
    uint8_t copy[512 + 16];
    uint64_t rng = 11;
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)rng_next(&rng);

    /* The same bytes at every alignment hash the same. */
    for (size_t len = 0; len <= 512; len++) {
        uint64_t h = hash64(buf, len, HASH_SEED);
        for (size_t off = 1; off < 16; off++) {
            memcpy(copy + off, buf, len);
            assert_int_equal(hash64(copy + off, len, HASH_SEED), h);
        }
    }

    /* Prefixes of one buffer (every length, every path) all differ, and
     * each depends on the seed. */
    uint64_t seen[513];
    for (size_t len = 0; len <= 512; len++) {
        seen[len] = hash64(buf, len, HASH_SEED);
        assert_int_not_equal(seen[len], hash64(buf, len, HASH_SEED + 1));
        for (size_t j = 0; j < len; j++)
            assert_int_not_equal(seen[j], seen[len]);
    }

    /* Zero bytes of different lengths differ too. */
    uint8_t zeros[64] = {0};
    for (size_t a = 0; a < 64; a++)
        for (size_t b = a + 1; b < 64; b++)
            assert_int_not_equal(hash64(zeros, a, HASH_SEED), hash64(zeros, b, HASH_SEED));
}

/* Flipping any input bit flips each output bit about half the time. */
static void avalanche(size_t len)
{
    enum { TRIALS = 2000 };
    uint64_t rng = 1000 + len;
    uint8_t in[64];
    static uint32_t flips[64 * 8][64];
    memset(flips, 0, sizeof(flips));
    for (int t = 0; t < TRIALS; t++) {
        for (size_t i = 0; i < len; i++)
            in[i] = (uint8_t)rng_next(&rng);
        uint64_t h = hash64(in, len, HASH_SEED);
        for (size_t bit = 0; bit < len * 8; bit++) {
            in[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            uint64_t d = h ^ hash64(in, len, HASH_SEED);
            in[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            for (int o = 0; o < 64; o++)
                flips[bit][o] += (d >> o) & 1;
        }
    }
    /* 2000 trials: sd of the ratio is 1.1%, so +-0.08 is > 7 sd.  Inputs
     * under 4 bytes have at most 2^23 flip pairs per bit, and one byte
     * only 128: sd 4.4%, so allow +-0.2 (4.5 sd) there. */
    double tol = len >= 4 ? 0.08 : 0.2;
    for (size_t bit = 0; bit < len * 8; bit++) {
        for (int o = 0; o < 64; o++) {
            double p = flips[bit][o] / (double)TRIALS;
            if (p < 0.5 - tol || p > 0.5 + tol)
                fail_msg("len %zu input bit %zu output bit %d flips %.3f", len, bit, o, p);
        }
    }
}

static void test_hash_avalanche(void **state)
{
    (void)state;
    size_t lens[] = {1, 3, 4, 8, 13, 16, 17, 40, 64};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
        avalanche(lens[i]);
}

static void test_size(void **state)
{
    (void)state;
    assert_true(sizeof(struct card) <= 8192);
}

static void test_empty(void **state)
{
    (void)state;
    struct card *c = new_card();
    assert_int_equal(card_estimate(c), 0);
    struct card *d = new_card();
    card_merge(c, d);
    assert_int_equal(card_estimate(c), 0);
    card_init(c);
    card_add(c, 0); /* hash 0 is an ordinary value */
    assert_int_equal(card_estimate(c), 1);
    free(c);
    free(d);
}

/* Every count up to CARD_EXACT_MAX is exact, with repeats in between. */
static void test_exact(void **state)
{
    (void)state;
    struct card *c = new_card();
    uint64_t rng = 5;
    for (uint64_t n = 1; n <= CARD_EXACT_MAX; n++) {
        card_add(c, key(0, n));
        /* Repeat an earlier key: no change. */
        card_add(c, key(0, 1 + rng_next(&rng) % n));
        assert_int_equal(c->dense, 0);
        assert_int_equal(card_estimate(c), n);
    }
    /* One more distinct key switches to the HLL. */
    card_add(c, key(0, CARD_EXACT_MAX + 1));
    assert_int_equal(c->dense, 1);
    double e = (double)card_estimate(c);
    assert_true(fabs(e / (CARD_EXACT_MAX + 1) - 1.0) < 0.06);
    free(c);
}

/* Exact mode searches near where a uniform hash should rank, and the
 * whole array when that guess misses: hashes far from uniform (clustered
 * at both ends, runs of neighbours) must still be found and kept sorted. */
static void test_exact_skewed(void **state)
{
    (void)state;
    struct card *c = new_card();
    uint64_t rng = 9;
    for (uint64_t n = 1; n <= CARD_EXACT_MAX; n++) {
        uint64_t h;
        switch (n % 4) {
        case 0:
            h = n; /* clustered near 0 */
            break;
        case 1:
            h = UINT64_MAX - n; /* clustered near the top */
            break;
        case 2:
            h = (UINT64_C(1) << 63) + n; /* a run in the middle */
            break;
        default:
            h = key(1, n);
        }
        card_add(c, h);
        assert_int_equal(c->n, n);
        /* Every held hash is found again (no change), in order. */
        for (uint32_t i = 0; i < c->n; i += 1 + (uint32_t)(rng_next(&rng) % 7)) {
            card_add(c, c->u.hashes[i]);
            assert_int_equal(c->n, n);
        }
        for (uint32_t i = 1; i < c->n; i++)
            assert_true(c->u.hashes[i - 1] < c->u.hashes[i]);
    }
    assert_int_equal(c->dense, 0);
    assert_int_equal(card_estimate(c), CARD_EXACT_MAX);
    free(c);
}

/* Mean absolute relative error over seeds within 2%, each run within 6%. */
static void test_accuracy(void **state)
{
    (void)state;
    const uint64_t ns[] = {1000, 1500, 3000, 10000, 100000, 1000000};
    enum { SEEDS = 32 };
    struct card *c = new_card();
    for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
        double sum_abs = 0, worst = 0;
        for (uint64_t seed = 1; seed <= SEEDS; seed++) {
            card_init(c);
            for (uint64_t i = 0; i < ns[k]; i++)
                card_add(c, key(seed * 7919, i));
            double err = (double)card_estimate(c) / (double)ns[k] - 1.0;
            sum_abs += fabs(err);
            if (fabs(err) > worst)
                worst = fabs(err);
        }
        double mean = sum_abs / SEEDS;
        print_message("card n=%llu mean |err| %.3f%% max %.3f%%\n", (unsigned long long)ns[k],
                      100 * mean, 100 * worst);
        assert_true(mean <= 0.02);
        assert_true(worst <= 0.06);
        if (ns[k] <= CARD_EXACT_MAX)
            assert_true(worst == 0.0);
    }
    free(c);
}

/* Sketch of keys [lo, hi). */
static void fill(struct card *c, uint64_t lo, uint64_t hi)
{
    for (uint64_t i = lo; i < hi; i++)
        card_add(c, key(3, i));
}

static void check_union(uint64_t alo, uint64_t ahi, uint64_t blo, uint64_t bhi)
{
    struct card *a = new_card(), *b = new_card(), *u = new_card();
    fill(a, alo, ahi);
    fill(b, blo, bhi);
    fill(u, alo, ahi);
    fill(u, blo, bhi);
    card_merge(a, b);
    uint64_t lo = alo < blo ? alo : blo, hi = ahi > bhi ? ahi : bhi;
    uint64_t truth = hi - lo; /* ranges overlap or touch in these cases */
    if (!u->dense) {
        /* Both fit: the merge is the exact union. */
        assert_int_equal(a->dense, 0);
        assert_int_equal(card_estimate(a), truth);
        assert_memory_equal(a->u.hashes, u->u.hashes, truth * sizeof(uint64_t));
    } else {
        /* Register-wise max equals the sketch of the union stream. */
        assert_int_equal(a->dense, 1);
        assert_memory_equal(a->u.regs, u->u.regs, CARD_HLL_M);
        double e = (double)card_estimate(a);
        assert_true(fabs(e / (double)truth - 1.0) < 0.06);
    }
    free(a);
    free(b);
    free(u);
}

static void test_merge(void **state)
{
    (void)state;
    check_union(0, 300, 200, 700);        /* exact + exact, fits */
    check_union(0, 1000, 0, 1000);        /* identical full sets */
    check_union(0, 600, 500, 1100);       /* exact + exact, overflows */
    check_union(0, 800, 700, 50000);      /* exact + dense */
    check_union(0, 50000, 49000, 49500);  /* dense + exact */
    check_union(0, 60000, 30000, 200000); /* dense + dense */

    /* Merging with itself changes nothing. */
    struct card *a = new_card();
    fill(a, 0, 500);
    card_merge(a, a);
    assert_int_equal(card_estimate(a), 500);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_alignment_and_lengths),
        cmocka_unit_test(test_hash_avalanche),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_exact),
        cmocka_unit_test(test_exact_skewed),
        cmocka_unit_test(test_accuracy),
        cmocka_unit_test(test_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
