/*
 * cap_spread.c - a file frame's worker: symmetric hash of its IP addresses.
 * See cap_spread.h.
 */
#include "cap_spread.h"

#include <stdbool.h>
#include <string.h>

#include "decode.h"
#include "hash.h"

static uint16_t be16_at(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* The ports of an unfragmented TCP or UDP header at l4, or false. */
static bool ports_at(const uint8_t *f, uint32_t caplen, uint32_t l4, uint8_t proto, uint16_t *sp,
                     uint16_t *dp)
{
    if ((proto != 6 && proto != 17) || caplen < l4 + 4)
        return false;
    *sp = be16_at(f + l4);
    *dp = be16_at(f + l4 + 2);
    return true;
}

unsigned cap_spread_worker(int linktype, const uint8_t *frame, uint32_t caplen, unsigned n)
{
    uint32_t off = 0;
    uint16_t vlans = 0;
    if (n <= 1)
        return 0;
    int version = decode_link_ip(linktype, frame, caplen, &off, &vlans);
    size_t alen = version == 4 ? 4 : 16, at = version == 4 ? 12 : 8;
    if ((version != 4 && version != 6) || caplen < off + at + 2 * alen)
        return 0;
    const uint8_t *ip = frame + off;
    uint8_t proto;
    uint16_t sp = 0, dp = 0;
    bool ports;
    if (version == 4) {
        /* A fragment (more to come, or an offset) has no ports to hash. */
        bool frag = (be16_at(ip + 6) & 0x3fff) != 0;
        proto = ip[9];
        ports =
            !frag && ports_at(frame, caplen, off + (uint32_t)(ip[0] & 0x0f) * 4, proto, &sp, &dp);
    } else {
        proto = ip[6]; /* extension headers (a fragment header among them): addresses only */
        ports = ports_at(frame, caplen, off + 40, proto, &sp, &dp);
    }
    /* XOR of the two endpoints is the same in both directions; a mix of
     * it picks the worker (cheap: the reader does this for every frame). */
    uint64_t x = 0;
    for (size_t i = 0; i < alen; i += 4) {
        uint32_t wa, wb;
        memcpy(&wa, ip + at + i, 4);
        memcpy(&wb, ip + at + alen + i, 4);
        x = (x << 32 | x >> 32) ^ (wa ^ wb);
    }
    x ^= (uint64_t)proto << 40 ^ (uint64_t)(ports ? sp ^ dp : 0) << 48;
    uint64_t h = hash_mix64(x);
    return (unsigned)(((h >> 32) * n) >> 32);
}
