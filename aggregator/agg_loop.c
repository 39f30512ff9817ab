#include "agg_loop.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "window.h"

/* Read buffer beyond one maximal record: room for a batch of typical
 * frames, so a batch is rarely cut short by the buffer. */
#define AGG_READ_BUF_EXTRA (1024u * 1024u)

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

static void sleep_us(uint32_t us)
{
    struct timespec ts = {.tv_sec = us / 1000000u, .tv_nsec = (long)(us % 1000000u) * 1000L};
    /* An interrupted sleep just ends early: the loop re-checks *stop. */
    nanosleep(&ts, NULL);
}

struct agg_state {
    const struct agg_loop_config *cfg;
    struct agg_loop_stats *st;
    struct handler *h;
    struct ring_cursor start;  /* consumer cursor when the loop started */
    struct ring_cursor cur;    /* after the last record fed */
    uint64_t published_seq;    /* cur.seq of the last publication */
    uint64_t pending_overruns; /* lost before the window had a bucket */
    bool published_once;
    bool changed; /* health counted or the window rotated since the last publication */
};

static void publish(struct agg_state *s)
{
    struct snap_meta meta = {
        .ring_pos = s->cur.pos,
        .ring_seq = s->cur.seq,
        .ts_ns = clock_ns(CLOCK_REALTIME),
    };
    uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
    if (s->h->type->open_items != NULL)
        s->h->blk->open_items = s->h->type->open_items(s->h);
    snap_publish(s->cfg->snap, s->h->blk, &meta);
    uint64_t dt = clock_ns(CLOCK_MONOTONIC) - t0;

    /* After the snapshot, never before: the slot's cursor must not claim
     * records that no snapshot holds yet. */
    ring_consumer_commit(s->cfg->consumer, &s->cur);
    s->st->publications++;
    s->st->publish_ns_total += dt;
    if (dt > s->st->publish_ns_max)
        s->st->publish_ns_max = dt;
    s->st->cursor = s->cur;
    s->published_seq = s->cur.seq;
    s->published_once = true;
    s->changed = false;
}

static bool dirty(const struct agg_state *s)
{
    return !s->published_once || s->changed || s->cur.seq != s->published_seq ||
           s->cur.lost_records != s->st->cursor.lost_records;
}

/* Health into the live bucket, once the window has one. */
static void count_health(struct agg_state *s)
{
    struct handler *h = s->h;
    struct bucket_hdr *live = window_bucket(h->win, 0);
    if (live == NULL)
        return;
    if (s->pending_overruns != 0) {
        live->health.ring_overruns += s->pending_overruns;
        s->pending_overruns = 0;
        s->changed = true;
    }
    if (h->blk->restarts_counted < s->cfg->restarts) {
        live->health.restarts += s->cfg->restarts - h->blk->restarts_counted;
        h->blk->restarts_counted = s->cfg->restarts;
        s->changed = true;
    }
}

static int check_config(const struct agg_loop_config *cfg, struct agg_loop_stats *st)
{
    if (cfg->consumer == NULL || cfg->consumer->ring == NULL || cfg->pipeline == NULL ||
        cfg->snap == NULL || cfg->snap->area == NULL) {
        snprintf(st->message, sizeof(st->message),
                 "aggregator: consumer, pipeline and snapshot area are required");
        return -1;
    }
    if (cfg->pipeline->nhandlers != 1) {
        snprintf(st->message, sizeof(st->message),
                 "aggregator: the pipeline holds %" PRIu32 " handlers, expected exactly one",
                 cfg->pipeline->nhandlers);
        return -1;
    }
    const struct handler *h = cfg->pipeline->handlers[0];
    if (cfg->snap->blob_size != h->blk->size) {
        snprintf(st->message, sizeof(st->message),
                 "aggregator: snapshot blob is %zu bytes, the %s block needs %" PRIu64,
                 cfg->snap->blob_size, h->name, h->blk->size);
        return -1;
    }
    return 0;
}

