/*
 * handler.h - stream handlers: the analysis shared by both front ends.
 *
 * A handler type (net, and later dns, dhcp, pcap) declares its metric table
 * and callbacks; a handler instance owns a window of buckets (window.h) and
 * the type's private state.  handler_feed() is the one entry point for a
 * decoded packet: it advances the window on the packet clock (running the
 * type's shift hook when a new bucket opens) and calls the type's packet
 * callback, which updates the live bucket.  pktvisor-pcap calls it directly;
 * the aggregator process calls it for each packet it reads from the ring
 * (DESIGN.md property 6: one analysis, two front ends).
 *
 * Deep sampling (SPEC 3.2): handler_deep() draws the per-event decision
 * with probability deep_sample_rate/100 from the instance's own generator.
 *
 * Ownership: handler_new() returns an instance owned by the caller, freed
 * by handler_free(), which NULLs the pointer.  The config's hostspec and geo
 * handles are borrowed and must outlive the instance.  One thread.
 */
#ifndef PKTVISOR_HANDLER_H
#define PKTVISOR_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "geo.h"
#include "metric.h"
#include "window.h"

/* A handler option from the configuration (SPEC 5 typing: unsigned
 * integer, boolean, string, or list of strings). */
enum handler_opt_type { HOPT_UINT, HOPT_BOOL, HOPT_STRING, HOPT_LIST };

struct handler_opt {
    const char *key;
    enum handler_opt_type type;
    uint64_t u;
    bool b;
    const char *s;
    const char *const *list;
    size_t nlist;
};

struct handler_config {
    uint32_t num_periods;           /* 1..10 */
    uint32_t deep_sample_rate;      /* 1..100 */
    struct geo *geo_city;           /* borrowed, may be NULL */
    struct geo *geo_asn;            /* borrowed, may be NULL */
    const struct handler_opt *opts; /* borrowed during handler_new() only */
    size_t nopts;
};

/* The option named key, or NULL. */
const struct handler_opt *handler_opt_find(const struct handler_config *c, const char *key);

struct handler;

/* Capture statistics for one interval (deltas of libpcap's counters). */
struct input_stats {
    uint64_t recv;
    uint64_t drop;   /* ps_drop: no room in the kernel buffer */
    uint64_t ifdrop; /* ps_ifdrop */
};

struct handler_type {
    const char *name; /* module type in configs: "net" */
    const struct metric_table *table;
    size_t state_size;  /* private state, lost with the process */
    size_t resume_size; /* pointer-free state kept across restarts (h->resume) */
    int (*init)(struct handler *h, const struct handler_config *cfg, char *err,
                size_t errlen);      /* optional */
    void (*fini)(struct handler *h); /* optional */
    void (*packet)(struct handler *h, void *live, const struct packet *p);
    void (*shift)(struct handler *h, void *closed, void *live); /* optional */
    void (*finish)(struct handler *h);                          /* optional: end of input */
    void (*input_stats)(struct handler *h, void *live, const struct input_stats *s); /* optional */
    /* Items in progress shown in the policy info (dns: transactions
     * waiting for their response); optional. */
    uint64_t (*open_items)(const struct handler *h);
};

/*
 * Everything of an instance that must survive a restart of its process, in
 * one pointer-free block: this header, the window (window.h), then the
 * type's resume area (for dns, its transaction table).  An aggregator
 * publishes the whole block as its snapshot and a successor copies it back
 * (handler_block_load); the HTTP worker reads the prefix up to the end of
 * the window.
 */
#define HANDLER_BLOCK_MAGIC UINT64_C(0x314b4c4248564b50) /* "PKVHBLK1" */

struct handler_block {
    uint64_t magic;
    uint64_t size;       /* of the whole block */
    uint64_t window_off; /* from the start of the block */
    uint64_t resume_off;
    uint64_t rng;              /* deep-sampling generator */
    uint64_t restarts_counted; /* restarts already added to a bucket */
    uint64_t open_items;       /* at publication: the type's open_items() */
    uint64_t reserved[1];
};

