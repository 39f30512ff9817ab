/*
 * geo.h - GeoIP City and ASN lookups through libmaxminddb.
 *
 * geo_open() opens a MaxMind database and checks its type against what the
 * caller asked for (a City database for --geo-city, an ASN or ISP database
 * for --geo-asn).  Lookups render pktvisor's strings:
 *   city: continent.code "/" country English name (or ISO code) "/" first
 *         subdivision ISO code "/" city English name, each part appended
 *         only if present ("EU/Sweden/E/Linköping", "EU/Russia");
 *   asn:  autonomous_system_number "/" autonomous_system_organization
 *         ("1221/Telstra Pty Ltd");
 *   "Unknown" when the address is not in the database.
 *
 * Ownership: geo_open() returns a handle owned by the caller, released by
 * geo_close(), which NULLs the pointer.  The database file is mmap'ed by
 * libmaxminddb and read-only, so lookups from one thread need no locking;
 * swapping handles on reload is the caller's business (liburcu in the
 * aggregator).
 */
#ifndef PKTVISOR_GEO_H
#define PKTVISOR_GEO_H

#include <stddef.h>

#include "decode.h"

enum geo_kind { GEO_CITY, GEO_ASN };

struct geo;

/* Returns NULL with a message in err ("FILE: <reason>") on failure. */
struct geo *geo_open(const char *path, enum geo_kind kind, char *err, size_t errlen);
void geo_close(struct geo **g);

/* Render the string for address a into buf (always NUL-terminated).
 * Returns its length; "Unknown" when not found. */
size_t geo_lookup(const struct geo *g, const struct ip_addr *a, char *buf, size_t size);

#endif
