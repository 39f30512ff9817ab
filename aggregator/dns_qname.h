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

/* The same cut of an unescaped name (every '.' a separator) from its last
 * separators: offsets in name, newest last, nseps of them valid (up to 3),
 * as struct dns_question and struct dns_name_ref note them.  No scan;
 * inline, it is on the packet path. */
static inline void dns_qname_levels_seps(const char *name, size_t len, const uint16_t seps[3],
                                         unsigned nseps, struct strref *q2, struct strref *q3)
{
    *q2 = (struct strref){name, len};
    *q3 = (struct strref){name, 0};
    if (len < 5)
        return;
    /* Unescaped, the text ends with a label (never '.') and every '.' in
     * it is a separator: the dots dns_qname_levels would find. */
    if (nseps == 0) {
        q3->len = len;
        return;
    }
    if (nseps < 2)
        return;
    size_t d2 = seps[1];
    *q2 = (struct strref){name + d2, len - d2};
    if (nseps < 3)
        *q3 = (struct strref){name, len};
    else
        *q3 = (struct strref){name + seps[0], len - seps[0]};
}

/* The cut of a parsed question's name (either way, as it allows). */
void dns_question_levels(const struct dns_question *q, struct strref *qname2,
                         struct strref *qname3);

#endif
