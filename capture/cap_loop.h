/*
 * cap_loop.h - the capture process's loop: read packets from an opened
 * capture source (cap_source.h) and append each to the tap's packet ring.
 *
 * Where it runs.  In the capture process, after it dropped its privileges:
 * it only reads from a pcap handle the supervisor opened and writes into a
 * ring segment the supervisor created (the caller has made itself the
 * producer with ring_producer_init).  It opens nothing and never logs (the
 * packet path counts); what went wrong is in the returned status and in
 * cap_loop_stats.message.
 *
 * Capture never waits for analysis (DESIGN.md property 1): every packet is
 * pushed with ring_push, which never blocks; a consumer that falls behind
 * loses records on its side of the ring.  A record the ring cannot hold
 * (caplen above ring_max_caplen) is counted in ring_push_failures.
 *
 * Reading.  pcap_dispatch() in batches of `batch` packets (a file without
 * a filter: cap_source_file_dispatch(), in place).  Live: the handle
 * is non-blocking, so when a dispatch finds nothing the loop waits in poll()
 * on the handle's fd, at most until the next statistics tick and never more
 * than 100 ms, so a stop request is seen promptly even on an idle link.
 * Every stats_interval_ms (1 s, SPEC 1.1) it reads the kernel counters
 * (cap_source_stats: deltas of ps_recv, ps_drop, ps_ifdrop) and calls
 * on_stats; one last sample is taken when the loop stops.
 *
 * Control records (shm/ring.h): each statistics sample is also pushed as a
 * RING_LINK_STATS record, and the end of a file (CAP_LOOP_EOF or
 * CAP_LOOP_TRUNCATED) as a RING_LINK_EOF record after the last frame, so
 * consumers see both in order with the frames.
 *
 * Workers.  A file tap with `workers: N` has one reader: frames are spread
 * over the N workers' rings by cap_spread_worker() (both directions of a
 * conversation in one ring); skip_packets then counts the frames of all
 * rings, which were pushed in file order.
 *
 * Files.  At the end of the file the loop returns CAP_LOOP_EOF: the agent
 * keeps serving what it summarized.  skip_packets lets a respawned capture
 * process resume a file tap: the first N packets (after BPF) are read and
 * not pushed, not paced.  wait_for_consumers makes a file wait for its
 * slowest consumer (ring_room) rather than lap it: a file's packets are
 * all there to be counted, and waiting loses nothing (a live capture never
 * waits: the kernel would drop instead).  As pktvisor-pcap does, a file cut
 * inside a record ("truncated" in libpcap's message) returns
 * CAP_LOOP_TRUNCATED, a warning after which the records before it stand;
 * any other read error returns CAP_LOOP_ERROR.  Both count a file error.
 * replay_pps > 0 paces the replay with a token bucket on CLOCK_MONOTONIC:
 * packet k of the run is due at start + k / replay_pps, the loop sleeps
 * (clock_nanosleep, absolute) until the next packet is due and then
 * dispatches every packet already due, so oversleeping is caught up and the
 * average rate stays exact; the bucket holds at most 20 ms of packets, so
 * a stall (a stopped process) does not turn into a long burst.  Pacing
 * counts the packets that pass the BPF filter.
 *
 * Ownership: all arguments are the caller's; cap_loop_run keeps nothing.
 * Timestamps go into the ring as nanoseconds since the epoch (a timestamp
 * before 1970 becomes 0).
 */
#ifndef PKTVISOR_CAP_LOOP_H
#define PKTVISOR_CAP_LOOP_H

#include <signal.h>
#include <stdint.h>

#include <pcap/pcap.h>

#include "cap_source.h"

struct ring;

#define CAP_LOOP_BATCH_DEFAULT 1024
#define CAP_LOOP_STATS_MS      1000

enum cap_loop_status {
    CAP_LOOP_ERROR = -1,    /* read error; message says which */
    CAP_LOOP_STOPPED = 0,   /* *stop became non-zero */
    CAP_LOOP_EOF = 1,       /* end of a capture file */
    CAP_LOOP_TRUNCATED = 2, /* file cut inside a record: a warning */
};

/* Called from the loop with the kernel counters' deltas since the previous
 * call.  Runs in the capture process, between two batches. */
typedef void (*cap_loop_stats_fn)(const struct cap_source_stats *delta, void *arg);

struct cap_loop_config {
    uint64_t replay_pps;        /* files: packets per second, 0 = as fast as possible */
    int batch;                  /* packets per pcap_dispatch; 0: CAP_LOOP_BATCH_DEFAULT */
    int stats_interval_ms;      /* live: 0 = CAP_LOOP_STATS_MS */
    cap_loop_stats_fn on_stats; /* live: may be NULL */
    void *stats_arg;
    uint64_t skip_packets;   /* files: read but do not push the first N (resume) */
    bool wait_for_consumers; /* files: wait instead of overrunning a consumer (ring_room) */
    /* files of a tap with workers: when nrings > 1, each frame goes to
     * rings[cap_spread_worker()] and the end-of-file record to all of them;
     * the ring argument is not used. */
    struct ring *const *rings;
    unsigned nrings;
};

/* Counters of one cap_loop_run (zeroed when it starts). */
struct cap_loop_stats {
    uint64_t packets;            /* delivered by libpcap (after BPF) */
    uint64_t bytes;              /* sum of wire lengths */
    uint64_t captured_bytes;     /* sum of captured lengths */
    uint64_t ring_pushes;        /* records appended */
    uint64_t ring_push_failures; /* refused: larger than ring_max_caplen */
    uint64_t file_errors;        /* truncated or unreadable file */
    uint64_t stats_samples;      /* live: kernel statistics read */
    uint64_t kernel_recv;        /* live: sums of the samples' deltas */
    uint64_t kernel_drops;
    uint64_t if_drops;
    uint64_t skipped;                     /* files: passed over (skip_packets) */
    uint64_t control_records;             /* statistics and end-of-file records pushed */
    uint64_t ring_waits;                  /* files: 100 us waits for a slow consumer */
    uint64_t last_ts_ns;                  /* of the newest frame pushed */
    char message[PCAP_ERRBUF_SIZE + 512]; /* for CAP_LOOP_ERROR / CAP_LOOP_TRUNCATED */
};

/* Run until *stop becomes non-zero, a file ends, or a read error.  Returns
 * an enum cap_loop_status. */
int cap_loop_run(struct cap_source *src, struct ring *ring, const struct cap_loop_config *cfg,
                 volatile sig_atomic_t *stop, struct cap_loop_stats *st);

#endif
