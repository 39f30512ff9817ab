/*
 * cap_loop.c - pcap_dispatch into the packet ring, pacing, drop statistics.
 * See cap_loop.h.
 */
#define _GNU_SOURCE
#include "cap_loop.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cap_spread.h"
#include "ring.h"

#define NSEC_PER_SEC UINT64_C(1000000000)
/* Longest sleep or poll before the stop flag is looked at again. */
#define MAX_WAIT_NS (100 * UINT64_C(1000000))
/* Token bucket depth: packets due within this time may go out at once. */
#define PACE_DEPTH_NS (20 * UINT64_C(1000000))

struct loop_ctx {
    struct ring *ring;
    struct ring *const *rings; /* spread over these when nrings > 1 */
    unsigned nrings;
    struct cap_loop_stats *st;
    uint16_t linktype;
    bool nsec;
    uint64_t skip; /* packets still to pass over (a file tap's resume) */
    bool wait_for_room;
    volatile sig_atomic_t *stop;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t_ns)
{
    struct timespec ts = {.tv_sec = (time_t)(t_ns / NSEC_PER_SEC),
                          .tv_nsec = (long)(t_ns % NSEC_PER_SEC)};

    /* EINTR: the caller looks at the stop flag and the clock again. */
    (void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* pcap callback: one record into the ring.  Counts, never logs. */
static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    struct loop_ctx *c = (struct loop_ctx *)(void *)user;
    struct cap_loop_stats *st = c->st;
    uint64_t ts_ns = 0;

    if (h->ts.tv_sec >= 0) {
        uint64_t frac = h->ts.tv_usec > 0 ? (uint64_t)h->ts.tv_usec : 0;
        ts_ns = (uint64_t)h->ts.tv_sec * NSEC_PER_SEC + (c->nsec ? frac : frac * 1000);
    }
    if (c->skip > 0) {
        c->skip--;
        st->skipped++;
        return;
    }
    st->packets++;
    st->bytes += h->len;
    st->captured_bytes += h->caplen;
    st->last_ts_ns = ts_ns;
    struct ring *ring = c->nrings > 1
                            ? c->rings[cap_spread_worker(c->linktype, bytes, h->caplen, c->nrings)]
                            : c->ring;
    /* A file waits for its slowest consumer instead of overrunning it. */
    while (c->wait_for_room && !ring_room(ring, h->caplen) && !*c->stop) {
        struct timespec ts = {0, 100000};
        st->ring_waits++;
        nanosleep(&ts, NULL);
    }
    if (ring_push(ring, ts_ns, h->caplen, h->len, c->linktype, bytes) == 0)
        st->ring_pushes++;
    else
        st->ring_push_failures++;
}

/*
 * Token bucket for replay_pps.  Packet n (counted from t0) is due at
 * t0 + n * 1e9 / pps.  After every pps packets t0 moves on by exactly one
 * second, so n stays below pps and the schedule never drifts or overflows.
 */
struct pacer {
    uint64_t pps;
    uint64_t t0;
    uint64_t n;
    uint64_t depth;
};

static void pacer_init(struct pacer *p, uint64_t pps, uint64_t now)
{
    p->pps = pps;
    p->t0 = now;
    p->n = 0;
    p->depth = pps * PACE_DEPTH_NS / NSEC_PER_SEC;
    if (p->depth < 1)
        p->depth = 1;
}

/* How many packets may go out at `now`. */
static uint64_t pacer_available(struct pacer *p, uint64_t now)
{
    uint64_t allowed, avail;

    if (now < p->t0)
        return 0;
    allowed = (uint64_t)floor((double)(now - p->t0) * (double)p->pps / 1e9) + 1;
    if (allowed <= p->n)
        return 0;
    avail = allowed - p->n;
    if (avail > p->depth) {
        /* A stall: keep one bucket of credit, forget the rest. */
        p->t0 = now - (uint64_t)((double)(p->depth - 1) * 1e9 / (double)p->pps);
        p->n = 0;
        avail = p->depth;
    }
    return avail;
}

/* When the next packet is due. */
static uint64_t pacer_next_due(const struct pacer *p)
{
    return p->t0 + (uint64_t)ceil((double)p->n * 1e9 / (double)p->pps);
}

static void pacer_sent(struct pacer *p, uint64_t k)
{
    p->n += k;
    while (p->n >= p->pps) {
        p->n -= p->pps;
        p->t0 += NSEC_PER_SEC;
    }
}

/* A failed read of a file: pktvisor-pcap's rule, "truncated" is a warning. */
static int file_error(struct cap_source *src, struct cap_loop_stats *st)
{
    const char *msg = pcap_geterr(cap_source_pcap(src));

    st->file_errors++;
    if (strstr(msg, "truncated") != NULL) {
        snprintf(st->message, sizeof(st->message),
                 "%s: %s: keeping the %llu complete records before it", cap_source_name(src), msg,
                 (unsigned long long)st->packets);
        return CAP_LOOP_TRUNCATED;
    }
    snprintf(st->message, sizeof(st->message), "%s: %s", cap_source_name(src), msg);
    return CAP_LOOP_ERROR;
}

static int run_file(struct cap_source *src, struct loop_ctx *ctx, const struct cap_loop_config *cfg,
                    int batch, volatile sig_atomic_t *stop)
{
    struct pacer pace = {0};
    bool paced = cfg->replay_pps > 0;

    while (ctx->skip > 0) {
        int want = ctx->skip < (uint64_t)batch ? (int)ctx->skip : batch;
        int rc = cap_source_file_dispatch(src, want, on_packet, (u_char *)ctx);
        if (*stop || rc == PCAP_ERROR_BREAK)
            return CAP_LOOP_STOPPED;
        if (rc < 0)
            return file_error(src, ctx->st);
        if (rc == 0)
            return CAP_LOOP_EOF;
    }
    if (paced)
        pacer_init(&pace, cfg->replay_pps, mono_ns());
    for (;;) {
        int cnt = batch, rc;

        if (*stop)
            return CAP_LOOP_STOPPED;
        if (paced) {
            uint64_t now = mono_ns();
            uint64_t avail = pacer_available(&pace, now);
            if (avail == 0) {
                uint64_t due = pacer_next_due(&pace);
                sleep_until(due - now > MAX_WAIT_NS ? now + MAX_WAIT_NS : due);
                continue;
            }
            if (avail < (uint64_t)batch)
                cnt = (int)avail;
        }
        rc = cap_source_file_dispatch(src, cnt, on_packet, (u_char *)ctx);
        if (rc == PCAP_ERROR_BREAK)
            return CAP_LOOP_STOPPED;
        if (rc < 0)
            return file_error(src, ctx->st);
        if (rc == 0)
            return CAP_LOOP_EOF;
        if (paced)
            pacer_sent(&pace, (uint64_t)rc);
    }
}

static uint64_t real_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void take_stats(struct cap_source *src, struct ring *ring, const struct cap_loop_config *cfg,
                       struct cap_loop_stats *st)
{
    struct cap_source_stats d;

    /* A failed pcap_stats (interface gone) shows as a missing sample. */
    if (cap_source_stats(src, &d, NULL, 0) != 0)
        return;
    st->stats_samples++;
    st->kernel_recv += d.recv;
    st->kernel_drops += d.drop;
    st->if_drops += d.ifdrop;
    /* In order with the frames, stamped with the time it was read: the pcap
     * handler adds it to the bucket of that second. */
    struct ring_ctl_stats rec = {.recv = d.recv, .drop = d.drop, .ifdrop = d.ifdrop};
    if (ring_push(ring, real_ns(), sizeof(rec), sizeof(rec), RING_LINK_STATS, &rec) == 0)
        st->control_records++;
    if (cfg->on_stats != NULL)
        cfg->on_stats(&d, cfg->stats_arg);
}

static int run_live(struct cap_source *src, struct loop_ctx *ctx, const struct cap_loop_config *cfg,
                    int batch, volatile sig_atomic_t *stop)
{
    pcap_t *p = cap_source_pcap(src);
    int fd = pcap_get_selectable_fd(p);
    uint64_t interval =
        (uint64_t)(cfg->stats_interval_ms > 0 ? cfg->stats_interval_ms : CAP_LOOP_STATS_MS) *
        1000000u;
    uint64_t next_stats = mono_ns() + interval;
    int status;

    for (;;) {
        int rc;
        uint64_t now, wait;

        if (*stop) {
            status = CAP_LOOP_STOPPED;
            break;
        }
        rc = pcap_dispatch(p, batch, on_packet, (u_char *)ctx);
        if (rc == PCAP_ERROR_BREAK) {
            status = CAP_LOOP_STOPPED;
            break;
        }
        if (rc < 0) {
            snprintf(ctx->st->message, sizeof(ctx->st->message), "%s: %s", cap_source_name(src),
                     pcap_geterr(p));
            status = CAP_LOOP_ERROR;
            break;
        }
        now = mono_ns();
        if (now >= next_stats) {
            take_stats(src, ctx->ring, cfg, ctx->st);
            next_stats += interval;
            if (next_stats <= now)
                next_stats = now + interval;
        }
        if (rc > 0)
            continue; /* more may be ready: poll only when a dispatch finds none */
        wait = next_stats - now;
        if (wait > MAX_WAIT_NS)
            wait = MAX_WAIT_NS;
        if (fd < 0) {
            sleep_until(now + wait);
            continue;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)((wait + 999999) / 1000000)) < 0 && errno != EINTR) {
            snprintf(ctx->st->message, sizeof(ctx->st->message), "%s: poll: %s",
                     cap_source_name(src), strerror(errno));
            status = CAP_LOOP_ERROR;
            break;
        }
    }
    /* The drops of the last partial interval still count. */
    take_stats(src, ctx->ring, cfg, ctx->st);
    return status;
}

