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

struct handler_type {
    const char *name; /* module type in configs: "net" */
    const struct metric_table *table;
    size_t state_size;
    int (*init)(struct handler *h, const struct handler_config *cfg, char *err,
                size_t errlen);      /* optional */
    void (*fini)(struct handler *h); /* optional */
    void (*packet)(struct handler *h, void *live, const struct packet *p);
    void (*shift)(struct handler *h, void *closed, void *live); /* optional */
    void (*finish)(struct handler *h);                          /* optional: end of input */
};

struct handler {
    const struct handler_type *type;
    char name[128]; /* instance name, e.g. "default-net" */
    struct handler_config cfg;
    struct window *win;
    uint64_t rng;
    void *state;
};

/* NULL with a message in err on failure. */
struct handler *handler_new(const struct handler_type *type, const char *name,
                            const struct handler_config *cfg, char *err, size_t errlen);
void handler_free(struct handler **h);

const struct handler_type *handler_type_find(const char *name);

void handler_feed(struct handler *h, const struct packet *p);
/* End of input: the type's finish hook, then the live bucket closes at the
 * newest packet time (SPEC 1.2: the last packet closes it). */
void handler_finish(struct handler *h);

bool handler_deep(struct handler *h);

/* The handler object (keys sorted) of bucket i (0 = live), or of the window
 * merging the newest n buckets.  NULL when the bucket does not exist or on
 * allocation failure.  The caller owns the tree. */
cJSON *handler_bucket_json(const struct handler *h, uint32_t i, const struct render_opts *o);
cJSON *handler_window_json(const struct handler *h, uint32_t n, const struct render_opts *o);

extern const struct handler_type handler_net;
extern const struct handler_type handler_dns;
extern const struct handler_type handler_dhcp;

/* Queries of a dns handler waiting for their response (policy info). */
uint32_t handler_dns_open_xacts(const struct handler *h);

#endif
