/*
 * ring.c - the packet ring (see ring.h for the theory of operation).
 *
 * Memory-order summary (the names are header fields):
 *   producer  tail_pos (relaxed), reserve_pos (release), fence(release),
 *             record words (relaxed), write_pos (release)
 *   consumer  write_pos (acquire), record words (relaxed), fence(acquire),
 *             reserve_pos (relaxed): if a word we loaded was written by a
 *             newer record, the fences make that record's reserve_pos store
 *             visible to the last load, and the check fails.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"
#include "log.h"

#define REC_HDR     ((uint32_t)sizeof(struct ring_rec))
#define JUMP_TRIES  16
#define READ_TRIES  4
#define MAX_DATA_SZ (UINT64_C(1) << 40)

static inline uint32_t rec_len(uint32_t caplen)
{
    return (REC_HDR + caplen + 7u) & ~7u;
}

static inline _Atomic uint64_t *ring_word(const struct ring *r, uint64_t off)
{
    assert((off & 7) == 0 && off < r->size);
    return (_Atomic uint64_t *)(void *)(r->data + off);
}

/* Ring bytes are only touched through relaxed atomic words (see ring.h). */
static void words_store(struct ring *r, uint64_t off, const void *src, size_t len)
{
    const unsigned char *s = src;
    size_t i;

    for (i = 0; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        atomic_store_explicit(ring_word(r, off + i), w, memory_order_relaxed);
    }
    if (i < len) {
        uint64_t w = 0;
        memcpy(&w, s + i, len - i);
        atomic_store_explicit(ring_word(r, off + i), w, memory_order_relaxed);
    }
}

/* len is a multiple of 8 (payloads are copied with their padding). */
static void words_load(const struct ring *r, uint64_t off, void *dst, size_t len)
{
    unsigned char *d = dst;

    for (size_t i = 0; i < len; i += 8) {
        uint64_t w = atomic_load_explicit(ring_word(r, off + i), memory_order_relaxed);
        memcpy(d + i, &w, 8);
    }
}

static void rec_load(const struct ring *r, uint64_t pos, struct ring_rec *rec)
{
    uint64_t w[4];

    words_load(r, pos & r->mask, w, sizeof(w));
    memcpy(rec, w, sizeof(*rec));
}

/* Fewer than a header's bytes before the end of the data area are an
 * implicit pad: every reader skips them the same way. */
static inline uint64_t skip_tail_room(const struct ring *r, uint64_t pos)
{
    uint64_t room = r->size - (pos & r->mask);

    return room < REC_HDR ? pos + room : pos;
}

