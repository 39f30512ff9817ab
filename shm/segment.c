/*
 * segment.c - memfd segments (see segment.h for the theory of operation).
 */
#define _GNU_SOURCE /* memfd_create, F_ADD_SEALS */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"
#include "log.h"
#include "metric.h"
#include "segment.h"

static struct segment *segment_wrap(int fd, size_t size, bool writable, char *err, size_t errlen)
{
    struct segment *s = calloc(1, sizeof(*s));
    int prot = PROT_READ | (writable ? PROT_WRITE : 0);

    if (s == NULL) {
        err_set(err, errlen, "segment: out of memory");
        return NULL;
    }
    s->base = mmap(NULL, size, prot, MAP_SHARED, fd, 0);
    if (s->base == MAP_FAILED) {
        err_set(err, errlen, "segment: mmap %zu bytes: %s", size, strerror(errno));
        free(s);
        return NULL;
    }
    s->fd = fd;
    s->size = size;
    s->writable = writable;
    return s;
}

struct segment *segment_create(const char *name, size_t size, enum segment_kind kind,
                               uint64_t schema_hash, char *err, size_t errlen)
{
    long page = sysconf(_SC_PAGESIZE);
    struct segment *s;
    struct segment_hdr *h;
    int fd;

    if (page <= 0)
        page = 4096;
    if (size < SEGMENT_PAYLOAD_OFF || size > SIZE_MAX - (size_t)page) {
        err_set(err, errlen, "segment %s: bad size %zu", name, size);
        return NULL;
    }
    size = (size + (size_t)page - 1) / (size_t)page * (size_t)page;

    fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd == -1) {
        err_set(err, errlen, "segment %s: memfd_create: %s", name, strerror(errno));
        return NULL;
    }
    if (ftruncate(fd, (off_t)size) == -1) {
        err_set(err, errlen, "segment %s: ftruncate %zu: %s", name, size, strerror(errno));
        close(fd);
        return NULL;
    }
    /* Fixed size from now on: a child that shrank it would SIGBUS the others. */
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == -1) {
        err_set(err, errlen, "segment %s: sealing: %s", name, strerror(errno));
        close(fd);
        return NULL;
    }
    s = segment_wrap(fd, size, true, err, errlen);
    if (s == NULL) {
        close(fd);
        return NULL;
    }
    /* The memfd is zero-filled; only the header needs values. */
    h = segment_hdr(s);
    h->magic = SEGMENT_MAGIC;
    h->layout_version = SEGMENT_LAYOUT_VERSION;
    h->kind = (uint32_t)kind;
    h->schema_hash = schema_hash;
    h->size = size;
    h->payload_off = SEGMENT_PAYLOAD_OFF;
    atomic_store_explicit(&h->writer_pid, (int32_t)getpid(), memory_order_relaxed);
    atomic_store_explicit(&h->generation, 1, memory_order_release);
    return s;
}

struct segment *segment_map(int fd, bool writable, char *err, size_t errlen)
{
    struct segment *s;
    struct stat st;
    int own;

    if (fstat(fd, &st) == -1) {
        err_set(err, errlen, "segment fd %d: fstat: %s", fd, strerror(errno));
        return NULL;
    }
    if (st.st_size < (off_t)SEGMENT_PAYLOAD_OFF) {
        err_set(err, errlen, "segment fd %d: %jd bytes, smaller than a segment header", fd,
                (intmax_t)st.st_size);
        return NULL;
    }
    if ((uintmax_t)st.st_size > SIZE_MAX) {
        err_set(err, errlen, "segment fd %d: too large to map", fd);
        return NULL;
    }
    own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own == -1) {
        err_set(err, errlen, "segment fd %d: dup: %s", fd, strerror(errno));
        return NULL;
    }
    s = segment_wrap(own, (size_t)st.st_size, writable, err, errlen);
    if (s == NULL)
        close(own);
    return s;
}

