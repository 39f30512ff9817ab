#include "dns_qname.h"

/* Index of the last '.' in name[0, end), or -1. */
static long last_dot(const char *name, long end)
{
    for (long i = end - 1; i >= 0; i--)
        if (name[i] == '.')
            return i;
    return -1;
}

void dns_qname_levels(const char *name, size_t len, struct strref *q2, struct strref *q3)
{
    *q2 = (struct strref){name, len};
    *q3 = (struct strref){name, 0};
    if (len < 5)
        return;
    /* One trailing dot is ignored when locating the dots. */
    long end = name[len - 1] == '.' ? (long)len - 1 : (long)len;
    long d1 = last_dot(name, end);
    if (d1 <= 0) {
        /* pktvisor's quirk: a single label of 5+ bytes lands in both. */
        q3->len = len;
        return;
    }
    long d2 = last_dot(name, d1);
    if (d2 < 0)
        return;
    *q2 = (struct strref){name + d2, len - (size_t)d2};
    long d3 = last_dot(name, d2);
    if (d3 < 0)
        *q3 = (struct strref){name, len};
    else
        *q3 = (struct strref){name + d3, len - (size_t)d3};
}

void dns_question_levels(const struct dns_question *q, struct strref *q2, struct strref *q3)
{
    /* An escaped name may hold '.' that are no separators, and
     * dns_qname_levels counts those too: let it decide. */
    if (q->escaped)
        dns_qname_levels(q->name, q->name_len, q2, q3);
    else
        dns_qname_levels_seps(q->name, q->name_len, q->seps, q->nseps, q2, q3);
}
