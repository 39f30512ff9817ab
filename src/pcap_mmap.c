/*
 * pcap_mmap.c - classic pcap records read where they lie.  See pcap_mmap.h.
 */
#include "pcap_mmap.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_HDR 24
#define REC_HDR  PCAP_MMAP_REC_HDR
/* libpcap refuses records longer than this for the link types we decode. */
#define MAX_CAPLEN 262144u

/* Read pages are given back every this many bytes, so the mapping does not
 * grow the resident set to the size of the file (they stay in the page
 * cache; giving them back only unmaps them). */
#define DROP_EVERY ((size_t)4 << 20)

static uint32_t u32(const struct pcap_mmap *m, const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return m->swapped ? __builtin_bswap32(v) : v;
}

static void set_fast_end(struct pcap_mmap *m)
{
    size_t end = m->size - REC_HDR + 1; /* size >= FILE_HDR */
    if (end > m->dropped + DROP_EVERY)
        end = m->dropped + DROP_EVERY;
    m->fast_end = m->swapped ? 0 : end;
}

struct pcap_mmap *pcap_mmap_open(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct pcap_mmap *m = pcap_mmap_open_fd(fd);
    close(fd);
    return m;
}

struct pcap_mmap *pcap_mmap_open_fd(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < FILE_HDR)
        return NULL;
    void *base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (base == MAP_FAILED)
        return NULL;
    struct pcap_mmap *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        munmap(base, (size_t)st.st_size);
        return NULL;
    }
    m->base = base;
    m->size = (size_t)st.st_size;
    m->pos = FILE_HDR;
    m->nsec_mul = 1000;
    uint32_t magic;
    memcpy(&magic, m->base, 4);
    switch (magic) {
    case 0xa1b2c3d4:
        break;
    case 0xa1b23c4d:
        m->nsec_mul = 1;
        break;
    case 0xd4c3b2a1:
        m->swapped = true;
        break;
    case 0x4d3cb2a1:
        m->swapped = true;
        m->nsec_mul = 1;
        break;
    default: /* pcapng or not a capture: libpcap's business */
        pcap_mmap_close(&m);
        return NULL;
    }
    /* The link type is the low 16 bits (the rest carries FCS flags). */
    m->linktype = (int)(u32(m, m->base + 20) & 0xffff);
    m->snaplen = u32(m, m->base + 16);
    if (m->snaplen == 0 || m->snaplen > MAX_CAPLEN)
        m->snaplen = MAX_CAPLEN;
    madvise((void *)m->base, m->size, MADV_SEQUENTIAL);
    set_fast_end(m);
    return m;
}

int pcap_mmap_next_slow(struct pcap_mmap *m, struct pcap_mmap_rec *r)
{
    if (m->pos == m->size)
        return 0;
    if (m->size - m->pos < REC_HDR)
        return -1;
    if (m->pos - m->dropped >= DROP_EVERY) {
        /* Up to the page of this record: earlier records were consumed. */
        size_t upto = m->pos & ~(size_t)4095;
        madvise((void *)(m->base + m->dropped), upto - m->dropped, MADV_DONTNEED);
        m->dropped = upto;
        set_fast_end(m);
    }
    return pcap_mmap_take(m, r, m->swapped);
}

uint64_t pcap_mmap_count(const struct pcap_mmap *m)
{
    return m->count;
}

int pcap_mmap_linktype(const struct pcap_mmap *m)
{
    return m->linktype;
}

void pcap_mmap_close(struct pcap_mmap **m)
{
    if (m == NULL || *m == NULL)
        return;
    munmap((void *)(*m)->base, (*m)->size);
    free(*m);
    *m = NULL;
}
