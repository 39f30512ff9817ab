#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

struct pipeline *pipeline_new(const struct hostspec *hosts)
{
    struct pipeline *pl = calloc(1, sizeof(*pl));
    if (pl == NULL)
        return NULL;
    if ((pl->dec = decoder_new()) == NULL) {
        free(pl);
        return NULL;
    }
    if (hosts != NULL)
        pl->hosts = *hosts;
    hostspec_index_build(&pl->host_index, &pl->hosts);
    return pl;
}

void pipeline_free(struct pipeline **plp)
{
    struct pipeline *pl = *plp;
    if (pl == NULL)
        return;
    for (uint32_t i = 0; i < pl->nhandlers; i++)
        handler_free(&pl->handlers[i]);
    decoder_free(&pl->dec);
    free(pl);
    *plp = NULL;
}

int pipeline_add(struct pipeline *pl, struct handler *h)
{
    if (pl->nhandlers == PIPELINE_MAX_HANDLERS) {
        handler_free(&h);
        return -1;
    }
    pl->handlers[pl->nhandlers++] = h;
    return 0;
}

void pipeline_frame(struct pipeline *pl, int linktype, const uint8_t *data, uint32_t caplen,
                    uint32_t wirelen, int64_t sec, int64_t nsec)
{
    struct packet p;
    /* A frame that fails to decode is still a frame: net counts it. */
    decode_packet(pl->dec, linktype, data, caplen, wirelen, sec, nsec, &p);
    p.dir = hostspec_index_direction(&pl->host_index, &p);
    pl->frames++;
    if (sec > pl->last_sec)
        pl->last_sec = sec;
    for (uint32_t i = 0; i < pl->nhandlers; i++)
        handler_feed(pl->handlers[i], &p);
}

void pipeline_input_stats(struct pipeline *pl, int64_t sec, int64_t nsec,
                          const struct input_stats *s)
{
    for (uint32_t i = 0; i < pl->nhandlers; i++)
        handler_input_stats(pl->handlers[i], sec, nsec, s);
}

void pipeline_finish(struct pipeline *pl)
{
    for (uint32_t i = 0; i < pl->nhandlers; i++)
        handler_finish(pl->handlers[i]);
}
