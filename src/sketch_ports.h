/*
 * sketch_ports.h - exact counts of 16-bit ports, fixed size, pointer-free.
 *
 * A top-N over ports needs no frequent-items sketch: there are only 65536
 * of them, so one counter each gives exact counts.  It is also the cheap
 * way: the ports a DNS server sees are its clients' source ports, spread
 * uniformly (resolvers randomize them), so a struct topn there is always
 * full: nearly every count is an insert after a long probe, with a purge
 * every few thousand.  Here a count is one increment.  Reported like a
 * top-N (struct topn_item, same order rule as topn_report), with the true
 * count as the estimate, which pktvisor's frequent items also report while
 * fewer than 6144 distinct ports were seen, and over-estimate past that.
 *
 * 512 KiB, of which a bucket touches only the lines of the ports it saw,
 * and the largest count of each group of 256 ports (2 KiB, kept by every
 * count), so that a report, on every HTTP request, reads the counts of
 * only the groups that can rank instead of all 65536.
 *
 * Ownership: plain data; all-zero bytes are an empty sketch, so it lives in
 * calloc'ed memory or a shared segment and is copied with memcpy.  No
 * function allocates.  Single writer.
 */
#ifndef PKTVISOR_SKETCH_PORTS_H
#define PKTVISOR_SKETCH_PORTS_H

#include <stddef.h>
#include <stdint.h>

#include "sketch_topn.h"

#define PORTS_N        65536
#define PORTS_GROUP    256 /* ports under one group_max */
#define PORTS_TEXT_MAX 6   /* "65535" and its NUL */

struct ports {
    uint64_t count[PORTS_N];
    uint64_t group_max[PORTS_N / PORTS_GROUP]; /* of count[256 g .. 256 g + 255] */
};

static inline void ports_add(struct ports *t, uint16_t port)
{
    uint64_t c = ++t->count[port];
    uint64_t *m = &t->group_max[port / PORTS_GROUP];
    if (c > *m)
        *m = c;
}

/* Start loading port's counter: callers that know the port early overlap
 * its cache miss with other work. */
static inline void ports_prefetch(const struct ports *t, uint16_t port)
{
    __builtin_prefetch(&t->count[port]);
}

/* dst += src. */
void ports_merge(struct ports *dst, const struct ports *src);

/* Up to TOPN_REPORT ports seen, by count descending, ties by their decimal
 * text ascending (topn_report's rule); each item's text is written into
 * text[i], which must outlive the items.  Returns the count. */
size_t ports_report(const struct ports *t, struct topn_item out[TOPN_REPORT],
                    char text[TOPN_REPORT][PORTS_TEXT_MAX]);

#endif
