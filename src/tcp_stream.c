/*
 * tcp_stream.c - TCP reassembly of DNS-over-TCP message streams.
 *
 * Layout: every flow lives in one array sized for max_flows (calloc, so its
 * pages cost nothing until flows use them), found through a chained hash of
 * uint32 indices and ordered by a doubly linked LRU list of indices.  Flow
 * pointers therefore stay valid while other flows are evicted in the middle
 * of a segment.
 *
 * Per side: next_seq is the next byte we expect; bytes before it have been
 * framed already.  Framing state is one of: at a message boundary (have 0),
 * one prefix byte seen (have 1, byte in pfx), a message being gathered in
 * buf (have >= 2 of need = 2 + length), skipping the rest of a message we
 * could not hold (skip > 0), or waiting for a segment boundary after a
 * framing error (SIDE_RESYNC).  Queued out-of-order segments are copies,
 * sorted by sequence, never overlapping each other, all past next_seq.
 *
 * Sequence numbers are compared as signed 32-bit differences (serial
 * arithmetic, RFC 1982 style), which is correct across the 2^32 wrap as long
 * as the bytes in flight span less than 2^31: we refuse larger payloads.
 */
#include "tcp_stream.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "hash.h"

#define NIL UINT32_MAX

#define DEFAULT_MAX_FLOWS 65536u
#define DEFAULT_MAX_BYTES (UINT64_C(64) << 20)
#define DEFAULT_IDLE      60u
#define MAX_FLOWS_LIMIT   (UINT32_C(1) << 30) /* keeps indices below NIL */

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

#define MSG_MIN     12          /* a DNS header */
#define MSG_BUF_MIN 2048u       /* first allocation: most messages fit */
#define SEG_MAX     0x40000000u /* larger would defeat serial comparisons */

/* SIDE_DONE: the side's FIN was reached in sequence (half-closed). */
enum { SIDE_SYNCED = 1, SIDE_RESYNC = 2, SIDE_DONE = 4 };

struct ooo_seg {
    struct ooo_seg *next;
    uint32_t seq;
    uint32_t len;
    bool fin;
    bool seg_start; /* data begins where the original segment began */
    uint8_t data[];
};

/* A queued copy counts its header too, so floods of tiny segments stay
 * within max_bytes. */
#define SEG_COST(len) ((uint64_t)(len) + sizeof(struct ooo_seg))

struct side {
    uint32_t next_seq;
    uint32_t need; /* 2 + length of the message being gathered, once known */
    uint32_t have; /* bytes of it held: in pfx when 1, in buf when >= 2 */
    uint32_t cap;  /* bytes allocated at buf */
    uint32_t skip; /* bytes of a lost message still to discard */
    uint8_t pfx;
    uint8_t n_ooo;
    uint8_t flags;
    uint8_t *buf;
    struct ooo_seg *ooo;
};

struct flow {
    uint64_t hash;
    uint64_t bytes;         /* buffered by this flow, counted in ts->bytes */
    struct ip_addr addr[2]; /* addr[s], port[s]: the sender of side s */
    uint16_t port[2];
    uint32_t hnext;      /* hash chain, or free list when unused */
    uint32_t prev, next; /* LRU list: prev towards the most recent */
    int64_t last_sec;
    int32_t last_nsec;
    bool fin; /* FIN reached in sequence: close when the segment is done */
    struct side side[2];
};

struct tcp_stream {
    struct tcp_stream_limits lim;
    tcp_stream_msg_cb cb;
    void *ctx;
    struct flow *flows;
    uint32_t *bucket;
    uint32_t mask;
    uint32_t used;      /* flows[0..used) have been handed out at least once */
    uint32_t free_head; /* released flows, chained through hnext */
    uint32_t n_flows;
    uint32_t mru, lru;
    uint64_t bytes;
    bool flushing; /* closing a flow: allocations must not evict others */
    struct tcp_stream_stats st;
};

/* ---- flow keys -------------------------------------------------------- */

static size_t addr_len(uint8_t family)
{
    return family == 4 ? 4 : family == 6 ? 16 : 0;
}

