/*
 * sketch_topn.c - frequent items map with purge-by-median.
 *
 * Layout choices: linear probing without tombstones; items leave the map
 * only in a purge, which deletes and re-packs the probe chains in one
 * pass.  The text slot of an item is packed into the top byte of its
 * counter, so the per-packet path learns whether the item holds text
 * without scanning the text table.  That path (topn_count) is inline in
 * the header; the rare work it calls, purges and text claims, is here, with
 * the weighted add (topn_add) that tests and merges use.
 */
#include "sketch_topn.h"

#include <string.h>

#include "hash.h"

#define COUNT_BITS TOPN_COUNT_BITS_
#define COUNT_MASK TOPN_COUNT_MASK_
#define HAS_TEXT   (UINT64_C(1) << 63)
#define SLOT_MASK  (TOPN_SLOTS - 1)
#define ZERO_KEY   TOPN_ZERO_KEY_
/* No text slot: 0 in the top byte; otherwise slot index + 1. */
#define NO_TEXT (-1)

_Static_assert(TOPN_TEXT_SLOTS < 127, "text slot index must fit 7 bits of the counter's top byte");
_Static_assert(TOPN_MAX_ACTIVE < TOPN_SLOTS, "the map needs an empty slot to stop probes");
_Static_assert(TOPN_TEXT_MAX <= 255, "text length is a uint8_t");

static inline uint64_t fix_key(uint64_t h)
{
    return h ? h : ZERO_KEY;
}

/* Where a key's probe starts: the header's, shared with topn_prefetch(). */
static inline uint32_t home(uint64_t key)
{
    return topn_home_(key);
}

static inline uint64_t sat_add(uint64_t a, uint64_t b)
{
    uint64_t r = a + b;
    return r < a ? UINT64_MAX : r;
}

static inline uint64_t count_of(uint64_t c)
{
    return c & COUNT_MASK;
}

static inline int text_slot_of(uint64_t c)
{
    return (int)((c >> COUNT_BITS) & 0x7f) - 1;
}

/* Index of key, or of the empty slot where it would go; *found tells. */
static inline uint32_t probe(const struct topn *t, uint64_t key, bool *found)
{
    uint32_t i = home(key);
    for (;;) {
        uint64_t k = t->slots[i].key;
        if (k == key || k == 0) {
            *found = k != 0;
            return i;
        }
        i = (i + 1) & SLOT_MASK;
    }
}

void topn_init(struct topn *t)
{
    memset(t, 0, sizeof(*t));
}

static void free_text(struct topn *t, int s)
{
    memset(&t->texts[s], 0, sizeof(t->texts[s]));
    t->text_est[s] = 0;
    t->text_used--;
}

/* k-th smallest count (0-based).  After the first purges most counts
 * are small, so one pass with a histogram of min(count, 255) usually
 * settles it; otherwise MSD radix selection over the larger counts, a byte
 * per pass, without copying the counts anywhere. */