/* One record; returns false for the end-of-input record. */
static bool feed(struct agg_state *s, const struct ring_pkt *p)
{
    const struct agg_loop_config *cfg = s->cfg;
    struct pipeline *pl = cfg->pipeline;
    int64_t sec = (int64_t)(p->ts_ns / UINT64_C(1000000000));
    int64_t nsec = (int64_t)(p->ts_ns % UINT64_C(1000000000));

    if (cfg->skip_poison && p->seq == cfg->poison_seq) {
        /* Open the bucket of its time, so the count lands where it was. */
        static const struct input_stats none;
        pipeline_input_stats(pl, sec, nsec, &none);
        struct bucket_hdr *live = window_bucket(s->h->win, 0);
        live->health.poison_packets++;
        s->st->poisoned++;
        return true;
    }
    if (cfg->fault && p->seq == cfg->fault_seq) {
        /* Fault injection: a packet that kills its handler (the default
         * action, past any sanitizer's handler). */
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
    }
    switch (p->linktype) {
    case RING_LINK_EOF:
        return false;
    case RING_LINK_STATS: {
        struct ring_ctl_stats c;
        if (p->caplen == sizeof(c)) {
            memcpy(&c, p->data, sizeof(c));
            struct input_stats in = {.recv = c.recv, .drop = c.drop, .ifdrop = c.ifdrop};
            pipeline_input_stats(pl, sec, nsec, &in);
        }
        return true;
    }
    default:
        break;
    }
    if (cfg->filter != NULL) {
        struct pcap_pkthdr ph = {.caplen = p->caplen, .len = p->wirelen};
        if (pcap_offline_filter(cfg->filter, &ph, p->data) == 0) {
            s->st->filtered++;
            return true;
        }
    }
    pipeline_frame(pl, p->linktype, p->data, p->caplen, p->wirelen, sec, nsec);
    s->st->bytes += p->caplen;
    return true;
}

