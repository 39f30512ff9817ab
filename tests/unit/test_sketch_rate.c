/*
 * test_sketch_rate.c - per-second rates on the packet clock.
 *
 * Expected per-second samples are written out by hand for the short cases
 * and produced by a naive per-second tally for the random one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sketch_rate.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static struct rate *new_rate(void)
{
    struct rate *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    return r;
}

/* The rate's samples must be exactly `want` (n <= QUANTILE_K, so the
 * quantiles are exact with the floor(f n) rule). */
static void expect_samples(const struct rate *r, const uint64_t *want, size_t n)
{
    assert_int_equal(quantile_count(&r->q), n);
    if (n == 0)
        return;
    uint64_t sorted[QUANTILE_K], sum = 0;
    assert_true(n <= QUANTILE_K);
    memcpy(sorted, want, n * sizeof(*want));
    qsort(sorted, n, sizeof(*sorted), cmp_u64);
    for (size_t i = 0; i < n; i++)
        sum += sorted[i];
    assert_int_equal(quantile_sum(&r->q), sum);
    assert_int_equal(quantile_max(&r->q), sorted[n - 1]);
    const double fr[] = {0.0, 0.2, 0.5, 0.9, 0.95, 0.99, 1.0};
    for (size_t i = 0; i < sizeof(fr) / sizeof(fr[0]); i++) {
        size_t k = (size_t)floor(fr[i] * (double)n);
        if (k == n)
            k = n - 1;
        uint64_t v;
        assert_true(quantile_get(&r->q, fr[i], &v));
        assert_int_equal(v, sorted[k]);
    }
}

static void test_example(void **state)
{
    (void)state;
    struct rate *r = new_rate();
    rate_add(r, 10, 1);
    rate_add(r, 10, 1);
    rate_add(r, 10, 1);
    assert_int_equal(r->live, 0); /* no complete second yet */
    expect_samples(r, NULL, 0);
    rate_add(r, 11, 1);
    assert_int_equal(r->live, 3);
    rate_add(r, 13, 1);
    assert_int_equal(r->live, 0); /* second 12 was empty */
    rate_close(r, 15);
    const uint64_t want[] = {3, 1, 0, 1, 0};
    expect_samples(r, want, 5);
    uint64_t p50;
    assert_true(quantile_get(&r->q, 0.5, &p50));
    assert_int_equal(p50, 1);
    assert_int_equal(r->live, 0);

    /* Idempotent: a second close, or a late event, changes nothing. */
    rate_close(r, 15);
    rate_close(r, 20);
    rate_add(r, 16, 5);
    expect_samples(r, want, 5);
    free(r);
}

static void test_close_right_after(void **state)
{
    (void)state;
    struct rate *r = new_rate();
    rate_add(r, 13, 4);
    rate_close(r, 14); /* no empty second before the end */
    const uint64_t want[] = {4};
    expect_samples(r, want, 1);
    assert_int_equal(r->live, 4);

    /* Closing at or before the current second still ends it. */
    struct rate *s = new_rate();
    rate_add(s, 20, 2);
    rate_close(s, 20);
    const uint64_t want2[] = {2};
    expect_samples(s, want2, 1);
    free(r);
    free(s);
}

static void test_backwards_and_weights(void **state)
{
    (void)state;
    struct rate *r = new_rate();
    rate_add(r, 10, 1);
    rate_add(r, 11, 1);
    rate_add(r, 9, 1); /* late: counts in second 11 */
    rate_add(r, 11, 2);
    rate_add(r, 5, 10); /* far back: still second 11 */
    rate_add(r, 12, 0); /* a tick: advances the clock only */
    assert_int_equal(r->live, 14);
    rate_add(r, 12, 7);
    rate_close(r, 13);
    const uint64_t want[] = {1, 14, 7};
    expect_samples(r, want, 3);
    free(r);
}

