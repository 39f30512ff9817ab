/*
 * handler_pcap.c - the "pcap" handler (schema key "pcap", SPEC 3.5): the
 * health of the input itself.
 *
 * Kernel and interface drops come from the capture process's libpcap
 * statistics, sampled every second and carried through the packet ring as
 * statistics records (shm/ring.h, RING_LINK_STATS), so each delta lands in
 * the bucket of the second it was read and survives a restart of this
 * handler like any packet.  A file tap has no kernel statistics: zero.
 *
 * tcp_reassembly_errors counts TCP segments no reassembler can take: the IP
 * protocol says TCP but the TCP header is cut short or malformed (a
 * non-first fragment of a TCP segment is not counted; pktvisor counted
 * frames its reassembler refused).  The decode.* counters are the
 * decoder's verdicts on every frame.
 */
#include <netinet/in.h>

#include "handler.h"

struct pcap_bucket {
    struct bucket_hdr hdr;
#define METRIC(kind, id, path, help) METRIC_FIELD(kind, id, path, help)
#include "pcap.def"
#undef METRIC
};

static const struct metric_desc pcap_metrics[] = {
#define METRIC(kind, id, path, help) METRIC_DESC(struct pcap_bucket, kind, id, path, help)
#include "pcap.def"
#undef METRIC
};

static const struct metric_table pcap_table = {
    .schema_key = "pcap",
    .bucket_size = sizeof(struct pcap_bucket),
    .metrics = pcap_metrics,
    .count = sizeof(pcap_metrics) / sizeof(pcap_metrics[0]),
};

static void pcap_packet(struct handler *h, void *live, const struct packet *p)
{
    struct pcap_bucket *b = live;
    (void)h;
    switch (p->error) {
    case DECODE_OK:
        break;
    case DECODE_ERR_LINKTYPE:
        b->unsupported_link++;
        break;
    case DECODE_ERR_TRUNCATED:
        b->truncated++;
        break;
    case DECODE_ERR_MALFORMED:
        b->malformed++;
        break;
    }
    if (p->ip_proto == IPPROTO_TCP && p->l4 != IPPROTO_TCP && !p->fragment)
        b->tcp_reassembly_errors++;
}

static void pcap_input_stats(struct handler *h, void *live, const struct input_stats *s)
{
    struct pcap_bucket *b = live;
    (void)h;
    b->os_drops += s->drop;
    b->if_drops += s->ifdrop;
}

const struct handler_type handler_pcap = {
    .name = "pcap",
    .table = &pcap_table,
    .packet = pcap_packet,
    .input_stats = pcap_input_stats,
};
