/*
 * hash.h - one 64-bit hash for every sketch key.
 *
 * Every key (an address, a name, a port) is hashed once per packet and the
 * same value feeds every sketch that needs it: the top-N map stores it as the
 * item key, the cardinality sketch takes its bits.  The function is seeded
 * and deterministic, so two processes hashing the same key agree (pktvisord
 * and pktvisor-pcap must produce the same metrics).  Header-only, no state.
 */
#ifndef PKTVISOR_HASH_H
#define PKTVISOR_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_SEED UINT64_C(0x9e3779b97f4a7c15)

/* Hash len bytes at data. */
uint64_t hash64(const void *data, size_t len, uint64_t seed);

/* Final avalanche of a 64-bit value (for keys that already are integers). */
static inline uint64_t hash_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

#endif
