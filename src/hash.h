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

/* Unaligned little-endian loads: the word order of the hashes, also used
 * by the dns handler to compare and test bytes a word at a time. */
static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline uint64_t load_le32(const uint8_t *p)
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
            a = load_le64(p);
            b = load_le64(p + len - 8);
        } else if (len >= 4) {
            a = load_le32(p);
            b = load_le32(p + len - 4);
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
                uint64_t w0 = load_le64(p), w1 = load_le64(p + 8), w2 = load_le64(p + 16);
                uint64_t w3 = load_le64(p + 24), w4 = load_le64(p + 32), w5 = load_le64(p + 40);
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
            uint64_t w0 = load_le64(p), w1 = load_le64(p + 8);
            s = hash_fold(w0 ^ HASH_K1, w1 ^ s);
            t += w0 + hash_rotl_(w1, 17);
            p += 16;
            n -= 16;
        }
        /* The last 16 bytes, overlapping what was already consumed. */
        a = load_le64(p + n - 16);
        b = load_le64(p + n - 8);
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

/* An address's key hash (len 4 or 16), cheaper than hash_key for these
 * two lengths; not hash_key's values.  IPv4 is a bijection of the
 * address; for IPv6 the words stay in the sum should a crafted word zero
 * the multiply. */
static inline uint64_t hash_addr(const uint8_t *a, size_t len)
{
    if (len == 4)
        return hash_mix64(load_le32(a) ^ HASH_SEED);
    uint64_t x = load_le64(a), y = load_le64(a + 8);
    return hash_mix64(hash_fold(x ^ HASH_K1, y ^ HASH_K2) ^ x ^ hash_rotl_(y, 29) ^ HASH_SEED);
}

/* The r < 8 bytes at p as one little-endian value, zero-extended (no
 * byte outside them is read). */
static inline uint64_t hash_small_(const uint8_t *p, size_t r)
{
    if (r >= 4)
        return load_le32(p) | load_le32(p + r - 4) << (8 * (r - 4));
    if (r > 0)
        return p[0] | (uint64_t)p[r / 2] << (8 * (r / 2)) | (uint64_t)p[r - 1] << (8 * (r - 1));
    return 0;
}

/* hash_suffixes' state before any word. */
#define HASH_SFX_S0 (HASH_SEED ^ HASH_K0)
/* An odd multiplier that fits an instruction's 32-bit immediate
 * (MurmurHash2's). */
#define HASH_M32 UINT64_C(0x5bd1e995)

/* One step of hash_suffixes: the words of s[0, len) from *p backward down
 * to the last one inside s[c, len) into *st, then the hash of s[c, len)
 * from that state.  Reads only s[c, len). */
static inline uint64_t hash_sfx_step_(const uint8_t *s, size_t len, size_t c, const uint8_t **p,
                                      uint64_t *st)
{
    size_t l = len - c;
    const uint8_t *sc = s + c, *e = sc + (l & 7), *q = *p;
    uint64_t x = *st;
    while (q > e) {
        q -= 8;
        /* The word meets the state before a multiply by a constant: only
         * a word equal to the state (which depends on every word after
         * it) zeroes it, no fixed word erases the others. */
        x = hash_fold(load_le64(q) ^ x, HASH_K1);
    }
    *p = e;
    *st = x;
    /* The suffix's first 8 bytes (all of it when shorter, zero-padded):
     * its 0..7 bytes before the word grid and bytes of its last word
     * again, all its own, so the hash stays the suffix's alone. */
    uint64_t f;
    if (__builtin_expect(l >= 8, 1)) {
        f = load_le64(sc);
    } else {
        /* No full word, so x is HASH_SFX_S0: a word step first, else f
         * would meet only constants in the multiply below. */
        f = hash_small_(sc, l);
        x = hash_fold(f ^ x, HASH_K1);
    }
    /* One multiply-fold to finish, the state in both operands.  f enters
     * times an odd constant (a bijection carrying its low bits up: a lone
     * flipped low bit mixes poorly into the output bits just above it).
     * The length tells "ab" from "ab\0" and "azzzzzzzz" from "azzzzzzzzz"
     * (same f, same state). */
    return hash_fold(x ^ f * HASH_M32, x ^ HASH_K3 ^ (uint64_t)l);
}

/* Hashes of the suffixes s[cut[i], len) for i < n, cut[] ascending and at
 * most len (n <= 3 in practice: a name and its qname2/qname3 cuts, n == 3
 * unrolled).  Only bytes of s[cut[0], len) are read, never one before
 * data.  A suffix's hash depends on its bytes alone (not on the string it
 * was cut from, nor on alignment).  The 8-byte words are taken from the
 * end backward on a grid aligned to the end, which every suffix shares: a
 * suffix's state is the shorter one's plus its own words, one multiply
 * each, so one pass serves all of them.  Each suffix then adds its first
 * 8 bytes (the 0..7 before the grid and some of its last word again, or
 * all of it zero-padded when shorter) and its length in one multiply-fold.
 * Not hash_key's values: use it for every key of a sketch or for none. */
static inline void hash_suffixes(const void *data, size_t len, const size_t *cut, int n,
                                 uint64_t *out)
{
    const uint8_t *s = data, *p = s + len;
    uint64_t st = HASH_SFX_S0;
    if (n == 3) { /* the dns handler's case */
        out[2] = hash_sfx_step_(s, len, cut[2], &p, &st);
        out[1] = hash_sfx_step_(s, len, cut[1], &p, &st);
        out[0] = hash_sfx_step_(s, len, cut[0], &p, &st);
        return;
    }
    for (int i = n - 1; i >= 0; i--)
        out[i] = hash_sfx_step_(s, len, cut[i], &p, &st);
}

#endif
