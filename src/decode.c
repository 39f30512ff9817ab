/*
 * decode.c - see decode.h.
 *
 * Reading discipline (as in tcpdump): before touching a header, check once
 * with fits() that its bytes lie inside what we may read, then extract its
 * fields with the unchecked readers be16()/be32().  Two limits matter past
 * L3: `cap` (bytes captured) and `len` (bytes the IP header declares); cap
 * never exceeds len, so reading within cap is always safe.
 */
#define _POSIX_C_SOURCE 200809L

#include "decode.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipfrag.h"

#define ETHERTYPE_IPV4     0x0800
#define ETHERTYPE_IPV6     0x86dd
#define ETHERTYPE_VLAN     0x8100
#define ETHERTYPE_QINQ     0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100

#define PROTO_HOPOPTS  0
#define PROTO_ICMP     1
#define PROTO_TCP      6
#define PROTO_UDP      17
#define PROTO_ROUTING  43
#define PROTO_FRAGMENT 44
#define PROTO_AH       51
#define PROTO_ICMPV6   58
#define PROTO_DSTOPTS  60

/* BSD loopback address families (pcap-linktype: LINKTYPE_NULL) */
#define BSD_AF_INET          2
#define BSD_AF_INET6_NETBSD  24
#define BSD_AF_INET6_FREEBSD 28
#define BSD_AF_INET6_DARWIN  30

struct decoder {
    struct decode_stats stats;
    struct ipfrag_table *frag;
    /* The reassembly table may hold datagrams (else ipfrag_expire has
     * nothing to do), all begun at or before packet time frag_newest. */
    bool frag_pending;
    int64_t frag_newest;
};

/* Whether n bytes at off lie within have bytes; written so nothing wraps. */
static inline bool fits(uint32_t have, uint32_t off, uint32_t n)
{
    return off <= have && n <= have - off;
}

static inline uint16_t be16(const uint8_t *b)
{
    return (uint16_t)((uint16_t)b[0] << 8 | b[1]);
}

static inline uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void count_error(struct decoder *d, enum decode_error e)
{
    switch (e) {
    case DECODE_ERR_TRUNCATED:
        d->stats.truncated++;
        break;
    case DECODE_ERR_MALFORMED:
        d->stats.malformed++;
        break;
    case DECODE_ERR_LINKTYPE:
        d->stats.unknown_linktype++;
        break;
    case DECODE_OK:
        break;
    }
}

/* Nothing at L3: the frame is unusable. */
static int fail(struct decoder *d, struct packet *p, enum decode_error e)
{
    p->error = e;
    count_error(d, e);
    return -1;
}

/* L3 decoded, something after it was not: keep the first reason only, so a
 * frame counts once. */
static void partial(struct decoder *d, struct packet *p, enum decode_error e)
{
    if (p->error != DECODE_OK)
        return;
    p->error = e;
    count_error(d, e);
}

/* The L4 header at b: cap bytes captured, len declared by IP.  In a first
 * fragment only the header is read: the UDP payload is not all here.
 * Returns what went wrong, for partial(): no call here, so that a common
 * frame is decoded without saving a register. */
static inline __attribute__((always_inline)) enum decode_error
decode_l4(struct packet *p, uint8_t proto, const uint8_t *b, uint32_t cap, uint32_t len,
          bool first_fragment)
{
    switch (proto) {
    case PROTO_TCP: {
        if (cap < 20)
            return DECODE_ERR_TRUNCATED;
        uint32_t doff = (uint32_t)(b[12] >> 4) * 4;
        if (doff < 20 || doff > len)
            return DECODE_ERR_MALFORMED;
        p->l4 = PROTO_TCP;
        p->sport = be16(b);
        p->dport = be16(b + 2);
        p->tcp_seq = be32(b + 4);
        p->tcp_flags = b[13];
        if (doff > cap)
            return DECODE_ERR_TRUNCATED;
        p->payload = b + doff;
        p->payload_len = cap - doff;
        return DECODE_OK;
    }
    case PROTO_UDP: {
        if (cap < 8)
            return DECODE_ERR_TRUNCATED;
        p->l4 = PROTO_UDP;
        p->sport = be16(b);
        p->dport = be16(b + 2);
        if (first_fragment)
            return DECODE_OK;
        uint32_t ulen = be16(b + 4);
        if (ulen < 8 || ulen > len)
            return DECODE_ERR_MALFORMED;
        /* cut by caplen: the IP layer reports it; the payload stays unset */
        if (ulen > cap)
            return DECODE_OK;
        p->payload = b + 8;
        p->payload_len = ulen - 8;
        return DECODE_OK;
    }
    case PROTO_ICMP:
    case PROTO_ICMPV6:
        if (cap < 4)
            return DECODE_ERR_TRUNCATED;
        p->l4 = proto;
        p->icmp_type = b[0];
        p->icmp_code = b[1];
        return DECODE_OK;
    default:
        return DECODE_OK;
    }
}