static inline void relaxed_add(_Atomic uint64_t *a, uint64_t v)
{
    /* Single writer: a load and a store, no locked instruction. */
    atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

/* ---- create, attach ---------------------------------------------------- */

static struct ring *ring_wrap(struct segment *seg, char *err, size_t errlen)
{
    struct ring_hdr *h = segment_payload(seg);
    size_t avail = segment_payload_size(seg);
    struct ring *r;

    if (avail < sizeof(*h)) {
        err_set(err, errlen, "ring: segment too small for a ring header");
        return NULL;
    }
    if (h->data_size < RING_MIN_SIZE || h->data_size > MAX_DATA_SZ ||
        (h->data_size & (h->data_size - 1)) != 0) {
        err_set(err, errlen, "ring: data size %" PRIu64 " is not a power of two >= %u",
                h->data_size, RING_MIN_SIZE);
        return NULL;
    }
    if (h->data_off < sizeof(*h) || h->data_off % 64 != 0 || h->data_off > avail ||
        h->data_size > avail - h->data_off) {
        err_set(err, errlen,
                "ring: data area (offset %" PRIu64 ", %" PRIu64 " bytes) outside the segment",
                h->data_off, h->data_size);
        return NULL;
    }
    if (h->max_record < rec_len(0) + 8 || h->max_record > h->data_size / 4 ||
        h->max_record % 8 != 0) {
        err_set(err, errlen, "ring: bad maximum record size %" PRIu32, h->max_record);
        return NULL;
    }
    if (h->max_consumers != RING_MAX_CONSUMERS) {
        err_set(err, errlen, "ring: %" PRIu32 " consumer slots, this build has %d",
                h->max_consumers, RING_MAX_CONSUMERS);
        return NULL;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        err_set(err, errlen, "ring: out of memory");
        return NULL;
    }
    r->seg = seg;
    r->hdr = h;
    r->data = (unsigned char *)h + h->data_off;
    r->size = h->data_size;
    r->mask = h->data_size - 1;
    r->max_record = h->max_record;
    return r;
}

struct ring *ring_create(const char *name, uint64_t data_size, char *err, size_t errlen)
{
    size_t hdr_size = (sizeof(struct ring_hdr) + 4095) & ~(size_t)4095;
    struct segment *seg;
    struct ring_hdr *h;
    struct ring *r;
    uint64_t max_record;

    if (data_size == 0)
        data_size = RING_DEFAULT_SIZE;
    if (data_size < RING_MIN_SIZE || data_size > MAX_DATA_SZ || (data_size & (data_size - 1))) {
        err_set(err, errlen, "ring %s: size %" PRIu64 " is not a power of two in [%u, 2^40]", name,
                data_size, RING_MIN_SIZE);
        return NULL;
    }
    if (data_size > SIZE_MAX - SEGMENT_PAYLOAD_OFF - hdr_size) {
        err_set(err, errlen, "ring %s: size %" PRIu64 " too large", name, data_size);
        return NULL;
    }
    seg = segment_create(name, SEGMENT_PAYLOAD_OFF + hdr_size + (size_t)data_size,
                         SEGMENT_KIND_RING, RING_SCHEMA_HASH, err, errlen);
    if (seg == NULL)
        return NULL;
    /* A record is at most a quarter of the ring, so the producer's tail walk
     * always stays behind what it writes. */
    max_record = data_size / 4;
    if (max_record > rec_len(RING_MAX_CAPLEN))
        max_record = rec_len(RING_MAX_CAPLEN);
    h = segment_payload(seg);
    h->data_size = data_size;
    h->data_off = hdr_size;
    h->max_record = (uint32_t)max_record;
    h->max_consumers = RING_MAX_CONSUMERS;
    r = ring_wrap(seg, err, errlen);
    if (r == NULL)
        segment_free(&seg);
    return r;
}

struct ring *ring_attach(int fd, bool writable, char *err, size_t errlen)
{
    struct segment *seg =
        segment_attach(fd, writable, SEGMENT_KIND_RING, RING_SCHEMA_HASH, err, errlen);
    struct ring *r;

    if (seg == NULL)
        return NULL;
    r = ring_wrap(seg, err, errlen);
    if (r == NULL)
        segment_free(&seg);
    return r;
}

int ring_fd(const struct ring *r)
{
    return r->seg->fd;
}

void ring_free(struct ring **rp)
{
    struct ring *r = *rp;

    if (r == NULL)
        return;
    segment_free(&r->seg);
    free(r);
    *rp = NULL;
}

uint32_t ring_max_caplen(const struct ring *r)
{
    return r->max_record - REC_HDR;
}

/* ---- producer ---------------------------------------------------------- */

int ring_producer_init(struct ring *r, char *err, size_t errlen)
{
    struct ring_hdr *h = r->hdr;
    uint64_t wp, t, seq;

    if (!r->seg->writable) {
        err_set(err, errlen, "ring: the producer needs a writable mapping");
        return -1;
    }
    wp = atomic_load_explicit(&h->write_pos, memory_order_acquire);
    t = atomic_load_explicit(&h->tail_pos, memory_order_relaxed);
    seq = atomic_load_explicit(&h->records, memory_order_relaxed);
    if (t > wp || wp - t > r->size) {
        err_set(err, errlen, "ring: tail %" PRIu64 " and write position %" PRIu64 " disagree", t,
                wp);
        return -1;
    }
    /* A predecessor may have died between publishing a record and counting
     * it: the records themselves say which seq comes next. */
    while (t < wp) {
        struct ring_rec rec;

        t = skip_tail_room(r, t);
        if (t >= wp)
            break;
        rec_load(r, t, &rec);
        if (rec.reclen < REC_HDR || rec.reclen % 8 || rec.reclen > wp - t) {
            err_set(err, errlen, "ring: corrupt record at position %" PRIu64, t);
            return -1;
        }
        seq = (rec.flags & RING_REC_PAD) ? rec.seq : rec.seq + 1;
        t += rec.reclen;
    }
    r->wpos = wp;
    r->hold = 0; /* unknown: ring_room reads the slots */
    r->reserve = atomic_load_explicit(&h->reserve_pos, memory_order_relaxed);
    if (r->reserve < wp)
        r->reserve = wp;
    r->tail = atomic_load_explicit(&h->tail_pos, memory_order_relaxed);
    r->seq = seq;
    r->producer = true;
    atomic_store_explicit(&h->records, seq, memory_order_relaxed);
    segment_claim_writer(r->seg);
    return 0;
}

/* Bytes the record at pos occupies (producer only: its own, intact data). */
static uint64_t span_at(const struct ring *r, uint64_t pos)
{
    uint64_t room = r->size - (pos & r->mask);
    uint64_t w;
    uint32_t reclen;

    if (room < REC_HDR)
        return room;
    w = atomic_load_explicit(ring_word(r, (pos & r->mask) + offsetof(struct ring_rec, reclen)),
                             memory_order_relaxed);
    memcpy(&reclen, (const unsigned char *)&w, sizeof(reclen));
    assert(reclen >= REC_HDR && reclen <= room && reclen % 8 == 0);
    return reclen;
}

/* Announce that bytes up to end are about to be written: move the tail past
 * every record they overwrite, then raise reserve_pos before any data
 * store (ring.h). */
static void claim(struct ring *r, uint64_t end)
{
    struct ring_hdr *h = r->hdr;
    uint64_t t = r->tail;

    while (t + r->size < end)
        t += span_at(r, t);
    t = skip_tail_room(r, t);
    if (t != r->tail) {
        r->tail = t;
        atomic_store_explicit(&h->tail_pos, t, memory_order_relaxed);
    }
    if (end > r->reserve) {
        r->reserve = end;
        atomic_store_explicit(&h->reserve_pos, end, memory_order_release);
    }
    atomic_thread_fence(memory_order_release);
}

static void rec_store(struct ring *r, uint64_t pos, const struct ring_rec *rec)
{
    uint64_t w[4];

    memcpy(w, rec, sizeof(w));
    words_store(r, pos & r->mask, w, sizeof(w));
}

int ring_push(struct ring *r, uint64_t ts_ns, uint32_t caplen, uint32_t wirelen, uint16_t linktype,
              const void *bytes)
{
    struct ring_hdr *h = r->hdr;
    struct ring_rec rec;
    uint64_t room;
    uint32_t reclen;

    assert(r->producer);
    if (caplen > ring_max_caplen(r)) {
        relaxed_add(&h->oversize, 1);
        return -1;
    }
    reclen = rec_len(caplen);
    room = r->size - (r->wpos & r->mask);
    if (room < reclen) {
        /* Records never wrap: pad to the end of the data area. */
        claim(r, r->wpos + room);
        if (room >= REC_HDR) {
            memset(&rec, 0, sizeof(rec));
            rec.seq = r->seq;
            rec.reclen = (uint32_t)room;
            rec.flags = RING_REC_PAD;
            rec_store(r, r->wpos, &rec);
        }
        r->wpos += room;
    }
    claim(r, r->wpos + reclen);
    memset(&rec, 0, sizeof(rec));
    rec.seq = r->seq;
    rec.ts_ns = ts_ns;
    rec.reclen = reclen;
    rec.caplen = caplen;
    rec.wirelen = wirelen;
    rec.linktype = linktype;
    rec_store(r, r->wpos, &rec);
    if (caplen > 0)
        words_store(r, (r->wpos & r->mask) + REC_HDR, bytes, caplen);
    r->wpos += reclen;
    r->seq++;
    atomic_store_explicit(&h->records, r->seq, memory_order_relaxed);
    relaxed_add(&h->bytes, caplen);
    atomic_store_explicit(&h->write_pos, r->wpos, memory_order_release);
    return 0;
}

/* ---- consumers --------------------------------------------------------- */

static void slot_publish_losses(struct ring_consumer *c)
{
    atomic_store_explicit(&c->slot->lost_records, c->cur.lost_records, memory_order_relaxed);
    atomic_store_explicit(&c->slot->lost_bytes, c->cur.lost_bytes, memory_order_relaxed);
}

/* Walk the record chain from pos (intact when we read its header) towards
 * target; returns the position reached and its seq, or false when the
 * producer overwrote pos meanwhile (the chain may then be garbage). */
static bool walk_forward(const struct ring *r, uint64_t pos, uint64_t wp, uint64_t target,
                         uint64_t *out_pos, uint64_t *out_seq)
{
    const struct ring_hdr *h = r->hdr;
    uint64_t start = pos;
    struct ring_rec rec;
    unsigned steps = 0;

    for (;;) {
        pos = skip_tail_room(r, pos);
        if (pos >= wp)
            return false;
        rec_load(r, pos, &rec);
        if (pos >= target || rec.reclen < REC_HDR || rec.reclen % 8 != 0 || rec.reclen > wp - pos ||
            (++steps & 255) == 0) {
            atomic_thread_fence(memory_order_acquire);
            if (atomic_load_explicit(&h->reserve_pos, memory_order_relaxed) > start + r->size)
                return false;
            /* Intact, so sane (ring.h invariants). */
            assert(rec.reclen >= REC_HDR && rec.reclen % 8 == 0 && rec.reclen <= wp - pos);
            if (pos >= target) {
                *out_pos = pos;
                *out_seq = rec.seq;
                return true;
            }
        }
        pos += rec.reclen;
    }
}

/* The consumer was lapped: move it forward and count what it skipped.  It
 * lands halfway between the oldest intact record and the write position, not
 * at the oldest one, which the producer is about to overwrite: a consumer
 * parked there would be lapped again and again, losing a few records each
 * time.  false when the producer kept overwriting what we walked (the caller
 * retries later). */
static bool consumer_jump(struct ring_consumer *c)
{
    struct ring *r = c->ring;
    struct ring_hdr *h = r->hdr;

    for (int i = 0; i < JUMP_TRIES; i++) {
        uint64_t t, wp, pos, seq;

        /* reserve_pos (acquire) first: the tail we then load is at least
         * the one stored with that reservation. */
        (void)atomic_load_explicit(&h->reserve_pos, memory_order_acquire);
        t = skip_tail_room(r, atomic_load_explicit(&h->tail_pos, memory_order_acquire));
        wp = atomic_load_explicit(&h->write_pos, memory_order_acquire);
        if (t >= wp)
            return false;
        if (!walk_forward(r, t, wp, t + (wp - t) / 2, &pos, &seq))
            continue;
        if (c->seq_known) {
            if (pos > c->cur.pos)
                c->cur.lost_bytes += pos - c->cur.pos;
            if (seq > c->cur.seq)
                c->cur.lost_records += seq - c->cur.seq;
            slot_publish_losses(c);
        }
        c->cur.pos = pos;
        c->cur.seq = seq;
        c->seq_known = true;
        return true;
    }
    return false;
}

unsigned ring_read_batch(struct ring_consumer *c, struct ring_pkt *pkts, unsigned max, void *buf,
                         size_t buflen)
{
    struct ring *r = c->ring;
    struct ring_hdr *h = r->hdr;
    unsigned char *out = buf;

    assert(buflen >= r->max_record);
    for (int attempt = 0; attempt < READ_TRIES; attempt++) {
        uint64_t wp = atomic_load_explicit(&h->write_pos, memory_order_acquire);
        uint64_t pos0 = c->cur.pos, pos = pos0, seq = c->cur.seq;
        bool known = c->seq_known, bad = false;
        size_t used = 0;
        unsigned n = 0;

        if (pos0 >= wp)
            return 0;
        if (atomic_load_explicit(&h->reserve_pos, memory_order_relaxed) > pos0 + r->size) {
            if (!consumer_jump(c))
                return 0;
            continue;
        }
        while (n < max && pos < wp) {
            struct ring_rec rec;
            uint64_t off, room;
            uint32_t need;

            pos = skip_tail_room(r, pos);
            if (pos >= wp)
                break;
            off = pos & r->mask;
            room = r->size - off;
            rec_load(r, pos, &rec);
            /* Sanity first: the record may be a newer one half written. */
            if (rec.reclen < REC_HDR || rec.reclen % 8 != 0 || rec.reclen > room ||
                rec.reclen > wp - pos) {
                bad = true;
                break;
            }
            if (rec.flags & RING_REC_PAD) {
                pos += rec.reclen;
                continue;
            }
            if (rec.reclen > r->max_record || rec_len(rec.caplen) != rec.reclen ||
                (known && rec.seq != seq)) {
                bad = true;
                break;
            }
            need = rec.reclen - REC_HDR;
            if (used + need > buflen)
                break;
            words_load(r, off + REC_HDR, out + used, need);
            pkts[n] = (struct ring_pkt){
                .seq = rec.seq,
                .ts_ns = rec.ts_ns,
                .pos = pos,
                .next = pos + rec.reclen,
                .caplen = rec.caplen,
                .wirelen = rec.wirelen,
                .linktype = rec.linktype,
                .data = out + used,
            };
            used += need;
            n++;
            seq = rec.seq + 1;
            known = true;
            pos += rec.reclen;
        }
        /* The seqlock check: everything from pos0 on was intact while we
         * copied iff the producer had not claimed past pos0 + size. */
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&h->reserve_pos, memory_order_relaxed) > pos0 + r->size) {
            c->discarded++;
            atomic_store_explicit(&c->slot->discarded, c->discarded, memory_order_relaxed);
            if (!consumer_jump(c))
                return 0;
            continue;
        }
        /* An intact record that fails its checks means the ring is corrupt
         * (or the cursor was not this ring's): a broken invariant. */
        assert(!(bad && n == 0 && pos == pos0));
        c->cur.pos = pos;
        c->cur.seq = seq;
        c->seq_known = known;
        atomic_store_explicit(&c->slot->read_pos, pos, memory_order_relaxed);
        if (n > 0 || bad)
            return n;
    }
    return 0;
}

