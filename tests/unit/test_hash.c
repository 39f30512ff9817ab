/*
 * test_hash.c - hash_suffixes(), the one-pass hash of a name and its
 * qname2/qname3 cuts: a suffix's hash depends on its bytes only (not on
 * the longer string it was cut from, nor on alignment), distinct keys do
 * not collide, single-bit changes avalanche, and the cardinality sketch
 * fed with it stays within its stated error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hash.h"
#include "sketch_card.h"

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static uint64_t one(const void *p, size_t len)
{
    size_t cut = 0;
    uint64_t h;
    hash_suffixes(p, len, &cut, 1, &h);
    return h;
}

static void test_suffix_alone(void **state)
{
    (void)state;
    uint64_t rng = 0x2545f4914f6cdd1du;
    uint8_t buf[320 + 16];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = next(&rng) % 300;
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)next(&rng);
        size_t cut[3];
        for (int k = 0; k < 3; k++)
            cut[k] = len ? next(&rng) % (len + 1) : 0;
        /* ascending */
        for (int a = 0; a < 3; a++)
            for (int b = a + 1; b < 3; b++)
                if (cut[b] < cut[a]) {
                    size_t t = cut[a];
                    cut[a] = cut[b];
                    cut[b] = t;
                }
        uint64_t out[3];
        hash_suffixes(buf, len, cut, 3, out);
        for (int k = 0; k < 3; k++) {
            /* The suffix alone, copied to another alignment. */
            uint8_t *copy = malloc(len - cut[k] + 1 + (size_t)k);
            assert_non_null(copy);
            memcpy(copy + k, buf + cut[k], len - cut[k]);
            assert_true(out[k] == one(copy + k, len - cut[k]));
            free(copy);
        }
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Names as the dns handler hashes them: label bytes with a length octet
 * for each '.'. */
static size_t key_of(char *out, unsigned i)
{
    char text[64];
    int n = snprintf(text, sizeof(text), "h%u.zone%03u.com", i, i % 300);
    size_t seg = 0;
    for (int k = n - 1; k >= 0; k--) {
        if (text[k] == '.') {
            out[k] = (char)seg;
            seg = 0;
        } else {
            out[k] = text[k];
            seg++;
        }
    }
    return (size_t)n;
}

static void test_no_collisions(void **state)
{
    (void)state;
    enum { N = 1000000 };
    uint64_t *h = malloc(N * 2 * sizeof(uint64_t));
    assert_non_null(h);
    char key[64];
    for (unsigned i = 0; i < N; i++) {
        size_t len = key_of(key, i);
        h[i] = one(key, len);
        /* Short keys of every length up to 8 too. */
        uint64_t v = i;
        h[N + i] = one(&v, 1 + i % 8);
    }
    qsort(h, N, sizeof(uint64_t), cmp_u64);
    for (unsigned i = 1; i < N; i++)
        assert_true(h[i] != h[i - 1]);
    free(h);
    /* A cut with its leading separator and the same text without it are
     * different keys (".b.com" and "b.com"). */
    const char dotted[] = "\001b\003com", bare[] = "b\003com";
    assert_true(one(dotted, 6) != one(bare, 5));
}

static void test_avalanche(void **state)
{
    (void)state;
    enum { KEYS = 2000, LEN = 24 };
    uint64_t rng = 0x9e3779b97f4a7c15u;
    static unsigned flips[LEN * 8][64];
    for (int k = 0; k < KEYS; k++) {
        uint8_t b[LEN];
        for (int i = 0; i < LEN; i++)
            b[i] = (uint8_t)next(&rng);
        uint64_t h0 = one(b, LEN);
        for (int bit = 0; bit < LEN * 8; bit++) {
            b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            uint64_t d = h0 ^ one(b, LEN);
            b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            for (int o = 0; o < 64; o++)
                flips[bit][o] += (unsigned)(d >> o) & 1;
        }
    }
    /* Every output bit flips about half the time for every input bit
     * (binomial, sd 1.1%: the bounds are 9 sd away). */
    for (int bit = 0; bit < LEN * 8; bit++)
        for (int o = 0; o < 64; o++) {
            double r = (double)flips[bit][o] / KEYS;
            if (r < 0.40 || r > 0.60)
                fail_msg("input bit %d output bit %d flips %.3f", bit, o, r);
        }
}

static void test_cardinality(void **state)
{
    (void)state;
    static struct card c;
    card_init(&c);
    char key[64];
    const unsigned n = 300000;
    for (unsigned i = 0; i < n; i++)
        card_add(&c, one(key, key_of(key, i)));
    double err = ((double)card_estimate(&c) - n) / n;
    /* 1.6% standard error: 5% is beyond 3 sd. */
    assert_true(err > -0.05 && err < 0.05);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suffix_alone),
        cmocka_unit_test(test_no_collisions),
        cmocka_unit_test(test_avalanche),
        cmocka_unit_test(test_cardinality),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