/* The end of a decode with L3 done: what L4 reported (e), then a cut by
 * caplen. */
static __attribute__((noinline)) int partial_end(struct decoder *d, struct packet *p,
                                                 enum decode_error e, bool cut)
{
    partial(d, p, e);
    if (cut)
        partial(d, p, DECODE_ERR_TRUNCATED);
    return 0;
}

/* b is the reassembled UDP datagram (header and payload). */
static void finish_udp(struct decoder *d, struct packet *p, const uint8_t *b, uint32_t len)
{
    if (len < 8) {
        partial(d, p, DECODE_ERR_MALFORMED);
        return;
    }
    uint32_t ulen = be16(b + 4);
    if (ulen < 8 || ulen > len) {
        partial(d, p, DECODE_ERR_MALFORMED);
        return;
    }
    p->reassembled = true;
    p->sport = be16(b);
    p->dport = be16(b + 2);
    p->payload = b + 8;
    p->payload_len = ulen - 8;
    d->stats.reassembled++;
}

static void add_fragment(struct decoder *d, struct packet *p, const struct ipfrag_key *key,
                         uint32_t offset, bool more, const uint8_t *data, uint32_t len)
{
    const uint8_t *whole = NULL;
    uint32_t whole_len = 0;
    if (!d->frag_pending || p->ts_sec > d->frag_newest)
        d->frag_newest = p->ts_sec;
    d->frag_pending = true;
    if (ipfrag_add(d->frag, key, p->ts_sec, offset, more, data, len, &d->stats, &whole,
                   &whole_len) == IPFRAG_COMPLETE)
        finish_udp(d, p, whole, whole_len);
}

/* The rest of an IPv4 fragment's decode (ip: its header of hlen bytes, len
 * declared, cap captured); out of line, fragments are rare. */
static __attribute__((noinline)) int ipv4_fragment(struct decoder *d, struct packet *p,
                                                   const uint8_t *ip, uint32_t hlen, uint32_t len,
                                                   uint32_t cap, bool cut)
{
    uint16_t frag = be16(ip + 6);
    uint32_t foff = (uint32_t)(frag & 0x1fff) * 8;
    bool more = (frag & 0x2000) != 0;

    p->fragment = true;
    d->stats.fragments++;
    if (foff == 0)
        partial(d, p, decode_l4(p, ip[9], ip + hlen, cap - hlen, len - hlen, true));
    /* a fragment cut by caplen cannot be stored; its datagram times out */
    if (ip[9] == PROTO_UDP && !cut) {
        struct ipfrag_key key;
        memset(&key, 0, sizeof(key));
        memcpy(key.src, ip + 12, 4);
        memcpy(key.dst, ip + 16, 4);
        key.id = be16(ip + 4);
        key.family = 4;
        key.proto = PROTO_UDP;
        add_fragment(d, p, &key, foff, more, ip + hlen, len - hlen);
    }
    return partial_end(d, p, DECODE_OK, cut);
}

static inline __attribute__((always_inline)) int
decode_ipv4(struct decoder *d, struct packet *p, const uint8_t *data, uint32_t caplen, uint32_t off)
{
    if (!fits(caplen, off, 20))
        return fail(d, p, DECODE_ERR_TRUNCATED);
    const uint8_t *ip = data + off;
    uint32_t hlen = (uint32_t)(ip[0] & 0x0f) * 4;
    uint32_t len = be16(ip + 2);
    if ((ip[0] >> 4) != 4 || hlen < 20 || len < hlen)
        return fail(d, p, DECODE_ERR_MALFORMED);
    if (!fits(caplen, off, hlen))
        return fail(d, p, DECODE_ERR_TRUNCATED);

    p->l3 = 4;
    p->ip_proto = ip[9];
    p->src.family = 4;
    p->dst.family = 4;
    memcpy(p->src.a.v4, ip + 12, 4);
    memcpy(p->dst.a.v4, ip + 16, 4);

    /* len below what was captured: Ethernet padding, ignored */
    uint32_t avail = caplen - off;
    bool cut = len > avail;
    uint32_t cap = cut ? avail : len;

    /* more fragments or an offset */
    if (__builtin_expect((be16(ip + 6) & 0x3fff) != 0, 0))
        return ipv4_fragment(d, p, ip, hlen, len, cap, cut);
    enum decode_error e = decode_l4(p, ip[9], ip + hlen, cap - hlen, len - hlen, false);
    if (__builtin_expect(e != DECODE_OK || cut, 0))
        return partial_end(d, p, e, cut);
    return 0;
}