int agg_loop_run(const struct agg_loop_config *cfg, volatile sig_atomic_t *stop,
                 struct agg_loop_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (check_config(cfg, st) == -1)
        return AGG_LOOP_ERROR;

    struct ring_consumer *c = cfg->consumer;
    struct pipeline *pl = cfg->pipeline;
    struct handler *h = pl->handlers[0];
    unsigned batch = cfg->batch != 0 ? cfg->batch : AGG_LOOP_BATCH_DEFAULT;
    uint64_t interval_ns = (uint64_t)(cfg->publish_interval_ms != 0 ? cfg->publish_interval_ms
                                                                    : AGG_LOOP_PUBLISH_MS_DEFAULT) *
                           UINT64_C(1000000);
    uint32_t idle_us = cfg->idle_sleep_us != 0 ? cfg->idle_sleep_us : AGG_LOOP_IDLE_US_DEFAULT;
    size_t buflen = (size_t)ring_max_caplen(c->ring) + 8 + AGG_READ_BUF_EXTRA;
    struct ring_pkt *pkts = calloc(batch, sizeof(*pkts));
    void *buf = malloc(buflen);
    if (pkts == NULL || buf == NULL) {
        free(pkts);
        free(buf);
        snprintf(st->message, sizeof(st->message), "aggregator: out of memory (%zu bytes)", buflen);
        return AGG_LOOP_ERROR;
    }

    struct agg_state s = {
        .cfg = cfg,
        .st = st,
        .h = h,
        .start = c->cur,
        .cur = c->cur,
    };
    uint64_t last_pub = clock_ns(CLOCK_MONOTONIC);
    int rc = AGG_LOOP_STOPPED;
    count_health(&s);

    while (!*stop && rc != AGG_LOOP_EOF) {
        unsigned n = ring_read_batch(c, pkts, batch, buf, buflen);

        /* Losses are counted by the read even when it returns nothing. */
        if (c->cur.lost_records != s.cur.lost_records) {
            s.pending_overruns += c->cur.lost_records - s.cur.lost_records;
            s.cur.lost_records = c->cur.lost_records;
            s.cur.lost_bytes = c->cur.lost_bytes;
        }
        if (n == 0) {
            if (c->cur.seq != s.cur.seq) {
                /* A jump over lost records moved the cursor: follow it. */
                s.cur.pos = c->cur.pos;
                s.cur.seq = c->cur.seq;
            }
            st->idle_polls++;
            if (cfg->wall_clock_rotation &&
                handler_tick(h, (int64_t)(clock_ns(CLOCK_REALTIME) / UINT64_C(1000000000)))) {
                st->shift_publishes++;
                s.changed = true;
                last_pub = 0;
            }
            count_health(&s);
            if (dirty(&s) && clock_ns(CLOCK_MONOTONIC) - last_pub >= interval_ns) {
                publish(&s);
                last_pub = clock_ns(CLOCK_MONOTONIC);
            }
            sleep_us(idle_us);
            continue;
        }

        uint64_t shifts = h->win->shifts;
        unsigned fed = 0;
        for (; fed < n; fed++) {
            if (cfg->inflight != NULL)
                atomic_store_explicit(cfg->inflight, pkts[fed].seq, memory_order_relaxed);
            if (!feed(&s, &pkts[fed])) {
                rc = AGG_LOOP_EOF;
                fed++;
                break;
            }
        }
        if (cfg->inflight != NULL)
            atomic_store_explicit(cfg->inflight, AGG_INFLIGHT_NONE, memory_order_relaxed);
        st->records += rc == AGG_LOOP_EOF ? fed - 1 : fed;
        st->batches++;
        s.cur = ring_cursor_after(c, &pkts[fed - 1]);
        count_health(&s);
        if (rc == AGG_LOOP_EOF)
            break;

        uint64_t now = clock_ns(CLOCK_MONOTONIC);
        bool shifted = h->win->shifts != shifts;
        if (shifted || now - last_pub >= interval_ns) {
            if (shifted)
                st->shift_publishes++;
            publish(&s);
            last_pub = clock_ns(CLOCK_MONOTONIC);
        }
        st->lost_records = s.cur.lost_records - s.start.lost_records;
        st->lost_bytes = s.cur.lost_bytes - s.start.lost_bytes;
        if (cfg->on_batch != NULL)
            cfg->on_batch(st, cfg->batch_arg);
    }

    if (rc == AGG_LOOP_EOF)
        pipeline_finish(pl);
    /* Stopped or finished: what was read is published, so a successor
     * resumes after it and the HTTP worker shows it. */
    if (rc == AGG_LOOP_EOF || dirty(&s))
        publish(&s);
    st->lost_records = s.cur.lost_records - s.start.lost_records;
    st->lost_bytes = s.cur.lost_bytes - s.start.lost_bytes;
    free(pkts);
    free(buf);
    return rc;
}

int agg_snapshot_load(const struct snap_area *area, const struct handler_type *t,
                      uint32_t num_periods, void *buf, size_t len, struct snap_meta *meta)
{
    struct snap s;
    struct snap_meta m;
    char err[256];
    size_t size = handler_block_size(t, num_periods);

    if (len != size && len != handler_block_window_end(t, num_periods)) {
        log_warnx("snapshot load: %zu bytes is neither a %s block nor its window", len, t->name);
        return -1;
    }
    /* snap_attach only reads the area; the reader's mapping may be
     * read-only. */
    if (snap_attach(&s, (void *)area, snap_area_size(size), size, err, sizeof(err)) == -1) {
        log_warnx("snapshot load: %s", err);
        return -1;
    }
    enum snap_result r = snap_read_prefix(&s, buf, len, &m);
    if (r != SNAP_OK)
        return (int)r;
    /* Check the copy against its own header before anyone indexes buckets
     * with it. */
    if (handler_block_window(buf, len, t, num_periods) == NULL) {
        log_warnx("snapshot load: generation %" PRIu64 " is not a %s block of %" PRIu32 " periods",
                  m.generation, t->name, num_periods);
        return -1;
    }
    if (meta != NULL)
        *meta = m;
    return SNAP_OK;
}
