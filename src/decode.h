/*
 * decode.h - bounds-checked packet decoding from link layer to L4 payload.
 *
 * decode_packet() reads one captured frame (caplen bytes) and fills a
 * struct packet: link type -> optional VLAN tags (802.1Q, 802.1ad/QinQ) ->
 * IPv4 (options, fragments) or IPv6 (extension headers, fragments) -> TCP,
 * UDP, ICMP, ICMPv6.  Every read is checked against caplen; a frame cut
 * short or malformed is reported in p->error and counted in the decoder's
 * stats, never read past.
 *
 * Fragments: the frame itself is described as it is (p->fragment set; only
 * the first fragment carries the L4 header, so only it sets p->l4).  UDP
 * datagrams split into IPv4 or IPv6 fragments are reassembled in a bounded
 * table (DECODE_FRAG_MAX pending datagrams, DECODE_FRAG_TIMEOUT seconds of
 * packet time, evictions counted).  The frame that completes a datagram sets
 * p->reassembled, p->sport/dport from the reassembled UDP header, and
 * p->payload points at the whole UDP payload in the decoder's buffer, valid
 * until the next decode_packet() call.
 *
 * Ownership: a struct decoder is created by decoder_new() and freed by
 * decoder_free(), which NULLs the pointer.  One thread uses it.  The struct
 * packet points into the caller's frame bytes (or the decoder's buffer) and
 * is valid as long as those are.
 */
#ifndef PKTVISOR_DECODE_H
#define PKTVISOR_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* pcap link types we read (values from pcap-linktype(7)). */
#define LINKTYPE_NULL       0
#define LINKTYPE_ETHERNET   1
#define LINKTYPE_RAW        101
#define LINKTYPE_LOOP       108
#define LINKTYPE_LINUX_SLL  113
#define LINKTYPE_IPV4       228
#define LINKTYPE_IPV6       229
#define LINKTYPE_LINUX_SLL2 276
#define DLT_RAW_ALT         12 /* DLT_RAW on most BSDs and in libpcap's dlt values */

#define DECODE_FRAG_MAX       1024 /* pending datagrams */
#define DECODE_FRAG_TIMEOUT   30   /* seconds of packet time */
#define DECODE_FRAG_MAX_BYTES 65535

enum decode_error {
    DECODE_OK = 0,
    DECODE_ERR_LINKTYPE,  /* link type we do not read */
    DECODE_ERR_TRUNCATED, /* header cut short by caplen */
    DECODE_ERR_MALFORMED, /* impossible field value (IHL < 5, length < header) */
};

enum packet_dir { DIR_UNKNOWN = 0, DIR_IN = 1, DIR_OUT = 2 };

struct ip_addr {
    uint8_t family; /* 4 or 6; 0 = none */
    uint8_t pad[3];
    union {
        uint8_t v6[16];
        uint8_t v4[4];
    } a;
};

struct packet {
    int64_t ts_sec;
    int64_t ts_nsec;
    uint32_t caplen;
    uint32_t wirelen;

    enum decode_error error;
    uint8_t l3;       /* 4, 6, or 0 (not IP) */
    uint8_t l4;       /* IPPROTO_UDP/TCP/ICMP/ICMPV6 header parsed in this frame, else 0 */
    uint8_t ip_proto; /* IP protocol / last IPv6 next header, 0 if not IP */
    bool fragment;    /* this frame is an IP fragment */
    bool reassembled; /* this frame completed a fragmented UDP datagram */
    uint8_t tcp_flags;
    uint16_t vlan_depth;
    enum packet_dir dir; /* set by the caller (hostspec), DIR_UNKNOWN here */

    struct ip_addr src, dst;
    uint16_t sport, dport; /* host order; 0 without an L4 header */
    uint32_t tcp_seq;
    uint8_t icmp_type; /* when l4 is IPPROTO_ICMP or IPPROTO_ICMPV6 */
    uint8_t icmp_code;

    /* L4 payload: set for TCP, for UDP when the datagram is whole (not a
     * fragment, or reassembled), else NULL with payload_len 0. */
    const uint8_t *payload;
    uint32_t payload_len;
};

struct decode_stats {
    uint64_t packets;
    uint64_t truncated;
    uint64_t malformed;
    uint64_t unknown_linktype;
    uint64_t fragments;
    uint64_t reassembled;
    uint64_t frag_evicted; /* pending datagrams dropped: table full */
    uint64_t frag_timeout; /* pending datagrams dropped: timed out */
    uint64_t frag_invalid; /* overlapping / oversized fragments dropped */
};

struct decoder;

struct decoder *decoder_new(void);
void decoder_free(struct decoder **d);
const struct decode_stats *decoder_stats(const struct decoder *d);

/* Decode one frame.  Returns 0 when at least L3 was decoded, -1 otherwise
 * (p->error says why; p->ts, caplen, wirelen are always set).  A frame that
 * is simply not IP (ARP, unknown loopback family) returns -1 with DECODE_OK.
 * A return of 0 with p->error set is a partial decode: L3 is valid but
 * something after it was cut by caplen (TRUNCATED; the L4 header fields are
 * set if they were captured, a TCP payload is what was captured, a UDP
 * payload is left unset) or impossible (MALFORMED). */
int decode_packet(struct decoder *d, int linktype, const uint8_t *data, uint32_t caplen,
                  uint32_t wirelen, int64_t ts_sec, int64_t ts_nsec, struct packet *p);

/* Where a frame's IP header is, by its link layer alone: the IP version (4
 * or 6) with the header's offset in *off and the VLAN tags passed added to
 * *vlans; 0 when the frame carries no IP (ARP and the like: nothing
 * wrong); or minus the decode_error that stops it.  decode_packet() uses it
 * for every link type but plain Ethernet, and a file tap's reader to spread
 * frames (capture/cap_spread.c). */
int decode_link_ip(int linktype, const uint8_t *data, uint32_t caplen, uint32_t *off,
                   uint16_t *vlans);

/* Whether decode_packet() reads this pcap link type. */
bool decode_linktype_supported(int linktype);

/* Format an address ("192.0.2.1", canonical RFC 5952 IPv6); returns length. */
size_t ip_addr_format(const struct ip_addr *a, char *buf, size_t size);

#endif