/* Next-header values that start the extension header walk. */
#define IPV6_EXT_MASK                                                                              \
    (UINT64_C(1) << PROTO_HOPOPTS | UINT64_C(1) << PROTO_ROUTING | UINT64_C(1) << PROTO_FRAGMENT | \
     UINT64_C(1) << PROTO_AH | UINT64_C(1) << PROTO_DSTOPTS)

/* The rest of the decode of an IPv6 frame whose first next header is an
 * extension header (ip: the fixed header, len declared, cap captured); out
 * of line, rare. */
static __attribute__((noinline)) int ipv6_ext(struct decoder *d, struct packet *p,
                                              const uint8_t *ip, uint32_t len, uint32_t cap,
                                              bool cut)
{
    uint8_t nh = ip[6];
    uint32_t pos = 40;
    enum decode_error err = DECODE_OK;
    bool frag = false, more = false;
    uint8_t frag_nh = 0;
    uint32_t foff = 0, frag_id = 0, frag_data = 0;

    /* Each extension header is at least 8 bytes, so the walk ends within
     * len / 8 steps.  ESP, no-next-header and anything unknown stop it. */
    for (;;) {
        uint32_t hl;
        if (nh == PROTO_HOPOPTS || nh == PROTO_ROUTING || nh == PROTO_DSTOPTS || nh == PROTO_AH) {
            if (!fits(cap, pos, 2)) {
                err = fits(len, pos, 2) ? DECODE_ERR_TRUNCATED : DECODE_ERR_MALFORMED;
                break;
            }
            if (nh == PROTO_AH)
                hl = ((uint32_t)ip[pos + 1] + 2) * 4; /* RFC 4302: 4-octet units minus 2 */
            else
                hl = ((uint32_t)ip[pos + 1] + 1) * 8;
        } else if (nh == PROTO_FRAGMENT) {
            hl = 8;
        } else {
            break;
        }
        if (!fits(cap, pos, hl)) {
            err = fits(len, pos, hl) ? DECODE_ERR_TRUNCATED : DECODE_ERR_MALFORMED;
            break;
        }
        if (nh != PROTO_FRAGMENT) {
            nh = ip[pos];
            pos += hl;
            continue;
        }
        uint16_t fo = be16(ip + pos + 2);
        uint32_t this_off = fo & 0xfff8u;
        bool this_more = (fo & 1) != 0;
        nh = ip[pos];
        pos += hl;
        /* offset 0 without M is an atomic fragment: a whole datagram (RFC 6946) */
        if (this_off == 0 && !this_more)
            continue;
        if (frag) {
            err = DECODE_ERR_MALFORMED;
            break;
        }
        frag = true;
        more = this_more;
        foff = this_off;
        frag_nh = nh;
        frag_id = be32(ip + pos - 8 + 4);
        frag_data = pos;
        /* later fragments hold no headers, only a slice of the data */
        if (foff != 0)
            break;
    }
    p->ip_proto = nh;

    if (frag) {
        p->fragment = true;
        d->stats.fragments++;
    }
    if (err != DECODE_OK)
        partial(d, p, err);
    else if (!frag || foff == 0)
        partial(d, p, decode_l4(p, nh, ip + pos, cap - pos, len - pos, frag));

    /* only when UDP directly follows the fragment header, the common case */
    if (frag && frag_nh == PROTO_UDP && !cut) {
        struct ipfrag_key key;
        memset(&key, 0, sizeof(key));
        memcpy(key.src, ip + 8, 16);
        memcpy(key.dst, ip + 24, 16);
        key.id = frag_id;
        key.family = 6;
        add_fragment(d, p, &key, foff, more, ip + frag_data, len - frag_data);
    }
    return partial_end(d, p, DECODE_OK, cut);
}