static void test_start(void **state)
{
    (void)state;
    struct rate *r = new_rate();
    rate_start(r, 100);
    rate_add(r, 102, 1);
    rate_close(r, 104);
    const uint64_t want[] = {0, 0, 1, 0};
    expect_samples(r, want, 4);

    /* A bucket without events still yields one zero per second. */
    struct rate *e = new_rate();
    rate_start(e, 50);
    rate_close(e, 53);
    const uint64_t zeros[] = {0, 0, 0};
    expect_samples(e, zeros, 3);

    /* Never started: nothing to report. */
    struct rate *n = new_rate();
    rate_close(n, 10);
    expect_samples(n, NULL, 0);
    rate_add(n, 11, 1);
    expect_samples(n, NULL, 0);
    free(r);
    free(e);
    free(n);
}

static void test_gap_cap(void **state)
{
    (void)state;
    struct rate *r = new_rate();
    rate_add(r, 0, 5);
    rate_add(r, 1000000000, 2);
    assert_int_equal(quantile_count(&r->q), 1 + RATE_MAX_GAP);
    assert_int_equal(quantile_sum(&r->q), 5);
    assert_int_equal(quantile_max(&r->q), 5);
    rate_close(r, 1000000001);
    assert_int_equal(quantile_count(&r->q), 2 + RATE_MAX_GAP);
    assert_int_equal(quantile_sum(&r->q), 7);

    /* The extremes of int64 must not overflow anything. */
    struct rate *x = new_rate();
    rate_add(x, INT64_MIN, 1);
    rate_add(x, INT64_MAX, 1);
    assert_int_equal(quantile_count(&x->q), 1 + RATE_MAX_GAP);
    rate_close(x, INT64_MAX);
    assert_int_equal(quantile_count(&x->q), 2 + RATE_MAX_GAP);
    free(r);
    free(x);
}

/* A random event stream against a plain per-second tally. */
static void test_against_tally(void **state)
{
    (void)state;
    enum { START = 1000, SECONDS = 300 };
    uint64_t tally[SECONDS] = {0};
    struct rate *r = new_rate();
    uint64_t rng = 17;
    int64_t now = START; /* the stream's clock: max second seen */
    rate_start(r, START);
    for (int i = 0; i < 20000; i++) {
        rng = rng * 6364136223846793005u + 1442695040888963407u;
        uint32_t x = (uint32_t)(rng >> 33);
        int64_t sec;
        if (x % 100 < 3)
            sec = now - (int64_t)(x % 5); /* late packet */
        else if (x % 1000 < 40)
            sec = now + 1 + (int64_t)(x % 4); /* skip ahead, maybe gaps */
        else
            sec = now;
        if (sec >= START + SECONDS)
            break;
        uint64_t w = 1 + (x >> 20) % 3;
        rate_add(r, sec, w);
        if (sec > now)
            now = sec;
        tally[now - START] += w; /* late events count in the current one */
    }
    rate_close(r, START + SECONDS);
    expect_samples(r, tally, SECONDS);
    free(r);
}

static void test_merge(void **state)
{
    (void)state;
    struct rate *a = new_rate(), *b = new_rate();
    rate_add(a, 10, 3);
    rate_add(a, 11, 1);
    rate_close(a, 12);
    rate_add(b, 12, 5);
    rate_add(b, 13, 2);
    rate_close(b, 14);
    rate_merge(a, b);
    const uint64_t want[] = {3, 1, 5, 2};
    expect_samples(a, want, 4);
    assert_int_equal(a->live, 2); /* from the later rate */

    /* Merging into an empty rate copies. */
    struct rate *e = new_rate();
    rate_merge(e, a);
    expect_samples(e, want, 4);
    assert_int_equal(e->live, 2);
    free(a);
    free(b);
    free(e);
}

/* Two shares of the same seconds (a tap's workers), by hand: worker a
 * counts 1 at 10 and 2 at 12; worker b counts 4 at 11 and 1 at 12, and is
 * still counting second 12 when a has moved on to 13.  One rate fed both
 * would hold the seconds 10..12 = 1, 4, 3 and be counting 13. */
