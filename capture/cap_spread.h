/*
 * cap_spread.h - which worker of a file tap with `workers: N` gets a frame.
 *
 * A live tap's workers are spread by the kernel (PACKET_FANOUT_HASH, see
 * cap_source.h); a file has one reader, the capture process of worker 0,
 * which pushes each frame into the ring of the worker this function names.
 * The hash is the one the kernel's PACKET_FANOUT_HASH spreads a live tap
 * with, in kind: symmetric (both directions give the same value) over the
 * addresses, the IP protocol and, for TCP and UDP that is not an IP
 * fragment, the ports.  A DNS query and its response and every segment of
 * a TCP connection meet in one worker, whose transaction table and
 * reassembly see the whole conversation; the fragments of a datagram carry
 * no ports after the first, so all of them are spread by addresses alone
 * (a fragmented response may then land in another worker than its query,
 * as it does with the kernel's fanout).  Frames that are not IP (ARP) or
 * too short to show both addresses go to worker 0.
 *
 * Pure function of the frame's bytes; no state, no allocation.
 */
#ifndef PKTVISOR_CAP_SPREAD_H
#define PKTVISOR_CAP_SPREAD_H

#include <stdint.h>

/* 0..n-1 for a frame of the given link type (decode.h's LINKTYPE_*). */
unsigned cap_spread_worker(int linktype, const uint8_t *frame, uint32_t caplen, unsigned n);

#endif
