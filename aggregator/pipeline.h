/*
 * pipeline.h - raw frame -> decoded packet -> direction -> handlers.
 *
 * The one path every captured frame takes, whichever front end read it:
 * pktvisor-pcap feeds frames from a file, an aggregator process feeds frames
 * from the packet ring.  The pipeline owns a decoder (with its fragment
 * table) and a list of handler instances; the host spec is copied in.
 *
 * Ownership: pipeline_new()/pipeline_free() (NULLs the pointer); handlers
 * added with pipeline_add() become owned by the pipeline.  One thread.
 */
#ifndef PKTVISOR_PIPELINE_H
#define PKTVISOR_PIPELINE_H

#include <stdint.h>

#include "decode.h"
#include "handler.h"
#include "hostspec.h"

#define PIPELINE_MAX_HANDLERS 16

struct pipeline {
    struct decoder *dec;
    struct handler *handlers[PIPELINE_MAX_HANDLERS];
    uint32_t nhandlers;
    uint64_t frames;
    int64_t last_sec;                 /* packet clock: newest frame time */
    struct hostspec_index host_index; /* of hosts, for the direction */
    struct hostspec hosts;
};

struct pipeline *pipeline_new(const struct hostspec *hosts);
void pipeline_free(struct pipeline **pl);
/* Takes ownership of h (also on failure, when it is freed). */
int pipeline_add(struct pipeline *pl, struct handler *h);
void pipeline_frame(struct pipeline *pl, int linktype, const uint8_t *data, uint32_t caplen,
                    uint32_t wirelen, int64_t sec, int64_t nsec);
/* Capture statistics read at ts, for every handler. */
void pipeline_input_stats(struct pipeline *pl, int64_t sec, int64_t nsec,
                          const struct input_stats *s);
/* End of input for every handler. */
void pipeline_finish(struct pipeline *pl);

#endif