static bool addr_eq(const struct ip_addr *a, const struct ip_addr *b)
{
    return a->family == b->family && memcmp(a->a.v6, b->a.v6, addr_len(a->family)) == 0;
}

/* ---- table, LRU ------------------------------------------------------- */

static void lru_unlink(struct tcp_stream *ts, uint32_t i)
{
    struct flow *f = &ts->flows[i];
    if (f->prev != NIL)
        ts->flows[f->prev].next = f->next;
    else
        ts->mru = f->next;
    if (f->next != NIL)
        ts->flows[f->next].prev = f->prev;
    else
        ts->lru = f->prev;
}

static void lru_push(struct tcp_stream *ts, uint32_t i)
{
    struct flow *f = &ts->flows[i];
    f->prev = NIL;
    f->next = ts->mru;
    if (ts->mru != NIL)
        ts->flows[ts->mru].prev = i;
    else
        ts->lru = i;
    ts->mru = i;
}

static void hash_unlink(struct tcp_stream *ts, uint32_t i)
{
    uint32_t *pp = &ts->bucket[ts->flows[i].hash & ts->mask];
    while (*pp != i)
        pp = &ts->flows[*pp].hnext;
    *pp = ts->flows[i].hnext;
}

/* Find p's flow; *side says which end sent p. */
static uint32_t lookup(const struct tcp_stream *ts, uint64_t h, const struct packet *p, int *side)
{
    for (uint32_t i = ts->bucket[h & ts->mask]; i != NIL; i = ts->flows[i].hnext) {
        const struct flow *f = &ts->flows[i];
        if (f->hash != h)
            continue;
        if (f->port[0] == p->sport && f->port[1] == p->dport && addr_eq(&f->addr[0], &p->src) &&
            addr_eq(&f->addr[1], &p->dst)) {
            *side = 0;
            return i;
        }
        if (f->port[1] == p->sport && f->port[0] == p->dport && addr_eq(&f->addr[1], &p->src) &&
            addr_eq(&f->addr[0], &p->dst)) {
            *side = 1;
            return i;
        }
    }
    return NIL;
}

/* ---- byte accounting -------------------------------------------------- */

static void close_flow(struct tcp_stream *ts, uint32_t i, const struct packet *cur, int cur_side);

/* Make room for n more bytes for flow f, evicting least recently used
 * flows other than f; the caller accounts the bytes once allocated. */
static bool reserve(struct tcp_stream *ts, const struct flow *f, uint64_t n)
{
    if (n > ts->lim.max_bytes - f->bytes)
        return false; /* evicting others would not help */
    while (ts->bytes + n > ts->lim.max_bytes) {
        /* f is the most recent flow, so the walk stops there; while a
         * flow is being closed nothing else is evicted (no recursion). */
        if (ts->flushing || ts->lru == NIL || &ts->flows[ts->lru] == f)
            return false;
        ts->st.flows_evicted++;
        close_flow(ts, ts->lru, NULL, -1);
    }
    return true;
}

static void account(struct tcp_stream *ts, struct flow *f, uint64_t n)
{
    ts->bytes += n;
    f->bytes += n;
}

static void release(struct tcp_stream *ts, struct flow *f, uint64_t n)
{
    ts->bytes -= n;
    f->bytes -= n;
}

/* ---- framing ---------------------------------------------------------- */

static void msg_free(struct tcp_stream *ts, struct flow *f, struct side *sd)
{
    free(sd->buf);
    release(ts, f, sd->cap);
    sd->buf = NULL;
    sd->cap = sd->have = sd->need = 0;
}

/* Give up the message being gathered but stay in step: its remaining
 * length is known, so its bytes are skipped instead of framed. */
static void msg_lose(struct tcp_stream *ts, struct flow *f, struct side *sd)
{
    uint32_t rest = sd->need - sd->have;
    msg_free(ts, f, sd);
    sd->skip = rest;
    ts->st.messages_lost++;
}

