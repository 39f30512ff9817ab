/*
 * sketch_card.c - exact sorted set that turns into a HyperLogLog.
 *
 * Register index: the top CARD_HLL_P bits of the hash.  Register value: one
 * plus the number of leading zeros of the remaining 64 - P bits, so values
 * run from 1 to 64 - P + 1 (0 = register never hit).  The estimate is
 * Ertl's improved raw estimator (arXiv:1702.01284, section 4), which
 * corrects both ends of the register histogram with the sigma and tau
 * series instead of switching to linear counting.
 */
#include "sketch_card.h"

#include <math.h>
#include <string.h>

#define HLL_Q CARD_HLL_Q_

_Static_assert(sizeof(struct card) <= 8192, "card must stay within 8 KiB");
_Static_assert(sizeof(((struct card *)0)->u.regs) <= sizeof(((struct card *)0)->u.hashes),
               "registers overlay the exact array");

void card_init(struct card *c)
{
    memset(c, 0, sizeof(*c));
}

static inline void hll_add(uint8_t *regs, uint64_t h)
{
    card_hll_add_(regs, h);
}

/* Leftmost index whose hash is >= h.  Branch-free halving: the compare
 * result is unpredictable, and a conditional move beats a mispredict. */
static inline uint32_t lower_bound(const uint64_t *a, uint32_t n, uint64_t h)
{
    if (n == 0)
        return 0;
    const uint64_t *base = a;
    while (n > 1) {
        uint32_t half = n / 2;
        base += (size_t)(base[half - 1] < h) * half;
        n -= half;
    }
    return (uint32_t)(base - a) + (*base < h);
}

/* lower_bound(a, n, h) from a guess: hashes are uniform, so h's rank is
 * close to h / 2^64 * n (sqrt(n) / 2 is at most one standard deviation:
 * 16 at n = 1000).  Search the W hashes around the guess, in fixed steps,
 * when the ones beside them bracket h; else the whole array.  The same
 * answer either way, in 6 steps instead of 10 at n = 1000. */
static inline uint32_t find_rank(const uint64_t *a, uint32_t n, uint64_t h)
{
    enum { W = 64 };
    if (n < 2 * W)
        return lower_bound(a, n, h);
    uint32_t g = (uint32_t)(((h >> 32) * n) >> 32); /* < n */
    uint32_t lo = g > W / 2 ? g - W / 2 : 0;
    lo = lo < n - W ? lo : n - W;
    if ((lo > 0 && a[lo - 1] >= h) || (lo + W < n && a[lo + W] < h))
        return lower_bound(a, n, h);
    /* lower_bound's branch-free halving of W = 64, unrolled. */
    const uint64_t *base = a + lo;
    base += (size_t)(base[31] < h) * 32;
    base += (size_t)(base[15] < h) * 16;
    base += (size_t)(base[7] < h) * 8;
    base += (size_t)(base[3] < h) * 4;
    base += (size_t)(base[1] < h) * 2;
    base += (size_t)(base[0] < h);
    return (uint32_t)(base - a) + (*base < h);
}

static void to_dense(struct card *c)
{
    uint64_t tmp[CARD_EXACT_MAX];
    uint32_t n = c->n;
    memcpy(tmp, c->u.hashes, n * sizeof(tmp[0]));
    memset(&c->u, 0, sizeof(c->u));
    for (uint32_t i = 0; i < n; i++)
        hll_add(c->u.regs, tmp[i]);
    c->dense = 1;
    c->n = 0;
}

void card_add_exact_(struct card *c, uint64_t h)
{
    uint32_t i = find_rank(c->u.hashes, c->n, h);
    if (i < c->n && c->u.hashes[i] == h)
        return;
    if (c->n < CARD_EXACT_MAX) {
        memmove(&c->u.hashes[i + 1], &c->u.hashes[i], (c->n - i) * sizeof(uint64_t));
        c->u.hashes[i] = h;
        c->n++;
        return;
    }
    to_dense(c);
    hll_add(c->u.regs, h);
}

/* Register-wise max; restrict (dst != src) lets the compiler vectorize. */
static void max_regs(uint8_t *restrict d, const uint8_t *restrict s)
{
    for (uint32_t i = 0; i < CARD_HLL_M; i++)
        d[i] = s[i] > d[i] ? s[i] : d[i];
}

/* Size of the union of two sorted arrays. */
static uint32_t union_size(const uint64_t *a, uint32_t na, const uint64_t *b, uint32_t nb)
{
    uint32_t i = 0, j = 0, n = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j])
            i++;
        else if (a[i] > b[j])
            j++;
        else
            i++, j++;
        n++;
    }
    return n + (na - i) + (nb - j);
}

void card_merge(struct card *dst, const struct card *src)
{
    if (dst == src)
        return;
    if (!src->dense) {
        if (dst->dense) {
            for (uint32_t i = 0; i < src->n; i++)
                hll_add(dst->u.regs, src->u.hashes[i]);
            return;
        }
        const uint64_t *b = src->u.hashes;
        uint64_t *a = dst->u.hashes;
        uint32_t na = dst->n, nb = src->n;
        uint32_t nu = union_size(a, na, b, nb);
        if (nu <= CARD_EXACT_MAX) {
            /* Merge from the back in place: the write index never passes
             * the unread part of a. */
            uint32_t i = na, j = nb, k = nu;
            while (j > 0) {
                if (i > 0 && a[i - 1] > b[j - 1]) {
                    a[--k] = a[--i];
                } else {
                    if (i > 0 && a[i - 1] == b[j - 1])
                        i--;
                    a[--k] = b[--j];
                }
            }
            dst->n = nu;
            return;
        }
        to_dense(dst);
        for (uint32_t i = 0; i < nb; i++)
            hll_add(dst->u.regs, b[i]);
        return;
    }
    if (!dst->dense)
        to_dense(dst);
    max_regs(dst->u.regs, src->u.regs);
}

/* sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1); corrects for empty registers. */
static double ertl_sigma(double x)
{
    if (x == 1.0)
        return INFINITY;
    double y = 1.0, z = x, prev;
    do {
        x *= x;
        prev = z;
        z += x * y;
        y += y;
    } while (z != prev);
    return z;
}

/* tau(x) = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3; corrects for
 * saturated registers. */
static double ertl_tau(double x)
{
    if (x == 0.0 || x == 1.0)
        return 0.0;
    double y = 1.0, z = 1.0 - x, prev;
    do {
        x = sqrt(x);
        prev = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
    } while (z != prev);
    return z / 3.0;
}

uint64_t card_estimate(const struct card *c)
{
    if (!c->dense)
        return c->n;

    uint32_t hist[HLL_Q + 2] = {0};
    for (uint32_t i = 0; i < CARD_HLL_M; i++) {
        uint8_t r = c->u.regs[i];
        hist[r <= HLL_Q + 1 ? r : HLL_Q + 1]++;
    }
    const double m = CARD_HLL_M;
    if (hist[0] == CARD_HLL_M)
        return 0;

    double z = m * ertl_tau(1.0 - hist[HLL_Q + 1] / m);
    for (int k = HLL_Q; k >= 1; k--)
        z = 0.5 * (z + hist[k]);
    z += m * ertl_sigma(hist[0] / m);

    /* alpha_inf = 1 / (2 ln 2) */
    double est = m * m / (2.0 * log(2.0) * z);
    if (!(est < 18446744073709549568.0))
        return UINT64_MAX;
    return (uint64_t)(est + 0.5);
}
