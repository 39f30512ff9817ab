/*
 * cap_source.c - open a capture source: IFACE resolution, pcap activation,
 * BPF, interface addresses and kernel drop counters.  See cap_source.h.
 */
#define _GNU_SOURCE
#include "cap_source.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "decode.h"
#include "hostspec.h"
#include "log.h"
#include "pcap_mmap.h"

struct cap_iface_addr {
    uint8_t family; /* 4 or 6 */
    uint8_t prefix;
    uint8_t addr[16];
};

struct cap_source {
    pcap_t *pcap;
    bool live;
    bool nsec;
    bool filtered;         /* a BPF filter is installed */
    bool map_tried;        /* a file: read in place if it can be */
    struct pcap_mmap *map; /* ... until it hands over to libpcap */
    int linktype;
    char name[256];
    /* pcap_compile's netmask: the interface's first IPv4 netmask (network
     * byte order), for filters such as "ip broadcast". */
    bpf_u_int32 netmask;
    uint32_t naddrs;
    struct cap_iface_addr addrs[CAP_IFACE_ADDRS_MAX];
    struct pcap_stat last; /* counters at the previous cap_source_stats */
    char warning[PCAP_ERRBUF_SIZE + 64];
};

/* Leading one bits of a netmask (a contiguous mask; stops at the first 0). */
static unsigned mask_prefix(const uint8_t *mask, size_t len)
{
    unsigned n = 0;

    for (size_t i = 0; i < len; i++) {
        uint8_t b = mask[i];
        while (b & 0x80) {
            n++;
            b = (uint8_t)(b << 1);
        }
        if (mask[i] != 0xff)
            break;
    }
    return n;
}

/* The address bytes of sa when it is IPv4 or IPv6; family 4/6, else 0. */
static int sockaddr_bytes(const struct sockaddr *sa, const uint8_t **bytes)
{
    if (sa == NULL)
        return 0;
    if (sa->sa_family == AF_INET) {
        *bytes = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
        return 4;
    }
    if (sa->sa_family == AF_INET6) {
        *bytes = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        return 6;
    }
    return 0;
}

static void copy_addresses(struct cap_source *s, const pcap_if_t *d)
{
    s->netmask = PCAP_NETMASK_UNKNOWN;
    for (const pcap_addr_t *a = d->addresses; a != NULL; a = a->next) {
        const uint8_t *ab = NULL, *mb = NULL;
        int fam = sockaddr_bytes(a->addr, &ab);
        size_t len = fam == 4 ? 4 : 16;
        unsigned prefix = fam == 4 ? 32 : 128;

        if (fam == 0 || s->naddrs >= CAP_IFACE_ADDRS_MAX)
            continue;
        if (sockaddr_bytes(a->netmask, &mb) == fam) {
            prefix = mask_prefix(mb, len);
            if (fam == 4 && s->netmask == PCAP_NETMASK_UNKNOWN)
                memcpy(&s->netmask, mb, 4);
        }
        struct cap_iface_addr *e = &s->addrs[s->naddrs++];
        memset(e, 0, sizeof(*e));
        e->family = (uint8_t)fam;
        e->prefix = (uint8_t)prefix;
        memcpy(e->addr, ab, len);
    }
}