/* Grow buf to hold want bytes (doubling, never past need), so a half-sent
 * large message costs about what has arrived, not what it announces. */
static bool msg_room(struct tcp_stream *ts, struct flow *f, struct side *sd, uint32_t want)
{
    if (want <= sd->cap)
        return true;
    uint32_t cap = sd->cap ? sd->cap : MSG_BUF_MIN;
    while (cap < want)
        cap *= 2;
    if (cap > sd->need)
        cap = sd->need;
    if (!reserve(ts, f, cap - sd->cap))
        return false;
    uint8_t *nb = realloc(sd->buf, cap);
    if (nb == NULL)
        return false;
    sd->buf = nb;
    account(ts, f, cap - sd->cap);
    sd->cap = cap;
    return true;
}

static void framing_error(struct tcp_stream *ts, struct flow *f, struct side *sd)
{
    ts->st.framing_errors++;
    msg_free(ts, f, sd);
    sd->flags |= SIDE_RESYNC;
}

static void deliver(struct tcp_stream *ts, const struct flow *f, int s, const uint8_t *msg,
                    uint32_t len, const struct packet *p)
{
    ts->st.messages++;
    ts->cb(ts->ctx, f->hash, s, msg, len, p);
}

/* Frame len in-sequence bytes of side s.  start: they begin an original
 * segment, where framing may resume after an error.  Whole messages with
 * nothing buffered are delivered straight from d, without a copy. */
static void consume(struct tcp_stream *ts, struct flow *f, int s, const uint8_t *d, uint32_t len,
                    bool start, const struct packet *p)
{
    struct side *sd = &f->side[s];

    if (sd->flags & SIDE_RESYNC) {
        if (!start)
            return;
        sd->flags &= (uint8_t)~SIDE_RESYNC;
    }
    while (len > 0) {
        if (sd->skip > 0) {
            uint32_t n = sd->skip < len ? sd->skip : len;
            sd->skip -= n;
            d += n;
            len -= n;
            continue;
        }
        if (sd->have == 0) {
            if (len == 1) {
                sd->pfx = d[0];
                sd->have = 1;
                return;
            }
            uint32_t mlen = (uint32_t)d[0] << 8 | d[1];
            if (mlen < MSG_MIN) {
                framing_error(ts, f, sd);
                return;
            }
            if (len >= 2 + mlen) {
                deliver(ts, f, s, d + 2, mlen, p);
                d += 2 + mlen;
                len -= 2 + mlen;
                continue;
            }
            sd->need = 2 + mlen; /* the tail of d starts a message: gather */
        } else if (sd->have == 1) {
            uint32_t mlen = (uint32_t)sd->pfx << 8 | d[0];
            if (mlen < MSG_MIN) {
                framing_error(ts, f, sd);
                return;
            }
            sd->need = 2 + mlen;
            if (!msg_room(ts, f, sd, 2)) {
                msg_lose(ts, f, sd);
                continue;
            }
            sd->buf[0] = sd->pfx;
            sd->buf[1] = d[0];
            sd->have = 2;
            d++;
            len--;
            continue;
        }
        uint32_t n = sd->need - sd->have;
        if (n > len)
            n = len;
        if (!msg_room(ts, f, sd, sd->have + n)) {
            msg_lose(ts, f, sd);
            continue;
        }
        memcpy(sd->buf + sd->have, d, n);
        sd->have += n;
        d += n;
        len -= n;
        if (sd->have == sd->need) {
            deliver(ts, f, s, sd->buf + 2, sd->need - 2, p);
            msg_free(ts, f, sd);
        }
    }
}

/* ---- ordering --------------------------------------------------------- */

static void release_seg(struct tcp_stream *ts, struct flow *f, struct side *sd, struct ooo_seg *q)
{
    release(ts, f, SEG_COST(q->len));
    sd->n_ooo--;
    free(q);
}

