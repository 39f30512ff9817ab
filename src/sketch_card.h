/*
 * sketch_card.h - cardinality (distinct count), fixed size, pointer-free.
 *
 * Two modes in one 8 KiB struct.  Exact mode keeps up to CARD_EXACT_MAX
 * distinct 64-bit hashes in a sorted array, so counts below 1000 are exact
 * (up to 64-bit hash collisions).  The next distinct hash converts the
 * sketch to a HyperLogLog with 2^12 one-byte registers (relative standard
 * error 1.04/64 = 1.6%), estimated with Ertl's improved estimator, which
 * needs no bias tables and has no bias bump between small and large ranges.
 * Merging is a union: exact+exact stays exact while it fits, otherwise
 * register-wise max.
 *
 * Ownership: plain data; all-zero bytes are a valid empty sketch; memcpy
 * copies it.  Callers pass hashes from hash.h (well mixed 64-bit values).
 */
#ifndef PKTVISOR_SKETCH_CARD_H
#define PKTVISOR_SKETCH_CARD_H

#include <stdint.h>

#define CARD_EXACT_MAX 1000
#define CARD_HLL_P     12
#define CARD_HLL_M     (1u << CARD_HLL_P)

struct card {
    uint32_t dense; /* 0 = exact sorted hashes, 1 = HLL registers */
    uint32_t n;     /* exact mode: number of hashes held */
    union {
        uint64_t hashes[CARD_EXACT_MAX];
        uint8_t regs[CARD_HLL_M];
    } u;
};

void card_init(struct card *c);

/* Internals of the inline card_add(); not part of the API. */
#define CARD_HLL_Q_ (64 - CARD_HLL_P) /* hash bits left for the rank */

/* Register index: the top CARD_HLL_P bits; value: one plus the leading
 * zeros of the other bits (CARD_HLL_Q_ + 1 when all are zero: the bit
 * or'ed in below them stops the count there, without a branch). */
static inline void card_hll_add_(uint8_t *regs, uint64_t h)
{
    uint32_t idx = (uint32_t)(h >> CARD_HLL_Q_);
    uint64_t w = (h << CARD_HLL_P) | (UINT64_C(1) << (CARD_HLL_P - 1));
    uint8_t r = (uint8_t)(__builtin_clzll(w) + 1);
    if (r > regs[idx])
        regs[idx] = r;
}

/* Exact mode (and its switch to HLL): out of line. */
void card_add_exact_(struct card *c, uint64_t h);

static inline void card_add(struct card *c, uint64_t h)
{
    if (c->dense)
        card_hll_add_(c->u.regs, h);
    else
        card_add_exact_(c, h);
}
void card_merge(struct card *dst, const struct card *src);
/* Rounded estimate. */
uint64_t card_estimate(const struct card *c);

#endif
