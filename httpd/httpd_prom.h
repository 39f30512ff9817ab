/*
 * httpd_prom.h - handler buckets in the Prometheus text exposition format
 * (version 0.0.4), rendered from the metric catalogue (metric.h).
 *
 * What a bucket becomes (SPEC 3.2): each metric of the table, in .def line
 * order (SPEC 3.6b), is one family named "<schema key>_<path with '.' ->
 * '_'>" with a "# HELP" and a "# TYPE" line.  Counters and cardinalities
 * are gauges (they reset every bucket).  Quantiles and rates are summaries:
 * quantile="0.5", "0.9", "0.95", "0.99" from the sketch's own quantile
 * getter (the values the JSON shows), then <name>_sum and <name>_count;
 * nothing at all while the sketch is empty.  A top-N is a gauge with one
 * line per reported entry, the entry in the "name" label; nothing while
 * empty.  With render_opts.agent, the health counters of BUCKET_HEALTH
 * follow as gauges "<schema key>_agent_<name>", like every other path.
 *
 * Where we differ from pktvisor v3.3 on purpose:
 * - _sum is the true sum of the observations (SPEC 10), not the maximum.
 * - Label values are escaped (\\, \", \n; SPEC 10), and bytes that are not
 *   UTF-8 become U+FFFD: Prometheus rejects the whole scrape for one label
 *   value that is not valid UTF-8.
 * - HELP and TYPE appear once per family, followed by all of its lines.
 *   pktvisor repeats them before every top-N entry, and its per-policy
 *   endpoint repeats whole families for two handlers of one type; a
 *   second TYPE line for a name makes the exposition invalid (promtool
 *   check metrics fails, and the format requires one group per family).
 *   That is what struct prom_group is for: the buckets of every handler
 *   instance with the same table are added to one group, which keeps each
 *   family's lines together and writes HELP/TYPE once.
 *
 * Labels: the caller's labels (static ones such as "instance" and per-call
 * ones such as "policy" and "module") plus the renderer's own ("name",
 * "quantile"), in lexicographic key order (SPEC 3.2); "{}" when there is
 * none.  The caller's keys must be identifiers, distinct, and neither
 * "name" nor "quantile".
 *
 * Ownership: a prom_buf owns its malloc'ed text (prom_buf_free, or take
 * data and reset the struct).  A prom_group copies what it needs from each
 * bucket when it is added (the text of the samples), so buckets and label
 * strings are borrowed only for the call; prom_group_free() NULLs the
 * pointer.  No global state; any thread, one object per thread.
 */
#ifndef PKTVISOR_HTTPD_PROM_H
#define PKTVISOR_HTTPD_PROM_H

#include <stdbool.h>
#include <stddef.h>

#include "metric.h"

/* Caller labels per sample; with "name" or "quantile" one more is added. */
#define PROM_MAX_LABELS 8

/* A growing text buffer.  All zero is an empty buffer.  After an
 * allocation failure appends are ignored and oom stays set, so a caller
 * checks once at the end. */
struct prom_buf {
    char *data; /* NUL-terminated once anything was appended; else NULL */
    size_t len;
    size_t cap;
    bool oom;
};

void prom_buf_append(struct prom_buf *b, const char *s, size_t n);
void prom_buf_free(struct prom_buf *b);

struct prom_label {
    const char *key;
    const char *value; /* any bytes; escaped on output */
};

/* The families of one metric table, filled from one or more buckets. */
struct prom_group;

/* NULL when out of memory.  o->agent adds the health counters; the other
 * options do not apply (no period, no "live" in Prometheus). */
struct prom_group *prom_group_new(const struct metric_table *t, const struct render_opts *o);
/* Add the samples of one bucket of the group's table, labelled with
 * labels[0..n) (any order; n <= PROM_MAX_LABELS).  -1 when out of memory. */
int prom_group_add(struct prom_group *g, const void *bucket, const struct prom_label *labels,
                   size_t n);
/* Append every non-empty family, in table order, to out.  -1 when out of
 * memory (out->oom is then set). */
int prom_group_write(const struct prom_group *g, struct prom_buf *out);
void prom_group_free(struct prom_group **g);

/* One bucket on its own: a group of one, written to out. */
int prom_render_bucket(struct prom_buf *out, const struct metric_table *t, const void *bucket,
                       const struct render_opts *o, const struct prom_label *labels, size_t n);

#endif
