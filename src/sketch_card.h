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
void card_add(struct card *c, uint64_t h);
void card_merge(struct card *dst, const struct card *src);
/* Rounded estimate. */
uint64_t card_estimate(const struct card *c);

#endif
