/*
 * pcap_mmap.h - classic pcap files read in place, for pktvisor-pcap's loop
 * and the capture process of a file tap.
 *
 * libpcap copies every record of a savefile through stdio into its own
 * buffer; for a summary that reads each byte once that copy is a large
 * part of the cost per packet.  This reader maps the file and hands out
 * records where they lie.  It only takes the plain case: classic pcap
 * (either byte order, micro- or nanosecond timestamps) whose records are
 * all whole and no longer than libpcap accepts.  Anything else - pcapng,
 * a record cut by the end of the file, an impossible length - is left to
 * libpcap: pcap_mmap_open() returns NULL, or pcap_mmap_next() returns -1
 * and the caller lets libpcap read on from record pcap_mmap_count(), so
 * messages and limits stay libpcap's.
 *
 * Ownership: pcap_mmap_open() returns an object owned by the caller;
 * pcap_mmap_close() unmaps it (record pointers die with it) and NULLs the
 * pointer.  A record's data is valid until the next pcap_mmap_next(),
 * which may give earlier pages back (the resident set stays small however
 * large the file).  One thread.
 */
#ifndef PKTVISOR_PCAP_MMAP_H
#define PKTVISOR_PCAP_MMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct pcap_mmap_rec {
    int64_t sec, nsec;
    uint32_t caplen, len;
    const uint8_t *data;
};

/* Private to pcap_mmap.c but for pcap_mmap_next(), inline: it runs for
 * every record. */
struct pcap_mmap {
    const uint8_t *base;
    size_t size, pos;
    /* A record header at pos below this lies in the file, no pages are due
     * to be given back and the file is in our byte order (0: never so). */
    size_t fast_end;
    uint64_t count;
    bool swapped;
    uint32_t nsec_mul; /* 1 for nanosecond timestamps, 1000 for micro */
    int linktype;
    uint32_t snaplen; /* longer records: libpcap cuts them to this */
    size_t dropped;   /* pages before this offset were given back */
};

#define PCAP_MMAP_REC_HDR 16

/* NULL when the file is not a plain classic pcap file or cannot be mapped
 * (the caller reads it with libpcap). */
struct pcap_mmap *pcap_mmap_open(const char *path);
/* The same from an open descriptor (the caller keeps it). */
struct pcap_mmap *pcap_mmap_open_fd(int fd);
/* pcap_mmap_next() past its common case: the end of the file, pages to
 * give back, a swapped file. */
int pcap_mmap_next_slow(struct pcap_mmap *m, struct pcap_mmap_rec *r);

/* The record whose header lies at m->pos, in the file's byte order swap. */
static inline int pcap_mmap_take(struct pcap_mmap *m, struct pcap_mmap_rec *r, bool swap)
{
    const uint8_t *h = m->base + m->pos;
    uint32_t f[4]; /* sec, usec or nsec, caplen, len */
    memcpy(f, h, sizeof(f));
    if (swap)
        for (int i = 0; i < 4; i++)
            f[i] = __builtin_bswap32(f[i]);
    uint32_t caplen = f[2];
    if (caplen > m->snaplen || m->size - m->pos - PCAP_MMAP_REC_HDR < caplen)
        return -1;
    r->sec = f[0];
    r->nsec = (int64_t)f[1] * m->nsec_mul;
    r->caplen = caplen;
    r->len = f[3];
    r->data = h + PCAP_MMAP_REC_HDR;
    m->pos += PCAP_MMAP_REC_HDR + caplen;
    m->count++;
    return 1;
}

/* 1 with the next record in *r; 0 at the end of the file, exactly after a
 * record; -1 when libpcap should judge what follows. */
static inline int pcap_mmap_next(struct pcap_mmap *m, struct pcap_mmap_rec *r)
{
    if (__builtin_expect(m->pos < m->fast_end, 1))
        return pcap_mmap_take(m, r, false);
    /* through a copy: *r then need not live in memory in the caller */
    struct pcap_mmap_rec t;
    int rc = pcap_mmap_next_slow(m, &t);
    if (rc > 0)
        *r = t;
    return rc;
}
/* Records handed out so far. */
uint64_t pcap_mmap_count(const struct pcap_mmap *m);
/* The link type in the file header. */
int pcap_mmap_linktype(const struct pcap_mmap *m);
void pcap_mmap_close(struct pcap_mmap **m);

#endif