int cap_loop_run(struct cap_source *src, struct ring *ring, const struct cap_loop_config *cfg,
                 volatile sig_atomic_t *stop, struct cap_loop_stats *st)
{
    struct loop_ctx ctx = {
        .ring = ring,
        .st = st,
        .linktype = (uint16_t)cap_source_linktype(src),
        .nsec = cap_source_nsec(src),
    };
    int batch = cfg->batch > 0 ? cfg->batch : CAP_LOOP_BATCH_DEFAULT;

    memset(st, 0, sizeof(*st));
    if (cap_source_is_live(src))
        return run_live(src, &ctx, cfg, batch, stop);
    ctx.skip = cfg->skip_packets;
    ctx.wait_for_room = cfg->wait_for_consumers;
    ctx.stop = stop;
    if (cfg->nrings > 1) {
        ctx.rings = cfg->rings;
        ctx.nrings = cfg->nrings;
    } else {
        ctx.rings = &ctx.ring;
        ctx.nrings = 1;
    }
    int rc = run_file(src, &ctx, cfg, batch, stop);
    if (rc == CAP_LOOP_EOF || rc == CAP_LOOP_TRUNCATED) {
        /* After the last frame: a consumer that reads it has read them all. */
        static const uint8_t none[8];
        for (unsigned i = 0; i < ctx.nrings; i++)
            if (ring_push(ctx.rings[i], ctx.st->last_ts_ns, 0, 0, RING_LINK_EOF, none) == 0)
                st->control_records++;
    }
    return rc;
}
