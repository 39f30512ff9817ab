/*
 * ring.h - the packet ring: one producer, many consumers, broadcast.
 *
 * What it owns.  One ring per tap lives in its own segment (shm/segment.h,
 * kind SEGMENT_KIND_RING).  After the segment header come struct ring_hdr
 * (constants, the producer's published positions, statistics and
 * RING_MAX_CONSUMERS consumer slots, each on its own cache lines) and the
 * data area: a power-of-two number of bytes holding variable-length records
 * one after the other.  Every consumer sees every record (broadcast); the
 * capture process is the only producer.
 *
 * Positions.  A position is a 64-bit count of bytes ever written; the byte at
 * position p lives at data[p & (size - 1)].  Positions only grow (at 10 GB/s
 * they wrap after 58 years), so "older", "lapped" and "how much was skipped"
 * are plain subtractions.  Each record is a 32-byte struct ring_rec followed
 * by the captured bytes, padded to 8: {seq, ts_ns, reclen, caplen, wirelen,
 * linktype, flags}.  seq counts records from 0 without gaps.  A record never
 * wraps around the end of the data area: when it does not fit, the producer
 * fills the rest with a padding record (flag RING_REC_PAD, carrying the seq
 * of the record that follows), or, when fewer than 32 bytes remain, leaves
 * them as an implicit pad that every reader skips by the same rule.
 *
 * The producer never waits.  It keeps three positions in the header:
 *   tail_pos    oldest record still intact (a record start)
 *   reserve_pos end of the bytes it has claimed (may be in the middle of
 *               writing them)
 *   write_pos   end of the complete, published records
 * To append a record covering [w, e) it first advances tail_pos past every
 * record that [w, e) will overwrite (old data at positions below e - size),
 * stores tail_pos, then reserve_pos = e (release), a release fence, writes
 * the record, and publishes write_pos = e with a release store.  It never
 * reads a consumer's state, unless it asks ring_room() first (a file
 * replay, which may wait; see there).
 *
 * Consumers.  Each consumer keeps its own read position (struct
 * ring_consumer, private memory) and reads a batch of records by copying them
 * out of the ring into a buffer of its own (ring_read_batch).  After the
 * copy it issues an acquire fence and re-reads reserve_pos (seqlock style):
 * the bytes at [pos, ...) were intact during the copy iff reserve_pos <= pos +
 * size, where pos is the batch's first position.  If not, the producer may
 * have overwritten the start of the batch while it was copied: the whole
 * batch is discarded (its record lengths may be garbage), the consumer is
 * lapped.  A lapped consumer jumps forward: from tail_pos it walks the record
 * headers (validated the same way) to the first record at or past halfway
 * between tail_pos and write_pos (jumping to the oldest record itself would
 * leave it where the producer writes next, lapped again at once), and counts
 * the loss exactly: records lost = that record's seq - the seq it expected,
 * bytes skipped = the position difference.
 * So records returned + records counted lost = records produced, and a
 * returned record is never torn.
 *
 * Why copy and not return pointers into the ring: a handler updates its
 * metrics while it reads a packet; if the bytes could change under it, a
 * validation after the fact would come too late to undo what it counted.
 * Copying 100 bytes costs far less than decoding them.  Ring bytes are read
 * and written with relaxed 64-bit atomic accesses, so the seqlock is also
 * race-free in the C11 model (records are 8-byte aligned).
 *
 * Consumer slots and exactly-once.  Slot i (assigned by the supervisor) holds
 * the consumer's pid, its read position, its live loss counters and its
 * committed cursor {pos, seq, lost records, lost bytes}: the cursor of the
 * last snapshot it published (DESIGN.md section 3).  A restarted consumer
 * resumes from the cursor stored in its newest snapshot (RING_START_CURSOR),
 * or from the slot (RING_START_COMMITTED) when it keeps no snapshot; the
 * slot's cursor is written in two copies so a consumer killed while
 * committing leaves the previous one intact.  The producer ignores the slots:
 * they are for monitoring (lag, overruns) and for restarts.
 *
 * What a crash leaves behind.  A dead producer leaves write_pos at its last
 * complete record and perhaps a half-written one beyond it, never published;
 * a respawned producer (ring_producer_init) resumes at write_pos and recovers
 * the next seq by walking its own records from tail_pos, so consumers see
 * neither a gap nor a repeat.  A dead consumer leaves its slot, which a
 * restarted one reuses.
 *
 * Waiting: ring_read_batch never blocks; an empty ring returns 0 and the
 * caller sleeps or polls (a 1 ms poll against the default ring loses
 * nothing at 1 Mpps).
 */