static inline __attribute__((always_inline)) int
decode_ipv6(struct decoder *d, struct packet *p, const uint8_t *data, uint32_t caplen, uint32_t off)
{
    if (!fits(caplen, off, 40))
        return fail(d, p, DECODE_ERR_TRUNCATED);
    const uint8_t *ip = data + off;
    if ((ip[0] >> 4) != 6)
        return fail(d, p, DECODE_ERR_MALFORMED);

    p->l3 = 6;
    p->src.family = 6;
    p->dst.family = 6;
    memcpy(p->src.a.v6, ip + 8, 16);
    memcpy(p->dst.a.v6, ip + 24, 16);

    uint32_t len = 40 + (uint32_t)be16(ip + 4);
    uint32_t avail = caplen - off;
    bool cut = len > avail;
    uint32_t cap = cut ? avail : len;

    uint8_t nh = ip[6];
    if (__builtin_expect(nh < 64 && ((IPV6_EXT_MASK >> nh) & 1) != 0, 0))
        return ipv6_ext(d, p, ip, len, cap, cut);
    p->ip_proto = nh;
    enum decode_error e = decode_l4(p, nh, ip + 40, cap - 40, len - 40, false);
    if (__builtin_expect(e != DECODE_OK || cut, 0))
        return partial_end(d, p, e, cut);
    return 0;
}

/* The TPID of a VLAN tag (802.1Q, 802.1ad, old QinQ). */
static inline bool is_vlan(uint16_t etype)
{
    return etype == ETHERTYPE_VLAN || etype == ETHERTYPE_QINQ || etype == ETHERTYPE_QINQ_OLD;
}

/* The IP version (4 or 6) behind ethertype etype whose payload starts at
 * *off, past any VLAN tags (counted in *vlans); as decode_link_ip(). */
static int ether_ip(const uint8_t *data, uint32_t caplen, uint16_t etype, uint32_t *off,
                    uint16_t *vlans)
{
    while (is_vlan(etype)) {
        if (!fits(caplen, *off, 4))
            return -DECODE_ERR_TRUNCATED;
        etype = be16(data + *off + 2);
        *off += 4;
        (*vlans)++;
    }
    if (etype == ETHERTYPE_IPV4)
        return 4;
    if (etype == ETHERTYPE_IPV6)
        return 6;
    return 0;
}

int decode_link_ip(int linktype, const uint8_t *data, uint32_t caplen, uint32_t *off,
                   uint16_t *vlans)
{
    switch (linktype) {
    case LINKTYPE_ETHERNET:
        if (caplen < 14)
            return -DECODE_ERR_TRUNCATED;
        *off = 14;
        return ether_ip(data, caplen, be16(data + 12), off, vlans);
    case LINKTYPE_LINUX_SLL:
        if (caplen < 16)
            return -DECODE_ERR_TRUNCATED;
        *off = 16;
        return ether_ip(data, caplen, be16(data + 14), off, vlans);
    case LINKTYPE_LINUX_SLL2:
        if (caplen < 20)
            return -DECODE_ERR_TRUNCATED;
        *off = 20;
        return ether_ip(data, caplen, be16(data), off, vlans);
    case LINKTYPE_RAW:
    case DLT_RAW_ALT:
        /* the first byte's version nibble picks the IP version */
        *off = 0;
        if (caplen < 1)
            return -DECODE_ERR_TRUNCATED;
        switch (data[0] >> 4) {
        case 4:
            return 4;
        case 6:
            return 6;
        default:
            return -DECODE_ERR_MALFORMED;
        }
    case LINKTYPE_IPV4:
        *off = 0;
        return 4;
    case LINKTYPE_IPV6:
        *off = 0;
        return 6;
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP: {
        if (caplen < 4)
            return -DECODE_ERR_TRUNCATED;
        /* the family is in the capturing host's byte order (LOOP: network
         * order, but writers differ); every valid value fits 16 bits */
        uint32_t fam = be32(data);
        if (fam > 0xffff)
            fam = (fam >> 24) | ((fam >> 8) & 0xff00) | ((fam << 8) & 0xff0000) | (fam << 24);
        *off = 4;
        switch (fam) {
        case BSD_AF_INET:
            return 4;
        case BSD_AF_INET6_NETBSD:
        case BSD_AF_INET6_FREEBSD:
        case BSD_AF_INET6_DARWIN:
            return 6;
        default:
            return 0; /* not IP: nothing wrong with the frame */
        }
    }
    default:
        return -DECODE_ERR_LINKTYPE;
    }
}

/* Any frame: the link layer, then IP.  decode_packet() takes the common
 * frame without it. */
