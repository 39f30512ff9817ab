/*
 * snapshot.h - RCU-style publication of a fixed-size blob across processes.
 *
 * What it owns.  A snapshot area is a block inside a segment (an
 * aggregator's metric segment): a small header and SNAP_SLOTS (3) slots, each
 * {seq, ring position, ring seq, timestamp} followed by a blob of blob_size
 * bytes (a merged bucket, a window: pointer-free by construction).  One
 * writer process publishes; any number of reader processes (the HTTP worker,
 * the writer's own successor after a crash) copy the newest blob.  Readers
 * never block the writer and need no write access.
 *
 * Writer (snap_publish).  It picks a slot that is neither the published one
 * nor the one published before it (with 3 slots: the oldest; a slot left
 * half written by a crashed writer is taken first), then
 *   1. stores slot.seq = 2 * gen + 1 (odd: being written), a release fence,
 *   2. stores the metadata and the blob with relaxed 64-bit atomic stores,
 *   3. stores slot.seq = 2 * gen + 2 (even: complete) with release,
 *   4. stores published = gen << 8 | index with release.
 * gen grows by one per publication and never repeats.
 *
 * Reader (snap_read).  It loads published with acquire, then slot.seq with
 * acquire and requires 2 * gen + 2 (else the slot is already being reused:
 * retry), copies metadata and blob with relaxed loads, issues an acquire
 * fence and loads slot.seq again; the copy is returned only if it is
 * unchanged.  After SNAP_READ_TRIES failed tries it reports SNAP_BUSY.
 *
 * Why a reader never returns a torn copy.  Every store into a slot's blob is
 * preceded, in the writer, by the store of an odd slot.seq and a release
 * fence.  If any word the reader copied came from such a later write, then
 * (release fence -> relaxed store read by the reader -> reader's acquire
 * fence) that odd seq, or a later value, is visible to the reader's second
 * load of slot.seq, which therefore differs from the first: the copy is
 * discarded.  If no copied word came from a later write, every word belongs
 * to generation gen, whose completion (even seq, release) the reader's first
 * acquire load observed.  Seq values never repeat, so a slot rewritten back
 * to "the same" state cannot fool the check.  All shared words are atomics,
 * so this also holds in the C11 model (and under TSan for threads).  The
 * three slots only make retries rare: a slot is rewritten two publications
 * after the one that made it current, so a reader that starts copying
 * promptly has two publication periods (about 200 ms) to finish.
 *
 * What a crash leaves behind.  A writer killed in step 2 leaves its slot odd;
 * published still names the previous complete slot, which readers keep
 * getting.  The successor (snap_attach on the same memory) needs no local
 * state: the next generation and slot are computed from the slots.  Each
 * snapshot carries the ring cursor (position and seq of the next packet, see
 * shm/ring.h) of the last packet it includes, so the successor can load the
 * blob as its live state and re-read the ring from there (DESIGN.md section
 * 3).
 *
 * Ownership: struct snap is a handle on caller-owned memory (a segment's
 * payload); it allocates nothing and needs no free.
 */
#ifndef PKTVISOR_SHM_SNAPSHOT_H
#define PKTVISOR_SHM_SNAPSHOT_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_SLOTS      3
#define SNAP_READ_TRIES 16
#define SNAP_MAGIC      UINT64_C(0x31544853504e5350) /* "PSNPSHT1", little-endian */

struct snap_slot_hdr {
    alignas(64) _Atomic uint64_t seq; /* 0 never written, odd writing, even complete */
    _Atomic uint64_t ring_pos;
    _Atomic uint64_t ring_seq;
    _Atomic uint64_t ts_ns;
    /* blob follows at the next 64-byte boundary */
};

struct snap_area {
    uint64_t magic;
    uint64_t blob_size;
    uint64_t slot_stride; /* bytes from one slot to the next */
    uint32_t nslots;
    uint32_t reserved;
    alignas(64) _Atomic uint64_t published; /* gen << 8 | slot index; 0: none yet */
    _Atomic uint64_t publications;
    /* slots follow at SNAP_SLOT_OFF */
};

#define SNAP_SLOT_OFF 128u
#define SNAP_BLOB_OFF 64u

/* What a snapshot says about itself. */
struct snap_meta {
    uint64_t generation;
    uint64_t ring_pos; /* ring cursor after the last packet included */
    uint64_t ring_seq;
    uint64_t ts_ns;
};

enum snap_result {
    SNAP_OK = 0,
    SNAP_NONE, /* nothing published yet */
    SNAP_BUSY, /* the writer kept rewriting what we copied: try later */
};

struct snap {
    struct snap_area *area;
    size_t blob_size;
};

/* Bytes a snapshot area for blob_size needs (a multiple of 64). */
size_t snap_area_size(size_t blob_size);

/* Format zeroed memory as a snapshot area (the segment's creator, once).
 * -1 with a message when mem is too small or misaligned. */
int snap_init(struct snap *s, void *mem, size_t memlen, size_t blob_size, char *err, size_t errlen);

/* Use an area formatted by snap_init (writer or reader): checks magic, slot
 * count and that the blob size is the expected one. */
int snap_attach(struct snap *s, void *mem, size_t memlen, size_t blob_size, char *err,
                size_t errlen);

/* Writer: publish a copy of blob (blob_size bytes) with meta's ring cursor
 * and timestamp (meta->generation is ignored).  Returns the new generation.
 * One writer at a time. */
uint64_t snap_publish(struct snap *s, const void *blob, const struct snap_meta *meta);

/* Reader: copy the newest blob into out (blob_size bytes) and its metadata. */
enum snap_result snap_read(const struct snap *s, void *out, struct snap_meta *meta);
/* The same for the first len bytes of the blob only (len <= blob_size): a
 * reader that needs a prefix does not copy the rest. */
enum snap_result snap_read_prefix(const struct snap *s, void *out, size_t len,
                                  struct snap_meta *meta);

/* Generation currently published (0: none); for monitoring. */
uint64_t snap_generation(const struct snap *s);

#endif
