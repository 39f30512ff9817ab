/*
 * agg_loop.h - the aggregator process's loop: packet ring -> pipeline with
 * one handler instance -> published snapshots of the handler's window.
 *
 * Where it runs.  In an aggregator process (one per handler instance,
 * DESIGN.md section 3), after the privilege drop: it reads the tap's ring
 * through a consumer slot the caller opened, feeds every record to
 * pipeline_frame() (the same decode and handler code pktvisor-pcap runs,
 * property 6), and publishes the handler's whole window (struct window and
 * its buckets, window_size() bytes, pointer-free) into a snapshot area
 * (shm/snapshot.h) inside the aggregator's metric segment.  It opens
 * nothing, allocates one read buffer, and never logs: what went wrong is in
 * the return value and agg_loop_stats.message.
 *
 * When it publishes.  Whole batches only, so a snapshot always holds every
 * record up to the ring cursor it carries and nothing after it:
 *   - every publish_interval_ms of wall time (CLOCK_MONOTONIC) while new
 *     records came in,
 *   - after a batch in which the window shifted to a new bucket (the
 *     snapshot holds the newly closed bucket at once),
 *   - at the end of input: pipeline_finish() (the live bucket closes at the
 *     last packet, SPEC 1.2), then one last publication.
 * Each snapshot's meta carries the cursor after its last record (ring_pos,
 * ring_seq) and the wall-clock time of publication (CLOCK_REALTIME, ns); the
 * same cursor is committed to the consumer's slot (ring_consumer_commit), so
 * the slot shows the position that is safe, not merely read.
 *
 * End of input.  A live tap has none: the loop runs until *stop.  A file
 * tap ends when its producer is done: the producer (or whoever watches it)
 * calls agg_input_end_mark() on a struct agg_input_end in shared memory
 * after its last ring_push.  The loop treats input as ended only when a
 * read that started after it saw the mark returns nothing, so no record
 * pushed before the mark is missed.
 *
 * Losses.  A consumer lapped by the producer (ring.h) loses records; the
 * loop reports them (cursor deltas since it started) in agg_loop_stats, so
 * for a run from the ring's start, records + lost_records == records the
 * producer pushed.
 *
 * Reader side.  agg_snapshot_load() copies the newest snapshot's window
 * into caller memory: the HTTP worker renders it (httpd_window_render, or
 * window_merge + metric_bucket_json), and a restarted aggregator will load
 * it as its live window and reopen the ring at the meta's cursor
 * (RING_START_CURSOR).
 *
 * What a crash leaves behind.  The snapshot area keeps the last complete
 * publication (a slot half written by the dying writer is never returned),
 * and the slot keeps the last committed cursor; both describe the same
 * prefix of the ring.  The decoder's state (fragments, TCP streams) is not
 * in the snapshot and is lost with the process.
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

#include "pipeline.h"
#include "ring.h"
#include "snapshot.h"

#define AGG_LOOP_PUBLISH_MS_DEFAULT 100
#define AGG_LOOP_BATCH_DEFAULT      256
#define AGG_LOOP_IDLE_US_DEFAULT    1000

enum agg_loop_status {
    AGG_LOOP_ERROR = -1,  /* bad configuration; message says which */
    AGG_LOOP_STOPPED = 0, /* *stop became non-zero (after a last publication) */
    AGG_LOOP_EOF = 1,     /* input ended: finished, final snapshot published */
};

/*
 * Producer-finished marker of a file tap, in memory every process maps (a
 * field of a segment, or a shared mapping).  All zero: not finished.
 */
struct agg_input_end {
    _Atomic uint32_t finished;
    uint32_t reserved;
    _Atomic uint64_t records; /* records the producer pushed in all (for checks) */
};

/* Producer side: call after the last ring_push (release: every record
 * pushed before is visible to a reader that sees the mark). */
void agg_input_end_mark(struct agg_input_end *e, uint64_t records);
bool agg_input_ended(const struct agg_input_end *e);

struct agg_loop_stats;

/* Called between batches (after any publication), in the aggregator. */
typedef void (*agg_loop_batch_fn)(const struct agg_loop_stats *st, void *arg);

struct agg_loop_config {
    struct ring_consumer *consumer;        /* opened by the caller */
    struct pipeline *pipeline;             /* holding exactly one handler */
    struct snap *snap;                     /* writer handle: blob_size == window_size() */
    uint32_t publish_interval_ms;          /* 0: AGG_LOOP_PUBLISH_MS_DEFAULT */
    unsigned batch;                        /* records per ring_read_batch; 0: default */
    uint32_t idle_sleep_us;                /* empty ring: sleep this long; 0: default */
    const struct agg_input_end *input_end; /* NULL: live tap, no end of input */
    agg_loop_batch_fn on_batch;            /* may be NULL */
    void *batch_arg;
};

/* Counters of one agg_loop_run (zeroed when it starts). */
struct agg_loop_stats {
    uint64_t records;      /* records fed to the pipeline */
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
 * Reader: copy the newest published window of area (formatted by snap_init
 * for a blob of len bytes) into window_buf and its meta into *meta (may be
 * NULL).  Returns SNAP_OK (0), SNAP_NONE (nothing published yet), SNAP_BUSY
 * (the writer kept overwriting the copy: try again), or -1 when the area is
 * not a snapshot area for len bytes or the copy is not a sane window (a
 * warning is logged).  Never writes to the area.
 */
int agg_snapshot_load(const struct snap_area *area, void *window_buf, size_t len,
                      struct snap_meta *meta);

#endif