struct handler {
    const struct handler_type *type;
    char name[128]; /* instance name, e.g. "default-net" */
    struct handler_config cfg;
    struct handler_block *blk; /* owned */
    struct window *win;        /* inside blk */
    void *resume;              /* inside blk; NULL when resume_size is 0 */
    void *state;
    /* Kept by handler.c whenever the window moves (init, advance, load):
     * window_bucket(win, 0), and the second before which a packet stays in
     * it (INT64_MIN before the first packet). */
    void *live;
    int64_t live_until;
};

/* Bytes of the block of a type with num_periods buckets, and of its prefix
 * that ends with the window. */
size_t handler_block_size(const struct handler_type *t, uint32_t num_periods);
size_t handler_block_window_end(const struct handler_type *t, uint32_t num_periods);
/* The window inside a block (or a copy of its prefix); NULL when the header
 * does not describe a block of this type and size. */
const struct window *handler_block_window(const void *blk, size_t len, const struct handler_type *t,
                                          uint32_t num_periods);
/* Replace h's block with a published copy (len bytes).  -1 when it is not a
 * block of h's type and size or its window is not sane. */
int handler_block_load(struct handler *h, const void *blk, size_t len);

/* NULL with a message in err on failure. */
struct handler *handler_new(const struct handler_type *type, const char *name,
                            const struct handler_config *cfg, char *err, size_t errlen);
void handler_free(struct handler **h);

const struct handler_type *handler_type_find(const char *name);

void handler_feed_slow(struct handler *h, const struct packet *p);
/* Count a packet: advance the window on its time, then the type's packet
 * callback.  Inline: most packets stay in the live bucket, where the
 * window only keeps the newest time (as window_advance would). */
static inline void handler_feed(struct handler *h, const struct packet *p)
{
    int64_t sec = p->ts_sec;
    if (__builtin_expect(sec >= h->live_until, 0)) {
        handler_feed_slow(h, p);
        return;
    }
    struct window *w = h->win;
    if (sec > w->last_sec) {
        w->last_sec = sec;
        w->last_nsec = p->ts_nsec;
    } else if (sec == w->last_sec && p->ts_nsec > w->last_nsec) {
        w->last_nsec = p->ts_nsec;
    }
    h->type->packet(h, h->live, p);
}
/* Capture statistics read at ts: advances the window like a packet, then
 * the type's input_stats hook (handlers without one ignore them). */
void handler_input_stats(struct handler *h, int64_t sec, int64_t nsec, const struct input_stats *s);
/* Wall-clock rotation of an idle live input (SPEC 3.1): when the wall clock
 * is HANDLER_TICK_GRACE_SEC past the live bucket's end and no event closed
 * it, close it there as an event would.  Returns true when a bucket was
 * closed. */
#define HANDLER_TICK_GRACE_SEC 2
bool handler_tick(struct handler *h, int64_t now_sec);
/* End of input: the type's finish hook, then the live bucket closes at the
 * newest packet time (SPEC 1.2: the last packet closes it). */
void handler_finish(struct handler *h);

bool handler_deep_draw(struct handler *h);
/* The deep-sampling decision; at 100% (the default) without a draw. */
static inline bool handler_deep(struct handler *h)
{
    return h->cfg.deep_sample_rate >= 100 || handler_deep_draw(h);
}

/* The live bucket (window_bucket(h->win, 0)). */
static inline void *handler_live(struct handler *h)
{
    return h->live;
}

/* The handler object (keys sorted) of bucket i (0 = live), or of the window
 * merging the newest n buckets.  NULL when the bucket does not exist or on
 * allocation failure.  The caller owns the tree. */
cJSON *handler_bucket_json(const struct handler *h, uint32_t i, const struct render_opts *o);
cJSON *handler_window_json(const struct handler *h, uint32_t n, const struct render_opts *o);

extern const struct handler_type handler_net;
extern const struct handler_type handler_dns;
extern const struct handler_type handler_dhcp;
extern const struct handler_type handler_pcap;

/* Queries of a dns handler waiting for their response (policy info). */
uint32_t handler_dns_open_xacts(const struct handler *h);

#endif