static uint64_t select_count(const struct topn *t, uint32_t k)
{
    /* Empty slots hold count 0 and rank first: count them too (no test
     * per slot) and skip past them. */
    k += TOPN_SLOTS - t->active;
    /* Most counts are 0 or 1: with a single histogram each increment
     * would wait for the previous one through memory.  Four histograms,
     * slot i counting into hist4[i % 4], keep four chains in flight. */
    uint32_t hist4[4][256];
    memset(hist4, 0, sizeof(hist4));
    for (uint32_t i = 0; i < TOPN_SLOTS; i += 4) {
        uint64_t v0 = count_of(t->slots[i].count), v1 = count_of(t->slots[i + 1].count);
        uint64_t v2 = count_of(t->slots[i + 2].count), v3 = count_of(t->slots[i + 3].count);
        hist4[0][v0 < 255 ? v0 : 255]++;
        hist4[1][v1 < 255 ? v1 : 255]++;
        hist4[2][v2 < 255 ? v2 : 255]++;
        hist4[3][v3 < 255 ? v3 : 255]++;
    }
    for (uint32_t b = 0; b < 255; b++) {
        uint32_t n = hist4[0][b] + hist4[1][b] + hist4[2][b] + hist4[3][b];
        if (k < n)
            return b;
        k -= n;
    }

    /* k now ranks among the counts >= 255. */
    uint32_t hist[256];
    uint64_t maxc = 0;
    for (uint32_t i = 0; i < TOPN_SLOTS; i++) {
        uint64_t v = count_of(t->slots[i].count);
        maxc = v > maxc ? v : maxc;
    }
    int shift = 0;
    while (shift + 8 < 64 && (maxc >> (shift + 8)) != 0)
        shift += 8;
    uint64_t prefix = 0, pmask = 0;
    for (; shift >= 0; shift -= 8) {
        memset(hist, 0, sizeof(hist));
        for (uint32_t i = 0; i < TOPN_SLOTS; i++) {
            uint64_t v = count_of(t->slots[i].count);
            if (v >= 255 && (v & pmask) == prefix)
                hist[(v >> shift) & 0xff]++;
        }
        uint32_t b = 0;
        while (k >= hist[b]) {
            k -= hist[b];
            b++;
        }
        prefix |= (uint64_t)b << shift;
        pmask |= (uint64_t)0xff << shift;
    }
    return prefix;
}

/* First purge pass over map indexes [from, to): subtract m from every
 * counter above m and empty every other slot, without a branch on the
 * count, which is a coin flip around the median.  Appends the index of
 * every survivor to kept[] from kept[n]; returns the new n. */
static size_t drop_pass(struct topn *t, size_t from, size_t to, uint64_t m, uint16_t *kept,
                        size_t n)
{
    struct topn_slot *x = &t->slots[from];
    /* A few instructions per slot: unrolled, the loop counting is felt. */
#pragma GCC unroll 4
    for (size_t j = from; j < to; j++, x++) {
        uint64_t key = x->key, c = x->count;
        /* All ones if the item stays, else 0: counts are below 2^56, so
         * the sign of m - c tells, but for the rare items with text. */
        uint64_t keep = (uint64_t)((int64_t)(m - c) >> 63);
        if (__builtin_expect(c > COUNT_MASK, 0)) {
            keep = count_of(c) > m ? UINT64_MAX : 0;
            int s = text_slot_of(c);
            if (!keep && s != NO_TEXT)
                free_text(t, s);
        }
        x->key = key & keep;
        x->count = (c - m) & keep;
        kept[n] = (uint16_t)j;
        n -= keep; /* + 1 if kept */
    }
    return n;
}

/* Subtract the median count from every counter, drop those reaching zero,
 * and move the median into offset: estimates of survivors are unchanged.
 * Out of line, so the per-packet path stays small; not `cold`, which
 * would compile its 8192-slot loops for size. */
static __attribute__((noinline)) void purge(struct topn *t)
{
    uint64_t m = select_count(t, t->active / 2);

    /* A slot empty before the purge: no probe chain crosses it. */
    uint32_t e = 0;
    while (t->slots[e].key != 0)
        e++;

    /* First every drop, walking the ring from e; then every survivor, in
     * the same order, moves to the first free slot from its home (often
     * its own slot).  An item's home lies between e and the item, so when
     * it is placed everything from its home to it is in its final state
     * (dropped or placed) and the placement is that of deleting and
     * re-packing in one walk; slots after it are not looked at.  Moving
     * it there restores the rule that every slot from an item's home to
     * the item is occupied.  A survivor usually sits a slot or two from
     * its home: far cheaper than shifting the cluster on every deletion. */
    uint16_t kept[TOPN_SLOTS];
    size_t n = drop_pass(t, e + 1, TOPN_SLOTS, m, kept, 0);
    n = drop_pass(t, 0, e, m, kept, n);
    for (size_t i = 0; i < n; i++) {
        struct topn_slot *x = &t->slots[kept[i]], y = *x;
        x->key = 0;
        x->count = 0;
        uint32_t p = home(y.key);
        while (t->slots[p].key != 0)
            p = (p + 1) & SLOT_MASK;
        t->slots[p] = y;
    }
    /* Every occupied slot held a counter, every empty one count 0: the
     * survivors are the items left. */
    t->active = (uint32_t)n;
    t->offset = sat_add(t->offset, m);
}

