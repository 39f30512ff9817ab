/*
 * ipfrag.c - see ipfrag.h.
 *
 * Slots live in one array allocated up front; a chained hash (int32 slot
 * indexes) finds them, a doubly linked list orders them by creation for
 * timeout and eviction, and free slots form a stack.  Each slot records the
 * byte ranges it has received; since overlaps drop the datagram, the ranges
 * are disjoint and the datagram is complete once their sum equals the end
 * announced by the last fragment.
 */
#include "ipfrag.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define FRAG_BUCKETS    2048 /* power of two, twice DECODE_FRAG_MAX */
#define FRAG_MAX_PIECES 64   /* 65535 bytes in 1500-byte MTU pieces needs 45 */
#define FRAG_MIN_BUF    2048
#define NIL             (-1)

_Static_assert(sizeof(struct ipfrag_key) == 40, "ipfrag_key must have no hidden padding");
_Static_assert(DECODE_FRAG_MAX < FRAG_BUCKETS, "bucket array too small");
_Static_assert(DECODE_FRAG_MAX_BYTES <= UINT16_MAX, "ranges are stored as uint16_t");

struct frag_range {
    uint16_t start;
    uint16_t end; /* exclusive */
};

struct frag_slot {
    struct ipfrag_key key;
    int64_t created; /* packet time of the first fragment seen */
    uint8_t *buf;    /* kept across datagrams */
    uint32_t cap;
    uint32_t total;    /* end of the datagram, known once have_last */
    uint32_t received; /* bytes stored */
    uint32_t bucket;
    int32_t hnext; /* hash chain, or free stack when unused */
    int32_t older, newer;
    uint16_t nranges;
    bool have_last;
    bool dead; /* dropped as invalid: swallow the rest of its fragments */
    struct frag_range ranges[FRAG_MAX_PIECES];
};

struct ipfrag_table {
    int32_t bucket[FRAG_BUCKETS];
    int32_t free_top;
    int32_t oldest, newest;
    uint32_t count;
    struct frag_slot slot[DECODE_FRAG_MAX];
};

static uint32_t key_bucket(const struct ipfrag_key *k)
{
    uint64_t w[5];
    memcpy(w, k, sizeof(w));
    uint64_t h = 0;
    for (int i = 0; i < 5; i++)
        h = hash_mix64(h ^ w[i]);
    return (uint32_t)(h & (FRAG_BUCKETS - 1));
}

struct ipfrag_table *ipfrag_new(void)
{
    struct ipfrag_table *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    for (int i = 0; i < FRAG_BUCKETS; i++)
        t->bucket[i] = NIL;
    for (int i = 0; i < DECODE_FRAG_MAX; i++)
        t->slot[i].hnext = i + 1 < DECODE_FRAG_MAX ? i + 1 : NIL;
    t->free_top = 0;
    t->oldest = t->newest = NIL;
    return t;
}

void ipfrag_free(struct ipfrag_table **t)
{
    if (t == NULL || *t == NULL)
        return;
    for (int i = 0; i < DECODE_FRAG_MAX; i++)
        free((*t)->slot[i].buf);
    free(*t);
    *t = NULL;
}

static void release(struct ipfrag_table *t, int32_t i)
{
    struct frag_slot *s = &t->slot[i];

    int32_t *link = &t->bucket[s->bucket];
    while (*link != i)
        link = &t->slot[*link].hnext;
    *link = s->hnext;

    if (s->older != NIL)
        t->slot[s->older].newer = s->newer;
    else
        t->oldest = s->newer;
    if (s->newer != NIL)
        t->slot[s->newer].older = s->older;
    else
        t->newest = s->older;

    s->hnext = t->free_top;
    t->free_top = i;
    t->count--;
}

/* Packet time may jump backwards; such a slot is simply not expired yet. */
static bool expired(const struct frag_slot *s, int64_t now)
{
    return now >= s->created && (uint64_t)now - (uint64_t)s->created >= DECODE_FRAG_TIMEOUT;
}

void ipfrag_expire(struct ipfrag_table *t, int64_t now_sec, struct decode_stats *st)
{
    while (t->oldest != NIL && expired(&t->slot[t->oldest], now_sec)) {
        if (!t->slot[t->oldest].dead)
            st->frag_timeout++;
        release(t, t->oldest);
    }
}

