/*
 * handler_dns.c - the "dns" handler (schema key "dns", SPEC 3.4, 4.2-4.7).
 *
 * Input: UDP datagrams (whole, or reassembled from fragments) and TCP
 * segments where either port is 53, 5353, 5355 or 53000.  TCP segments go
 * through tcp_stream.c, which hands back whole DNS messages.  Each message
 * then follows SPEC 4.4: filters, base event and sampling decision,
 * counters, deep analysis (names, types, codes), transaction matching.
 *
 * Transactions: an open-addressing table keyed by (symmetric flow hash, DNS
 * id) holding the query's timestamp (16-byte slots, prefetched as soon as
 * the header is read); a response removes its entry and
 * counts the latency.  The table has a fixed capacity (XACT_SLOTS, at most
 * 3/4 full); a query that finds it full is dropped and counted.  At every
 * period shift, queries older than XACT_TTL_SEC are purged into
 * xact.counts.timed_out of the new bucket, the p90 latencies of the closed
 * bucket become the top_slow thresholds, and idle TCP flows expire.
 *
 * Ownership: all state is allocated in init and freed in fini; nothing is
 * allocated per packet (tcp_stream.c grows message buffers within its cap).
 */
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "dns_qname.h"
#include "handler.h"
#include "hash.h"
#include "tcp_stream.h"

struct dns_bucket {
    struct bucket_hdr hdr;
#define METRIC(kind, id, path, help) METRIC_FIELD(kind, id, path, help)
#include "dns.def"
#undef METRIC
};

static const struct metric_desc dns_metrics[] = {
#define METRIC(kind, id, path, help) METRIC_DESC(struct dns_bucket, kind, id, path, help)
#include "dns.def"
#undef METRIC
};

static const struct metric_table dns_table = {
    .schema_key = "dns",
    .bucket_size = sizeof(struct dns_bucket),
    .metrics = dns_metrics,
    .count = sizeof(dns_metrics) / sizeof(dns_metrics[0]),
};

#define XACT_SLOTS (1u << 18)
/* Queries kept aside before they enter the table; see xact_query(). */
#define XACT_PENDING 8 /* one byte each in pending_tags */
/* A pending entry whose query was answered: only an older entry of the
 * key in the table, if any, remains to be removed. */
#define XACT_ANSWERED  INT64_MIN
#define XACT_MAX       (XACT_SLOTS / 4 * 3)
#define XACT_TTL_SEC   5
#define MAX_SUFFIXES   64
#define MAX_NAME_MATCH 256
/* SPEC 4.4: more records than this in the header counts is malformed. */
#define MAX_RECORDS 100

/* 16 bytes: four to a cache line.  The key packs 48 bits of the flow hash
 * with the DNS id; 0 marks an empty slot. */
struct xact {
    uint64_t key;
    int64_t ts_ns;
};

struct name_list {
    size_t n;
    char *v[MAX_SUFFIXES];
    size_t len[MAX_SUFFIXES];
};

/* What survives a restart of the aggregator (h->resume, published with the
 * window): open transactions and the decisions carried from one message or
 * bucket to the next.  TCP streams are heap state: a restart loses the
 * partial messages in flight (HACKING.md). */
struct dns_resume {
    uint32_t open; /* in xacts[] */
    uint32_t last_deep;
    uint64_t slow_in_us; /* top_slow thresholds from the last closed bucket */
    uint64_t slow_out_us;
    /* pending[] is a ring of the newest queries, the oldest at
     * pending_head; slots not in use hold key 0. */
    uint32_t npending;
    uint32_t pending_head;
    uint64_t pending_tags; /* byte i: pending_tag() of pending[i]'s key */
    uint64_t reserved[3];
    struct xact pending[XACT_PENDING];
    struct xact xacts[XACT_SLOTS];
};

/* Recently seen plain question names with their hashes and cuts, so a
 * name seen again (the answer to a query, a popular name) skips the
 * parse and the hashing.  Direct-mapped by the first 16 bytes of the
 * name; a hit compares the whole wire name, so it is exact.  Derived
 * data: not in the resume area, a restart starts it empty. */