/* Smallest text estimate and its slot (text table full). */
static int min_text_slot(const struct topn *t, uint64_t *min)
{
    int best = 0;
    uint64_t bv = t->text_est[0];
    for (int s = 1; s < TOPN_TEXT_SLOTS; s++) {
        if (t->text_est[s] < bv) {
            bv = t->text_est[s];
            best = s;
        }
    }
    *min = bv;
    return best;
}

/* Give the item in map slot y a text slot if its estimate now ranks among
 * the TOPN_TEXT_SLOTS highest; true if it got one. */
bool topn_claim_text_(struct topn *t, struct topn_slot *y, uint64_t est)
{
    int s;
    if (t->text_used < TOPN_TEXT_SLOTS) {
        for (s = 0; t->texts[s].hash != 0; s++)
            ;
        t->text_used++;
        if (est < t->text_min)
            t->text_min = est;
    } else {
        if (est <= t->text_min)
            return false;
        uint64_t min;
        s = min_text_slot(t, &min);
        t->text_min = min;
        if (est <= min)
            return false;
        /* The evicted item stays counted, it just loses its text. */
        bool found;
        uint32_t j = probe(t, t->texts[s].hash, &found);
        if (found)
            t->slots[j].count &= COUNT_MASK;
    }
    struct topn_text *x = &t->texts[s];
    x->hash = y->key;
    t->text_est[s] = est;
    x->has_text = 0;
    x->len = 0;
    y->count = count_of(y->count) | ((uint64_t)(s + 1) << COUNT_BITS);
    return true;
}

struct topn_slot *topn_purge_for_(struct topn *t, uint64_t key)
{
    bool found;
    purge(t);
    return &t->slots[probe(t, key, &found)];
}

static void store_text(struct topn_text *x, const char *text, size_t len)
{
    if (len > TOPN_TEXT_MAX)
        len = TOPN_TEXT_MAX;
    if (len)
        memcpy(x->text, text, len);
    x->len = (uint8_t)len;
    x->has_text = 1;
}

void topn_set_text(struct topn *t, uint64_t h, const char *text, size_t len)
{
    bool found;
    uint32_t i = probe(t, fix_key(h), &found);
    if (!found)
        return;
    int s = text_slot_of(t->slots[i].count);
    /* Only reportable items keep text. */
    if (s != NO_TEXT) {
        store_text(&t->texts[s], text, len);
        t->slots[i].count |= HAS_TEXT;
    }
}

/* Count weight for key (already remapped from 0), saturating the count at
 * the field's maximum, clear of the top byte, and the estimate at
 * UINT64_MAX. */
static bool add_key(struct topn *t, uint64_t key, uint64_t weight)
{
    struct topn_slot *x = topn_slot_(t, key);
    uint64_t c = x->count;
    if (weight <= COUNT_MASK - count_of(c))
        c += weight;
    else
        c |= COUNT_MASK;
    x->count = c;
    return topn_counted_(t, x, c, sat_add(count_of(c), t->offset));
}

bool topn_add(struct topn *t, uint64_t h, uint64_t weight)
{
    if (weight == 0)
        return false;
    t->total_weight = sat_add(t->total_weight, weight);
    return add_key(t, fix_key(h), weight);
}

void topn_add_text(struct topn *t, const char *text, size_t len, uint64_t weight)
{
    if (len > TOPN_TEXT_MAX)
        len = TOPN_TEXT_MAX;
    uint64_t h = hash_key(text, len);
    if (topn_add(t, h, weight))
        topn_set_text(t, h, text, len);
}

uint64_t topn_estimate(const struct topn *t, uint64_t h)
{
    bool found;
    uint32_t i = probe(t, fix_key(h), &found);
    return found ? sat_add(count_of(t->slots[i].count), t->offset) : 0;
}

