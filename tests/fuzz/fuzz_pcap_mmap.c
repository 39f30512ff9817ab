/*
 * fuzz_pcap_mmap.c - libFuzzer target for the in-place pcap reader
 * (src/pcap_mmap.h): any bytes as a capture file.  Every record handed out
 * must lie inside the file, the walk must end (0) or hand over (-1), and
 * never read past the mapping (ASan).
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pcap_mmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz_pcap_mmap", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (size > 0 && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    struct pcap_mmap *m = pcap_mmap_open_fd(fd);
    close(fd);
    if (m == NULL)
        return 0;
    struct pcap_mmap_rec r;
    uint64_t n = 0, bytes = 0;
    int rc;
    while ((rc = pcap_mmap_next(m, &r)) > 0) {
        /* Touch the first and last byte: ASan reports a record past the end. */
        if (r.caplen > 0)
            bytes += (uint64_t)r.data[0] + r.data[r.caplen - 1];
        /* Each record costs at least its 16-byte header. */
        if (++n * 16 > size)
            abort();
    }
    if (rc != 0 && rc != -1)
        abort();
    if (pcap_mmap_count(m) != n)
        abort();
    pcap_mmap_close(&m);
    return bytes == UINT64_MAX; /* keeps the reads */
}