static int cursor_read(const struct ring_slot *s, struct ring_cursor *out)
{
    for (int i = 0; i < JUMP_TRIES; i++) {
        uint64_t g = atomic_load_explicit(&s->commit_gen, memory_order_acquire);
        const struct ring_cursor_copy *cp = &s->copy[g & 1];

        if (g == 0)
            return -1;
        out->pos = atomic_load_explicit(&cp->pos, memory_order_relaxed);
        out->seq = atomic_load_explicit(&cp->seq, memory_order_relaxed);
        out->lost_records = atomic_load_explicit(&cp->lost_records, memory_order_relaxed);
        out->lost_bytes = atomic_load_explicit(&cp->lost_bytes, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        /* copy[g & 1] is rewritten only once commit g + 2 has started. */
        if (atomic_load_explicit(&s->commit_writing, memory_order_relaxed) <= g + 1)
            return 0;
    }
    return -1;
}

/* A cursor from a snapshot must point at a record of this ring with the
 * seq it claims (unless that record was overwritten since: then the first
 * read counts the loss). */
static int cursor_check(struct ring *r, const struct ring_cursor *cur, char *err, size_t errlen)
{
    struct ring_hdr *h = r->hdr;
    uint64_t wp = atomic_load_explicit(&h->write_pos, memory_order_acquire);
    uint64_t pos = skip_tail_room(r, cur->pos);
    struct ring_rec rec;

    if (cur->pos > wp) {
        err_set(err, errlen,
                "ring: cursor position %" PRIu64 " is beyond the write position %" PRIu64, cur->pos,
                wp);
        return -1;
    }
    if ((cur->pos & 7) != 0) {
        err_set(err, errlen, "ring: cursor position %" PRIu64 " is not a record start", cur->pos);
        return -1;
    }
    if (pos >= wp)
        return 0;
    rec_load(r, pos, &rec);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&h->reserve_pos, memory_order_relaxed) > pos + r->size)
        return 0;
    if (rec.seq != cur->seq) {
        err_set(err, errlen,
                "ring: cursor says seq %" PRIu64 " at position %" PRIu64 ", the ring has %" PRIu64,
                cur->seq, cur->pos, rec.seq);
        return -1;
    }
    return 0;
}

