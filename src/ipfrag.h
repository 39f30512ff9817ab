/*
 * ipfrag.h - bounded reassembly of fragmented UDP datagrams (IPv4 and IPv6).
 *
 * The table holds at most DECODE_FRAG_MAX pending datagrams, keyed by
 * (src, dst, id, proto) for IPv4 and (src, dst, fragment id) for IPv6 (proto
 * 0 in the key).  Each slot grows its own data buffer on demand, in powers of
 * two, up to DECODE_FRAG_MAX_BYTES, and keeps it for the next datagram, so
 * the table never holds more than DECODE_FRAG_MAX buffers of that size
 * (64 MiB in the worst case, a few MiB in practice) and stops allocating once
 * traffic reaches a steady state.
 *
 * A datagram is dropped, and counted in the caller's struct decode_stats,
 * when it is older than DECODE_FRAG_TIMEOUT seconds of packet time
 * (frag_timeout), when the table is full and it is the oldest (frag_evicted,
 * also used when a buffer cannot be grown), or when one of its fragments
 * overlaps another, disagrees about the end, is not a multiple of 8 bytes
 * while more follow, has no data, or reaches past DECODE_FRAG_MAX_BYTES
 * (frag_invalid).  An exact duplicate with the same bytes is ignored
 * (RFC 8200 4.5 allows it).  A dropped-invalid datagram keeps its slot, empty,
 * until it times out or is evicted, so its remaining fragments cannot start a
 * new datagram under the same key.
 *
 * Ownership: the decoder creates one table (ipfrag_new) and frees it
 * (ipfrag_free, which NULLs the pointer); only that decoder's thread reads or
 * writes it.  The data returned for a completed datagram lives in the
 * table's buffer and is valid until the next ipfrag_add() or ipfrag_free().
 */
#ifndef PKTVISOR_IPFRAG_H
#define PKTVISOR_IPFRAG_H

#include <stdbool.h>
#include <stdint.h>

#include "decode.h"

struct ipfrag_key {
    uint8_t src[16]; /* IPv4 addresses use the first 4 bytes, rest zero */
    uint8_t dst[16];
    uint32_t id;
    uint8_t family; /* 4 or 6 */
    uint8_t proto;  /* IPv4 protocol; 0 for IPv6 */
    uint8_t pad[2]; /* zero: keys are compared as bytes */
};

enum ipfrag_result {
    IPFRAG_PENDING,  /* stored (or an exact duplicate); datagram incomplete */
    IPFRAG_COMPLETE, /* this fragment completed the datagram */
    IPFRAG_DROPPED,  /* the datagram is (or was already) dropped */
};

struct ipfrag_table;

struct ipfrag_table *ipfrag_new(void);
void ipfrag_free(struct ipfrag_table **t);

/* Drop datagrams older than DECODE_FRAG_TIMEOUT at packet time now_sec.
 * Cheap when the table is empty: the decoder calls it for every frame. */
void ipfrag_expire(struct ipfrag_table *t, int64_t now_sec, struct decode_stats *st);

/* Add len bytes of fragment data at byte offset `offset` of the datagram's
 * fragmentable part; `more` is the more-fragments flag.  On
 * IPFRAG_COMPLETE, *out and *out_len describe the whole fragmentable part
 * (for UDP: header and payload). */
enum ipfrag_result ipfrag_add(struct ipfrag_table *t, const struct ipfrag_key *key, int64_t now_sec,
                              uint32_t offset, bool more, const uint8_t *data, uint32_t len,
                              struct decode_stats *st, const uint8_t **out, uint32_t *out_len);

#endif