/* "a,b,c": every device libpcap can open, as pktvisor lists them. */
static void list_devices(const pcap_if_t *all, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (const pcap_if_t *d = all; d != NULL && used < size; d = d->next) {
        int n = snprintf(buf + used, size - used, "%s%s", used > 0 ? "," : "", d->name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* SPEC 1.1: IFACE is an IP address of an interface, or its name. */
static int resolve_iface(struct cap_source *s, const char *iface, char *err, size_t errlen)
{
    char pe[PCAP_ERRBUF_SIZE];
    pcap_if_t *all = NULL;
    const pcap_if_t *found = NULL;
    uint8_t want[16];
    int fam = 0;

    if (inet_pton(AF_INET, iface, want) == 1)
        fam = 4;
    else if (inet_pton(AF_INET6, iface, want) == 1)
        fam = 6;

    if (pcap_findalldevs(&all, pe) != 0) {
        err_set(err, errlen, "cannot list interfaces: %s", pe);
        return -1;
    }
    for (const pcap_if_t *d = all; d != NULL && found == NULL; d = d->next) {
        if (fam == 0) {
            if (strcmp(d->name, iface) == 0)
                found = d;
            continue;
        }
        for (const pcap_addr_t *a = d->addresses; a != NULL; a = a->next) {
            const uint8_t *ab;
            if (sockaddr_bytes(a->addr, &ab) == fam && memcmp(ab, want, fam == 4 ? 4 : 16) == 0) {
                found = d;
                break;
            }
        }
    }
    if (found == NULL) {
        if (fam != 0) {
            err_set(err, errlen, "Couldn't find interface by provided IP: %s", iface);
        } else {
            char names[1024];
            list_devices(all, names, sizeof(names));
            err_set(err, errlen,
                    "Couldn't find interface by provided name: \"%s\". Available interfaces: %s",
                    iface, names);
        }
        pcap_freealldevs(all);
        return -1;
    }
    snprintf(s->name, sizeof(s->name), "%s", found->name);
    copy_addresses(s, found);
    pcap_freealldevs(all);
    return 0;
}

/* pcap_activate's failures, in words an operator can act on. */
static void activate_error(const struct cap_source *s, int rc, char *err, size_t errlen)
{
    const char *detail = pcap_geterr(s->pcap);
    const char *sep = detail[0] != '\0' ? ": " : "";

    switch (rc) {
    case PCAP_ERROR_PERM_DENIED:
        err_set(err, errlen,
                "%s: permission denied opening the capture device: you need CAP_NET_RAW "
                "(run as root or grant the capability)%s%s",
                s->name, sep, detail);
        break;
    case PCAP_ERROR_PROMISC_PERM_DENIED:
        err_set(err, errlen,
                "%s: permission denied for promiscuous mode: you need CAP_NET_ADMIN%s%s", s->name,
                sep, detail);
        break;
    case PCAP_ERROR_NO_SUCH_DEVICE:
        err_set(err, errlen, "%s: no such device%s%s", s->name, sep, detail);
        break;
    case PCAP_ERROR_IFACE_NOT_UP:
        err_set(err, errlen, "%s: interface is not up", s->name);
        break;
    default:
        err_set(err, errlen, "%s: cannot start capture: %s%s%s", s->name, pcap_statustostr(rc), sep,
                detail);
        break;
    }
}

static int open_live(struct cap_source *s, const struct cap_source_config *cfg, char *err,
                     size_t errlen)
{
    char pe[PCAP_ERRBUF_SIZE];
    int rc;

    if (resolve_iface(s, cfg->iface, err, errlen) != 0)
        return -1;
    s->live = true;
    pe[0] = '\0';
    s->pcap = pcap_create(s->name, pe);
    if (s->pcap == NULL) {
        err_set(err, errlen, "%s: %s", s->name, pe);
        return -1;
    }
    /* pcap_set_* only fail on an activated handle: nothing to check. */
    pcap_set_snaplen(s->pcap, cfg->snaplen > 0 ? cfg->snaplen : CAP_SNAPLEN_DEFAULT);
    pcap_set_timeout(s->pcap, cfg->timeout_ms > 0 ? cfg->timeout_ms : CAP_TIMEOUT_MS_DEFAULT);
    pcap_set_promisc(s->pcap, cfg->no_promisc ? 0 : 1);
    /* Off on purpose: immediate mode means TPACKET_V2 (see the header). */
    pcap_set_immediate_mode(s->pcap, 0);
    pcap_set_buffer_size(s->pcap,
                         cfg->buffer_size > 0 ? cfg->buffer_size : CAP_BUFFER_SIZE_DEFAULT);
    /* Not every platform has nanosecond stamps; microseconds will do. */
    (void)pcap_set_tstamp_precision(s->pcap, PCAP_TSTAMP_PRECISION_NANO);

    rc = pcap_activate(s->pcap);
    if (rc < 0) {
        activate_error(s, rc, err, errlen);
        return -1;
    }
    if (rc > 0)
        snprintf(s->warning, sizeof(s->warning), "%s: %s: %s", s->name, pcap_statustostr(rc),
                 pcap_geterr(s->pcap));
    if (pcap_setnonblock(s->pcap, 1, pe) != 0) {
        err_set(err, errlen, "%s: cannot set non-blocking mode: %s", s->name, pe);
        return -1;
    }
    return 0;
}

static int open_file(struct cap_source *s, const char *file, char *err, size_t errlen)
{
    char pe[PCAP_ERRBUF_SIZE];

    snprintf(s->name, sizeof(s->name), "%s", file);
    s->netmask = PCAP_NETMASK_UNKNOWN;
    pe[0] = '\0';
    s->pcap = pcap_open_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, pe);
    if (s->pcap == NULL) {
        /* libpcap names the file in some messages and not in others. */
        if (strncmp(pe, file, strlen(file)) == 0)
            err_set(err, errlen, "%s", pe);
        else
            err_set(err, errlen, "%s: %s", file, pe);
        return -1;
    }
    return 0;
}

struct cap_source *cap_source_open(const struct cap_source_config *cfg, char *err, size_t errlen)
{
    struct cap_source *s;
    bool has_iface = cfg->iface != NULL && cfg->iface[0] != '\0';
    bool has_file = cfg->file != NULL && cfg->file[0] != '\0';

    if (has_iface == has_file) {
        err_set(err, errlen, "a capture source needs exactly one of an interface and a file");
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        err_set(err, errlen, "out of memory");
        return NULL;
    }
    if ((has_iface ? open_live(s, cfg, err, errlen) : open_file(s, cfg->file, err, errlen)) != 0)
        goto fail;

    s->linktype = pcap_datalink(s->pcap);
    s->nsec = pcap_get_tstamp_precision(s->pcap) == PCAP_TSTAMP_PRECISION_NANO;
    if (!decode_linktype_supported(s->linktype)) {
        const char *lname = pcap_datalink_val_to_name(s->linktype);
        err_set(err, errlen, "%s: unsupported link type %d (%s)", s->name, s->linktype,
                lname != NULL ? lname : "unknown");
        goto fail;
    }
    if (cap_source_set_filter(s, cfg->bpf, err, errlen) != 0)
        goto fail;
    if (has_iface && cfg->fanout_group != 0) {
        int arg = cfg->fanout_group | PACKET_FANOUT_HASH << 16;
        if (setsockopt(pcap_fileno(s->pcap), SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) != 0) {
            err_set(err, errlen, "%s: PACKET_FANOUT: %s", s->name, strerror(errno));
            goto fail;
        }
    }
    return s;

fail:
    cap_source_close(&s);
    return NULL;
}

void cap_source_close(struct cap_source **src)
{
    if (src == NULL || *src == NULL)
        return;
    pcap_mmap_close(&(*src)->map);
    if ((*src)->pcap != NULL)
        pcap_close((*src)->pcap);
    free(*src);
    *src = NULL;
}

int cap_source_set_filter(struct cap_source *src, const char *bpf, char *err, size_t errlen)
{
    struct bpf_program prog;

    if (bpf == NULL || bpf[0] == '\0')
        return 0;
    if (pcap_compile(src->pcap, &prog, bpf, 1, src->netmask) != 0) {
        err_set(err, errlen, "invalid BPF filter '%s': %s", bpf, pcap_geterr(src->pcap));
        return -1;
    }
    if (pcap_setfilter(src->pcap, &prog) != 0) {
        err_set(err, errlen, "invalid BPF filter '%s': %s", bpf, pcap_geterr(src->pcap));
        pcap_freecode(&prog);
        return -1;
    }
    pcap_freecode(&prog);
    src->filtered = true;
    return 0;
}

int cap_source_iface_hosts(const struct cap_source *src, struct hostspec *hs, char *err,
                           size_t errlen)
{
    int n = 0;

    for (uint32_t i = 0; i < src->naddrs; i++) {
        const struct cap_iface_addr *a = &src->addrs[i];
        if (hostspec_append(hs, a->family, a->addr, a->prefix) != 0) {
            err_set(err, errlen, "%s: too many host CIDRs (at most %d)", src->name, HOSTSPEC_MAX);
            return -1;
        }
        n++;
    }
    return n;
}

/* A counter delta modulo 2^32; "backwards" (above 2^31) is a reset. */
static uint64_t counter_delta(u_int now, u_int before)
{
    uint32_t d = (uint32_t)now - (uint32_t)before;

    return d > UINT32_C(0x80000000) ? 0 : d;
}

int cap_source_stats(struct cap_source *src, struct cap_source_stats *out, char *err, size_t errlen)
{
    struct pcap_stat ps;

    memset(out, 0, sizeof(*out));
    if (!src->live) {
        err_set(err, errlen, "%s: no kernel statistics for a capture file", src->name);
        return -1;
    }
    memset(&ps, 0, sizeof(ps));
    if (pcap_stats(src->pcap, &ps) != 0) {
        err_set(err, errlen, "%s: pcap_stats: %s", src->name, pcap_geterr(src->pcap));
        return -1;
    }
    out->recv = counter_delta(ps.ps_recv, src->last.ps_recv);
    out->drop = counter_delta(ps.ps_drop, src->last.ps_drop);
    out->ifdrop = counter_delta(ps.ps_ifdrop, src->last.ps_ifdrop);
    src->last = ps;
    return 0;
}

int cap_source_file_dispatch(struct cap_source *src, int cnt, pcap_handler cb, u_char *user)
{
    /* In place unless libpcap has a filter to run on each record. */
    if (!src->map_tried && !src->live && !src->filtered) {
        src->map = pcap_mmap_open_fd(fileno(pcap_file(src->pcap)));
        if (src->map != NULL && pcap_mmap_linktype(src->map) != src->linktype)
            pcap_mmap_close(&src->map);
    }
    src->map_tried = true;
    if (src->map == NULL)
        return pcap_dispatch(src->pcap, cnt, cb, user);
    struct pcap_mmap_rec r;
    int n = 0, rc = 0;
    while (n < cnt && (rc = pcap_mmap_next(src->map, &r)) > 0) {
        struct pcap_pkthdr h = {.caplen = r.caplen, .len = r.len};
        h.ts.tv_sec = (time_t)r.sec;
        h.ts.tv_usec = (suseconds_t)(src->nsec ? r.nsec : r.nsec / 1000);
        cb(user, &h, r.data);
        n++;
    }
    if (rc >= 0 || n > 0)
        return n;
    /* What the map would not take, libpcap judges, from the same record. */
    struct pcap_pkthdr *hdr;
    const u_char *data;
    for (uint64_t k = pcap_mmap_count(src->map); k > 0; k--)
        if (pcap_next_ex(src->pcap, &hdr, &data) != 1)
            return PCAP_ERROR;
    pcap_mmap_close(&src->map);
    return pcap_dispatch(src->pcap, cnt, cb, user);
}

bool cap_source_is_live(const struct cap_source *src)
{
    return src->live;
}

const char *cap_source_name(const struct cap_source *src)
{
    return src->name;
}

int cap_source_linktype(const struct cap_source *src)
{
    return src->linktype;
}

bool cap_source_nsec(const struct cap_source *src)
{
    return src->nsec;
}

const char *cap_source_warning(const struct cap_source *src)
{
    return src->warning;
}

pcap_t *cap_source_pcap(struct cap_source *src)
{
    return src->pcap;
}