int ring_consumer_open(struct ring *r, unsigned slot, enum ring_start how,
                       const struct ring_cursor *cur, struct ring_consumer *c, char *err,
                       size_t errlen)
{
    struct ring_hdr *h = r->hdr;
    struct ring_slot *s;

    if (slot >= RING_MAX_CONSUMERS) {
        err_set(err, errlen, "ring: consumer slot %u out of range (max %d)", slot,
                RING_MAX_CONSUMERS);
        return -1;
    }
    if (!r->seg->writable) {
        err_set(err, errlen, "ring: a consumer needs a writable mapping for its slot");
        return -1;
    }
    s = &h->slots[slot];
    memset(c, 0, sizeof(*c));
    c->ring = r;
    c->slot = s;
    c->slot_index = slot;
    switch (how) {
    case RING_START_NEWEST:
        c->cur.pos = atomic_load_explicit(&h->write_pos, memory_order_acquire);
        c->seq_known = c->cur.pos == 0;
        break;
    case RING_START_OLDEST:
        c->cur.pos = 0;
        c->seq_known = false;
        break;
    case RING_START_COMMITTED:
        if (cursor_read(s, &c->cur) == -1) {
            err_set(err, errlen, "ring: slot %u has no committed cursor", slot);
            return -1;
        }
        if (cursor_check(r, &c->cur, err, errlen) == -1)
            return -1;
        c->seq_known = true;
        break;
    case RING_START_CURSOR:
        assert(cur != NULL);
        if (cursor_check(r, cur, err, errlen) == -1)
            return -1;
        c->cur = *cur;
        c->seq_known = true;
        break;
    default:
        err_set(err, errlen, "ring: unknown start mode %d", (int)how);
        return -1;
    }
    atomic_store_explicit(&s->pid, (int32_t)getpid(), memory_order_relaxed);
    atomic_store_explicit(&s->read_pos, c->cur.pos, memory_order_relaxed);
    atomic_store_explicit(&s->discarded, 0, memory_order_relaxed);
    slot_publish_losses(c);
    atomic_store_explicit(&s->in_use, 1, memory_order_release);
    return 0;
}