/* Consume queued segments that the expected sequence has reached. */
static void drain(struct tcp_stream *ts, struct flow *f, int s, const struct packet *p)
{
    struct side *sd = &f->side[s];
    struct ooo_seg *q;

    while ((q = sd->ooo) != NULL && !f->fin) {
        int32_t off = (int32_t)(q->seq - sd->next_seq);
        if (off > 0)
            break;
        sd->ooo = q->next;
        uint32_t back = (uint32_t)0 - (uint32_t)off;
        if (back < q->len) {
            /* Bytes before next_seq were held first: they win. */
            consume(ts, f, s, q->data + back, q->len - back, back == 0 && q->seg_start, p);
            sd->next_seq += q->len - back;
        }
        if (q->fin)
            f->fin = true;
        release_seg(ts, f, sd, q);
    }
}

/* The hole before the first queued segment will not be filled: drop the
 * partial message and carry on there.  When the partial message's length
 * is known, its remaining bytes are skipped, so a hole inside one message
 * costs that message only; otherwise the queued segment is taken as the
 * start of a message. */
static void give_up_gap(struct tcp_stream *ts, struct flow *f, int s, const struct packet *p)
{
    struct side *sd = &f->side[s];
    uint32_t hole = sd->ooo->seq - sd->next_seq;

    ts->st.gaps++;
    if (sd->have >= 2) {
        msg_lose(ts, f, sd);
    } else if (sd->have == 1) {
        sd->have = 0;
        ts->st.messages_lost++;
    }
    sd->skip = sd->skip > hole ? sd->skip - hole : 0;
    sd->flags &= (uint8_t)~SIDE_RESYNC;
    sd->next_seq = sd->ooo->seq;
    drain(ts, f, s, p);
}

enum ins_result { INS_OK, INS_DUP, INS_FULL, INS_NOMEM };

/* Queue a copy of a segment that starts past next_seq.  Bytes already
 * queued win over the new copy: it is trimmed against its neighbours and
 * queued segments it covers whole are absorbed (their bytes kept). */
static enum ins_result ooo_insert(struct tcp_stream *ts, struct flow *f, struct side *sd,
                                  uint32_t seq, const uint8_t *d, uint32_t len, bool fin)
{
    /* Offsets relative to next_seq: every queued segment is ahead of it
     * by less than 2^31, so plain unsigned order is sequence order. */
    uint32_t base = sd->next_seq;
    uint32_t a = seq - base, b = a + len;
    bool start = true;
    struct ooo_seg **pp = &sd->ooo;

    while (*pp != NULL && (*pp)->seq - base + (*pp)->len <= a)
        pp = &(*pp)->next;
    struct ooo_seg *q = *pp;
    if (q != NULL && q->seq - base <= a) {
        uint32_t qe = q->seq - base + q->len;
        if (qe >= b) {
            if (fin && qe == b)
                q->fin = true;
            return INS_DUP;
        }
        d += qe - a;
        a = qe;
        start = false;
        pp = &q->next;
    }
    uint32_t absorbed = 0, held = 0;
    for (q = *pp; q != NULL && q->seq - base < b; q = q->next) {
        if (q->seq - base + q->len > b) {
            b = q->seq - base; /* held bytes continue past ours: stop there */
            fin = false;
            break;
        }
        absorbed++;
        held += q->len;
    }
    if (len > 0 && held == b - a)
        return INS_DUP; /* nothing we do not hold already */
    if (sd->n_ooo - absorbed + 1 > TCP_STREAM_MAX_OOO)
        return INS_FULL;
    uint32_t n = b - a;
    if (!reserve(ts, f, SEG_COST(n)))
        return INS_NOMEM;
    struct ooo_seg *e = malloc(sizeof(*e) + n);
    if (e == NULL)
        return INS_NOMEM;
    account(ts, f, SEG_COST(n));
    e->seq = base + a;
    e->len = n;
    e->fin = fin;
    e->seg_start = start;
    if (n > 0)
        memcpy(e->data, d, n);
    q = *pp;
    while (absorbed-- > 0) {
        struct ooo_seg *nx = q->next;
        if (q->len > 0)
            memcpy(e->data + (q->seq - base - a), q->data, q->len);
        release_seg(ts, f, sd, q);
        q = nx;
    }
    e->next = q;
    *pp = e;
    sd->n_ooo++;
    return INS_OK;
}

