/*
 * tcp_stream.h - TCP reassembly of DNS-over-TCP message streams.
 *
 * Tracks TCP connections where either port is a DNS port (the caller
 * decides which segments to pass), orders each direction's payload by
 * sequence number, and cuts it into DNS messages with the 2-byte length
 * framing of RFC 1035 section 4.2.2.  Messages of any length 12..65535 are
 * delivered whole through the callback, several per segment or one across
 * many segments.
 *
 * Theory: a flow is keyed by its symmetric 5-tuple; side 0 is the side that
 * opened the connection: the SYN sender (the receiver of a SYN+ACK) when the
 * handshake was captured, else the side not on a DNS port when exactly one
 * is, else the sender of the first segment seen.  Each side keeps the next expected sequence
 * number, a message buffer grown on demand up to 65537 bytes, and at most TCP_STREAM_MAX_OOO
 * out-of-order segments.  Retransmitted bytes (before the expected sequence) are trimmed; overlaps
 * are resolved in favour of the bytes already held.  When a gap cannot be filled (the out-of-order
 * queue is full or cannot be held within max_bytes, or the flow ends with a
 * hole), the side's partial message is dropped and counted, and the stream
 * resumes at the end of that message when its length prefix was seen and
 * the hole ends inside it (its remaining bytes are skipped), else at the
 * next queued segment, taken as the start of a message.  A length prefix
 * below 12 is a framing error: the side's buffered bytes are dropped and
 * counted, and it resumes at the next segment.  A FIN (once every byte
 * before it has arrived) ends its side only (half-close: a client may send
 * its query and FIN before the answer); the flow is forgotten when both
 * sides have ended, on RST, or when idle.  Ending a side gives up its
 * remaining holes, so complete messages queued past them are delivered.
 *
 * Bounds: at most max_flows flows (the least recently used is evicted,
 * counted) and max_bytes of buffered payload over all flows, out-of-order
 * copies counting their small header too (the least recently used flows
 * are evicted until it fits, counted; a message one flow cannot hold even
 * alone is skipped by its length and counted lost); flows idle for
 * idle_timeout seconds of packet time are expired by tcp_stream_expire().
 * Messages whole in one segment need no buffer.
 *
 * Ownership: tcp_stream_new() / tcp_stream_free() (NULLs the pointer);
 * message bytes passed to the callback are valid only during the call, and
 * the callback must not call back into the reassembler.  One thread.
 */
#ifndef PKTVISOR_TCP_STREAM_H
#define PKTVISOR_TCP_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "hash.h"

#define TCP_STREAM_MAX_OOO 16

struct tcp_stream_limits {
    uint32_t max_flows;    /* default 65536 */
    uint64_t max_bytes;    /* default 64 MiB */
    uint32_t idle_timeout; /* seconds, default 60 */
};

struct tcp_stream_stats {
    uint64_t segments; /* segments passed in */
    uint64_t messages; /* messages delivered */
    uint64_t flows_created;
    uint64_t flows_evicted;  /* table or byte cap */
    uint64_t flows_expired;  /* idle timeout */
    uint64_t retransmitted;  /* segments wholly before the expected sequence or queued */
    uint64_t out_of_order;   /* segments queued ahead of a hole */
    uint64_t gaps;           /* holes given up on */
    uint64_t messages_lost;  /* partial messages dropped: gaps, evictions, closes, byte cap */
    uint64_t framing_errors; /* length prefix below 12 */
    uint64_t rejected;       /* not TCP, no payload offset, no IP, payload > 2^30 */
};

/* One complete DNS message (without the 2-byte prefix).  flow_hash is the
 * symmetric flow key (same for both sides); side is 0 or 1; sec/nsec the
 * timestamp of the segment that completed it; p the packet that completed
 * it (addresses and ports as on the wire).  Messages completed while a flow
 * is flushed (FIN or RST from the other side, eviction, expiry, close_all)
 * get a packet made from the flow's endpoints for that side, without
 * payload, timed at the triggering packet or else the flow's last one. */
typedef void (*tcp_stream_msg_cb)(void *ctx, uint64_t flow_hash, int side, const uint8_t *msg,
                                  size_t len, const struct packet *p);

struct tcp_stream;

struct tcp_stream *tcp_stream_new(const struct tcp_stream_limits *lim, tcp_stream_msg_cb cb,
                                  void *ctx);
void tcp_stream_free(struct tcp_stream **ts);
/* A TCP segment (p->l4 == IPPROTO_TCP); payload may be empty (SYN, FIN). */
void tcp_stream_segment(struct tcp_stream *ts, const struct packet *p);
/* Expire flows idle since before now_sec - idle_timeout. */
void tcp_stream_expire(struct tcp_stream *ts, int64_t now_sec);
/* End of input: flush and forget every flow (partial messages counted lost). */
void tcp_stream_close_all(struct tcp_stream *ts);
const struct tcp_stream_stats *tcp_stream_stats(const struct tcp_stream *ts);
uint32_t tcp_stream_flows(const struct tcp_stream *ts);
uint64_t tcp_stream_bytes(const struct tcp_stream *ts);

/* One endpoint (family, address, port) as a mixed word (the final
 * mix avalanches the sum).  IPv4 fits one word with its port and family,
 * mixed by one 64x64->128 multiply folded (its left operand cannot be 0:
 * the family byte differs from K1's); IPv6 folds its second address word
 * with the port and family first. */
static inline uint64_t flow_endpoint_word_(const struct ip_addr *a, uint16_t port)
{
    uint64_t pf = (uint64_t)port << 8 | a->family;
    if (a->family == 6) {
        uint64_t w0, w1;
        memcpy(&w0, a->a.v6, 8);
        memcpy(&w1, a->a.v6 + 8, 8);
        return hash_mix64(w0 ^ hash_mix64(w1 ^ pf));
    }
    uint32_t v4;
    memcpy(&v4, a->a.v4, 4);
    return hash_fold(((uint64_t)v4 << 32 | pf) ^ HASH_K1, HASH_K2);
}

/* The symmetric flow hash used for both UDP and TCP transactions; inline,
 * it runs for every DNS packet. */
static inline uint64_t flow_hash(const struct packet *p)
{
    /* A sum does not depend on the order of its terms: the same value for
     * both directions, without comparing the endpoints. */
    uint64_t sum = flow_endpoint_word_(&p->src, p->sport) + flow_endpoint_word_(&p->dst, p->dport);
    return hash_mix64(sum ^ HASH_SEED ^ (p->l4 ? p->l4 : p->ip_proto));
}

#endif
