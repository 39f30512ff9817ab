/*
 * hostspec.h - "the host" as a list of CIDRs (-H), and packet direction.
 *
 * hostspec_parse() reads pktvisor's -H syntax: comma-separated entries, each
 * ADDRESS/PREFIX with exactly one '/'; entries containing ':' are IPv6
 * (prefix 0..128), others IPv4 (prefix clamped to 0..32).  Addresses are
 * kept as given (not normalised to the network).  Errors name the entry:
 * "invalid IPv4 address: X", "invalid IPv6 address: X".
 *
 * hostspec_direction() applies pktvisor's rule: walk the entries of the
 * packet's family in list order; for each, destination first (dst inside =>
 * DIR_IN), then source (src inside => DIR_OUT); no match => DIR_UNKNOWN.
 *
 * Ownership: struct hostspec is plain data with a fixed maximum of entries;
 * the caller owns it (stack, heap or shared segment).
 */
#ifndef PKTVISOR_HOSTSPEC_H
#define PKTVISOR_HOSTSPEC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decode.h"

#define HOSTSPEC_MAX 256

struct hostspec_entry {
    uint8_t family; /* 4 or 6 */
    uint8_t prefix;
    uint8_t addr[16];
    uint8_t mask[16];
};

struct hostspec {
    uint32_t n;
    struct hostspec_entry e[HOSTSPEC_MAX];
};

/* Parse spec (may be empty) into hs, appending to what it holds.  Returns 0,
 * or -1 with a message in err. */
int hostspec_parse(struct hostspec *hs, const char *spec, char *err, size_t errlen);
/* Append one entry (address bytes, family, prefix), for interface addresses. */
int hostspec_append(struct hostspec *hs, int family, const void *addr, unsigned prefix);
enum packet_dir hostspec_direction(const struct hostspec *hs, const struct packet *p);
/* Render entry i as "ADDR/PREFIX". */
size_t hostspec_format(const struct hostspec *hs, uint32_t i, char *buf, size_t size);

/* The entries of each family packed in list order, for the direction of
 * every packet (the pipeline builds one from its hostspec). */
struct hostspec_index {
    uint32_t n4, n6;
    struct {
        uint32_t addr, mask; /* as stored: network order */
    } v4[HOSTSPEC_MAX];
    struct {
        uint64_t addr[2], mask[2];
    } v6[HOSTSPEC_MAX];
};

void hostspec_index_build(struct hostspec_index *ix, const struct hostspec *hs);
/* The IPv6 half of hostspec_index_direction(), out of line: its registers
 * would cost every packet a few saves in the caller. */
enum packet_dir hostspec_index_direction6(const struct hostspec_index *ix, const struct packet *p);

/* hostspec_direction() of the hostspec ix was built from. */
static inline enum packet_dir hostspec_index_direction(const struct hostspec_index *ix,
                                                       const struct packet *p)
{
    if (p->l3 == 4) {
        uint32_t src, dst;
        memcpy(&src, p->src.a.v4, 4);
        memcpy(&dst, p->dst.a.v4, 4);
        for (uint32_t i = 0; i < ix->n4; i++) {
            if (((dst ^ ix->v4[i].addr) & ix->v4[i].mask) == 0)
                return DIR_IN;
            if (((src ^ ix->v4[i].addr) & ix->v4[i].mask) == 0)
                return DIR_OUT;
        }
        return DIR_UNKNOWN;
    }
    if (p->l3 == 6)
        return hostspec_index_direction6(ix, p);
    return DIR_UNKNOWN;
}

#endif