/* Payload (and FIN) of side s starting at seq. */
static void side_data(struct tcp_stream *ts, struct flow *f, int s, uint32_t seq, const uint8_t *d,
                      uint32_t len, bool fin, const struct packet *p)
{
    struct side *sd = &f->side[s];

    for (;;) {
        int32_t off = (int32_t)(seq - sd->next_seq);
        if (off > 0) {
            switch (ooo_insert(ts, f, sd, seq, d, len, fin)) {
            case INS_OK:
                ts->st.out_of_order++;
                return;
            case INS_DUP:
                if (len > 0)
                    ts->st.retransmitted++;
                return;
            case INS_FULL:
            case INS_NOMEM:
                if (sd->ooo == NULL)
                    return; /* cannot hold even this one: it becomes a hole */
                give_up_gap(ts, f, s, p);
                if (f->fin)
                    return;
                continue; /* the segment may be in order now */
            }
        }
        break;
    }

    uint32_t back = (uint32_t)0 - (uint32_t)(int32_t)(seq - sd->next_seq);
    if (len > 0 && back >= len) {
        ts->st.retransmitted++;
        if (fin)
            f->fin = true; /* its position is not ahead of us */
        return;
    }
    uint32_t end = seq + len;
    while (!f->fin) {
        uint32_t left = end - sd->next_seq;
        if ((int32_t)left <= 0)
            break;
        /* Stop at the first queued segment: its bytes were held first. */
        uint32_t n = left;
        if (sd->ooo != NULL && sd->ooo->seq - sd->next_seq < n)
            n = sd->ooo->seq - sd->next_seq;
        uint32_t at = sd->next_seq - seq;
        consume(ts, f, s, d + at, n, at == 0, p);
        sd->next_seq += n;
        drain(ts, f, s, p);
    }
    if (fin)
        f->fin = true;
}

/* ---- closing ---------------------------------------------------------- */

/* The packet to report with side s's messages: the current one when it was
 * sent by that side, else one made from the flow's endpoints. */
static const struct packet *side_packet(const struct flow *f, int s, const struct packet *cur,
                                        int cur_side, struct packet *tmp)
{
    if (cur != NULL && cur_side == s)
        return cur;
    memset(tmp, 0, sizeof(*tmp));
    tmp->ts_sec = cur ? cur->ts_sec : f->last_sec;
    tmp->ts_nsec = cur ? cur->ts_nsec : f->last_nsec;
    tmp->l3 = f->addr[s].family;
    tmp->l4 = IPPROTO_TCP;
    tmp->ip_proto = IPPROTO_TCP;
    tmp->src = f->addr[s];
    tmp->dst = f->addr[!s];
    tmp->sport = f->port[s];
    tmp->dport = f->port[!s];
    return tmp;
}

/* The flow ends: give up every hole in turn so complete messages queued
 * past them are still delivered, then count what is left as lost. */
static void flush_side(struct tcp_stream *ts, struct flow *f, int s, const struct packet *p)
{
    struct side *sd = &f->side[s];

    f->fin = false;
    while (sd->ooo != NULL && !f->fin)
        give_up_gap(ts, f, s, p);
    while (sd->ooo != NULL) { /* past a queued FIN: nothing to frame */
        struct ooo_seg *q = sd->ooo;
        sd->ooo = q->next;
        release_seg(ts, f, sd, q);
    }
    if (sd->have > 0)
        ts->st.messages_lost++;
    msg_free(ts, f, sd);
}

static void close_flow(struct tcp_stream *ts, uint32_t i, const struct packet *cur, int cur_side)
{
    struct flow *f = &ts->flows[i];
    bool was = ts->flushing;

    ts->flushing = true;
    for (int s = 0; s < 2; s++) {
        struct packet tmp;
        flush_side(ts, f, s, side_packet(f, s, cur, cur_side, &tmp));
    }
    ts->flushing = was;
    hash_unlink(ts, i);
    lru_unlink(ts, i);
    f->hnext = ts->free_head;
    ts->free_head = i;
    ts->n_flows--;
}

