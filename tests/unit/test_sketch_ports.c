/*
 * test_sketch_ports.c - exact port counts reported as a top-N.
 *
 * Expectations are written out by hand or computed here by a plain
 * reference: counts tallied in an array, every port seen sorted with qsort
 * by count descending and strcmp of its decimal text (the report's rule).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sketch_ports.h"

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static struct ports *new_ports(void)
{
    struct ports *t = calloc(1, sizeof(*t)); /* all-zero is empty */
    assert_non_null(t);
    return t;
}

static void check_item(const struct topn_item *it, const char *text, uint64_t est)
{
    char buf[PORTS_TEXT_MAX + 1];
    assert_true(it->len < sizeof(buf));
    memcpy(buf, it->text, it->len);
    buf[it->len] = '\0';
    assert_string_equal(buf, text);
    assert_int_equal(it->estimate, est);
}

/* The report is exactly these n texts with these counts, in order. */
static void check_report(const struct ports *t, size_t n, const char *const *want,
                         const uint64_t *est)
{
    struct topn_item it[TOPN_REPORT];
    char text[TOPN_REPORT][PORTS_TEXT_MAX];
    assert_int_equal(ports_report(t, it, text), n);
    for (size_t i = 0; i < n; i++)
        check_item(&it[i], want[i], est[i]);
}

static void test_empty(void **state)
{
    (void)state;
    struct ports *t = new_ports();
    check_report(t, 0, NULL, NULL);
    free(t);
}

/* Ties go by text, as strings: "5" < "50" < "53" < "530". */
static void test_order_by_hand(void **state)
{
    (void)state;
    struct ports *t = new_ports();
    static const struct {
        uint16_t port;
        int times;
    } adds[] = {{530, 2}, {65535, 1}, {53, 3}, {50, 2}, {0, 1}, {5, 2}};
    for (size_t i = 0; i < sizeof(adds) / sizeof(adds[0]); i++)
        for (int k = 0; k < adds[i].times; k++)
            ports_add(t, adds[i].port);
    static const char *want[] = {"53", "5", "50", "530", "0", "65535"};
    static const uint64_t est[] = {3, 2, 2, 2, 1, 1};
    check_report(t, 6, want, est);
    free(t);
}

/* The ten in ten groups of 256 ports, the tenth tied with a port of the
 * first group: every group that holds one must be read. */
static void test_spread_groups(void **state)
{
    (void)state;
    struct ports *t = new_ports();
    for (uint32_t g = 0; g < 10; g++)
        for (uint32_t k = 0; k < 10 - g; k++)
            ports_add(t, (uint16_t)(257 * g));
    ports_add(t, 1);
    static const char *want[TOPN_REPORT] = {"0",    "257",  "514",  "771",  "1028",
                                            "1285", "1542", "1799", "2056", "1"};
    static const uint64_t est[TOPN_REPORT] = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
    check_report(t, TOPN_REPORT, want, est);
    free(t);
}

/* Every port once: the ten smallest texts win. */
static void test_all_tied(void **state)
{
    (void)state;
    struct ports *t = new_ports();
    for (uint32_t p = PORTS_N; p-- > 0;)
        ports_add(t, (uint16_t)p);
    static const char *want[TOPN_REPORT] = {"0",     "1",     "10",    "100",   "1000",
                                            "10000", "10001", "10002", "10003", "10004"};
    static const uint64_t est[TOPN_REPORT] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    check_report(t, TOPN_REPORT, want, est);
    free(t);
}

struct ref_item {
    uint64_t count;
    char text[8];
};

static int ref_cmp(const void *a, const void *b)
{
    const struct ref_item *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->text, y->text);
}

/* Each group's maximum is its largest count, exactly. */
static void check_groups(const struct ports *t)
{
    for (uint32_t g = 0; g < PORTS_N / PORTS_GROUP; g++) {
        uint64_t m = 0;
        for (uint32_t p = g * PORTS_GROUP; p < (g + 1) * PORTS_GROUP; p++)
            m = t->count[p] > m ? t->count[p] : m;
        assert_int_equal(t->group_max[g], m);
    }
}

/* The report against the reference over a tally of the same stream. */
static void check_against(const struct ports *t, const uint64_t *tally)
{
    check_groups(t);
    for (uint32_t p = 0; p < PORTS_N; p++)
        assert_int_equal(t->count[p], tally[p]);
    struct ref_item *ref = calloc(PORTS_N, sizeof(*ref));
    assert_non_null(ref);
    size_t n = 0;
    for (uint32_t p = 0; p < PORTS_N; p++) {
        if (tally[p] == 0)
            continue;
        ref[n].count = tally[p];
        snprintf(ref[n].text, sizeof(ref[n].text), "%u", p);
        n++;
    }
    qsort(ref, n, sizeof(*ref), ref_cmp);
    struct topn_item it[TOPN_REPORT];
    char text[TOPN_REPORT][PORTS_TEXT_MAX];
    size_t got = ports_report(t, it, text);
    assert_int_equal(got, n < TOPN_REPORT ? n : TOPN_REPORT);
    for (size_t i = 0; i < got; i++)
        check_item(&it[i], ref[i].text, ref[i].count);
    free(ref);
}

/* A skewed stream: a few heavy ports, many light ones, many ties. */
static void add_stream(struct ports *t, uint64_t *tally, uint64_t seed, int n)
{
    for (int i = 0; i < n; i++) {
        uint64_t r = rng_next(&seed);
        uint16_t p = (r & 7) == 0 ? (uint16_t)((r >> 8) % 40) : (uint16_t)(r >> 16);
        ports_add(t, p);
        tally[p]++;
    }
}

static void test_random_streams(void **state)
{
    (void)state;
    uint64_t *tally = calloc(PORTS_N, sizeof(*tally));
    assert_non_null(tally);
    for (int n = 1; n <= 1000000; n *= 10) {
        struct ports *t = new_ports();
        memset(tally, 0, PORTS_N * sizeof(*tally));
        add_stream(t, tally, (uint64_t)n, n);
        check_against(t, tally);
        free(t);
    }
    free(tally);
}

static void test_merge(void **state)
{
    (void)state;
    uint64_t *tally = calloc(PORTS_N, sizeof(*tally));
    assert_non_null(tally);
    struct ports *a = new_ports(), *b = new_ports();
    add_stream(a, tally, 1, 300000);
    add_stream(b, tally, 2, 200000);
    ports_merge(a, b);
    check_against(a, tally);
    /* Into itself: every count doubles, the order stays. */
    ports_merge(a, a);
    for (uint32_t p = 0; p < PORTS_N; p++)
        tally[p] *= 2;
    check_against(a, tally);
    free(a);
    free(b);
    free(tally);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),          cmocka_unit_test(test_order_by_hand),
        cmocka_unit_test(test_all_tied),       cmocka_unit_test(test_spread_groups),
        cmocka_unit_test(test_random_streams), cmocka_unit_test(test_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
