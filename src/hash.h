/*
 * hash.h - one 64-bit hash for every sketch key.
 *
 * Every key (an address, a name, a port) is hashed once per packet and the
 * same value feeds every sketch that needs it: the top-N map stores it as the
 * item key, the cardinality sketch takes its bits.  The function is seeded
 * and deterministic, so two processes hashing the same key agree (pktvisord
 * and pktvisor-pcap must produce the same metrics).  No state.
 */
#ifndef PKTVISOR_HASH_H
#define PKTVISOR_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* hash64 is a multiply-fold hash in the wyhash/xxh3 family.  The core step
 * multiplies two 64-bit words into 128 bits and folds the halves together
 * with xor, which mixes every input bit into every output bit in one
 * instruction pair.  Inputs are read as little-endian words with memcpy, so
 * any alignment works and every host agrees on the result. */
/* Fractional parts of sqrt(2), sqrt(3), sqrt(5), sqrt(7), forced odd. */
#define HASH_K0 UINT64_C(0x6a09e667f3bcc909)
#define HASH_K1 UINT64_C(0xbb67ae8584caa73b)
#define HASH_K2 UINT64_C(0x3c6ef372fe94f82b)
#define HASH_K3 UINT64_C(0xa54ff53a5f1d36f1)

/* hash_fold(a, b): the 128-bit product of a and b, its halves xored. */
#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 hash_u128;

static inline uint64_t hash_fold(uint64_t a, uint64_t b)
{
    hash_u128 r = (hash_u128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}
#else
/* Same 128-bit product from 32-bit halves, for targets without __int128. */
static inline uint64_t hash_fold(uint64_t a, uint64_t b)
{
    uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
    uint64_t lo = (mid << 32) | (uint32_t)ll;
    uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    return lo ^ hi;
}
#endif

static inline uint64_t hash_rotl_(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t hash_rd64_(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline uint64_t hash_rd32_(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

/* hash64's body, inline: with a constant seed (HASH_SEED) its set-up
 * folds away, and the packet path saves the call. */
static inline uint64_t hash64_inline(const void *data, size_t len, uint64_t seed)
{
    const uint8_t *p = data;
    uint64_t s = hash_fold(seed ^ HASH_K0, HASH_K1) ^ seed;
    uint64_t a, b;
    /* Plain sum of the words: a multiply can be zeroed by one crafted
     * word, the sum keeps the words it would have lost. */
    uint64_t t = 0;

    if (len <= 16) {
        if (len >= 8) {
            a = hash_rd64_(p);
            b = hash_rd64_(p + len - 8);
        } else if (len >= 4) {
            a = hash_rd32_(p);
            b = hash_rd32_(p + len - 4);
        } else if (len > 0) {
            a = ((uint64_t)p[0] << 16) | ((uint64_t)p[len / 2] << 8) | p[len - 1];
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        size_t n = len;
        if (n > 48) {
            uint64_t s1 = s ^ HASH_K2, s2 = s ^ HASH_K3;
            do {
                uint64_t w0 = hash_rd64_(p), w1 = hash_rd64_(p + 8), w2 = hash_rd64_(p + 16);
                uint64_t w3 = hash_rd64_(p + 24), w4 = hash_rd64_(p + 32), w5 = hash_rd64_(p + 40);
                s = hash_fold(w0 ^ HASH_K1, w1 ^ s);
                s1 = hash_fold(w2 ^ HASH_K2, w3 ^ s1);
                s2 = hash_fold(w4 ^ HASH_K3, w5 ^ s2);
                t += w0 + hash_rotl_(w1, 17) + w2 + hash_rotl_(w3, 17) + w4 + hash_rotl_(w5, 17);
                p += 48;
                n -= 48;
            } while (n > 48);
            s ^= s1 ^ s2;
        }
        while (n > 16) {
            uint64_t w0 = hash_rd64_(p), w1 = hash_rd64_(p + 8);
            s = hash_fold(w0 ^ HASH_K1, w1 ^ s);
            t += w0 + hash_rotl_(w1, 17);
            p += 16;
            n -= 16;
        }
        /* The last 16 bytes, overlapping what was already consumed. */
        a = hash_rd64_(p + n - 16);
        b = hash_rd64_(p + n - 8);
    }
    /* Two rounds: if the first multiply is zeroed by a crafted a, the
     * second still sees a and b through its right operand. */
    uint64_t h = hash_fold(a ^ HASH_K1, b ^ s);
    h = hash_fold(h ^ HASH_K2 ^ (uint64_t)len, a ^ hash_rotl_(b, 32) ^ t ^ HASH_K3);
    return hash_mix64(h ^ s);
}

/* The key hash every sketch shares (hash64 with HASH_SEED), inline. */
static inline uint64_t hash_key(const void *data, size_t len)
{
    return hash64_inline(data, len, HASH_SEED);
}

/* The last r < 8 bytes before p + r as one value (no byte outside them
 * is read). */
static inline uint64_t hash_head_(const uint8_t *p, size_t r)
{
    if (r >= 4)
        return hash_rd32_(p) << 32 | hash_rd32_(p + r - 4);
    if (r > 0)
        return (uint64_t)p[0] << 16 | (uint64_t)p[r / 2] << 8 | p[r - 1];
    return 0;
}

/* Hashes of the suffixes s[cut[i], len) for i < n, cut[] ascending (n <= 3
 * in practice: a name and its qname2/qname3 cuts).  The words are taken
 * from the end backward, so a suffix is the state of the shorter ones plus
 * its own words: one pass for all of them.  Not hash_key's values: use it
 * for every key of a sketch or for none. */
static inline void hash_suffixes(const void *data, size_t len, const size_t *cut, int n,
                                 uint64_t *out)
{
    const uint8_t *s = data;
    uint64_t st = HASH_SEED ^ HASH_K0, t = 0;
    size_t pos = len;
    for (int i = n - 1; i >= 0; i--) {
        size_t c = cut[i];
        while (pos - c >= 8) {
            uint64_t w = hash_rd64_(s + pos - 8);
            st = hash_fold(w ^ HASH_K1, st ^ HASH_K2);
            t = (t + w) * HASH_K0; /* keeps w should a crafted word zero st */
            pos -= 8;
        }
        /* One multiply-fold to finish, as wyhash does. */
        uint64_t a = hash_head_(s + c, pos - c);
        out[i] = hash_fold(a ^ t ^ HASH_K3, st ^ (uint64_t)(len - c));
    }
}

#endif
