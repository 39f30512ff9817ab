/*
 * metric.h - the metric catalogue machinery: each metric is declared once.
 *
 * A handler declares its metrics in a .def file, one line each:
 *
 *     METRIC(KIND, field, "json.path", "help text")
 *
 * KIND is COUNTER, CARD, TOPN, PORTS, QUANTILE or RATE.  From that one list come
 * the bucket struct (METRIC_FIELD), the descriptor table (METRIC_DESC) that
 * drives init, close, merge and the JSON renderer (and, with the API, the
 * Prometheus renderer), and the Prometheus name, which is derived as
 * "<schema key>_<path with '.' -> '_'>" (SPEC 3.2), so no name is typed
 * twice.  The order of the .def lines is the
 * Prometheus emission order (SPEC 3.6b); JSON keys are sorted anyway.
 *
 * A bucket is a fixed-size, pointer-free struct that starts with a struct
 * bucket_hdr; all-zero bytes are a valid empty bucket, so buckets can live
 * in calloc'ed memory or a shared segment.  These functions never allocate,
 * except metric_bucket_json(), which returns a cJSON tree owned by the
 * caller (cJSON_Delete).
 */
#ifndef PKTVISOR_METRIC_H
#define PKTVISOR_METRIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "sketch_card.h"
#include "sketch_ports.h"
#include "sketch_quantile.h"
#include "sketch_rate.h"
#include "sketch_topn.h"

enum metric_kind {
    METRIC_COUNTER,
    METRIC_CARD,
    METRIC_TOPN,
    METRIC_PORTS, /* a top-N of ports, counted exactly */
    METRIC_QUANTILE,
    METRIC_RATE,
};

#define METRIC_CTYPE_COUNTER  uint64_t
#define METRIC_CTYPE_CARD     struct card
#define METRIC_CTYPE_TOPN     struct topn
#define METRIC_CTYPE_PORTS    struct ports
#define METRIC_CTYPE_QUANTILE struct quantile
#define METRIC_CTYPE_RATE     struct rate

/* Expand a .def line into a struct member / a descriptor initializer. */
#define METRIC_FIELD(kind, id, path, help) METRIC_CTYPE_##kind id;
#define METRIC_DESC(type, kind, id, path, help)                                                    \
    {METRIC_##kind, (uint32_t)offsetof(type, id), path, help},

struct metric_desc {
    enum metric_kind kind;
    uint32_t offset; /* of the metric inside the bucket */
    const char *path;
    const char *help;
};

/* Time span of a bucket.  A closed bucket's length is frozen at close; the
 * live one's grows with the clock the caller passes when rendering. */
struct period {
    int64_t start_sec;
    int64_t start_nsec;
    int64_t end_sec; /* valid when closed */
    int64_t end_nsec;
    int64_t length; /* seconds; valid when closed or merged */
    uint32_t closed;
    uint32_t merged;
};

/*
 * The agent's health counters, the same in every handler's bucket (STYLE.md:
 * drops are metrics): declared once here, rendered under "<key>.agent" when
 * render_opts.agent is set (pktvisord; pktvisor-pcap has no ring and no
 * restarts), summed by merges.
 */
#define BUCKET_HEALTH(X)                                                                           \
    X(restarts, "agent.restarts", "Times this handler's process was restarted")                    \
    X(ring_overruns, "agent.ring_overruns",                                                        \
      "Packets this handler lost because it fell a whole packet ring behind the capture")          \
    X(poison_packets, "agent.poison_packets",                                                      \
      "Packets skipped because this handler crashed twice while counting them")

#define BUCKET_HEALTH_FIELD(id, path, help) uint64_t id;
struct bucket_health {
    BUCKET_HEALTH(BUCKET_HEALTH_FIELD)
};

struct bucket_hdr {
    struct period period;
    uint64_t events; /* events the handler saw in this bucket (health) */
    struct bucket_health health;
};

/* The health counters as descriptors (offsets into struct bucket_health). */
extern const struct metric_desc bucket_health_metrics[];
extern const size_t bucket_health_count;

struct metric_table {
    const char *schema_key; /* "packets", "dns", "dhcp", "pcap" */
    size_t bucket_size;
    const struct metric_desc *metrics;
    size_t count;
};

/* Empty the bucket and start its period (and every rate's clock) at ts. */
void metric_bucket_open(const struct metric_table *t, void *bucket, int64_t sec, int64_t nsec);
/* Freeze the bucket: rates flush up to the end, length = end - start. */
void metric_bucket_close(const struct metric_table *t, void *bucket, int64_t sec, int64_t nsec);
/* Length in seconds: frozen for closed/merged buckets, now - start for live. */
int64_t metric_bucket_length(const void *bucket, int64_t now_sec);
/* dst += src.  dst must have been opened or merged into before; the period
 * becomes the union: earliest start, summed lengths (SPEC 3.1). */
void metric_bucket_merge(const struct metric_table *t, void *dst, const void *src, int64_t now_sec);
/* dst += src where both count a share of the same period (a tap's workers):
 * the period is the union, closed only when both are; counters and
 * sketches merge as above, rates by rate_merge_parallel. */
void metric_bucket_merge_parallel(const struct metric_table *t, void *dst, const void *src);

struct render_opts {
    int64_t now_sec; /* clock for a live bucket's length */
    bool show_live;  /* live bucket of live capture: rates show "live" */
    bool agent;      /* add the "agent" health counters (pktvisord) */
};

/* The handler object for one bucket, keys sorted ({"cardinality":..,
 * "period":..,...}).  NULL only on allocation failure. */
cJSON *metric_bucket_json(const struct metric_table *t, const void *bucket,
                          const struct render_opts *o);

/* What a top-N metric (TOPN or PORTS) reports: up to TOPN_REPORT items,
 * their texts in the sketch or in port_text. */
struct metric_top {
    size_t n;
    struct topn_item items[TOPN_REPORT];
    char port_text[TOPN_REPORT][PORTS_TEXT_MAX];
};
/* The report of the top-N metric of that kind at sketch. */
void metric_top_report(enum metric_kind kind, const void *sketch, struct metric_top *out);

/* The metric of t at JSON path, or NULL. */
const struct metric_desc *metric_find(const struct metric_table *t, const char *path);

/* Sort the keys of every object in the tree (SPEC 1.2: keys sorted at
 * every level). */
void json_sort_keys(cJSON *item);
/* Add an unsigned integer exactly (cJSON numbers are doubles). */
cJSON *json_add_u64(cJSON *obj, const char *key, uint64_t v);
cJSON *json_add_i64(cJSON *obj, const char *key, int64_t v);

#endif