#ifndef PKTVISOR_SHM_RING_H
#define PKTVISOR_SHM_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "segment.h"

#define RING_MAX_CONSUMERS 32
#define RING_MIN_SIZE      4096u
/* 2^28: one second of 1 Mpps at 100 bytes is 1e6 * (32 + 104) = 136 MB. */
#define RING_DEFAULT_SIZE   (UINT64_C(1) << 28)
#define RING_MAX_CAPLEN     262144u
#define RING_LAYOUT_VERSION 1u
/* The ring's "schema hash" for segment_validate: its layout version. */
#define RING_SCHEMA_HASH (UINT64_C(0x52494e4700000000) | RING_LAYOUT_VERSION)

#define RING_REC_PAD 0x1u

/*
 * Control records.  Besides frames, the capture process writes two kinds of
 * records whose link type no capture uses (DLT values stay far below): they
 * travel in order with the frames, so a consumer that resumes from a cursor
 * sees each exactly once too.
 */
#define RING_LINK_STATS 0xfff0u /* bytes: struct ring_ctl_stats, read at ts */
#define RING_LINK_EOF   0xfff1u /* a file tap ended; no bytes */

struct ring_ctl_stats {
    uint64_t recv; /* deltas of libpcap's counters since the previous record */
    uint64_t drop;
    uint64_t ifdrop;
};

/* One record header in the data area; caplen bytes follow, then padding to
 * a multiple of 8.  A padding record has flags RING_REC_PAD and caplen 0. */
struct ring_rec {
    uint64_t seq;
    uint64_t ts_ns;
    uint32_t reclen; /* whole record: header + bytes + padding */
    uint32_t caplen;
    uint32_t wirelen;
    uint16_t linktype;
    uint16_t flags;
};
_Static_assert(sizeof(struct ring_rec) == 32, "record header is 32 bytes");

/* Where a consumer stands: the position and seq of the next record it will
 * read, and the losses it counted before it.  A snapshot stores this. */
struct ring_cursor {
    uint64_t pos;
    uint64_t seq;
    uint64_t lost_records;
    uint64_t lost_bytes;
};

struct ring_cursor_copy {
    _Atomic uint64_t pos;
    _Atomic uint64_t seq;
    _Atomic uint64_t lost_records;
    _Atomic uint64_t lost_bytes;
};

struct ring_slot {
    alignas(64) _Atomic uint32_t in_use;
    _Atomic int32_t pid;
    _Atomic uint64_t read_pos;     /* next position it will read */
    _Atomic uint64_t lost_records; /* live loss counters */
    _Atomic uint64_t lost_bytes;
    _Atomic uint64_t discarded; /* batches dropped by the seqlock check */
    /* Committed cursor: copy[gen & 1] is complete once commit_gen == gen. */
    _Atomic uint64_t commit_writing; /* gen being written */
    _Atomic uint64_t commit_gen;
    struct ring_cursor_copy copy[2];
};

struct ring_hdr {
    /* Constant after ring_create. */
    uint64_t data_size; /* power of two */
    uint64_t data_off;  /* from the start of this header, page aligned */
    uint32_t max_record;
    uint32_t max_consumers;
    /* Written by the producer only. */
    alignas(64) _Atomic uint64_t write_pos;
    _Atomic uint64_t reserve_pos;
    _Atomic uint64_t tail_pos;
    alignas(64) _Atomic uint64_t records; /* pushed, padding excluded */
    _Atomic uint64_t bytes;               /* caplen bytes pushed */
    _Atomic uint64_t oversize;            /* refused: larger than max_record */
    struct ring_slot slots[RING_MAX_CONSUMERS];
};

/* A process's handle on a ring (private memory). */
struct ring {
    struct segment *seg;
    struct ring_hdr *hdr;
    unsigned char *data;
    uint64_t size;
    uint64_t mask;
    uint32_t max_record;
    /* Producer's own copies (valid after ring_producer_init). */
    bool producer;
    uint64_t wpos;
    uint64_t reserve;
    uint64_t tail;
    uint64_t seq;
    uint64_t hold; /* slowest consumer's held position, as last computed (ring_room) */
};

/* A record handed to a consumer; data points into the caller's buffer. */
struct ring_pkt {
    uint64_t seq;
    uint64_t ts_ns;
    uint64_t pos;  /* position of the record in the ring */
    uint64_t next; /* position after it */
    uint32_t caplen;
    uint32_t wirelen;
    uint16_t linktype;
    const unsigned char *data;
};