static const char *kind_name(uint32_t kind)
{
    switch (kind) {
    case SEGMENT_KIND_NONE:
        return "none";
    case SEGMENT_KIND_RING:
        return "packet ring";
    case SEGMENT_KIND_METRIC:
        return "metric";
    case SEGMENT_KIND_TEST:
        return "test";
    }
    return "unknown";
}

int segment_validate(const struct segment *s, enum segment_kind kind, uint64_t schema_hash,
                     char *err, size_t errlen)
{
    const struct segment_hdr *h = segment_hdr(s);

    if (s->size < SEGMENT_PAYLOAD_OFF) {
        err_set(err, errlen, "segment: %zu bytes, smaller than a header", s->size);
        return -1;
    }
    if (h->magic != SEGMENT_MAGIC) {
        err_set(err, errlen, "segment: bad magic 0x%016" PRIx64 " (not a pktvisor segment)",
                h->magic);
        return -1;
    }
    if (h->layout_version != SEGMENT_LAYOUT_VERSION) {
        err_set(err, errlen, "segment: layout version %" PRIu32 ", this build reads %u",
                h->layout_version, SEGMENT_LAYOUT_VERSION);
        return -1;
    }
    if (h->kind != (uint32_t)kind) {
        err_set(err, errlen, "segment: kind %s (%" PRIu32 "), expected %s (%u)", kind_name(h->kind),
                h->kind, kind_name((uint32_t)kind), (unsigned)kind);
        return -1;
    }
    if (h->schema_hash != schema_hash) {
        err_set(err, errlen,
                "segment: schema hash %016" PRIx64 ", this build has %016" PRIx64
                " (written by a different build)",
                h->schema_hash, schema_hash);
        return -1;
    }
    if (h->size != s->size) {
        err_set(err, errlen, "segment: header says %" PRIu64 " bytes, mapping has %zu", h->size,
                s->size);
        return -1;
    }
    if (h->payload_off != SEGMENT_PAYLOAD_OFF) {
        err_set(err, errlen, "segment: payload offset %" PRIu64 ", expected %u", h->payload_off,
                SEGMENT_PAYLOAD_OFF);
        return -1;
    }
    return 0;
}

struct segment *segment_attach(int fd, bool writable, enum segment_kind kind, uint64_t schema_hash,
                               char *err, size_t errlen)
{
    struct segment *s = segment_map(fd, writable, err, errlen);

    if (s == NULL)
        return NULL;
    if (segment_validate(s, kind, schema_hash, err, errlen) == -1) {
        segment_free(&s);
        return NULL;
    }
    return s;
}

uint64_t segment_claim_writer(struct segment *s)
{
    struct segment_hdr *h = segment_hdr(s);

    assert(s->writable);
    atomic_store_explicit(&h->writer_pid, (int32_t)getpid(), memory_order_relaxed);
    return atomic_fetch_add_explicit(&h->generation, 1, memory_order_acq_rel) + 1;
}

void segment_free(struct segment **sp)
{
    struct segment *s = *sp;

    if (s == NULL)
        return;
    munmap(s->base, s->size);
    close(s->fd);
    free(s);
    *sp = NULL;
}

uint64_t segment_schema_hash(const struct metric_table *t)
{
    uint64_t h = HASH_SEED;
    uint64_t v;

    h = hash64(t->schema_key, strlen(t->schema_key) + 1, h);
    v = (uint64_t)t->bucket_size;
    h = hash64(&v, sizeof(v), h);
    v = (uint64_t)t->count;
    h = hash64(&v, sizeof(v), h);
    for (size_t i = 0; i < t->count; i++) {
        const struct metric_desc *m = &t->metrics[i];

        v = ((uint64_t)m->kind << 32) | m->offset;
        h = hash64(&v, sizeof(v), h);
        h = hash64(m->path, strlen(m->path) + 1, h);
    }
    return h;
}
