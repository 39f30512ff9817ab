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

void agg_input_end_mark(struct agg_input_end *e, uint64_t records)
{
    atomic_store_explicit(&e->records, records, memory_order_relaxed);
    atomic_store_explicit(&e->finished, 1, memory_order_release);
}

bool agg_input_ended(const struct agg_input_end *e)
{
    return atomic_load_explicit(&e->finished, memory_order_acquire) != 0;
}

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
    const struct window *win;
    struct ring_cursor start; /* consumer cursor when the loop started */
    struct ring_cursor cur;   /* after the last record fed */
    uint64_t published_seq;   /* cur.seq of the last publication */
    bool published_once;
};

static void publish(struct agg_state *s)
{
    struct snap_meta meta = {
        .ring_pos = s->cur.pos,
        .ring_seq = s->cur.seq,
        .ts_ns = clock_ns(CLOCK_REALTIME),
    };
    uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
    snap_publish(s->cfg->snap, s->win, &meta);
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
}

static bool dirty(const struct agg_state *s)
{
    return !s->published_once || s->cur.seq != s->published_seq ||
           s->cur.lost_records != s->st->cursor.lost_records;
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
    size_t need = window_size(h->type->table, h->win->num_periods);
    if (cfg->snap->blob_size != need) {
        snprintf(st->message, sizeof(st->message),
                 "aggregator: snapshot blob is %zu bytes, the %s window needs %zu",
                 cfg->snap->blob_size, h->name, need);
        return -1;
    }
    return 0;
}

int agg_loop_run(const struct agg_loop_config *cfg, volatile sig_atomic_t *stop,
                 struct agg_loop_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (check_config(cfg, st) == -1)
        return AGG_LOOP_ERROR;

    struct ring_consumer *c = cfg->consumer;
    struct pipeline *pl = cfg->pipeline;
    const struct handler *h = pl->handlers[0];
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
        .win = h->win,
        .start = c->cur,
        .cur = c->cur,
    };
    uint64_t last_pub = clock_ns(CLOCK_MONOTONIC);
    int rc = AGG_LOOP_STOPPED;

    while (!*stop) {
        /* Read the mark before the batch: an empty read after it means
         * every record pushed before the mark has been consumed. */
        bool ended = cfg->input_end != NULL && agg_input_ended(cfg->input_end);
        unsigned n = ring_read_batch(c, pkts, batch, buf, buflen);

        /* Losses are counted by the read even when it returns nothing. */
        s.cur.lost_records = c->cur.lost_records;
        s.cur.lost_bytes = c->cur.lost_bytes;
        if (n == 0) {
            if (c->cur.seq != s.cur.seq) {
                /* A jump over lost records moved the cursor: follow it. */
                s.cur.pos = c->cur.pos;
                s.cur.seq = c->cur.seq;
            }
            if (ended) {
                rc = AGG_LOOP_EOF;
                break;
            }
            st->idle_polls++;
            if (dirty(&s) && clock_ns(CLOCK_MONOTONIC) - last_pub >= interval_ns) {
                publish(&s);
                last_pub = clock_ns(CLOCK_MONOTONIC);
            }
            sleep_us(idle_us);
            continue;
        }

        uint64_t shifts = h->win->shifts;
        for (unsigned i = 0; i < n; i++) {
            const struct ring_pkt *p = &pkts[i];
            pipeline_frame(pl, p->linktype, p->data, p->caplen, p->wirelen,
                           (int64_t)(p->ts_ns / UINT64_C(1000000000)),
                           (int64_t)(p->ts_ns % UINT64_C(1000000000)));
            st->bytes += p->caplen;
        }
        st->records += n;
        st->batches++;
        s.cur = ring_cursor_after(c, &pkts[n - 1]);

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

int agg_snapshot_load(const struct snap_area *area, void *window_buf, size_t len,
                      struct snap_meta *meta)
{
    struct snap s;
    struct snap_meta m;
    char err[256];

    /* snap_attach only reads the area; the reader's mapping may be
     * read-only. */
    if (snap_attach(&s, (void *)area, snap_area_size(len), len, err, sizeof(err)) == -1) {
        log_warnx("snapshot load: %s", err);
        return -1;
    }
    enum snap_result r = snap_read(&s, window_buf, &m);
    if (r != SNAP_OK)
        return (int)r;

    /* The blob is a window: check its header against its own size before
     * anyone indexes buckets with it. */
    const struct window *w = window_buf;
    size_t hdr = (sizeof(struct window) + 63) / 64 * 64;
    if (w->num_periods < 1 || w->num_periods > WINDOW_MAX_PERIODS || w->count > w->num_periods ||
        w->head >= w->num_periods || w->bucket_size == 0 || w->bucket_size % 64 != 0 ||
        hdr + (size_t)w->bucket_size * w->num_periods != len) {
        log_warnx("snapshot load: generation %" PRIu64 " is not a window of %zu bytes "
                  "(%" PRIu32 " periods of %" PRIu64 " bytes)",
                  m.generation, len, w->num_periods, w->bucket_size);
        return -1;
    }
    if (meta != NULL)
        *meta = m;
    return SNAP_OK;
}
