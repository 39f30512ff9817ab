/*
 * sketch_topn.h - top-N frequent items, fixed size and pointer-free.
 *
 * Theory: a Misra-Gries / DataSketches "frequent items" map of 64-bit key
 * hashes to counts, 8192 slots (open addressing), holding up to 6144 items.
 * While fewer distinct keys than that were added, every count is exact.  When
 * the map is full, a purge subtracts the median count from every counter,
 * drops the counters that reach zero and adds the median to `offset`; an
 * item's estimate is count + offset (an upper bound, no false negatives).
 * Estimates are invariant under purges, so they can be compared over time.
 *
 * Key text (up to 255 bytes) is kept only for the TOPN_TEXT_SLOTS items with
 * the highest estimates: only they can be reported.  topn_add() tells the
 * caller when the item just entered that set without text, and the caller
 * then formats the key and passes it to topn_set_text(); so an address is
 * formatted only when it matters, not on every packet.
 *
 * Ownership: the struct is plain data; all-zero bytes are a valid empty
 * sketch, so it can live in calloc'ed memory or in a shared segment mapped
 * at any address, and be copied with memcpy.  No function allocates.
 * Single writer; readers must copy a consistent snapshot (see shm/).
 */
#ifndef PKTVISOR_SKETCH_TOPN_H
#define PKTVISOR_SKETCH_TOPN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOPN_LG_SLOTS   13
#define TOPN_SLOTS      (1u << TOPN_LG_SLOTS) /* 8192 */
#define TOPN_MAX_ACTIVE (TOPN_SLOTS / 4 * 3)  /* 6144 */
#define TOPN_TEXT_SLOTS 64
#define TOPN_TEXT_MAX   255
#define TOPN_REPORT     10

struct topn_text {
    uint64_t hash;    /* 0 = slot free */
    uint8_t has_text; /* topn_set_text() was called since the slot was taken */
    uint8_t len;
    char text[TOPN_TEXT_MAX];
};

/* Key and count side by side: a lookup touches one cache line. */
struct topn_slot {
    uint64_t key; /* item hash; 0 = empty (hash 0 is remapped) */
    /* low 56 bits: count; bits 56-62: text slot + 1, 0 = none; bit 63:
     * that text slot holds the text (its has_text, copied here so that
     * counting an item never reads the text table). */
    uint64_t count;
};

struct topn {
    uint64_t offset;       /* sum of the medians subtracted by purges */
    uint64_t total_weight; /* all weight ever added (stream length) */
    uint32_t active;       /* occupied slots */
    uint32_t text_used;    /* occupied text slots */
    uint64_t text_min;     /* lower bound of the smallest estimate in texts */
    /* Estimate of each text slot's item when last updated, apart from the
     * texts: counting an item with text updates one of these 8 lines. */
    uint64_t text_est[TOPN_TEXT_SLOTS];
    struct topn_slot slots[TOPN_SLOTS];
    struct topn_text texts[TOPN_TEXT_SLOTS];
};

struct topn_item {
    uint64_t estimate;
    const char *text; /* points into the sketch; not NUL-terminated */
    size_t len;
};

void topn_init(struct topn *t);

/* Store the text of key h (truncated to TOPN_TEXT_MAX). */
void topn_set_text(struct topn *t, uint64_t h, const char *text, size_t len);

/* hash64(text) + topn_add + topn_set_text when needed. */
void topn_add_text(struct topn *t, const char *text, size_t len, uint64_t weight);

/* Internals of the inline per-packet path below; not part of the API. */
#define TOPN_COUNT_BITS_ 56
#define TOPN_COUNT_MASK_ ((UINT64_C(1) << TOPN_COUNT_BITS_) - 1)
/* Stand-in for hash 0, which marks an empty map slot. */
#define TOPN_ZERO_KEY_ UINT64_C(0xd6e8feb86659fd93)

/* Where a key's probe starts. */
static inline uint32_t topn_home_(uint64_t key)
{
    return (uint32_t)(key ^ (key >> 29)) & (TOPN_SLOTS - 1);
}

/* Rare paths of topn_count, out of line: purge a full map and return the
 * empty slot where key now goes; give the item in slot x a text slot if
 * est now ranks (true: the caller must supply the text). */
struct topn_slot *topn_purge_for_(struct topn *t, uint64_t key);
bool topn_claim_text_(struct topn *t, struct topn_slot *x, uint64_t est);

/* The slot holding key (already remapped from 0), inserted with count 0
 * when new (a full map is purged first).  Probes by byte offset: no index
 * scaling in the loop. */
static inline struct topn_slot *topn_slot_(struct topn *t, uint64_t key)
{
    size_t o = (size_t)topn_home_(key) * sizeof(struct topn_slot);
    for (;;) {
        struct topn_slot *x = (struct topn_slot *)((char *)t->slots + o);
        if (x->key == key)
            return x;
        if (x->key == 0) {
            if (__builtin_expect(t->active >= TOPN_MAX_ACTIVE, 0))
                x = topn_purge_for_(t, key);
            x->key = key;
            x->count = 0;
            t->active++;
            return x;
        }
        o = (o + sizeof(*x)) & (sizeof(t->slots) - sizeof(*x));
    }
}

/* The count of slot x is now c, its estimate est: update the estimate of
 * its text slot, or give it one if it now ranks.  True when the caller
 * must supply the text. */
static inline bool topn_counted_(struct topn *t, struct topn_slot *x, uint64_t c, uint64_t est)
{
    size_t s = (c >> TOPN_COUNT_BITS_) & 0x7f; /* text slot + 1 */
    if (s != 0) {
        t->text_est[s - 1] = est;
        return (c >> 63) == 0; /* has_text not yet set */
    }
    /* The common miss: the text table is full of larger items. */
    if (t->text_used >= TOPN_TEXT_SLOTS && est <= t->text_min)
        return false;
    return topn_claim_text_(t, x, est);
}

/* Count one occurrence of the key whose hash is h: the packet path, inline.
 * Returns true when the caller must supply the key's text with
 * topn_set_text() (it is now reportable and its text is not held).  Nothing
 * saturates here: one at a time, the stream length, a count (56 bits) and
 * an estimate (count + offset, the offset at most the stream length) would
 * need 2^56 calls to overflow.  Weighted adds and merges saturate. */
static inline bool topn_count(struct topn *t, uint64_t h)
{
    t->total_weight++;
    struct topn_slot *x = topn_slot_(t, __builtin_expect(h != 0, 1) ? h : TOPN_ZERO_KEY_);
    uint64_t c = ++x->count;
    return topn_counted_(t, x, c, (c & TOPN_COUNT_MASK_) + t->offset);
}

/* Count `weight` for the key whose hash is h, saturating; as topn_count
 * otherwise (weight 0 counts nothing). */
bool topn_add(struct topn *t, uint64_t h, uint64_t weight);

/* Start loading the slot where key h's probe begins: callers that know
 * several keys early overlap the cache misses of their sketches. */
static inline void topn_prefetch(const struct topn *t, uint64_t h)
{
    __builtin_prefetch(&t->slots[topn_home_(h)]);
}

/* Estimate of key h (0 if not tracked). */
uint64_t topn_estimate(const struct topn *t, uint64_t h);

/* dst += src.  Both may hold purged state; the result keeps the bounds. */
void topn_merge(struct topn *dst, const struct topn *src);

/* Up to TOPN_REPORT items with text, by estimate descending (ties broken by
 * text so output is deterministic).  Returns the count. */
size_t topn_report(const struct topn *t, struct topn_item out[TOPN_REPORT]);

#endif