/* Where slot s keeps the producer from writing (ring_room): its committed
 * cursor, else its read position. */
static uint64_t slot_hold(const struct ring_slot *s)
{
    struct ring_cursor c;
    if (cursor_read(s, &c) == 0)
        return c.pos;
    return atomic_load_explicit(&s->read_pos, memory_order_acquire);
}

bool ring_room(struct ring *r, uint32_t caplen)
{
    assert(r->producer);
    /* A record, and a pad before it at the end of the data area. */
    uint64_t need = r->wpos + 2 * (uint64_t)rec_len(caplen > ring_max_caplen(r) ? 0 : caplen);
    if (need <= r->hold + r->size)
        return true;
    uint64_t hold = UINT64_MAX;
    for (unsigned i = 0; i < r->hdr->max_consumers; i++) {
        const struct ring_slot *s = &r->hdr->slots[i];
        if (atomic_load_explicit(&s->in_use, memory_order_acquire) == 0)
            continue;
        uint64_t h = slot_hold(s);
        if (h < hold)
            hold = h;
    }
    r->hold = hold == UINT64_MAX ? r->wpos : hold;
    return need <= r->hold + r->size;
}

void ring_slot_reserve(struct ring *r, unsigned slot)
{
    struct ring_slot *s = &r->hdr->slots[slot];
    assert(slot < RING_MAX_CONSUMERS);
    atomic_store_explicit(&s->read_pos, 0, memory_order_relaxed);
    atomic_store_explicit(&s->in_use, 1, memory_order_release);
}

