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

/* Count `weight` for the key whose hash is h.  Returns true when the caller
 * must supply the key's text with topn_set_text() (it is now reportable and
 * its text is not held). */
bool topn_add(struct topn *t, uint64_t h, uint64_t weight);

/* Store the text of key h (truncated to TOPN_TEXT_MAX). */
void topn_set_text(struct topn *t, uint64_t h, const char *text, size_t len);

/* hash64(text) + topn_add + topn_set_text when needed. */
void topn_add_text(struct topn *t, const char *text, size_t len, uint64_t weight);

/* topn_add + topn_set_text when needed, for a caller that already hashed
 * the key (one hash per key, shared by every sketch). */
void topn_add_keyed(struct topn *t, uint64_t h, const char *text, size_t len, uint64_t weight);

/* Start loading the slot where key h's probe begins: callers that know
 * several keys early overlap the cache misses of their sketches. */
static inline void topn_prefetch(const struct topn *t, uint64_t h)
{
    __builtin_prefetch(&t->slots[(uint32_t)(h ^ (h >> 29)) & (TOPN_SLOTS - 1)]);
}

/* Estimate of key h (0 if not tracked). */
uint64_t topn_estimate(const struct topn *t, uint64_t h);

/* dst += src.  Both may hold purged state; the result keeps the bounds. */
void topn_merge(struct topn *dst, const struct topn *src);

/* Up to TOPN_REPORT items with text, by estimate descending (ties broken by
 * text so output is deterministic).  Returns the count. */
size_t topn_report(const struct topn *t, struct topn_item out[TOPN_REPORT]);

#endif
