/*
 * httpd_prom.c - the Prometheus text renderer over the metric catalogue.
 *
 * A group holds one sample buffer per family (a metric of the table, then
 * the health counters).  Adding a bucket appends that bucket's lines to
 * each family's buffer; writing emits, family by family in table order,
 * HELP and TYPE followed by the buffered lines.  So the lines of a family
 * stay together however many buckets were added, and HELP/TYPE are written
 * once (see httpd_prom.h for why that departs from pktvisor).
 */
#include "httpd_prom.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 128

#define CAT(base, d) ((const char *)(base) + (d)->offset)

struct family {
    const struct metric_desc *d;
    bool health; /* d is in bucket_health_metrics: offset into the header's health */
    char name[NAME_MAX_LEN];
    struct prom_buf samples;
};

struct prom_group {
    const struct metric_table *t;
    size_t nfam;
    struct family fam[];
};

/* --- the buffer ---------------------------------------------------------- */

void prom_buf_append(struct prom_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap > 0 ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (d == NULL) {
            b->oom = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void put_str(struct prom_buf *b, const char *s)
{
    prom_buf_append(b, s, strlen(s));
}

static void put_u64(struct prom_buf *b, uint64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%" PRIu64, v);
    prom_buf_append(b, num, (size_t)n);
}

void prom_buf_free(struct prom_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

/* --- escaping ------------------------------------------------------------ */

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0.  The same rule as
 * Go's utf8.ValidString, which Prometheus applies to label values. */
static size_t utf8_len(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (left < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

/* Escape per the text format: \ and newline always, " in label values
 * (HELP text keeps its quotes).  Stops at a NUL byte, as the JSON renderer
 * does (C strings), so both views show the same text. */
static void put_escaped(struct prom_buf *b, const char *s, size_t len, bool quote)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0; /* bytes [i - run, i) are copied verbatim */
    while (i < len && u[i] != '\0') {
        const char *esc = NULL;
        size_t n = 1;
        if (u[i] == '\\')
            esc = "\\\\";
        else if (u[i] == '\n')
            esc = "\\n";
        else if (u[i] == '"' && quote)
            esc = "\\\"";
        else if ((n = utf8_len(u + i, len - i)) == 0)
            esc = "\xef\xbf\xbd"; /* U+FFFD for one stray byte */
        if (esc == NULL) {
            i += n;
            run += n;
            continue;
        }
        prom_buf_append(b, s + i - run, run);
        put_str(b, esc);
        run = 0;
        i++;
    }
    prom_buf_append(b, s + i - run, run);
}

/* --- samples ------------------------------------------------------------- */

struct labels {
    const struct prom_label *v[PROM_MAX_LABELS];
    size_t n;
};

static bool is_ident(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    for (s++; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

/* The caller's labels in key order (SPEC 3.2).  Bad keys are a caller's
 * bug: assert. */
static void sort_labels(struct labels *l, const struct prom_label *labels, size_t n)
{
    assert(n <= PROM_MAX_LABELS);
    l->n = 0;
    for (size_t i = 0; i < n; i++) {
        const struct prom_label *x = &labels[i];
        assert(x->key != NULL && x->value != NULL && is_ident(x->key));
        assert(strcmp(x->key, "name") != 0 && strcmp(x->key, "quantile") != 0);
        size_t j = l->n;
        while (j > 0 && strcmp(l->v[j - 1]->key, x->key) > 0) {
            l->v[j] = l->v[j - 1];
            j--;
        }
        assert(j == 0 || strcmp(l->v[j - 1]->key, x->key) != 0);
        l->v[j] = x;
        l->n++;
    }
}

static void put_label(struct prom_buf *b, bool *first, const char *key, const char *v, size_t len)
{
    if (!*first)
        put_str(b, ",");
    *first = false;
    put_str(b, key);
    put_str(b, "=\"");
    put_escaped(b, v, len, true);
    put_str(b, "\"");
}

/* name+suffix{labels, with xkey=xval merged in key order} value */
static void put_sample(struct prom_buf *b, const char *name, const char *suffix,
                       const struct labels *l, const char *xkey, const char *xval, size_t xlen,
                       uint64_t value)
{
    bool first = true;
    put_str(b, name);
    put_str(b, suffix);
    put_str(b, "{");
    for (size_t i = 0; i <= l->n; i++) {
        if (xkey != NULL && (i == l->n || strcmp(xkey, l->v[i]->key) < 0)) {
            put_label(b, &first, xkey, xval, xlen);
            xkey = NULL;
        }
        if (i < l->n)
            put_label(b, &first, l->v[i]->key, l->v[i]->value, strlen(l->v[i]->value));
    }
    put_str(b, "} ");
    put_u64(b, value);
    put_str(b, "\n");
}

/* Quantiles and rates: the four quantiles the JSON shows, the true sum
 * (SPEC 10) and the count; nothing while empty (as the JSON omits it). */
static void put_summary(struct prom_buf *b, const char *name, const struct labels *l,
                        const struct quantile *q)
{
    uint64_t v[QUANTILE_NFRAC];
    if (!quantile_get4(q, v))
        return;
    for (size_t i = 0; i < QUANTILE_NFRAC; i++) {
        char frac[16]; /* %g of .5 .9 .95 .99: "0.5" "0.9" "0.95" "0.99" */
        int n = snprintf(frac, sizeof(frac), "%g", quantile_fractions[i]);
        put_sample(b, name, "", l, "quantile", frac, (size_t)n, v[i]);
    }
    put_sample(b, name, "_sum", l, NULL, NULL, 0, quantile_sum(q));
    put_sample(b, name, "_count", l, NULL, NULL, 0, quantile_count(q));
}

/* A top-N list (TOPN or PORTS). */
static void put_top(struct prom_buf *b, const char *name, const struct labels *l,
                    enum metric_kind kind, const void *sketch)
{
    struct metric_top top;
    metric_top_report(kind, sketch, &top);
    for (size_t i = 0; i < top.n; i++) {
        const struct topn_item *it = &top.items[i];
        put_sample(b, name, "", l, "name", it->text, it->len, it->estimate);
    }
}

/* --- groups -------------------------------------------------------------- */

/* "<schema key>_<path with '.' -> '_'>" (SPEC 3.2). */
static void family_name(char *out, const char *schema_key, const char *path)
{
    int n = snprintf(out, NAME_MAX_LEN, "%s_%s", schema_key, path);
    assert(n > 0 && n < NAME_MAX_LEN);
    for (char *c = out; *c != '\0'; c++)
        if (*c == '.')
            *c = '_';
    assert(is_ident(out));
}

struct prom_group *prom_group_new(const struct metric_table *t, const struct render_opts *o)
{
    size_t nfam = t->count + (o->agent ? bucket_health_count : 0);
    struct prom_group *g = calloc(1, sizeof(*g) + nfam * sizeof(g->fam[0]));
    if (g == NULL)
        return NULL;
    g->t = t;
    g->nfam = nfam;
    for (size_t k = 0; k < nfam; k++) {
        struct family *f = &g->fam[k];
        f->health = k >= t->count;
        f->d = f->health ? &bucket_health_metrics[k - t->count] : &t->metrics[k];
        family_name(f->name, t->schema_key, f->d->path);
    }
    return g;
}

int prom_group_add(struct prom_group *g, const void *bucket, const struct prom_label *labels,
                   size_t n)
{
    const struct bucket_hdr *h = bucket;
    struct labels l;
    sort_labels(&l, labels, n);
    int rc = 0;
    for (size_t k = 0; k < g->nfam; k++) {
        struct family *f = &g->fam[k];
        const char *at = f->health ? CAT(&h->health, f->d) : CAT(bucket, f->d);
        struct prom_buf *b = &f->samples;
        switch (f->d->kind) {
        case METRIC_COUNTER:
            put_sample(b, f->name, "", &l, NULL, NULL, 0, *(const uint64_t *)at);
            break;
        case METRIC_CARD:
            put_sample(b, f->name, "", &l, NULL, NULL, 0, card_estimate((const struct card *)at));
            break;
        case METRIC_TOPN:
        case METRIC_PORTS:
            put_top(b, f->name, &l, f->d->kind, at);
            break;
        case METRIC_QUANTILE:
            put_summary(b, f->name, &l, (const struct quantile *)at);
            break;
        case METRIC_RATE:
            /* No "live" sample: a summary has no place for it (SPEC 3.2). */
            put_summary(b, f->name, &l, &((const struct rate *)at)->q);
            break;
        }
        if (b->oom)
            rc = -1;
    }
    return rc;
}

int prom_group_write(const struct prom_group *g, struct prom_buf *out)
{
    for (size_t k = 0; k < g->nfam; k++) {
        const struct family *f = &g->fam[k];
        if (f->samples.len == 0)
            continue;
        bool summary = f->d->kind == METRIC_QUANTILE || f->d->kind == METRIC_RATE;
        put_str(out, "# HELP ");
        put_str(out, f->name);
        put_str(out, " ");
        put_escaped(out, f->d->help, strlen(f->d->help), false);
        put_str(out, "\n# TYPE ");
        put_str(out, f->name);
        put_str(out, summary ? " summary\n" : " gauge\n");
        prom_buf_append(out, f->samples.data, f->samples.len);
    }
    return out->oom ? -1 : 0;
}

void prom_group_free(struct prom_group **g)
{
    if (*g == NULL)
        return;
    for (size_t k = 0; k < (*g)->nfam; k++)
        prom_buf_free(&(*g)->fam[k].samples);
    free(*g);
    *g = NULL;
}

int prom_render_bucket(struct prom_buf *out, const struct metric_table *t, const void *bucket,
                       const struct render_opts *o, const struct prom_label *labels, size_t n)
{
    struct prom_group *g = prom_group_new(t, o);
    int rc = -1;
    if (g != NULL && prom_group_add(g, bucket, labels, n) == 0)
        rc = prom_group_write(g, out);
    if (rc != 0)
        out->oom = true;
    prom_group_free(&g);
    return rc;
}
