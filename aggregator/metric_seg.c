#include "metric_seg.h"

#include <stdio.h>
#include <string.h>

#include "agg_loop.h"
#include "log.h"

static size_t seg_size(const struct handler_type *t, uint32_t num_periods)
{
    return SEGMENT_PAYLOAD_OFF + METRIC_SEG_SNAP_OFF +
           snap_area_size(handler_block_size(t, num_periods));
}

struct metric_seg_hdr *metric_seg_hdr(const struct segment *s)
{
    return segment_payload(s);
}

struct snap_area *metric_seg_snap(const struct segment *s)
{
    return (struct snap_area *)((char *)segment_payload(s) + METRIC_SEG_SNAP_OFF);
}

struct segment *metric_seg_create(const struct handler_type *t, const char *name,
                                  uint32_t num_periods, char *err, size_t errlen)
{
    _Static_assert(sizeof(struct metric_seg_hdr) <= METRIC_SEG_SNAP_OFF, "header fits");
    char segname[SEGMENT_NAME_MAX];
    size_t block = handler_block_size(t, num_periods);
    snprintf(segname, sizeof(segname), "pktvisord-%s", name);
    struct segment *s = segment_create(segname, seg_size(t, num_periods), SEGMENT_KIND_METRIC,
                                       segment_schema_hash(t->table), err, errlen);
    if (s == NULL)
        return NULL;
    struct metric_seg_hdr *h = metric_seg_hdr(s);
    snprintf(h->instance, sizeof(h->instance), "%s", name);
    snprintf(h->type, sizeof(h->type), "%s", t->name);
    h->num_periods = num_periods;
    h->block_size = block;
    atomic_store(&h->inflight, AGG_INFLIGHT_NONE);
    struct snap sn;
    if (snap_init(&sn, metric_seg_snap(s), snap_area_size(block), block, err, errlen) != 0) {
        segment_free(&s);
        return NULL;
    }
    return s;
}

struct segment *metric_seg_attach(int fd, bool writable, const struct handler_type *t,
                                  uint32_t num_periods, char *err, size_t errlen)
{
    struct segment *s = segment_attach(fd, writable, SEGMENT_KIND_METRIC,
                                       segment_schema_hash(t->table), err, errlen);
    if (s == NULL)
        return NULL;
    const struct metric_seg_hdr *h = metric_seg_hdr(s);
    if (s->size < seg_size(t, num_periods) || h->num_periods != num_periods ||
        h->block_size != handler_block_size(t, num_periods) ||
        strncmp(h->type, t->name, sizeof(h->type)) != 0) {
        err_set(err, errlen, "metric segment: not a %s segment of %u periods", t->name,
                (unsigned)num_periods);
        segment_free(&s);
        return NULL;
    }
    return s;
}

void metric_seg_start(struct segment *s, struct metric_seg_start *out)
{
    struct metric_seg_hdr *h = metric_seg_hdr(s);
    uint64_t starts = atomic_fetch_add(&h->starts, 1) + 1;
    uint64_t clean = atomic_load(&h->clean_stops);
    uint64_t died_at = atomic_exchange(&h->inflight, AGG_INFLIGHT_NONE);

    memset(out, 0, sizeof(*out));
    out->restarts = starts - 1 > clean ? starts - 1 - clean : 0;
    if (died_at == AGG_INFLIGHT_NONE)
        return;
    if (atomic_load(&h->suspect_seq) == died_at && atomic_load(&h->suspect_crashes) > 0) {
        atomic_fetch_add(&h->suspect_crashes, 1);
    } else {
        atomic_store(&h->suspect_seq, died_at);
        atomic_store(&h->suspect_crashes, 1);
    }
    if (atomic_load(&h->suspect_crashes) >= 2) {
        out->poison = true;
        out->poison_seq = died_at;
        atomic_fetch_add(&h->poisoned, 1);
    }
}