void ring_slot_release(struct ring *r, unsigned slot)
{
    assert(slot < RING_MAX_CONSUMERS);
    atomic_store_explicit(&r->hdr->slots[slot].in_use, 0, memory_order_release);
}

void ring_consumer_close(struct ring_consumer *c)
{
    if (c->slot == NULL)
        return;
    atomic_store_explicit(&c->slot->pid, 0, memory_order_relaxed);
    atomic_store_explicit(&c->slot->in_use, 0, memory_order_release);
    c->slot = NULL;
}

void ring_consumer_commit(struct ring_consumer *c, const struct ring_cursor *cur)
{
    struct ring_slot *s = c->slot;
    uint64_t g = atomic_load_explicit(&s->commit_gen, memory_order_relaxed) + 1;
    struct ring_cursor_copy *cp = &s->copy[g & 1];

    /* Two copies: dying half-way leaves copy[(g - 1) & 1] and commit_gen
     * intact, so a restart still finds the previous cursor. */
    atomic_store_explicit(&s->commit_writing, g, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&cp->pos, cur->pos, memory_order_relaxed);
    atomic_store_explicit(&cp->seq, cur->seq, memory_order_relaxed);
    atomic_store_explicit(&cp->lost_records, cur->lost_records, memory_order_relaxed);
    atomic_store_explicit(&cp->lost_bytes, cur->lost_bytes, memory_order_relaxed);
    atomic_store_explicit(&s->commit_gen, g, memory_order_release);
}