#define QNAME_MEMO_SLOTS (1u << 12)
#define QNAME_MEMO_WIRE  36
struct qname_memo {
    uint64_t h, h2, h3;
    uint8_t wlen; /* wire bytes, length octet to root octet; 0 = empty */
    uint8_t c2, c3;
    uint8_t has3;
    uint8_t wire[QNAME_MEMO_WIRE];
};
_Static_assert(sizeof(struct qname_memo) == 64, "one cache line per memo slot");

struct dns_state {
    struct tcp_stream *tcp;
    struct tcp_stream_stats tcp_seen; /* stats already added to buckets */
    struct dns_resume *r;             /* h->resume */
    struct qname_memo *memo;          /* QNAME_MEMO_SLOTS, 64-byte aligned */

    bool exclude_noerror;
    bool only_rcode_set;
    uint8_t only_rcode;
    struct name_list suffixes; /* lower-cased */
    struct name_list names;    /* lower-cased, no trailing dot */
    struct handler *h;         /* for the TCP callback */
};

/* --- transactions ------------------------------------------------------- */

static uint64_t xact_key(uint64_t flow, uint16_t id)
{
    return (flow | 1) << 16 | id; /* never 0 */
}

static uint32_t xact_slot(uint64_t key)
{
    return (uint32_t)(hash_mix64(key) & (XACT_SLOTS - 1));
}

static struct xact *xact_find(struct dns_state *st, uint64_t key)
{
    for (uint32_t i = xact_slot(key);; i = (i + 1) & (XACT_SLOTS - 1)) {
        struct xact *x = &st->r->xacts[i];
        if (x->key == key)
            return x;
        if (x->key == 0)
            return NULL;
    }
}

/* Backward-shift deletion keeps every probe chain unbroken without
 * tombstones. */
static void xact_remove(struct dns_state *st, struct xact *x)
{
    uint32_t hole = (uint32_t)(x - st->r->xacts);
    for (uint32_t i = (hole + 1) & (XACT_SLOTS - 1);; i = (i + 1) & (XACT_SLOTS - 1)) {
        struct xact *y = &st->r->xacts[i];
        if (y->key == 0)
            break;
        uint32_t home = xact_slot(y->key);
        /* y may fill the hole if its home is not within (hole, i]. */
        if (((i - home) & (XACT_SLOTS - 1)) >= ((i - hole) & (XACT_SLOTS - 1))) {
            st->r->xacts[hole] = *y;
            hole = i;
        }
    }
    st->r->xacts[hole].key = 0;
    st->r->open--;
}

/* Returns false when the table is full. */
static bool xact_start(struct dns_state *st, uint64_t key, int64_t ts_ns)
{
    struct xact *x = xact_find(st, key);
    if (x == NULL) {
        if (st->r->open >= XACT_MAX)
            return false;
        uint32_t i = xact_slot(key);
        while (st->r->xacts[i].key != 0)
            i = (i + 1) & (XACT_SLOTS - 1);
        x = &st->r->xacts[i];
        x->key = key;
        st->r->open++;
    }
    x->ts_ns = ts_ns;
    return true;
}

static uint32_t xact_purge(struct dns_state *st, int64_t before_ns)
{
    uint32_t purged = 0;
    for (uint32_t i = 0; i < XACT_SLOTS;) {
        struct xact *x = &st->r->xacts[i];
        if (x->key != 0 && x->ts_ns <= before_ns) {
            xact_remove(st, x);
            purged++;
            continue; /* the shift may have moved another entry here */
        }
        i++;
    }
    return purged;
}

/* A byte of the key, so that one word holds all of pending[]'s. */
static uint64_t pending_tag(uint64_t key)
{
    return (key * UINT64_C(0x9e3779b97f4a7c15)) >> 56;
}

/* A query's table slot is a cache miss that nothing else in the message
 * waits for: the query waits in pending[] (its slot prefetched) until
 * XACT_PENDING newer ones arrived, and enters the table then, when the
 * slot is at hand.  Lookups see pending[] first, so matching is as if the
 * table had it: a newer query of a key overwrites the older one's time,
 * and a response removes the key wherever it is (an answered pending
 * entry still removes an older copy from the table when it leaves). */
