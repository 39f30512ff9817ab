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

#include <stdint.h>

struct pcap_mmap;

struct pcap_mmap_rec {
    int64_t sec, nsec;
    uint32_t caplen, len;
    const uint8_t *data;
};

/* NULL when the file is not a plain classic pcap file or cannot be mapped
 * (the caller reads it with libpcap). */
struct pcap_mmap *pcap_mmap_open(const char *path);
/* The same from an open descriptor (the caller keeps it). */
struct pcap_mmap *pcap_mmap_open_fd(int fd);
/* 1 with the next record in *r; 0 at the end of the file, exactly after a
 * record; -1 when libpcap should judge what follows. */
int pcap_mmap_next(struct pcap_mmap *m, struct pcap_mmap_rec *r);
/* Records handed out so far. */
uint64_t pcap_mmap_count(const struct pcap_mmap *m);
/* The link type in the file header. */
int pcap_mmap_linktype(const struct pcap_mmap *m);
void pcap_mmap_close(struct pcap_mmap **m);

#endif