static int32_t lookup(const struct ipfrag_table *t, const struct ipfrag_key *k, uint32_t b)
{
    for (int32_t i = t->bucket[b]; i != NIL; i = t->slot[i].hnext) {
        if (memcmp(&t->slot[i].key, k, sizeof(*k)) == 0)
            return i;
    }
    return NIL;
}

static int32_t create(struct ipfrag_table *t, const struct ipfrag_key *k, uint32_t b, int64_t now,
                      struct decode_stats *st)
{
    if (t->free_top == NIL) {
        if (!t->slot[t->oldest].dead)
            st->frag_evicted++;
        release(t, t->oldest);
    }
    int32_t i = t->free_top;
    struct frag_slot *s = &t->slot[i];
    t->free_top = s->hnext;

    s->key = *k;
    s->created = now;
    s->total = 0;
    s->received = 0;
    s->nranges = 0;
    s->have_last = false;
    s->dead = false;

    s->bucket = b;
    s->hnext = t->bucket[b];
    t->bucket[b] = i;

    s->older = t->newest;
    s->newer = NIL;
    if (t->newest != NIL)
        t->slot[t->newest].newer = i;
    else
        t->oldest = i;
    t->newest = i;
    t->count++;
    return i;
}

static bool grow(struct frag_slot *s, uint32_t need)
{
    if (need <= s->cap)
        return true;
    uint32_t cap = s->cap ? s->cap : FRAG_MIN_BUF;
    while (cap < need)
        cap *= 2;
    if (cap > DECODE_FRAG_MAX_BYTES)
        cap = DECODE_FRAG_MAX_BYTES;
    uint8_t *nb = realloc(s->buf, cap);
    if (nb == NULL)
        return false;
    s->buf = nb;
    s->cap = cap;
    return true;
}

static enum ipfrag_result drop_invalid(struct frag_slot *s, struct decode_stats *st)
{
    s->dead = true;
    st->frag_invalid++;
    return IPFRAG_DROPPED;
}

enum ipfrag_result ipfrag_add(struct ipfrag_table *t, const struct ipfrag_key *key, int64_t now_sec,
                              uint32_t offset, bool more, const uint8_t *data, uint32_t len,
                              struct decode_stats *st, const uint8_t **out, uint32_t *out_len)
{
    ipfrag_expire(t, now_sec, st);

    uint32_t b = key_bucket(key);
    int32_t i = lookup(t, key, b);
    if (i != NIL && expired(&t->slot[i], now_sec)) {
        if (!t->slot[i].dead)
            st->frag_timeout++;
        release(t, i);
        i = NIL;
    }
    if (i == NIL)
        i = create(t, key, b, now_sec, st);
    struct frag_slot *s = &t->slot[i];
    if (s->dead)
        return IPFRAG_DROPPED;

    if (len == 0 || offset > DECODE_FRAG_MAX_BYTES || len > DECODE_FRAG_MAX_BYTES - offset ||
        (more && len % 8 != 0))
        return drop_invalid(s, st);
    uint32_t end = offset + len;

    for (uint16_t r = 0; r < s->nranges; r++) {
        const struct frag_range *rg = &s->ranges[r];
        if (offset == rg->start && end == rg->end) {
            if (memcmp(s->buf + offset, data, len) == 0)
                return IPFRAG_PENDING;
            return drop_invalid(s, st);
        }
        if (offset < rg->end && rg->start < end)
            return drop_invalid(s, st);
    }

    if (!more) {
        if (s->have_last && s->total != end)
            return drop_invalid(s, st);
        for (uint16_t r = 0; r < s->nranges; r++) {
            if (s->ranges[r].end > end)
                return drop_invalid(s, st);
        }
        s->have_last = true;
        s->total = end;
    } else if (s->have_last && end >= s->total) {
        return drop_invalid(s, st);
    }

    if (s->nranges == FRAG_MAX_PIECES)
        return drop_invalid(s, st);
    if (!grow(s, end)) {
        /* no memory for this datagram: same outcome as losing it to a full table */
        s->dead = true;
        st->frag_evicted++;
        return IPFRAG_DROPPED;
    }

    memcpy(s->buf + offset, data, len);
    s->ranges[s->nranges].start = (uint16_t)offset;
    s->ranges[s->nranges].end = (uint16_t)end;
    s->nranges++;
    s->received += len;

    if (!s->have_last || s->received != s->total)
        return IPFRAG_PENDING;

    *out = s->buf;
    *out_len = s->total;
    /* the slot's buffer stays put until the slot is reused by a later add */
    release(t, i);
    return IPFRAG_COMPLETE;
}