static struct xact *pending_find(struct dns_state *st, uint64_t key)
{
    /* The bytes of pending_tags equal to the key's tag, all at once (the
     * lowest flag is exact, those above it may be false; the key decides).
     * A slot freed keeps its tag; its key 0 never matches. */
    const uint64_t ones = UINT64_C(0x0101010101010101);
    uint64_t x = st->r->pending_tags ^ pending_tag(key) * ones;
    uint64_t z = (x - ones) & ~x & (ones << 7);
    for (; z != 0; z &= z - 1) {
        struct xact *e = &st->r->pending[__builtin_ctzll(z) / 8];
        if (e->key == key)
            return e;
    }
    return NULL;
}

/* The oldest pending entry into the table; false when the table is full
 * (the query is dropped). */
static bool pending_flush_one(struct dns_state *st)
{
    struct dns_resume *r = st->r;
    struct xact e = r->pending[r->pending_head];
    r->pending[r->pending_head].key = 0;
    r->pending_head = (r->pending_head + 1) % XACT_PENDING;
    r->npending--;
    if (e.ts_ns != XACT_ANSWERED)
        return xact_start(st, e.key, e.ts_ns);
    struct xact *x = xact_find(st, e.key);
    if (x != NULL)
        xact_remove(st, x);
    return true;
}

/* Every pending entry into the table; returns the queries dropped. */
static uint32_t pending_flush(struct dns_state *st)
{
    uint32_t dropped = 0;
    while (st->r->npending > 0)
        dropped += !pending_flush_one(st);
    return dropped;
}

/* A query; returns the queries dropped (the table full). */
static uint32_t xact_query(struct dns_state *st, uint64_t key, int64_t ts_ns)
{
    struct xact *x = pending_find(st, key);
    if (x != NULL) {
        x->ts_ns = ts_ns; /* also revives an answered entry */
        return 0;
    }
    if (st->r->open + st->r->npending >= XACT_MAX) {
        /* Near full, whether a query fits depends on what was answered
         * before it: no waiting then.  (Below, every pending query fits
         * when it enters: drops happen exactly where they would.) */
        uint32_t dropped = pending_flush(st);
        return dropped + !xact_start(st, key, ts_ns);
    }
    uint32_t dropped = 0;
    if (st->r->npending == XACT_PENDING)
        dropped = !pending_flush_one(st);
    uint32_t tail = (st->r->pending_head + st->r->npending++) % XACT_PENDING;
    st->r->pending[tail] = (struct xact){.key = key, .ts_ns = ts_ns};
    st->r->pending_tags &= ~(UINT64_C(0xff) << (8 * tail));
    st->r->pending_tags |= pending_tag(key) << (8 * tail);
    return dropped;
}

/* A response: the matching query's time, removed; false when none. */
static bool xact_answer(struct dns_state *st, uint64_t key, int64_t *query_ns)
{
    struct xact *x = pending_find(st, key);
    if (x != NULL && x->ts_ns != XACT_ANSWERED) {
        *query_ns = x->ts_ns;
        x->ts_ns = XACT_ANSWERED;
        return true;
    }
    if (x != NULL)
        return false; /* answered already: the table's copy is stale */
    x = xact_find(st, key);
    if (x == NULL)
        return false;
    *query_ns = x->ts_ns;
    xact_remove(st, x);
    return true;
}

/* --- options ------------------------------------------------------------ */