/* Which side of a new flow sent p: 0 when its sender opened the
 * connection.  A SYN+ACK comes from the responder; without a handshake,
 * the side on a DNS port is taken for the server (SPEC 4.3 needs side 0 to
 * be the client). */
static int initiator_side(const struct packet *p)
{
    bool syn = p->tcp_flags & TCP_SYN, ack = p->tcp_flags & TCP_ACK;
    if (syn)
        return ack ? 1 : 0;
    return dns_is_port(p->sport) && !dns_is_port(p->dport) ? 1 : 0;
}

static uint32_t flow_create(struct tcp_stream *ts, uint64_t h, const struct packet *p, int s)
{
    if (ts->n_flows >= ts->lim.max_flows) {
        ts->st.flows_evicted++;
        close_flow(ts, ts->lru, NULL, -1);
    }
    uint32_t i;
    if (ts->free_head != NIL) {
        i = ts->free_head;
        ts->free_head = ts->flows[i].hnext;
    } else {
        i = ts->used++;
    }
    struct flow *f = &ts->flows[i];
    memset(f, 0, sizeof(*f));
    f->hash = h;
    f->addr[s] = p->src;
    f->addr[!s] = p->dst;
    f->port[s] = p->sport;
    f->port[!s] = p->dport;
    f->last_sec = p->ts_sec;
    f->last_nsec = (int32_t)p->ts_nsec;
    uint32_t *b = &ts->bucket[h & ts->mask];
    f->hnext = *b;
    *b = i;
    lru_push(ts, i);
    ts->n_flows++;
    ts->st.flows_created++;
    return i;
}

/* ---- API -------------------------------------------------------------- */

struct tcp_stream *tcp_stream_new(const struct tcp_stream_limits *lim, tcp_stream_msg_cb cb,
                                  void *ctx)
{
    if (cb == NULL)
        return NULL;
    struct tcp_stream *ts = calloc(1, sizeof(*ts));
    if (ts == NULL)
        return NULL;
    if (lim != NULL)
        ts->lim = *lim;
    if (ts->lim.max_flows == 0)
        ts->lim.max_flows = DEFAULT_MAX_FLOWS;
    if (ts->lim.max_bytes == 0)
        ts->lim.max_bytes = DEFAULT_MAX_BYTES;
    if (ts->lim.idle_timeout == 0)
        ts->lim.idle_timeout = DEFAULT_IDLE;
    if (ts->lim.max_flows > MAX_FLOWS_LIMIT) {
        free(ts);
        return NULL;
    }
    uint32_t nb = 16;
    while (nb < ts->lim.max_flows)
        nb *= 2;
    ts->mask = nb - 1;
    ts->bucket = malloc((size_t)nb * sizeof(*ts->bucket));
    ts->flows = calloc(ts->lim.max_flows, sizeof(*ts->flows));
    if (ts->bucket == NULL || ts->flows == NULL) {
        free(ts->bucket);
        free(ts->flows);
        free(ts);
        return NULL;
    }
    memset(ts->bucket, 0xff, (size_t)nb * sizeof(*ts->bucket)); /* all NIL */
    ts->cb = cb;
    ts->ctx = ctx;
    ts->free_head = NIL;
    ts->mru = ts->lru = NIL;
    return ts;
}

void tcp_stream_free(struct tcp_stream **tsp)
{
    if (tsp == NULL || *tsp == NULL)
        return;
    struct tcp_stream *ts = *tsp;
    for (uint32_t i = ts->mru; i != NIL; i = ts->flows[i].next) {
        for (int s = 0; s < 2; s++) {
            struct side *sd = &ts->flows[i].side[s];
            free(sd->buf);
            while (sd->ooo != NULL) {
                struct ooo_seg *q = sd->ooo;
                sd->ooo = q->next;
                free(q);
            }
        }
    }
    free(ts->flows);
    free(ts->bucket);
    free(ts);
    *tsp = NULL;
}

