/*
 * snapshot.c - RCU-style snapshot slots (see snapshot.h for why a reader
 * never returns a torn copy).
 */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "snapshot.h"
#include "log.h"

static size_t slot_stride(size_t blob_size)
{
    return SNAP_BLOB_OFF + ((blob_size + 63) & ~(size_t)63);
}

size_t snap_area_size(size_t blob_size)
{
    return SNAP_SLOT_OFF + SNAP_SLOTS * slot_stride(blob_size);
}

static struct snap_slot_hdr *slot_at(const struct snap *s, unsigned i)
{
    assert(i < SNAP_SLOTS);
    return (struct snap_slot_hdr *)(void *)((char *)s->area + SNAP_SLOT_OFF +
                                            (size_t)i * s->area->slot_stride);
}

static _Atomic uint64_t *blob_words(struct snap_slot_hdr *sl)
{
    return (_Atomic uint64_t *)(void *)((char *)sl + SNAP_BLOB_OFF);
}

/* Generation a slot holds or was being written with (0: never written). */
static uint64_t slot_gen(uint64_t seq)
{
    return seq == 0 ? 0 : (seq - 1) / 2;
}

static int check_mem(void *mem, size_t memlen, size_t blob_size, char *err, size_t errlen)
{
    if (((uintptr_t)mem & 63) != 0) {
        err_set(err, errlen, "snapshot: area not 64-byte aligned");
        return -1;
    }
    if (blob_size == 0 || blob_size > (SIZE_MAX >> 4) || memlen < snap_area_size(blob_size)) {
        err_set(err, errlen, "snapshot: %zu bytes cannot hold %d slots of %zu bytes", memlen,
                SNAP_SLOTS, blob_size);
        return -1;
    }
    return 0;
}

int snap_init(struct snap *s, void *mem, size_t memlen, size_t blob_size, char *err, size_t errlen)
{
    struct snap_area *a = mem;

    if (check_mem(mem, memlen, blob_size, err, errlen) == -1)
        return -1;
    a->blob_size = blob_size;
    a->slot_stride = slot_stride(blob_size);
    a->nslots = SNAP_SLOTS;
    atomic_store_explicit(&a->published, 0, memory_order_relaxed);
    atomic_store_explicit(&a->publications, 0, memory_order_relaxed);
    a->magic = SNAP_MAGIC;
    s->area = a;
    s->blob_size = blob_size;
    return 0;
}

int snap_attach(struct snap *s, void *mem, size_t memlen, size_t blob_size, char *err,
                size_t errlen)
{
    const struct snap_area *a = mem;

    if (check_mem(mem, memlen, blob_size, err, errlen) == -1)
        return -1;
    if (a->magic != SNAP_MAGIC) {
        err_set(err, errlen, "snapshot: bad magic 0x%016" PRIx64 " (area not initialised?)",
                a->magic);
        return -1;
    }
    if (a->nslots != SNAP_SLOTS || a->blob_size != blob_size ||
        a->slot_stride != slot_stride(blob_size)) {
        err_set(err, errlen,
                "snapshot: area has %" PRIu32 " slots of %" PRIu64 " bytes, expected %d of %zu",
                a->nslots, a->blob_size, SNAP_SLOTS, blob_size);
        return -1;
    }
    s->area = mem;
    s->blob_size = blob_size;
    return 0;
}