static void test_merge_parallel(void **state)
{
    (void)state;
    struct rate *a = new_rate(), *b = new_rate();
    rate_start(a, 10);
    rate_add(a, 10, 1);
    rate_add(a, 12, 2);
    rate_add(a, 13, 5);
    rate_start(b, 10);
    rate_add(b, 11, 4);
    rate_add(b, 12, 1);
    rate_merge_parallel(a, b);
    const uint64_t want[] = {1, 4, 3};
    expect_samples(a, want, 3);
    assert_int_equal(a->live, 3);
    assert_int_equal(a->cur_sec, 13);
    assert_int_equal(a->cur_count, 5);

    /* Both closed at the minute's end: every second summed, zeros too. */
    struct rate *c = new_rate(), *d = new_rate();
    rate_start(c, 60);
    rate_add(c, 61, 2);
    rate_close(c, 64);
    rate_start(d, 60);
    rate_add(d, 60, 1);
    rate_add(d, 63, 7);
    rate_close(d, 64);
    rate_merge_parallel(c, d);
    const uint64_t want2[] = {1, 2, 0, 7};
    expect_samples(c, want2, 4);

    /* An idle share changes nothing; into an idle one it copies. */
    struct rate *e = new_rate(), *f = new_rate();
    rate_merge_parallel(c, e);
    expect_samples(c, want2, 4);
    rate_merge_parallel(f, c);
    expect_samples(f, want2, 4);
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
    free(f);
}

/* Random events over a minute spread over three shares: merged, they must
 * give the samples of one rate that counted them all. */
static void test_merge_parallel_random(void **state)
{
    (void)state;
    srand(7);
    for (int round = 0; round < 50; round++) {
        struct rate *all = new_rate(), *w[3] = {new_rate(), new_rate(), new_rate()};
        int64_t t0 = 1000 + round * 60, t = t0;
        rate_start(all, t0);
        for (int k = 0; k < 3; k++)
            rate_start(w[k], t0);
        for (int i = 0; i < 400; i++) {
            t += rand() % 4 == 0; /* several events per second, some gaps */
            if (t >= t0 + 60)
                break;
            int k = rand() % 3;
            uint64_t n = (uint64_t)(rand() % 5);
            rate_add(all, t, n);
            rate_add(w[k], t, n);
        }
        bool closed = round % 2 == 0;
        if (closed) {
            rate_close(all, t0 + 60);
            for (int k = 0; k < 3; k++)
                rate_close(w[k], t0 + 60);
        }
        rate_merge_parallel(w[0], w[1]);
        rate_merge_parallel(w[0], w[2]);
        assert_int_equal(quantile_count(&w[0]->q), quantile_count(&all->q));
        assert_int_equal(quantile_sum(&w[0]->q), quantile_sum(&all->q));
        assert_int_equal(w[0]->live, all->live);
        if (!closed) {
            assert_int_equal(w[0]->cur_sec, all->cur_sec);
            assert_int_equal(w[0]->cur_count, all->cur_count);
        }
        const double fr[] = {0.0, 0.5, 0.9, 0.95, 0.99, 1.0};
        for (size_t i = 0; i < sizeof(fr) / sizeof(fr[0]); i++) {
            uint64_t x = 0, y = 0;
            bool hx = quantile_get(&w[0]->q, fr[i], &x), hy = quantile_get(&all->q, fr[i], &y);
            assert_int_equal(hx, hy);
            assert_int_equal(x, y);
        }
        free(all);
        for (int k = 0; k < 3; k++)
            free(w[k]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example),
        cmocka_unit_test(test_close_right_after),
        cmocka_unit_test(test_backwards_and_weights),
        cmocka_unit_test(test_start),
        cmocka_unit_test(test_gap_cap),
        cmocka_unit_test(test_against_tally),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_merge_parallel),
        cmocka_unit_test(test_merge_parallel_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
