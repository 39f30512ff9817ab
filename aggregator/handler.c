#include "handler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static const struct handler_type *const types[] = {
    &handler_net,
    &handler_dns,
    &handler_dhcp,
    &handler_pcap,
};

#define ALIGN64(x) (((x) + 63u) & ~(size_t)63u)

size_t handler_block_window_end(const struct handler_type *t, uint32_t num_periods)
{
    return ALIGN64(sizeof(struct handler_block)) + window_size(t->table, num_periods);
}

size_t handler_block_size(const struct handler_type *t, uint32_t num_periods)
{
    return ALIGN64(handler_block_window_end(t, num_periods)) + ALIGN64(t->resume_size);
}

const struct window *handler_block_window(const void *blk, size_t len, const struct handler_type *t,
                                          uint32_t num_periods)
{
    const struct handler_block *b = blk;
    size_t wend = handler_block_window_end(t, num_periods);
    if (len < wend || b->magic != HANDLER_BLOCK_MAGIC ||
        b->size != handler_block_size(t, num_periods) ||
        b->window_off != ALIGN64(sizeof(struct handler_block)))
        return NULL;
    const struct window *w = (const struct window *)((const char *)blk + b->window_off);
    if (w->num_periods != num_periods || w->count > num_periods || w->head >= num_periods ||
        w->bucket_size * num_periods + b->window_off > wend)
        return NULL;
    return w;
}

/* After anything that may move the window: the packet path reads these. */
static void sync_live(struct handler *h)
{
    const struct window *w = h->win;
    h->live = window_bucket(h->win, 0);
    if (w->count == 0)
        h->live_until = INT64_MIN;
    else
        h->live_until = w->num_periods == 1 ? INT64_MAX : w->next_shift;
}

int handler_block_load(struct handler *h, const void *blk, size_t len)
{
    if (len != h->blk->size ||
        handler_block_window(blk, len, h->type, h->win->num_periods) == NULL ||
        ((const struct handler_block *)blk)->resume_off != h->blk->resume_off)
        return -1;
    memcpy(h->blk, blk, len);
    sync_live(h);
    return 0;
}

const struct handler_opt *handler_opt_find(const struct handler_config *c, const char *key)
{
    for (size_t i = 0; i < c->nopts; i++)
        if (strcmp(c->opts[i].key, key) == 0)
            return &c->opts[i];
    return NULL;
}

const struct handler_type *handler_type_find(const char *name)
{
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(types[i]->name, name) == 0)
            return types[i];
    return NULL;
}

/* Anonymous pages: zero, and untouched buckets and tables stay
 * unresident until used.  Huge pages where the kernel gives them: every
 * packet touches several sketches spread over megabytes (a dns bucket is
 * 1.5 MiB, its transaction table 4 MiB), and with 4 KiB pages most of
 * those touches also miss the TLB. */
#define HUGE_ALIGN ((size_t)2 << 20)

/* Mapped length of a block: whole huge pages (the tail, the dns
 * transaction table, is as hot as the rest). */
static size_t block_map_len(size_t size)
{
    return (size + HUGE_ALIGN - 1) / HUGE_ALIGN * HUGE_ALIGN;
}

static struct handler_block *block_alloc(size_t size)
{
    /* Over-map, then trim to a 2 MiB aligned start: only aligned 2 MiB
     * ranges can become huge pages. */
    size = block_map_len(size);
    size_t len = size + HUGE_ALIGN;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    size_t lead = (HUGE_ALIGN - (uintptr_t)p % HUGE_ALIGN) % HUGE_ALIGN;
    if (lead > 0)
        munmap(p, lead);
    munmap(p + lead + size, len - lead - size);
    p += lead;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, size, MADV_HUGEPAGE);
#endif
    return (struct handler_block *)p;
}

