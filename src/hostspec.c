/*
 * hostspec.c - parse -H host CIDR lists and classify packet direction.
 */
#include "hostspec.h"
#include "log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void make_mask(uint8_t mask[16], unsigned prefix)
{
    memset(mask, 0, 16);
    for (unsigned i = 0; i < 16 && prefix > 0; i++) {
        unsigned bits = prefix >= 8 ? 8 : prefix;
        mask[i] = (uint8_t)(0xffu << (8 - bits));
        prefix -= bits;
    }
}

int hostspec_append(struct hostspec *hs, int family, const void *addr, unsigned prefix)
{
    struct hostspec_entry *e;
    size_t len;

    if (family == 4) {
        len = 4;
        if (prefix > 32)
            prefix = 32;
    } else if (family == 6) {
        len = 16;
        if (prefix > 128)
            return -1;
    } else {
        return -1;
    }
    if (hs->n >= HOSTSPEC_MAX)
        return -1;

    e = &hs->e[hs->n];
    memset(e, 0, sizeof(*e));
    e->family = (uint8_t)family;
    e->prefix = (uint8_t)prefix;
    memcpy(e->addr, addr, len);
    make_mask(e->mask, prefix);
    hs->n++;
    return 0;
}

/* Parse a decimal prefix length, all of s[0..len); saturates instead of
 * overflowing so "/99999999999" clamps like any other large IPv4 prefix. */
static int parse_prefix(const char *s, size_t len, long *out)
{
    char buf[32];
    char *end;
    long v;

    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (!isdigit((unsigned char)buf[0]) && !(buf[0] == '-' || buf[0] == '+'))
        return -1;
    v = strtol(buf, &end, 10);
    if (end == buf || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int parse_entry(struct hostspec *hs, const char *s, size_t len, char *err, size_t errlen)
{
    const char *slash = NULL;
    char abuf[INET6_ADDRSTRLEN + 1];
    uint8_t addr[16];
    bool v6 = memchr(s, ':', len) != NULL;
    size_t alen;
    long prefix;
    int n_slash = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] == '/') {
            if (slash == NULL)
                slash = s + i;
            n_slash++;
        }
    }
    if (len == 0) {
        err_set(err, errlen, "invalid CIDR: empty entry (expected ADDRESS/PREFIX)");
        return -1;
    }
    if (n_slash != 1) {
        err_set(err, errlen, "invalid CIDR: %.*s (expected ADDRESS/PREFIX)", (int)len, s);
        return -1;
    }

    alen = (size_t)(slash - s);
    /* Anything longer than the longest textual address cannot be valid. */
    if (alen < sizeof(abuf)) {
        memcpy(abuf, s, alen);
        abuf[alen] = '\0';
    }
    if (alen >= sizeof(abuf) || inet_pton(v6 ? AF_INET6 : AF_INET, abuf, addr) != 1) {
        err_set(err, errlen, "invalid %s address: %.*s", v6 ? "IPv6" : "IPv4", (int)alen, s);
        return -1;
    }

    if (parse_prefix(slash + 1, len - alen - 1, &prefix) != 0) {
        err_set(err, errlen, "invalid prefix length in CIDR: %.*s", (int)len, s);
        return -1;
    }
    if (v6) {
        if (prefix < 0 || prefix > 128) {
            err_set(err, errlen, "IPv6 prefix length out of range 0..128 in CIDR: %.*s", (int)len,
                    s);
            return -1;
        }
    } else if (prefix < 0) {
        prefix = 0;
    } else if (prefix > 32) {
        prefix = 32;
    }

    if (hostspec_append(hs, v6 ? 6 : 4, addr, (unsigned)prefix) != 0) {
        err_set(err, errlen, "too many host CIDRs (at most %d)", HOSTSPEC_MAX);
        return -1;
    }
    return 0;
}

int hostspec_parse(struct hostspec *hs, const char *spec, char *err, size_t errlen)
{
    uint32_t n0 = hs->n;
    const char *p = spec != NULL ? spec : "";

    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma != NULL ? comma : p + strlen(p);
        const char *b = p;
        const char *e = end;

        while (b < e && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            e--;

        /* pktvisor's split dropped a trailing empty piece ("a/8," or ""). */
        if (comma == NULL && b == e)
            break;
        if (parse_entry(hs, b, (size_t)(e - b), err, errlen) != 0) {
            hs->n = n0; /* all or nothing */
            return -1;
        }
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return 0;
}

void hostspec_index_build(struct hostspec_index *ix, const struct hostspec *hs)
{
    ix->n4 = ix->n6 = 0;
    for (uint32_t i = 0; i < hs->n; i++) {
        const struct hostspec_entry *e = &hs->e[i];
        if (e->family == 4) {
            memcpy(&ix->v4[ix->n4].addr, e->addr, 4);
            memcpy(&ix->v4[ix->n4].mask, e->mask, 4);
            ix->n4++;
        } else if (e->family == 6) {
            memcpy(ix->v6[ix->n6].addr, e->addr, 16);
            memcpy(ix->v6[ix->n6].mask, e->mask, 16);
            ix->n6++;
        }
    }
}

enum packet_dir hostspec_index_direction6(const struct hostspec_index *ix, const struct packet *p)
{
    uint64_t src[2], dst[2];
    memcpy(src, p->src.a.v6, 16);
    memcpy(dst, p->dst.a.v6, 16);
    for (uint32_t i = 0; i < ix->n6; i++) {
        const uint64_t *a = ix->v6[i].addr, *m = ix->v6[i].mask;
        if ((((dst[0] ^ a[0]) & m[0]) | ((dst[1] ^ a[1]) & m[1])) == 0)
            return DIR_IN;
        if ((((src[0] ^ a[0]) & m[0]) | ((src[1] ^ a[1]) & m[1])) == 0)
            return DIR_OUT;
    }
    return DIR_UNKNOWN;
}

/* For callers that classify now and then; the per-packet path keeps an
 * index. */
enum packet_dir hostspec_direction(const struct hostspec *hs, const struct packet *p)
{
    struct hostspec_index ix;
    hostspec_index_build(&ix, hs);
    return hostspec_index_direction(&ix, p);
}

size_t hostspec_format(const struct hostspec *hs, uint32_t i, char *buf, size_t size)
{
    char abuf[INET6_ADDRSTRLEN];
    const struct hostspec_entry *e;
    int n;

    if (size == 0)
        return 0;
    buf[0] = '\0';
    if (i >= hs->n)
        return 0;
    e = &hs->e[i];
    if (inet_ntop(e->family == 6 ? AF_INET6 : AF_INET, e->addr, abuf, sizeof(abuf)) == NULL)
        return 0;
    n = snprintf(buf, size, "%s/%u", abuf, (unsigned)e->prefix);
    if (n < 0)
        return 0;
    return (size_t)n < size ? (size_t)n : size - 1;
}