int ring_slot_read(const struct ring *r, unsigned slot, struct ring_slot_info *out)
{
    const struct ring_slot *s;
    uint64_t wp;

    if (slot >= RING_MAX_CONSUMERS)
        return -1;
    s = &r->hdr->slots[slot];
    memset(out, 0, sizeof(*out));
    out->in_use = atomic_load_explicit(&s->in_use, memory_order_acquire) != 0;
    out->pid = (pid_t)atomic_load_explicit(&s->pid, memory_order_relaxed);
    out->read_pos = atomic_load_explicit(&s->read_pos, memory_order_relaxed);
    out->lost_records = atomic_load_explicit(&s->lost_records, memory_order_relaxed);
    out->lost_bytes = atomic_load_explicit(&s->lost_bytes, memory_order_relaxed);
    out->discarded = atomic_load_explicit(&s->discarded, memory_order_relaxed);
    wp = atomic_load_explicit(&r->hdr->write_pos, memory_order_acquire);
    out->lag = wp > out->read_pos ? wp - out->read_pos : 0;
    out->committed = cursor_read(s, &out->commit) == 0;
    return 0;
}

void ring_stats(const struct ring *r, struct ring_stats *out)
{
    const struct ring_hdr *h = r->hdr;

    out->data_size = r->size;
    out->write_pos = atomic_load_explicit(&h->write_pos, memory_order_acquire);
    out->tail_pos = atomic_load_explicit(&h->tail_pos, memory_order_relaxed);
    out->records = atomic_load_explicit(&h->records, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&h->bytes, memory_order_relaxed);
    out->oversize = atomic_load_explicit(&h->oversize, memory_order_relaxed);
}
