/*
 * agg_loop.h - the aggregator process's loop: packet ring -> pipeline with
 * one handler instance -> published snapshots of the handler's block.
 *
 * Where it runs.  In an aggregator process (one per handler instance,
 * DESIGN.md section 3), after the privilege drop: it reads the tap's ring
 * through a consumer slot the caller opened, feeds every frame to
 * pipeline_frame() (the same decode and handler code pktvisor-pcap runs,
 * property 6), and publishes the handler's block (handler.h: header,
 * window, resume area; pointer-free) into a snapshot area (shm/snapshot.h)
 * inside the aggregator's metric segment.  It opens nothing, allocates one
 * read buffer, and never logs: what went wrong is in the return value and
 * agg_loop_stats.message.
 *
 * Records.  Frames go to the pipeline (after the policy's BPF filter, when
 * the capture could not apply it); RING_LINK_STATS records go to
 * pipeline_input_stats(); a RING_LINK_EOF record ends the input of a file
 * tap (shm/ring.h).
 *
 * When it publishes.  Whole batches only, so a snapshot always holds every
 * record up to the ring cursor it carries and nothing after it:
 *   - every publish_interval_ms of wall time (CLOCK_MONOTONIC) while new
 *     records came in,
 *   - after a batch in which the window shifted to a new bucket (the
 *     snapshot holds the newly closed bucket at once), or an idle live
 *     window rotated on the wall clock (wall_clock_rotation, SPEC 3.1),
 *   - at the end of input: pipeline_finish() (the live bucket closes at the
 *     last packet, SPEC 1.2), then one last publication.
 * Each snapshot's meta carries the cursor after its last record (ring_pos,
 * ring_seq) and the wall-clock time of publication (CLOCK_REALTIME, ns); the
 * same cursor is committed to the consumer's slot (ring_consumer_commit), so
 * the slot shows the position that is safe, not merely read.
 *
 * Exactly once across a crash (DESIGN.md section 3).  The successor loads
 * the newest snapshot into its handler (handler_block_load) and opens the
 * ring at the snapshot's cursor (RING_START_CURSOR).  To find a packet that
 * kills the handler, the loop stores the seq of the record it is about to
 * feed into *inflight (shared memory, relaxed: one store per record) and
 * AGG_INFLIGHT_NONE after each batch; the caller compares what a dead
 * predecessor left there across crashes and names a poison_seq, which the
 * loop skips and counts in the live bucket's agent.poison_packets.
 *
 * Health counted into the live bucket (metric.h, BUCKET_HEALTH): records
 * lost to ring overruns (the cursor's loss counters grow when the producer
 * laps this consumer), poison packets, and restarts: the caller passes the
 * instance's restart count and the loop adds what the block has not counted
 * yet (handler_block.restarts_counted), so each restart is counted once even
 * when the process dies again before publishing.
 *
 * Ownership: everything in the config is the caller's and must outlive the
 * call; agg_loop_run keeps nothing after it returns.  One thread.
 */
#ifndef PKTVISOR_AGG_LOOP_H
#define PKTVISOR_AGG_LOOP_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pcap/pcap.h>

#include "pipeline.h"
#include "ring.h"
#include "snapshot.h"

#define AGG_LOOP_PUBLISH_MS_DEFAULT 100
#define AGG_LOOP_BATCH_DEFAULT      256
#define AGG_LOOP_IDLE_US_DEFAULT    1000

#define AGG_INFLIGHT_NONE UINT64_MAX

enum agg_loop_status {
    AGG_LOOP_ERROR = -1,  /* bad configuration; message says which */
    AGG_LOOP_STOPPED = 0, /* *stop became non-zero (after a last publication) */
    AGG_LOOP_EOF = 1,     /* input ended: finished, final snapshot published */
};

struct agg_loop_stats;

/* Called between batches (after any publication), in the aggregator. */
typedef void (*agg_loop_batch_fn)(const struct agg_loop_stats *st, void *arg);

struct agg_loop_config {
    struct ring_consumer *consumer;   /* opened by the caller */
    struct pipeline *pipeline;        /* holding exactly one handler */
    struct snap *snap;                /* writer handle: blob_size == handler block */
    uint32_t publish_interval_ms;     /* 0: AGG_LOOP_PUBLISH_MS_DEFAULT */
    unsigned batch;                   /* records per ring_read_batch; 0: default */
    uint32_t idle_sleep_us;           /* empty ring: sleep this long; 0: default */
    bool wall_clock_rotation;         /* live tap: rotate an idle window (SPEC 3.1) */
    const struct bpf_program *filter; /* NULL, or frames must match (pcap_offline_filter) */
    _Atomic uint64_t *inflight;       /* NULL, or where the current seq is stored */
    bool skip_poison;                 /* skip the record poison_seq */
    uint64_t poison_seq;
    bool fault; /* tests: crash (SIGSEGV) when feeding fault_seq */
    uint64_t fault_seq;
    uint64_t restarts;          /* restarts of this instance so far */
    agg_loop_batch_fn on_batch; /* may be NULL */
    void *batch_arg;
};

/* Counters of one agg_loop_run (zeroed when it starts). */
struct agg_loop_stats {
    uint64_t records;      /* records fed to the pipeline */
    uint64_t filtered;     /* frames the policy's filter refused */
    uint64_t poisoned;     /* records skipped as poison */
    uint64_t bytes;        /* their captured bytes */
    uint64_t lost_records; /* lapped by the producer, since the start */
    uint64_t lost_bytes;
    uint64_t batches;
    uint64_t idle_polls;       /* reads that found the ring empty */
    uint64_t publications;     /* snapshots published */
    uint64_t shift_publishes;  /* of which triggered by a bucket shift */
    uint64_t publish_ns_total; /* time spent in snap_publish (monotonic) */
    uint64_t publish_ns_max;
    struct ring_cursor cursor; /* of the last publication */
    char message[256];
};

/* Run until *stop, end of input, or an error.  Returns an enum
 * agg_loop_status. */
int agg_loop_run(const struct agg_loop_config *cfg, volatile sig_atomic_t *stop,
                 struct agg_loop_stats *st);

/*
 * Reader: copy the newest published block of a handler of type t with
 * num_periods buckets from area (formatted by snap_init for a blob of
 * handler_block_size() bytes) into buf: the whole block when len is
 * handler_block_size() (a successor), or its prefix up to the end of the
 * window when len is handler_block_window_end() (the HTTP worker).  Its
 * meta goes to *meta (may be NULL).  Returns SNAP_OK (0), SNAP_NONE
 * (nothing published yet), SNAP_BUSY (the writer kept overwriting the copy:
 * try again), or -1 when the area or the copy is not what it should be (a
 * warning is logged).  Never writes to the area.
 */
int agg_snapshot_load(const struct snap_area *area, const struct handler_type *t,
                      uint32_t num_periods, void *buf, size_t len, struct snap_meta *meta);

#endif