void tcp_stream_segment(struct tcp_stream *ts, const struct packet *p)
{
    ts->st.segments++;
    if (p->l4 != IPPROTO_TCP || (p->payload == NULL && p->payload_len > 0) ||
        p->payload_len > SEG_MAX || (p->src.family != 4 && p->src.family != 6) ||
        p->dst.family != p->src.family) {
        ts->st.rejected++;
        return;
    }
    bool syn = p->tcp_flags & TCP_SYN, fin = p->tcp_flags & TCP_FIN;
    bool rst = p->tcp_flags & TCP_RST;
    uint64_t h = flow_hash(p);
    int s = 0;
    uint32_t i = lookup(ts, h, p, &s);

    if (i != NIL && syn) {
        /* A SYN that is not a repeat of the one we saw: the ports were
         * reused for a new connection. */
        const struct side *sd = &ts->flows[i].side[s];
        if ((sd->flags & SIDE_SYNCED) && p->tcp_seq + 1 != sd->next_seq) {
            close_flow(ts, i, p, s);
            i = NIL;
        }
    }
    if (i == NIL) {
        /* Only a SYN or data starts a flow: a lone ACK or FIN of a flow we
         * forgot must not bring it back. */
        if (rst || (!syn && p->payload_len == 0))
            return;
        s = initiator_side(p);
        i = flow_create(ts, h, p, s);
    }
    struct flow *f = &ts->flows[i];
    if (ts->mru != i) {
        lru_unlink(ts, i);
        lru_push(ts, i);
    }
    if (p->ts_sec > f->last_sec || (p->ts_sec == f->last_sec && p->ts_nsec > f->last_nsec)) {
        f->last_sec = p->ts_sec;
        f->last_nsec = (int32_t)p->ts_nsec;
    }
    if (rst) {
        close_flow(ts, i, p, s);
        return;
    }

    struct side *sd = &f->side[s];
    if (sd->flags & SIDE_DONE)
        return; /* after its FIN: retransmissions and ACKs carry nothing new */
    uint32_t seq = p->tcp_seq;
    if (syn) {
        seq++; /* the SYN takes one sequence number */
        if (!(sd->flags & SIDE_SYNCED)) {
            sd->next_seq = seq;
            sd->flags |= SIDE_SYNCED;
        }
    }
    if (p->payload_len == 0 && !fin)
        return;
    if (!(sd->flags & SIDE_SYNCED)) {
        /* Mid-stream pickup: hope the first segment starts a message. */
        sd->next_seq = seq;
        sd->flags |= SIDE_SYNCED;
    }
    side_data(ts, f, s, seq, p->payload, p->payload_len, fin, p);
    if (!f->fin)
        return;
    /* Half-close: this side is done, the other may still answer (a client
     * may send its query and FIN before the response arrives). */
    sd->flags |= SIDE_DONE;
    flush_side(ts, f, s, p);
    if (f->side[!s].flags & SIDE_DONE)
        close_flow(ts, i, p, s);
}

void tcp_stream_expire(struct tcp_stream *ts, int64_t now_sec)
{
    if (now_sec < INT64_MIN + (int64_t)ts->lim.idle_timeout)
        return; /* nothing can be older than that */
    int64_t cutoff = now_sec - (int64_t)ts->lim.idle_timeout;
    /* Oldest first; stop at the first flow still in use. */
    while (ts->lru != NIL && ts->flows[ts->lru].last_sec < cutoff) {
        ts->st.flows_expired++;
        close_flow(ts, ts->lru, NULL, -1);
    }
}

void tcp_stream_close_all(struct tcp_stream *ts)
{
    while (ts->lru != NIL)
        close_flow(ts, ts->lru, NULL, -1);
}

const struct tcp_stream_stats *tcp_stream_stats(const struct tcp_stream *ts)
{
    return &ts->st;
}

uint32_t tcp_stream_flows(const struct tcp_stream *ts)
{
    return ts->n_flows;
}

uint64_t tcp_stream_bytes(const struct tcp_stream *ts)
{
    return ts->bytes;
}
