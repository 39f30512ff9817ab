/*
 * dns_qname.h - pktvisor's qname2/qname3 aggregation (SPEC 4.2).
 *
 * Both results are substrings of the name: "www.google.com" gives
 * ".google.com" and "www.google.com"; "a.www.google.com" gives
 * ".google.com" and ".www.google.com"; "google.com" gives "google.com" and
 * nothing.  A qname3 of length 0 means "not recorded".  Pure function.
 */
#ifndef PKTVISOR_DNS_QNAME_H
#define PKTVISOR_DNS_QNAME_H

#include <stddef.h>

#include "dns.h"

struct strref {
    const char *s;
    size_t len;
};

void dns_qname_levels(const char *name, size_t len, struct strref *qname2, struct strref *qname3);

/* The same cut of a parsed question's name, from the separators the parser
 * noted (no second scan of the name). */
void dns_question_levels(const struct dns_question *q, struct strref *qname2,
                         struct strref *qname3);

#endif