static __attribute__((noinline)) int decode_link(struct decoder *d, struct packet *p, int linktype,
                                                 const uint8_t *data, uint32_t caplen)
{
    uint32_t off = 0;
    int v = decode_link_ip(linktype, data, caplen, &off, &p->vlan_depth);
    switch (v) {
    case 4:
        return decode_ipv4(d, p, data, caplen, off);
    case 6:
        return decode_ipv6(d, p, data, caplen, off);
    case 0:
        return -1; /* not IP */
    default:
        return fail(d, p, (enum decode_error) - v);
    }
}

/* Fragments may be pending: drop those timed out first. */
static __attribute__((noinline)) int decode_expiring(struct decoder *d, struct packet *p,
                                                     int linktype, const uint8_t *data,
                                                     uint32_t caplen)
{
    int64_t now = p->ts_sec;
    ipfrag_expire(d->frag, now, &d->stats);
    /* Every datagram began by frag_newest: this long after it, all timed
     * out (ipfrag.h), and the table is empty. */
    if (now >= d->frag_newest && (uint64_t)now - (uint64_t)d->frag_newest >= DECODE_FRAG_TIMEOUT)
        d->frag_pending = false;
    return decode_link(d, p, linktype, data, caplen);
}

/* memset(p, 0, ...) of this size becomes rep stos with gcc, which costs
 * more than the rest of a common decode: plain 16-byte stores instead. */
typedef uint64_t zero16 __attribute__((vector_size(16), aligned(8), may_alias));
_Static_assert(sizeof(struct packet) == 7 * sizeof(zero16), "packet_zero: one store per 16 bytes");

static inline void packet_zero(struct packet *p)
{
    zero16 *z = (zero16 *)p;
    const zero16 zero = {0, 0};
    z[0] = zero;
    z[1] = zero;
    z[2] = zero;
    z[3] = zero;
    z[4] = zero;
    z[5] = zero;
    z[6] = zero;
}

/* The common frame (Ethernet, IP, nothing pending) takes no call but tail
 * calls, so that no register needs saving; everything else is out of
 * line. */
int decode_packet(struct decoder *d, int linktype, const uint8_t *data, uint32_t caplen,
                  uint32_t wirelen, int64_t ts_sec, int64_t ts_nsec, struct packet *p)
{
    packet_zero(p);
    p->ts_sec = ts_sec;
    p->ts_nsec = ts_nsec;
    p->caplen = caplen;
    p->wirelen = wirelen;
    d->stats.packets++;
    if (data == NULL)
        caplen = 0;

    if (__builtin_expect(d->frag_pending, 0))
        return decode_expiring(d, p, linktype, data, caplen);
    if (__builtin_expect(linktype == LINKTYPE_ETHERNET && caplen >= 14, 1)) {
        uint16_t etype = be16(data + 12);
        if (etype == ETHERTYPE_IPV4)
            return decode_ipv4(d, p, data, caplen, 14);
        if (etype == ETHERTYPE_IPV6)
            return decode_ipv6(d, p, data, caplen, 14);
    }
    return decode_link(d, p, linktype, data, caplen);
}

bool decode_linktype_supported(int linktype)
{
    switch (linktype) {
    case LINKTYPE_NULL:
    case LINKTYPE_ETHERNET:
    case LINKTYPE_RAW:
    case DLT_RAW_ALT:
    case LINKTYPE_LOOP:
    case LINKTYPE_LINUX_SLL:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6:
    case LINKTYPE_LINUX_SLL2:
        return true;
    default:
        return false;
    }
}

struct decoder *decoder_new(void)
{
    struct decoder *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->frag = ipfrag_new();
    if (d->frag == NULL) {
        free(d);
        return NULL;
    }
    return d;
}

void decoder_free(struct decoder **d)
{
    if (d == NULL || *d == NULL)
        return;
    ipfrag_free(&(*d)->frag);
    free(*d);
    *d = NULL;
}

const struct decode_stats *decoder_stats(const struct decoder *d)
{
    return &d->stats;
}

size_t ip_addr_format(const struct ip_addr *a, char *buf, size_t size)
{
    if (buf == NULL || size == 0)
        return 0;
    buf[0] = '\0';
    int af;
    if (a->family == 4)
        af = AF_INET;
    else if (a->family == 6)
        af = AF_INET6;
    else
        return 0;
    /* inet_ntop writes RFC 5952 text for IPv6 (glibc, BSD libc) */
    socklen_t n = size > 64 ? 64 : (socklen_t)size;
    if (inet_ntop(af, a->a.v6, buf, n) == NULL) {
        buf[0] = '\0';
        return 0;
    }
    return strlen(buf);
}