uint64_t snap_publish(struct snap *s, const void *blob, const struct snap_meta *meta)
{
    struct snap_area *a = s->area;
    uint64_t pub = atomic_load_explicit(&a->published, memory_order_relaxed);
    unsigned cur = (unsigned)(pub & 0xff), pick = SNAP_SLOTS;
    uint64_t gen = pub >> 8, oldest = UINT64_MAX;
    const unsigned char *src = blob;
    struct snap_slot_hdr *sl;
    _Atomic uint64_t *w;
    size_t i;

    /* Derived from the slots, so a respawned writer needs no state: the next
     * generation follows every one seen, and the slot is the oldest other
     * than the published one (a torn or unused one first). */
    for (unsigned k = 0; k < SNAP_SLOTS; k++) {
        uint64_t seq = atomic_load_explicit(&slot_at(s, k)->seq, memory_order_relaxed);
        uint64_t g = slot_gen(seq);
        uint64_t age = (seq == 0 || (seq & 1)) ? 0 : g + 1;

        if (g > gen)
            gen = g;
        if (pub != 0 && k == cur)
            continue;
        if (age < oldest) {
            oldest = age;
            pick = k;
        }
    }
    assert(pick < SNAP_SLOTS);
    gen++;
    sl = slot_at(s, pick);
    atomic_store_explicit(&sl->seq, 2 * gen + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&sl->ring_pos, meta->ring_pos, memory_order_relaxed);
    atomic_store_explicit(&sl->ring_seq, meta->ring_seq, memory_order_relaxed);
    atomic_store_explicit(&sl->ts_ns, meta->ts_ns, memory_order_relaxed);
    w = blob_words(sl);
    for (i = 0; i + 8 <= s->blob_size; i += 8) {
        uint64_t v;
        memcpy(&v, src + i, 8);
        atomic_store_explicit(&w[i / 8], v, memory_order_relaxed);
    }
    if (i < s->blob_size) {
        uint64_t v = 0;
        memcpy(&v, src + i, s->blob_size - i);
        atomic_store_explicit(&w[i / 8], v, memory_order_relaxed);
    }
    atomic_store_explicit(&sl->seq, 2 * gen + 2, memory_order_release);
    atomic_store_explicit(&a->published, gen << 8 | pick, memory_order_release);
    atomic_store_explicit(&a->publications,
                          atomic_load_explicit(&a->publications, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    return gen;
}

enum snap_result snap_read(const struct snap *s, void *out, struct snap_meta *meta)
{
    return snap_read_prefix(s, out, s->blob_size, meta);
}

enum snap_result snap_read_prefix(const struct snap *s, void *out, size_t len,
                                  struct snap_meta *meta)
{
    const struct snap_area *a = s->area;
    unsigned char *dst = out;

    assert(len <= s->blob_size);
    for (int t = 0; t < SNAP_READ_TRIES; t++) {
        uint64_t pub = atomic_load_explicit(&a->published, memory_order_acquire);
        uint64_t gen = pub >> 8, seq;
        unsigned idx = (unsigned)(pub & 0xff);
        struct snap_slot_hdr *sl;
        struct snap_meta m;
        _Atomic uint64_t *w;
        size_t i;

        if (pub == 0)
            return SNAP_NONE;
        assert(idx < SNAP_SLOTS);
        sl = slot_at(s, idx);
        seq = atomic_load_explicit(&sl->seq, memory_order_acquire);
        if (seq != 2 * gen + 2)
            continue; /* already being reused for a newer generation */
        m.generation = gen;
        m.ring_pos = atomic_load_explicit(&sl->ring_pos, memory_order_relaxed);
        m.ring_seq = atomic_load_explicit(&sl->ring_seq, memory_order_relaxed);
        m.ts_ns = atomic_load_explicit(&sl->ts_ns, memory_order_relaxed);
        w = blob_words(sl);
        for (i = 0; i + 8 <= len; i += 8) {
            uint64_t v = atomic_load_explicit(&w[i / 8], memory_order_relaxed);
            memcpy(dst + i, &v, 8);
        }
        if (i < len) {
            uint64_t v = atomic_load_explicit(&w[i / 8], memory_order_relaxed);
            memcpy(dst + i, &v, len - i);
        }
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&sl->seq, memory_order_relaxed) != seq)
            continue;
        if (meta != NULL)
            *meta = m;
        return SNAP_OK;
    }
    return SNAP_BUSY;
}

uint64_t snap_generation(const struct snap *s)
{
    return atomic_load_explicit(&s->area->published, memory_order_acquire) >> 8;
}
