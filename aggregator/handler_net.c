/*
 * handler_net.c - the "net" handler (schema key "packets", SPEC 3.3).
 *
 * Every frame counts in total, L3, L4 and direction counters.  Deep-sampled
 * frames of known direction also feed the remote address (source of an
 * inbound frame, destination of an outbound one) to the cardinality, top-IP
 * and GeoIP/ASN sketches; the address is hashed once for all of them and
 * formatted only when a top-N sketch asks for its text.
 */
#include <netinet/in.h>
#include <string.h>

#include "handler.h"
#include "hash.h"

struct net_bucket {
    struct bucket_hdr hdr;
#define METRIC(kind, id, path, help) METRIC_FIELD(kind, id, path, help)
#include "net.def"
#undef METRIC
};

static const struct metric_desc net_metrics[] = {
#define METRIC(kind, id, path, help) METRIC_DESC(struct net_bucket, kind, id, path, help)
#include "net.def"
#undef METRIC
};

static const struct metric_table net_table = {
    .schema_key = "packets",
    .bucket_size = sizeof(struct net_bucket),
    .metrics = net_metrics,
    .count = sizeof(net_metrics) / sizeof(net_metrics[0]),
};

static void count_geo(struct topn *t, const struct geo *g, const struct ip_addr *a)
{
    char buf[256];
    size_t len = geo_lookup(g, a, buf, sizeof(buf));
    topn_add_text(t, buf, len, 1);
}

static void net_packet(struct handler *h, void *live, const struct packet *p)
{
    struct net_bucket *b = live;
    int64_t sec = p->ts_sec;

    b->hdr.events++;
    b->total++;
    rate_count(&b->pps_total, sec, 1);
    rate_count(&b->pps_in, sec, p->dir == DIR_IN);
    rate_count(&b->pps_out, sec, p->dir == DIR_OUT);

    if (p->l3 == 4)
        b->ipv4++;
    else if (p->l3 == 6)
        b->ipv6++;
    /* By the IP header's protocol, so every fragment of a UDP datagram is UDP. */
    if (p->l3 != 0 && p->ip_proto == IPPROTO_UDP)
        b->udp++;
    else if (p->l3 != 0 && p->ip_proto == IPPROTO_TCP)
        b->tcp++;
    else
        b->other_l4++;

    if (p->dir == DIR_IN)
        b->in++;
    else if (p->dir == DIR_OUT)
        b->out++;

    if (!handler_deep(h))
        return;
    b->deep_samples++;
    if (p->dir == DIR_UNKNOWN || p->l3 == 0)
        return;

    const struct ip_addr *remote = p->dir == DIR_IN ? &p->src : &p->dst;
    size_t alen = remote->family == 4 ? 4 : 16;
    uint64_t hv = hash_addr(remote->a.v6, alen);
    struct topn *top = remote->family == 4 ? &b->top_ipv4 : &b->top_ipv6;
    topn_prefetch(top, hv); /* its miss overlaps the cardinality update */

    card_add(p->dir == DIR_IN ? &b->src_ips_in : &b->dst_ips_out, hv);
    if (topn_count(top, hv)) {
        char text[64];
        size_t len = ip_addr_format(remote, text, sizeof(text));
        topn_set_text(top, hv, text, len);
    }
    if (h->cfg.geo_city != NULL)
        count_geo(&b->top_geo_loc, h->cfg.geo_city, remote);
    if (h->cfg.geo_asn != NULL)
        count_geo(&b->top_asn, h->cfg.geo_asn, remote);
}

const struct handler_type handler_net = {
    .name = "net",
    .table = &net_table,
    .packet = net_packet,
};