static void merge_self(struct topn *t)
{
    /* Doubling every count and the offset doubles every estimate. */
    for (uint32_t i = 0; i < TOPN_SLOTS; i++) {
        if (t->slots[i].key == 0)
            continue;
        uint64_t c = count_of(t->slots[i].count);
        c = c > COUNT_MASK / 2 ? COUNT_MASK : c * 2;
        t->slots[i].count = (t->slots[i].count & ~COUNT_MASK) | c;
    }
    for (int s = 0; s < TOPN_TEXT_SLOTS; s++)
        t->text_est[s] = sat_add(t->text_est[s], t->text_est[s]);
    t->text_min = sat_add(t->text_min, t->text_min);
    t->offset = sat_add(t->offset, t->offset);
    t->total_weight = sat_add(t->total_weight, t->total_weight);
}

void topn_merge(struct topn *dst, const struct topn *src)
{
    if (dst == src) {
        merge_self(dst);
        return;
    }
    /* src's offset bounds every src item, tracked or not: adding it to
     * dst's offset keeps estimates upper bounds; it shifts every dst
     * estimate equally, so the text ranking is unchanged. */
    dst->offset = sat_add(dst->offset, src->offset);
    dst->total_weight = sat_add(dst->total_weight, src->total_weight);
    for (int s = 0; s < TOPN_TEXT_SLOTS; s++) {
        if (dst->texts[s].hash)
            dst->text_est[s] = sat_add(dst->text_est[s], src->offset);
    }
    dst->text_min = sat_add(dst->text_min, src->offset);

    /* Texts may leave dst's table mid-merge and come back once the
     * item's src count lands, so keep the old table to fetch them from. */
    struct topn_text old[TOPN_TEXT_SLOTS];
    memcpy(old, dst->texts, sizeof(old));

    for (uint32_t i = 0; i < TOPN_SLOTS; i++) {
        if (src->slots[i].key != 0)
            add_key(dst, src->slots[i].key, count_of(src->slots[i].count));
    }

    for (int s = 0; s < TOPN_TEXT_SLOTS; s++) {
        struct topn_text *x = &dst->texts[s];
        if (x->hash == 0 || x->has_text)
            continue;
        const struct topn_text *from = NULL;
        for (int j = 0; j < TOPN_TEXT_SLOTS && !from; j++) {
            if (old[j].hash == x->hash && old[j].has_text)
                from = &old[j];
            else if (src->texts[j].hash == x->hash && src->texts[j].has_text)
                from = &src->texts[j];
        }
        if (from) {
            store_text(x, from->text, from->len);
            bool found;
            uint32_t i = probe(dst, x->hash, &found);
            if (found)
                dst->slots[i].count |= HAS_TEXT;
        }
    }
}

/* Report order: estimate descending, then text ascending. */
static bool ranks_before(const struct topn *t, int a, int b)
{
    if (t->text_est[a] != t->text_est[b])
        return t->text_est[a] > t->text_est[b];
    const struct topn_text *x = &t->texts[a], *y = &t->texts[b];
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->text, y->text, n) : 0;
    if (c != 0)
        return c < 0;
    return x->len < y->len;
}

size_t topn_report(const struct topn *t, struct topn_item out[TOPN_REPORT])
{
    int best[TOPN_REPORT];
    size_t n = 0;

    /* Insertion into a short sorted list: at most 64 candidates. */
    for (int s = 0; s < TOPN_TEXT_SLOTS; s++) {
        const struct topn_text *x = &t->texts[s];
        if (x->hash == 0 || !x->has_text)
            continue;
        if (n == TOPN_REPORT && !ranks_before(t, s, best[n - 1]))
            continue;
        size_t j = n < TOPN_REPORT ? n++ : n - 1;
        while (j > 0 && ranks_before(t, s, best[j - 1])) {
            best[j] = best[j - 1];
            j--;
        }
        best[j] = s;
    }
    for (size_t i = 0; i < n; i++) {
        out[i].estimate = t->text_est[best[i]];
        out[i].text = t->texts[best[i]].text;
        out[i].len = t->texts[best[i]].len;
    }
    return n;
}
