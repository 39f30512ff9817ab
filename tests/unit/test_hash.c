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
    enum { N = 1000000, SHORT = 256 + 7 * 65536 };
    uint64_t *h = malloc((N + SHORT) * sizeof(uint64_t));
    assert_non_null(h);
    char key[64];
    for (unsigned i = 0; i < N; i++)
        h[i] = one(key, key_of(key, i));
    /* Short keys of every length up to 8, the same values at several
     * lengths ("\005" and "\005\0"): the zero padding must not merge them. */
    size_t m = N;
    for (size_t len = 1; len <= 8; len++)
        for (uint32_t v = 0; v < (len == 1 ? 256u : 65536u); v++) {
            uint8_t b[8] = {(uint8_t)v, (uint8_t)(v >> 8)};
            h[m++] = one(b, len);
        }
    assert_true(m == N + SHORT);
    qsort(h, m, sizeof(uint64_t), cmp_u64);
    for (size_t i = 1; i < m; i++)
        assert_true(h[i] != h[i - 1]);
    free(h);
    /* A cut with its leading separator and the same text without it are
     * different keys (".b.com" and "b.com"). */
    const char dotted[] = "\001b\003com", bare[] = "b\003com";
    assert_true(one(dotted, 6) != one(bare, 5));
    /* Same words and the same first 8 bytes, lengths 9 and 10. */
    const char a9[] = "azzzzzzzz", a10[] = "azzzzzzzzz";
    assert_true(one(a9, 9) != one(a10, 10));
}

/* A fixed word must not erase the words after it (they are hashed before
 * it): the hash of a multiply by (word ^ constant) would lose them when the
 * word is that constant.  Here the tail varies behind a word equal to each
 * constant the hash uses (or 0, or all ones), at every word position. */
static void test_crafted_words(void **state)
{
    (void)state;
    enum { KEYS = 20000 };
    const uint64_t words[] = {0,       ~UINT64_C(0), HASH_SEED, HASH_K0,      HASH_K1,     HASH_K2,
                              HASH_K3, HASH_SFX_S0,  HASH_M32,  HASH_K3 ^ 24, HASH_K3 ^ 20};
    uint64_t *h = malloc(KEYS * sizeof(uint64_t));
    assert_non_null(h);
    uint64_t rng = 0x853c49e6748fea9bu;
    for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++)
        for (size_t len = 20; len <= 24; len += 4)
            for (size_t at = 0; at + 8 <= len - 8; at += 4) {
                uint8_t b[24];
                for (size_t i = 0; i < at; i++)
                    b[i] = (uint8_t)next(&rng);
                for (int i = 0; i < 8; i++)
                    b[at + (size_t)i] = (uint8_t)(words[w] >> (8 * i));
                for (int k = 0; k < KEYS; k++) {
                    for (size_t i = at + 8; i < len; i++)
                        b[i] = (uint8_t)next(&rng);
                    h[k] = one(b, len);
                }
                qsort(h, KEYS, sizeof(uint64_t), cmp_u64);
                for (int k = 1; k < KEYS; k++)
                    if (h[k] == h[k - 1])
                        fail_msg("word %zu at %zu of %zu: tails collide", w, at, len);
            }
    free(h);
}

static void test_avalanche(void **state)
{
    (void)state;
    enum { KEYS = 2000, MAXLEN = 36 };
    /* Every remainder mod 8 (the bytes before the word grid), short keys
     * (no full word) and the names' usual lengths. */
    const size_t lens[] = {2, 3, 5, 7, 8, 12, 17, 22, 24, 27, 30, 36};
    uint64_t rng = 0x9e3779b97f4a7c15u;
    static unsigned flips[MAXLEN * 8][64];
    for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
        size_t len = lens[li];
        memset(flips, 0, sizeof(flips));
        for (int k = 0; k < KEYS; k++) {
            uint8_t b[MAXLEN];
            for (size_t i = 0; i < len; i++)
                b[i] = (uint8_t)next(&rng);
            uint64_t h0 = one(b, len);
            for (size_t bit = 0; bit < len * 8; bit++) {
                b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
                uint64_t d = h0 ^ one(b, len);
                b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
                for (int o = 0; o < 64; o++)
                    flips[bit][o] += (unsigned)(d >> o) & 1;
            }
        }
        /* Every output bit flips about half the time for every input bit
         * (binomial, sd 1.1%: the bounds are 9 sd away). */
        for (size_t bit = 0; bit < len * 8; bit++)
            for (int o = 0; o < 64; o++) {
                double r = (double)flips[bit][o] / KEYS;
                if (r < 0.40 || r > 0.60)
                    fail_msg("length %zu input bit %zu output bit %d flips %.3f", len, bit, o, r);
            }
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
        cmocka_unit_test(test_suffix_alone),  cmocka_unit_test(test_no_collisions),
        cmocka_unit_test(test_crafted_words), cmocka_unit_test(test_avalanche),
        cmocka_unit_test(test_cardinality),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
