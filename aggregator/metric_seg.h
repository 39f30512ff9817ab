/*
 * metric_seg.h - an aggregator's metric segment: who it belongs to, what
 * its successive processes left behind, and its snapshot area.
 *
 * The supervisor creates one segment per handler instance (shm/segment.h,
 * kind SEGMENT_KIND_METRIC, schema hash of the handler's metric table) and
 * keeps it for the agent's life, so a respawned aggregator finds everything
 * its predecessor published.  Layout of the payload:
 *   struct metric_seg_hdr  identity (instance, type, periods, block size),
 *                          then the crash-tracking words below
 *   snapshot area          at METRIC_SEG_SNAP_OFF: shm/snapshot.h slots,
 *                          each holding a whole handler block (handler.h)
 *
 * Writers.  The aggregator process of the instance writes the snapshot area
 * and the crash words; the supervisor writes nothing after creation; the
 * HTTP worker maps it read-only.
 *
 * Crash words (DESIGN.md section 3: a packet that crashed the handler twice
 * is skipped).  While it feeds a record the aggregator keeps its seq in
 * `inflight` (AGG_INFLIGHT_NONE between batches).  metric_seg_start(), run
 * by each new aggregator process before anything else, reads what the
 * predecessor left: an inflight seq means it died feeding that record; the
 * same seq twice in a row names a poison record, which the new process
 * skips and counts.  `starts` counts processes, `clean_stops` the ones that
 * ended on request (SIGTERM, SIGHUP reload), so restarts after crashes are
 * starts - 1 - clean_stops.
 *
 * Ownership: struct segment as in shm/segment.h (segment_free).  The header
 * pointer is valid while the segment is mapped.
 */
#ifndef PKTVISOR_METRIC_SEG_H
#define PKTVISOR_METRIC_SEG_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handler.h"
#include "segment.h"
#include "snapshot.h"

#define METRIC_SEG_SNAP_OFF 4096u

struct metric_seg_hdr {
    char instance[128];
    char type[16];
    uint32_t num_periods;
    uint32_t reserved;
    uint64_t block_size;
    alignas(64) _Atomic uint64_t starts;
    _Atomic uint64_t clean_stops;
    _Atomic uint64_t inflight;
    _Atomic uint64_t suspect_seq;
    _Atomic uint64_t suspect_crashes;
    _Atomic uint64_t poisoned; /* poison records named so far */
    _Atomic uint32_t finished; /* input ended, final snapshot published */
};

/* What metric_seg_start() found. */
struct metric_seg_start {
    uint64_t restarts; /* after crashes, this start included */
    bool poison;       /* skip poison_seq */
    uint64_t poison_seq;
};

/* Create the segment of instance `name` of type t (supervisor). */
struct segment *metric_seg_create(const struct handler_type *t, const char *name,
                                  uint32_t num_periods, char *err, size_t errlen);
/* Map and validate an fd (dup'ed) as the segment of type t with
 * num_periods buckets. */
struct segment *metric_seg_attach(int fd, bool writable, const struct handler_type *t,
                                  uint32_t num_periods, char *err, size_t errlen);

struct metric_seg_hdr *metric_seg_hdr(const struct segment *s);
/* The snapshot area (blob: the handler block). */
struct snap_area *metric_seg_snap(const struct segment *s);

/* A new aggregator process begins on the segment (see above). */
void metric_seg_start(struct segment *s, struct metric_seg_start *out);

#endif
