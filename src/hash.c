/*
 * hash.c - hash64: a multiply-fold hash in the wyhash/xxh3 family.
 *
 * The core step multiplies two 64-bit words into 128 bits and folds the
 * halves together with xor, which mixes every input bit into every output
 * bit in one instruction pair.  Inputs are read as little-endian words with
 * memcpy, so any alignment works and every host agrees on the result.
 */
#include "hash.h"

#include <string.h>

/* Fractional parts of sqrt(2), sqrt(3), sqrt(5), sqrt(7), forced odd. */
#define K0 UINT64_C(0x6a09e667f3bcc909)
#define K1 UINT64_C(0xbb67ae8584caa73b)
#define K2 UINT64_C(0x3c6ef372fe94f82b)
#define K3 UINT64_C(0xa54ff53a5f1d36f1)

#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 u128;

static inline uint64_t fold(uint64_t a, uint64_t b)
{
    u128 r = (u128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}
#else
/* Same 128-bit product from 32-bit halves, for targets without __int128. */
static inline uint64_t fold(uint64_t a, uint64_t b)
{
    uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
    uint64_t lo = (mid << 32) | (uint32_t)ll;
    uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    return lo ^ hi;
}
#endif

static inline uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline uint64_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

uint64_t hash64(const void *data, size_t len, uint64_t seed)
{
    const uint8_t *p = data;
    uint64_t s = fold(seed ^ K0, K1) ^ seed;
    uint64_t a, b;
    /* Plain sum of the words: a multiply can be zeroed by one crafted
     * word, the sum keeps the words it would have lost. */
    uint64_t t = 0;

    if (len <= 16) {
        if (len >= 8) {
            a = rd64(p);
            b = rd64(p + len - 8);
        } else if (len >= 4) {
            a = rd32(p);
            b = rd32(p + len - 4);
        } else if (len > 0) {
            a = ((uint64_t)p[0] << 16) | ((uint64_t)p[len / 2] << 8) | p[len - 1];
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        size_t n = len;
        if (n > 48) {
            uint64_t s1 = s ^ K2, s2 = s ^ K3;
            do {
                uint64_t w0 = rd64(p), w1 = rd64(p + 8), w2 = rd64(p + 16);
                uint64_t w3 = rd64(p + 24), w4 = rd64(p + 32), w5 = rd64(p + 40);
                s = fold(w0 ^ K1, w1 ^ s);
                s1 = fold(w2 ^ K2, w3 ^ s1);
                s2 = fold(w4 ^ K3, w5 ^ s2);
                t += w0 + rotl(w1, 17) + w2 + rotl(w3, 17) + w4 + rotl(w5, 17);
                p += 48;
                n -= 48;
            } while (n > 48);
            s ^= s1 ^ s2;
        }
        while (n > 16) {
            uint64_t w0 = rd64(p), w1 = rd64(p + 8);
            s = fold(w0 ^ K1, w1 ^ s);
            t += w0 + rotl(w1, 17);
            p += 16;
            n -= 16;
        }
        /* The last 16 bytes, overlapping what was already consumed. */
        a = rd64(p + n - 16);
        b = rd64(p + n - 8);
    }
    /* Two rounds: if the first multiply is zeroed by a crafted a, the
     * second still sees a and b through its right operand. */
    uint64_t h = fold(a ^ K1, b ^ s);
    h = fold(h ^ K2 ^ (uint64_t)len, a ^ rotl(b, 32) ^ t ^ K3);
    return hash_mix64(h ^ s);
}