static int add_names(struct name_list *l, const struct handler_opt *o, bool strip_dot, char *err,
                     size_t errlen)
{
    const char *one[1];
    const char *const *v = o->list;
    size_t n = o->nlist;
    if (o->type == HOPT_STRING) {
        one[0] = o->s;
        v = one;
        n = 1;
    } else if (o->type != HOPT_LIST) {
        snprintf(err, errlen, "%s must be a string or a list of strings", o->key);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(v[i]);
        if (l->n == MAX_SUFFIXES || len > MAX_NAME_MATCH) {
            snprintf(err, errlen, "%s: too many or too long names", o->key);
            return -1;
        }
        if (strip_dot && len > 1 && v[i][len - 1] == '.')
            len--;
        char *s = malloc(len + 1);
        if (s == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        for (size_t j = 0; j < len; j++)
            s[j] = (char)tolower((unsigned char)v[i][j]);
        s[len] = '\0';
        l->v[l->n] = s;
        l->len[l->n++] = len;
    }
    return 0;
}

static void free_names(struct name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    l->n = 0;
}

/* --- message analysis --------------------------------------------------- */

static void lower_copy(char *dst, const char *src, size_t len)
{
    for (size_t i = 0; i < len; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
}

static bool name_matches(const struct dns_state *st, const struct dns_question *q)
{
    char lower[DNS_NAME_TEXT_MAX];
    lower_copy(lower, q->name, q->name_len);
    for (size_t i = 0; i < st->names.n; i++)
        if (q->name_len == st->names.len[i] && memcmp(lower, st->names.v[i], q->name_len) == 0)
            return true;
    for (size_t i = 0; i < st->suffixes.n; i++) {
        size_t sl = st->suffixes.len[i];
        if (q->name_len >= sl && memcmp(lower + q->name_len - sl, st->suffixes.v[i], sl) == 0)
            return true;
    }
    return false;
}

/* SPEC 4.4: the header's four record counts summed exceed MAX_RECORDS
 * (msg holds a header).  The big-endian counts as one word: a high byte
 * set is over already; else one multiply sums the low bytes. */
_Static_assert(MAX_RECORDS < 256, "a count's high byte alone exceeds it");
static bool too_many_records(const uint8_t *msg)
{
    const uint64_t lanes = UINT64_C(0x00ff00ff00ff00ff);
    uint64_t w = load_le64(msg + 4); /* bytes 4..11, the first in the low byte */
    if (w & lanes)
        return true;
    return ((w >> 8 & lanes) * UINT64_C(0x0001000100010001)) >> 48 > MAX_RECORDS;
}

/* Codes and types are hashed as numbers. */
static uint64_t code_hash(unsigned v)
{
    return hash_mix64(v + 1);
}

/* A number counted under its mnemonic (decimal when name_of gives none),
 * looked up only when the sketch asks for its text; hv is code_hash(v). */
static inline __attribute__((always_inline)) void add_code(struct topn *t, uint64_t hv, unsigned v,
                                                           const char *(*name_of)(unsigned))
{
    if (!topn_count(t, hv))
        return;
    char buf[12];
    const char *name = name_of(v);
    if (name == NULL) {
        snprintf(buf, sizeof(buf), "%u", v);
        name = buf;
    }
    topn_set_text(t, hv, name, strlen(name));
}

struct dns_msg {
    const uint8_t *data;
    size_t len;
    bool tcp;
    enum packet_dir dir;
    uint16_t metric_port;
    uint64_t flow;
};

/* The question's name as the sketches key it.  The hashes (of the name
 * and of its qname2/qname3 cuts, hash_suffixes) are taken over the text
 * with each '.' replaced by the length of the label after it: for a plain
 * name those are its wire bytes, hashed where they lie, and the text is
 * made only when a top-N wants it.  Other names are rendered by the
 * parser and transformed here, so a name hashes the same either way. */
struct qname {
    const char *key; /* len bytes hashed */
    size_t len;
    size_t c2, c3; /* qname2 = text[c2, len), qname3 = text[c3, len) if has3 */
    bool has3;
    uint64_t h, h2, h3;
    struct dns_name_ref ref;     /* plain name: text rendered from it */
    const char *text;            /* NULL until rendered */
    char buf[DNS_NAME_TEXT_MAX]; /* rendered text, or the transformed key */
};

static void qname_cut(struct qname *k, struct strref q2, struct strref q3, const char *base)
{
    k->c2 = (size_t)(q2.s - base);
    k->has3 = q3.len > 0;
    k->c3 = k->has3 ? (size_t)(q3.s - base) : 0;
    size_t cut[3] = {0, k->c3, k->c2}; /* ascending */
    uint64_t hs[3];
    hash_suffixes(k->key, k->len, cut, 3, hs);
    k->h = hs[0];
    k->h3 = hs[1];
    k->h2 = hs[2];
}

static void qname_from_ref(struct qname *k, const struct dns_name_ref *r)
{
    struct strref q2, q3;
    k->key = (const char *)r->wire;
    k->len = r->len;
    k->ref = *r;
    k->text = NULL;
    dns_qname_levels_seps(k->key, k->len, r->seps, r->nseps, &q2, &q3);
    qname_cut(k, q2, q3, k->key);
}

static void qname_from_text(struct qname *k, const struct dns_question *q)
{
    struct strref q2, q3;
    size_t seg = 0;
    for (size_t i = q->name_len; i-- > 0;) {
        if (q->name[i] == '.') {
            k->buf[i] = (char)(seg < 255 ? seg : 255);
            seg = 0;
        } else {
            k->buf[i] = q->name[i];
            seg++;
        }
    }
    k->key = k->buf;
    k->len = q->name_len;
    k->text = q->name;
    dns_question_levels(q, &q2, &q3);
    qname_cut(k, q2, q3, q->name);
}

/* The memo slot of the name at p (16 bytes readable there). */
static struct qname_memo *memo_slot(const struct dns_state *st, const uint8_t *p)
{
    uint64_t x = hash_fold(load_le64(p) ^ HASH_K1, load_le64(p + 8) ^ HASH_K2);
    return &st->memo[x & (QNAME_MEMO_SLOTS - 1)];
}

/* The question of m from memo slot e, if e holds its name: the bytes are
 * the same, so the parse would find the same plain name. */
static bool qname_recall(const struct qname_memo *e, const struct dns_msg *m, struct qname *k,
                         uint16_t *qtype)
{
    const uint8_t *p = m->data + DNS_HEADER_LEN;
    size_t n = e->wlen;
    if (n == 0 || m->len - DNS_HEADER_LEN < n + 4) /* the name, type and class */
        return false;
    uint64_t d = load_le64(p + n - 8) ^ load_le64(e->wire + n - 8);
    for (size_t i = 0; i + 8 < n; i += 8)
        d |= load_le64(p + i) ^ load_le64(e->wire + i);
    if (d != 0)
        return false;
    k->key = (const char *)p + 1;
    k->len = n - 2;
    k->c2 = e->c2;
    k->c3 = e->c3;
    k->has3 = e->has3;
    k->h = e->h;
    k->h2 = e->h2;
    k->h3 = e->h3;
    k->ref = (struct dns_name_ref){.wire = p + 1, .len = n - 2, .end = DNS_HEADER_LEN + n};
    k->text = NULL;
    *qtype = dns_rd16_(p + n);
    return true;
}

/* Keep plain name k (from qname_from_ref) in memo slot e. */
static void qname_remember(struct qname_memo *e, const struct qname *k)
{
    size_t n = k->len + 2;
    if (n < 8 || n > QNAME_MEMO_WIRE)
        return;
    e->h = k->h;
    e->h2 = k->h2;
    e->h3 = k->h3;
    e->wlen = (uint8_t)n;
    e->c2 = (uint8_t)k->c2;
    e->c3 = (uint8_t)k->c3;
    e->has3 = k->has3;
    /* From the first length octet: two fixed-size copies that overlap. */
    const char *w = k->key - 1;
    if (n <= 16) {
        memcpy(e->wire, w, 8);
        memcpy(e->wire + n - 8, w + n - 8, 8);
    } else {
        memcpy(e->wire, w, 16);
        if (n > 32)
            memcpy(e->wire + 16, w + 16, 16);
        memcpy(e->wire + n - 16, w + n - 16, 16);
    }
}

static const char *qname_text(struct qname *k)
{
    if (k->text == NULL) {
        dns_name_ref_text(&k->ref, k->buf);
        k->text = k->buf;
    }
    return k->text;
}

/* Count text[cut, len) of the name under hash h. */
static inline __attribute__((always_inline)) void add_name(struct topn *t, uint64_t h,
                                                           struct qname *k, size_t cut)
{
    if (topn_count(t, h))
        topn_set_text(t, h, qname_text(k) + cut, k->len - cut);
}

/* The question rendered (name filters, names that are not plain).  It
 * reads the header again: dns_message's copy then never escapes, so the
 * fields nobody reads there are not even computed. */
static __attribute__((noinline)) int parse_question(const struct dns_msg *m, struct dns_question *q)
{
    struct dns_header h;
    int rc = dns_parse_header(m->data, m->len, &h);
    return rc != DNS_OK ? rc : dns_parse_question_hdr(m->data, m->len, &h, q);
}

static void dns_message(struct handler *h, const struct dns_msg *m, const struct packet *p)
{
    struct dns_state *st = h->state;
    struct dns_bucket *b = handler_live(h);
    struct dns_header hdr;
    struct dns_question q;
    int qrc = 1; /* 1: not parsed yet */

    if (dns_parse_header(m->data, m->len, &hdr) != 0) {
        b->malformed++;
        return;
    }
    /* The transaction slot is a likely cache miss: start loading it now,
     * the sketches below give it time to arrive. */
    uint64_t xkey = xact_key(m->flow, hdr.id);
    __builtin_prefetch(&st->r->xacts[xact_slot(xkey)]);
    struct qname_memo *memo = NULL;
    if (m->len >= DNS_HEADER_LEN + 16) {
        memo = memo_slot(st, m->data + DNS_HEADER_LEN);
        __builtin_prefetch(memo);
    }
    /* Client ports are random: their counter is a miss more often than
     * not.  Loaded now, counted last. */
    ports_prefetch(&b->top_udp_ports, m->metric_port);

    bool filtered = false;
    if (st->exclude_noerror)
        filtered = hdr.rcode == 0;
    else if (st->only_rcode_set)
        filtered = hdr.rcode != st->only_rcode;
    if (!filtered && st->suffixes.n + st->names.n > 0) {
        qrc = parse_question(m, &q);
        filtered = qrc != 0 || !name_matches(st, &q);
    }
    b->hdr.events++;
    b->total++;
    rate_count(&b->rate_total, p->ts_sec, 1);
    if (filtered) {
        b->filtered++;
        b->deep_samples += st->r->last_deep;
        return;
    }
    bool deep = handler_deep(h);
    st->r->last_deep = deep;
    b->deep_samples += deep;

    if (p->l3 == 6)
        b->ipv6++;
    else
        b->ipv4++;
    if (m->tcp)
        b->tcp++;
    else
        b->udp++;
    if (hdr.qr) {
        b->replies++;
        switch (hdr.rcode) {
        case 0:
            b->noerror++;
            break;
        case 2:
            b->srvfail++;
            break;
        case 3:
            b->nxdomain++;
            break;
        case 5:
            b->refused++;
            break;
        }
    } else {
        b->queries++;
    }

    struct qname k;     /* the question's name, when named */
    bool named = false; /* deep, and the question parsed */
    if (deep) {
        /* Every sketch slot this message counts in is likely a cache miss:
         * hash each key as soon as it is known and start loading its slot,
         * parse meanwhile, and count only then, so the misses overlap. */
        bool too_many = too_many_records(m->data);
        bool bad_question = false;
        uint16_t qtype = 0;
        struct dns_question_ref qref;
        if (!too_many && qrc == 1 && hdr.qdcount > 0) {
            if (memo != NULL && qname_recall(memo, m, &k, &qtype)) {
                qrc = DNS_OK;
                named = true;
            } else if ((qrc = dns_question_ref(m->data, m->len, &qref)) == DNS_OK) {
                qname_from_ref(&k, &qref.name);
                if (memo != NULL)
                    qname_remember(memo, &k);
                qtype = qref.qtype;
                named = true;
            } else if (qrc == DNS_NOT_PLAIN) {
                qrc = parse_question(m, &q);
            }
            bad_question = qrc != 0;
        }
        if (!too_many && qrc == 0 && !named) {
            qname_from_text(&k, &q); /* parsed just above, or for the filters */
            qtype = q.qtype;
            named = true;
        }
        uint64_t hqtype = 0;
        struct topn *by_rcode = NULL;
        if (named) {
            hqtype = code_hash(qtype);
            topn_prefetch(&b->top_qname2, k.h2);
            topn_prefetch(&b->top_qname3, k.h3);
            topn_prefetch(&b->top_qtype, hqtype);
            if (hdr.qr && hdr.rcode == 3)
                by_rcode = &b->top_nxdomain;
            else if (hdr.qr && hdr.rcode == 2)
                by_rcode = &b->top_srvfail;
            else if (hdr.qr && hdr.rcode == 5)
                by_rcode = &b->top_refused;
            if (by_rcode != NULL)
                topn_prefetch(by_rcode, k.h);
        }
        /* Too many records: malformed, only the port counts (nothing was
         * parsed, so named is false). */
        if (hdr.qr && !too_many)
            add_code(&b->top_rcode, code_hash(hdr.rcode), hdr.rcode, dns_rcode_name);
        if (bad_question || too_many)
            b->malformed++;
        if (named) {
            card_add(&b->qname_card, k.h);
            add_code(&b->top_qtype, hqtype, qtype, dns_qtype_name);
            if (by_rcode != NULL)
                add_name(by_rcode, k.h, &k, 0);
            add_name(&b->top_qname2, k.h2, &k, k.c2);
            if (k.has3)
                add_name(&b->top_qname3, k.h3, &k, k.c3);
        }
        ports_add(&b->top_udp_ports, m->metric_port);
        if (too_many)
            return;
    }

    /* Transactions (SPEC 4.3). */
    int64_t ts_ns = p->ts_sec * 1000000000 + p->ts_nsec;
    if (!hdr.qr) {
        b->xact_dropped += xact_query(st, xkey, ts_ns);
        return;
    }
    int64_t query_ns;
    if (!xact_answer(st, xkey, &query_ns))
        return;
    int64_t ns = ts_ns - query_ns;
    uint64_t us = ns > 0 ? (uint64_t)ns / 1000 : 0;
    b->xact_total++;
    /* The response's direction: toward the host means the host asked. */
    if (m->dir == DIR_UNKNOWN)
        return;
    bool host_is_server = m->dir == DIR_OUT;
    if (host_is_server)
        b->xact_in_total++;
    else
        b->xact_out_total++;
    if (!deep)
        return;
    quantile_add(host_is_server ? &b->xact_in_us : &b->xact_out_us, us);
    uint64_t threshold = host_is_server ? st->r->slow_in_us : st->r->slow_out_us;
    if (threshold > 0 && us >= threshold) {
        /* Deep: the question was parsed and hashed above when there is
         * one. */
        if (named)
            add_name(host_is_server ? &b->xact_in_top_slow : &b->xact_out_top_slow, k.h, &k, 0);
    }
}

/* Add what the reassembler dropped since the last look to the live bucket. */
static void account_tcp(struct dns_state *st, struct dns_bucket *b)
{
    const struct tcp_stream_stats *s = tcp_stream_stats(st->tcp);
    b->tcp_messages_lost += s->messages_lost - st->tcp_seen.messages_lost;
    b->tcp_framing_errors += s->framing_errors - st->tcp_seen.framing_errors;
    b->tcp_flows_evicted += s->flows_evicted - st->tcp_seen.flows_evicted;
    b->tcp_flows_expired += s->flows_expired - st->tcp_seen.flows_expired;
    st->tcp_seen = *s;
}

static void on_tcp_message(void *ctx, uint64_t flow, int side, const uint8_t *msg, size_t len,
                           const struct packet *p)
{
    struct dns_state *st = ctx;
    /* SPEC 4.3: over TCP the initiator's data is "from host", the other
     * side's "to host", whatever -H says. */
    struct dns_msg m = {
        .data = msg,
        .len = len,
        .tcp = true,
        .dir = side == 0 ? DIR_OUT : DIR_IN,
        .metric_port = dns_is_port(p->dport) ? p->sport : p->dport,
        .flow = flow,
    };
    dns_message(st->h, &m, p);
}

/* A UDP datagram on a DNS port: its metric port (SPEC 4.4: destination
 * port first), else -1. */
static int udp_dns_port(const struct packet *p)
{
    if (p->l3 == 0 || p->ip_proto != IPPROTO_UDP || p->payload == NULL)
        return -1;
    if (dns_is_port(p->dport))
        return p->sport;
    if (dns_is_port(p->sport))
        return p->dport;
    return -1;
}

static void dns_packet(struct handler *h, void *live, const struct packet *p)
{
    struct dns_state *st = h->state;
    if (p->l3 == 0)
        return;
    int port = udp_dns_port(p);
    if (port >= 0) {
        struct dns_msg m = {
            .data = p->payload,
            .len = p->payload_len,
            .dir = p->dir,
            .metric_port = (uint16_t)port,
            .flow = flow_hash(p),
        };
        dns_message(h, &m, p);
    } else if (p->l4 == IPPROTO_TCP && (dns_is_port(p->sport) || dns_is_port(p->dport))) {
        tcp_stream_segment(st->tcp, p);
        account_tcp(st, live);
    }
}

static void dns_shift(struct handler *h, void *closed, void *live)
{
    struct dns_state *st = h->state;
    struct dns_bucket *c = closed, *l = live;
    uint64_t v;
    st->r->slow_in_us = quantile_get(&c->xact_in_us, 0.90, &v) ? v : 0;
    st->r->slow_out_us = quantile_get(&c->xact_out_us, 0.90, &v) ? v : 0;
    int64_t now = l->hdr.period.start_sec;
    c->xact_dropped += pending_flush(st); /* queries of the closed bucket */
    l->xact_timed_out += xact_purge(st, (now - XACT_TTL_SEC) * 1000000000);
    tcp_stream_expire(st->tcp, now);
    account_tcp(st, l);
}

static void dns_finish(struct handler *h)
{
    struct dns_state *st = h->state;
    tcp_stream_close_all(st->tcp);
    uint32_t dropped = pending_flush(st);
    struct dns_bucket *b = window_bucket(h->win, 0);
    if (b != NULL) {
        account_tcp(st, b);
        b->xact_dropped += dropped;
    }
}

static void dns_fini(struct handler *h)
{
    struct dns_state *st = h->state;
    if (st == NULL)
        return;
    tcp_stream_free(&st->tcp);
    free(st->memo);
    st->memo = NULL;
    free_names(&st->suffixes);
    free_names(&st->names);
}

static int dns_init(struct handler *h, const struct handler_config *cfg, char *err, size_t errlen)
{
    struct dns_state *st = h->state;
    const struct handler_opt *o;
    st->h = h;
    st->r = h->resume;
    st->r->last_deep = true; /* at 100% every decision is deep (SPEC 4.4) */

    if ((o = handler_opt_find(cfg, "exclude_noerror")) != NULL)
        st->exclude_noerror = o->type == HOPT_BOOL ? o->b : o->u != 0;
    if ((o = handler_opt_find(cfg, "only_rcode")) != NULL) {
        if (o->type != HOPT_UINT || (o->u != 0 && o->u != 2 && o->u != 3 && o->u != 5)) {
            snprintf(err, errlen, "only_rcode contained an invalid/unsupported rcode");
            return -1;
        }
        st->only_rcode_set = true;
        st->only_rcode = (uint8_t)o->u;
    }
    if ((o = handler_opt_find(cfg, "only_qname_suffix")) != NULL &&
        add_names(&st->suffixes, o, false, err, errlen) != 0)
        goto fail;
    if ((o = handler_opt_find(cfg, "only_qname")) != NULL &&
        add_names(&st->names, o, true, err, errlen) != 0)
        goto fail;

    struct tcp_stream_limits lim = {0};
    st->tcp = tcp_stream_new(&lim, on_tcp_message, st);
    st->memo = aligned_alloc(64, QNAME_MEMO_SLOTS * sizeof(struct qname_memo));
    if (st->tcp == NULL || st->memo == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    memset(st->memo, 0, QNAME_MEMO_SLOTS * sizeof(struct qname_memo));
    return 0;
fail:
    dns_fini(h);
    return -1;
}

uint32_t handler_dns_open_xacts(const struct handler *h)
{
    struct dns_state *st = h->state;
    uint32_t n = st->r->open;
    /* As if the pending entries were in the table already. */
    for (uint32_t i = 0; i < XACT_PENDING; i++) {
        const struct xact *e = &st->r->pending[i];
        if (e->key == 0)
            continue;
        bool in_table = xact_find(st, e->key) != NULL;
        if (e->ts_ns != XACT_ANSWERED && !in_table)
            n++;
        else if (e->ts_ns == XACT_ANSWERED && in_table)
            n--;
    }
    return n;
}

static uint64_t dns_open_items(const struct handler *h)
{
    return handler_dns_open_xacts(h);
}

const struct handler_type handler_dns = {
    .name = "dns",
    .table = &dns_table,
    .state_size = sizeof(struct dns_state),
    .resume_size = sizeof(struct dns_resume),
    .open_items = dns_open_items,
    .init = dns_init,
    .fini = dns_fini,
    .packet = dns_packet,
    .shift = dns_shift,
    .finish = dns_finish,
};
