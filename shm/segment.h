/*
 * segment.h - memfd-backed shared-memory segments: create, map, validate.
 *
 * What it owns.  A segment is one anonymous memory file (memfd_create) of a
 * fixed size, mapped MAP_SHARED.  The supervisor creates every segment before
 * it forks, seals it (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) so no child
 * can resize it under the others (a shrink would turn the readers' accesses
 * into SIGBUS), and hands the fd to the children (inherited, or SCM_RIGHTS).
 * Each process maps it at its own address, so everything inside is addressed
 * by offsets from the segment base, never by pointers.
 *
 * Layout.  Offset 0 holds struct segment_hdr (64 bytes, one cache line):
 * magic, layout version, kind (packet ring, metric segment, ...), a schema
 * hash, the total size, the writer's pid and a generation counter.  The
 * payload starts at SEGMENT_PAYLOAD_OFF, 64-byte aligned; its format belongs
 * to the kind (shm/ring.h, shm/snapshot.h, aggregator windows).
 *
 * Who writes, who reads.  segment_create() fills the header once, before any
 * other process sees the fd; after that the header is read-only except
 * writer_pid and generation, which the current writer of the payload updates
 * with atomic stores (monitoring: who owns it, how often it was re-attached).
 * segment_attach() checks every header field against what the caller expects,
 * so a segment from another build, another kind or a truncated file is a clear
 * error message, never a crash or a silently misread payload.
 *
 * Lifetime, and what a crash leaves behind.  The memory lives as long as one
 * fd or one mapping refers to it; nothing is left in /dev/shm or the file
 * system.  A crashed writer leaves the payload as it was at the crash: the
 * payload formats are built so that what was published before the crash stays
 * valid (ring positions, snapshot slots), and a respawned writer re-attaches
 * the same fd, bumps the generation and records its pid.
 *
 * Ownership: segment_create/segment_map/segment_attach return a struct
 * segment that holds its own fd (segment_map dups the caller's fd) and its
 * mapping; segment_free() unmaps, closes and NULLs the caller's pointer.
 */
#ifndef PKTVISOR_SHM_SEGMENT_H
#define PKTVISOR_SHM_SEGMENT_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct metric_table;

#define SEGMENT_MAGIC          UINT64_C(0x314d485354565050) /* "PPVTSHM1", little-endian */
#define SEGMENT_LAYOUT_VERSION 1u
#define SEGMENT_PAYLOAD_OFF    64u
#define SEGMENT_NAME_MAX       64

enum segment_kind {
    SEGMENT_KIND_NONE = 0,
    SEGMENT_KIND_RING = 1,   /* packet ring (shm/ring.h) */
    SEGMENT_KIND_METRIC = 2, /* an aggregator's windows and snapshots */
    SEGMENT_KIND_TEST = 99,  /* unit tests */
};

struct segment_hdr {
    uint64_t magic;
    uint32_t layout_version;
    uint32_t kind;
    uint64_t schema_hash; /* segment_schema_hash() or the kind's own layout hash */
    uint64_t size;        /* total bytes, header included */
    uint64_t payload_off; /* SEGMENT_PAYLOAD_OFF */
    _Atomic int32_t writer_pid;
    uint32_t reserved0;
    _Atomic uint64_t generation; /* bumped by each writer that (re)attaches */
    uint64_t reserved1;
};
_Static_assert(sizeof(struct segment_hdr) == 64, "segment header is one cache line");

struct segment {
    int fd;
    bool writable;
    size_t size;
    void *base; /* mapping of size bytes; struct segment_hdr at offset 0 */
};

/* Create a sealed memfd of size bytes (rounded up to the page size), map it
 * read-write and fill the header.  name is for /proc/PID/fd and debugging.
 * NULL with a message in err on failure. */
struct segment *segment_create(const char *name, size_t size, enum segment_kind kind,
                               uint64_t schema_hash, char *err, size_t errlen);

/* Map an existing segment fd (dup'ed; the caller keeps its own fd) without
 * looking at its content; the size comes from fstat.  NULL with a message in
 * err when the fd is not mappable or smaller than a header. */
struct segment *segment_map(int fd, bool writable, char *err, size_t errlen);

/* Check the header: magic, layout version, kind, schema hash and that the
 * recorded size equals the mapped size.  0 when it matches; -1 and a message
 * naming the first mismatch otherwise. */
int segment_validate(const struct segment *s, enum segment_kind kind, uint64_t schema_hash,
                     char *err, size_t errlen);

/* segment_map() then segment_validate(); on a mismatch the mapping is freed. */
struct segment *segment_attach(int fd, bool writable, enum segment_kind kind, uint64_t schema_hash,
                               char *err, size_t errlen);

/* The writer of the payload announces itself: writer_pid = getpid() and
 * generation + 1.  Needs a writable mapping.  Returns the new generation. */
uint64_t segment_claim_writer(struct segment *s);

void segment_free(struct segment **s);

static inline struct segment_hdr *segment_hdr(const struct segment *s)
{
    return (struct segment_hdr *)s->base;
}

static inline void *segment_payload(const struct segment *s)
{
    return (char *)s->base + SEGMENT_PAYLOAD_OFF;
}

static inline size_t segment_payload_size(const struct segment *s)
{
    return s->size - SEGMENT_PAYLOAD_OFF;
}

/* Identity of a metric layout: the schema key, the bucket size, and each
 * metric's kind, offset and path, in order.  Two builds whose buckets differ
 * in any of these get different hashes, so a segment from one is rejected by
 * the other. */
uint64_t segment_schema_hash(const struct metric_table *t);

#endif