struct handler *handler_new(const struct handler_type *type, const char *name,
                            const struct handler_config *cfg, char *err, size_t errlen)
{
    struct handler *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->type = type;
    snprintf(h->name, sizeof(h->name), "%s", name);
    h->cfg = *cfg;
    h->cfg.opts = NULL; /* only valid during init */
    h->cfg.nopts = 0;
    size_t size = handler_block_size(type, cfg->num_periods);
    h->blk = block_alloc(size);
    if (h->blk != NULL)
        h->blk->size = size; /* handler_free unmaps by it */
    h->state = type->state_size != 0 ? calloc(1, type->state_size) : NULL;
    if (h->blk == NULL || (type->state_size != 0 && h->state == NULL)) {
        snprintf(err, errlen, "out of memory");
        handler_free(&h);
        return NULL;
    }
    h->blk->magic = HANDLER_BLOCK_MAGIC;
    h->blk->size = size;
    h->blk->window_off = ALIGN64(sizeof(struct handler_block));
    h->blk->resume_off = ALIGN64(handler_block_window_end(type, cfg->num_periods));
    /* Fixed seed: the same packets give the same samples in every front end. */
    h->blk->rng = UINT64_C(0x853c49e6748fea9b);
    h->win = (struct window *)((char *)h->blk + h->blk->window_off);
    window_init(h->win, type->table, cfg->num_periods);
    sync_live(h);
    h->resume = type->resume_size != 0 ? (char *)h->blk + h->blk->resume_off : NULL;
    if (type->init != NULL && type->init(h, cfg, err, errlen) != 0) {
        free(h->state);
        h->state = NULL;
        h->type = NULL;
        handler_free(&h);
        return NULL;
    }
    return h;
}

void handler_free(struct handler **hp)
{
    struct handler *h = *hp;
    if (h == NULL)
        return;
    if (h->type != NULL && h->type->fini != NULL)
        h->type->fini(h);
    if (h->blk != NULL)
        munmap(h->blk, block_map_len(h->blk->size));
    free(h->state);
    free(h);
    *hp = NULL;
}

static void advance(struct handler *h, int64_t sec, int64_t nsec)
{
    const struct handler_type *t = h->type;
    bool shifted = window_advance(h->win, t->table, sec, nsec);
    sync_live(h);
    if (shifted && t->shift != NULL)
        t->shift(h, window_bucket(h->win, 1), h->live);
}

void handler_feed_slow(struct handler *h, const struct packet *p)
{
    advance(h, p->ts_sec, p->ts_nsec);
    h->type->packet(h, h->live, p);
}

void handler_input_stats(struct handler *h, int64_t sec, int64_t nsec, const struct input_stats *s)
{
    advance(h, sec, nsec);
    if (h->type->input_stats != NULL)
        h->type->input_stats(h, h->live, s);
}

bool handler_tick(struct handler *h, int64_t now_sec)
{
    const struct window *w = h->win;
    /* A grace of two seconds past the boundary: packets stamped just before
     * it may still be on their way (the kernel hands them over in blocks
     * retired every 10 ms, and the ring and the batch add a little). */
    if (w->count == 0 || w->num_periods == 1 || now_sec < w->next_shift + HANDLER_TICK_GRACE_SEC)
        return false;
    uint64_t shifts = w->shifts;
    advance(h, now_sec, 0);
    return w->shifts != shifts;
}

void handler_finish(struct handler *h)
{
    if (h->type->finish != NULL)
        h->type->finish(h);
    window_close_live(h->win, h->type->table, h->win->last_sec, h->win->last_nsec);
}

bool handler_deep_draw(struct handler *h)
{
    /* xorshift64*: cheap, and good enough for a sampling coin. */
    uint64_t x = h->blk->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    h->blk->rng = x;
    return (x * UINT64_C(0x2545f4914f6cdd1d)) % 100 < h->cfg.deep_sample_rate;
}

cJSON *handler_bucket_json(const struct handler *h, uint32_t i, const struct render_opts *o)
{
    const void *b = window_bucket_const(h->win, i);
    return b != NULL ? metric_bucket_json(h->type->table, b, o) : NULL;
}

cJSON *handler_window_json(const struct handler *h, uint32_t n, const struct render_opts *o)
{
    const struct metric_table *t = h->type->table;
    void *tmp = malloc(t->bucket_size);
    cJSON *j = NULL;
    if (tmp == NULL)
        return NULL;
    if (window_merge(h->win, t, n, o->now_sec, tmp) == 0) {
        /* No event yet: an empty bucket, not a missing object. */
        metric_bucket_open(t, tmp, 0, 0);
        metric_bucket_close(t, tmp, 0, 0);
    }
    j = metric_bucket_json(t, tmp, o);
    free(tmp);
    return j;
}