enum ring_start {
    RING_START_NEWEST,    /* records pushed from now on */
    RING_START_OLDEST,    /* the oldest record still in the ring */
    RING_START_COMMITTED, /* the cursor committed in the slot */
    RING_START_CURSOR,    /* a cursor the caller kept (its snapshot) */
};

struct ring_consumer {
    struct ring *ring;
    struct ring_slot *slot;
    unsigned slot_index;
    bool seq_known; /* false until the first record after RING_START_NEWEST */
    struct ring_cursor cur;
    uint64_t discarded;
};

/* Snapshot of a slot for monitoring. */
struct ring_slot_info {
    bool in_use;
    pid_t pid;
    uint64_t read_pos;
    uint64_t lag; /* write_pos - read_pos, bytes */
    uint64_t lost_records;
    uint64_t lost_bytes;
    uint64_t discarded;
    bool committed; /* a cursor was committed */
    struct ring_cursor commit;
};

struct ring_stats {
    uint64_t data_size;
    uint64_t write_pos;
    uint64_t tail_pos;
    uint64_t records;
    uint64_t bytes;
    uint64_t oversize;
};

/* Create the ring segment (data_size: a power of two >= RING_MIN_SIZE, 0 for
 * RING_DEFAULT_SIZE).  The handle can produce after ring_producer_init(). */
struct ring *ring_create(const char *name, uint64_t data_size, char *err, size_t errlen);
/* Map and validate a ring segment fd (dup'ed; the caller keeps its fd). */
struct ring *ring_attach(int fd, bool writable, char *err, size_t errlen);
int ring_fd(const struct ring *r);
void ring_free(struct ring **r);

/* Become the producer: resume at write_pos with the next seq, record our pid
 * in the segment header.  Needs a writable mapping. */
int ring_producer_init(struct ring *r, char *err, size_t errlen);
/* Largest caplen a record may have in this ring. */
uint32_t ring_max_caplen(const struct ring *r);
/* Append one record.  Never waits.  -1 (and counted in oversize) when caplen
 * exceeds ring_max_caplen(). */
int ring_push(struct ring *r, uint64_t ts_ns, uint32_t caplen, uint32_t wirelen, uint16_t linktype,
              const void *bytes);

/*
 * Flow control, for a producer that may wait (a capture file: its packets
 * keep; the kernel's do not, so a live capture never calls this).  True
 * when a record of caplen bytes can be pushed without overwriting a byte
 * that an in-use consumer slot still holds: its committed cursor (what its
 * successor would re-read after a crash), or its read position when it
 * committed none.  The slowest position is cached and the slots are read
 * again only when the cache says no, so this costs a comparison per push.
 */
bool ring_room(struct ring *r, uint32_t caplen);
/* The supervisor marks a slot held from position 0 before its consumer
 * starts (so a file's producer cannot lap a consumer still starting), and
 * releases a slot whose consumer will not come back. */
void ring_slot_reserve(struct ring *r, unsigned slot);
void ring_slot_release(struct ring *r, unsigned slot);

/* Open consumer slot `slot` (the supervisor assigns slots).  cur is read for
 * RING_START_CURSOR only.  -1 with a message for a bad slot or cursor. */
int ring_consumer_open(struct ring *r, unsigned slot, enum ring_start how,
                       const struct ring_cursor *cur, struct ring_consumer *c, char *err,
                       size_t errlen);
void ring_consumer_close(struct ring_consumer *c);

/* Copy up to max records into buf (buflen >= ring_max_caplen() + 8) and
 * describe them in pkts.  Returns how many (0: nothing new).  Never returns a
 * record that changed while it was copied; losses are counted in the cursor
 * and the slot.  The records are consecutive: pkts[i].seq ==
 * pkts[0].seq + i. */
unsigned ring_read_batch(struct ring_consumer *c, struct ring_pkt *pkts, unsigned max, void *buf,
                         size_t buflen);

/* The cursor just after pkt, a record of the last batch: what a snapshot
 * that includes pkt (and everything before it) stores. */
static inline struct ring_cursor ring_cursor_after(const struct ring_consumer *c,
                                                   const struct ring_pkt *pkt)
{
    struct ring_cursor cur = c->cur;

    cur.pos = pkt->next;
    cur.seq = pkt->seq + 1;
    return cur;
}

/* Publish cur as the committed cursor of the consumer's slot. */
void ring_consumer_commit(struct ring_consumer *c, const struct ring_cursor *cur);

/* Monitoring.  ring_slot_read returns -1 for a slot index out of range. */
int ring_slot_read(const struct ring *r, unsigned slot, struct ring_slot_info *out);
void ring_stats(const struct ring *r, struct ring_stats *out);

#endif
