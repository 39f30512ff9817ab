/*
 * handler_dhcp.c - the "dhcp" handler (schema key "dhcp", SPEC 3.6).
 *
 * UDP datagrams with source or destination port 67 or 68 are DHCP (BOOTP)
 * messages: a 236-byte fixed header, the magic cookie 99.130.83.99, then
 * options.  Option 53 (message type) 1, 2, 3 and 5 are counted as discover,
 * offer, request and ack.  A datagram too short for the header and cookie,
 * or whose options run past its end, is counted as malformed.
 */
#include <netinet/in.h>

#include "handler.h"

struct dhcp_bucket {
    struct bucket_hdr hdr;
#define METRIC(kind, id, path, help) METRIC_FIELD(kind, id, path, help)
#include "dhcp.def"
#undef METRIC
};

static const struct metric_desc dhcp_metrics[] = {
#define METRIC(kind, id, path, help) METRIC_DESC(struct dhcp_bucket, kind, id, path, help)
#include "dhcp.def"
#undef METRIC
};

static const struct metric_table dhcp_table = {
    .schema_key = "dhcp",
    .bucket_size = sizeof(struct dhcp_bucket),
    .metrics = dhcp_metrics,
    .count = sizeof(dhcp_metrics) / sizeof(dhcp_metrics[0]),
};

#define BOOTP_FIXED_LEN 236
#define OPT_PAD         0
#define OPT_MSG_TYPE    53
#define OPT_END         255

/* The message type (option 53), 0 when absent, -1 when malformed. */
static int dhcp_message_type(const uint8_t *d, uint32_t len)
{
    static const uint8_t cookie[4] = {99, 130, 83, 99};
    if (len < BOOTP_FIXED_LEN + 4)
        return -1;
    for (int i = 0; i < 4; i++)
        if (d[BOOTP_FIXED_LEN + i] != cookie[i])
            return -1;
    uint32_t off = BOOTP_FIXED_LEN + 4;
    while (off < len) {
        uint8_t code = d[off++];
        if (code == OPT_PAD)
            continue;
        if (code == OPT_END)
            return 0;
        if (off >= len)
            return -1;
        uint8_t olen = d[off++];
        if (olen > len - off)
            return -1;
        if (code == OPT_MSG_TYPE && olen >= 1)
            return d[off];
        off += olen;
    }
    return 0;
}

static void dhcp_packet(struct handler *h, void *live, const struct packet *p)
{
    struct dhcp_bucket *b = live;
    if (p->ip_proto != IPPROTO_UDP || p->payload == NULL)
        return;
    if (p->sport != 67 && p->sport != 68 && p->dport != 67 && p->dport != 68)
        return;

    b->hdr.events++;
    b->total++;
    rate_count(&b->rate_total, p->ts_sec, 1);
    b->deep_samples += handler_deep(h);
    switch (dhcp_message_type(p->payload, p->payload_len)) {
    case -1:
        b->malformed++;
        break;
    case 1:
        b->discover++;
        break;
    case 2:
        b->offer++;
        break;
    case 3:
        b->request++;
        break;
    case 5:
        b->ack++;
        break;
    }
}

const struct handler_type handler_dhcp = {
    .name = "dhcp",
    .table = &dhcp_table,
    .packet = dhcp_packet,
};
