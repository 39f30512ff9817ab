/*
 * test_shm_segment.c - memfd segments: header, seals, validation of every
 * header field, schema hashes of metric tables, sharing across fork.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metric.h"
#include "segment.h"

static char err[256];

static struct segment *make(size_t size, uint64_t hash)
{
    struct segment *s = segment_create("test-seg", size, SEGMENT_KIND_TEST, hash, err, sizeof(err));

    if (s == NULL)
        fail_msg("segment_create: %s", err);
    return s;
}

static void test_create_header(void **state)
{
    (void)state;
    struct segment *s = make(10000, 0x1234);
    struct segment_hdr *h = segment_hdr(s);

    assert_int_equal(s->size, 12288); /* rounded up to pages */
    assert_true(s->writable);
    assert_int_equal(h->magic, SEGMENT_MAGIC);
    assert_memory_equal(&h->magic, "PPVTSHM1", 8);
    assert_int_equal(h->layout_version, SEGMENT_LAYOUT_VERSION);
    assert_int_equal(h->kind, SEGMENT_KIND_TEST);
    assert_int_equal(h->schema_hash, 0x1234);
    assert_int_equal(h->size, 12288);
    assert_int_equal(h->writer_pid, getpid());
    assert_int_equal(h->generation, 1);
    assert_int_equal((uintptr_t)segment_payload(s) % 64, 0);
    assert_int_equal(segment_payload_size(s), 12288 - 64);
    assert_int_equal(segment_claim_writer(s), 2);
    assert_int_equal(segment_validate(s, SEGMENT_KIND_TEST, 0x1234, err, sizeof(err)), 0);
    /* The fd does not leak into exec'ed programs. */
    assert_true(fcntl(s->fd, F_GETFD) & FD_CLOEXEC);
    segment_free(&s);
    assert_null(s);
    segment_free(&s); /* NULL is fine */
}

static void test_seals(void **state)
{
    (void)state;
    struct segment *s = make(8192, 1);
    int seals = fcntl(s->fd, F_GET_SEALS);
    struct stat st;

    assert_true(seals & F_SEAL_SHRINK);
    assert_true(seals & F_SEAL_GROW);
    assert_true(seals & F_SEAL_SEAL);
    assert_int_equal(ftruncate(s->fd, 4096), -1);
    assert_int_equal(errno, EPERM);
    assert_int_equal(ftruncate(s->fd, 1 << 20), -1);
    assert_int_equal(errno, EPERM);
    assert_int_equal(fcntl(s->fd, F_ADD_SEALS, F_SEAL_WRITE), -1);
    assert_int_equal(fstat(s->fd, &st), 0);
    assert_int_equal(st.st_size, 8192);
    segment_free(&s);
}

static void expect_reject(int fd, enum segment_kind kind, uint64_t hash, const char *what)
{
    struct segment *a = segment_attach(fd, false, kind, hash, err, sizeof(err));

    assert_null(a);
    if (strstr(err, what) == NULL)
        fail_msg("expected '%s' in '%s'", what, err);
}

static void test_validation_rejects(void **state)
{
    (void)state;
    struct segment *s = make(8192, 77);
    struct segment_hdr *h = segment_hdr(s);
    struct segment *a;

    a = segment_attach(s->fd, false, SEGMENT_KIND_TEST, 77, err, sizeof(err));
    assert_non_null(a);
    assert_false(a->writable);
    assert_int_equal(a->size, 8192);
    segment_free(&a);

    expect_reject(s->fd, SEGMENT_KIND_RING, 77, "kind test");
    expect_reject(s->fd, SEGMENT_KIND_TEST, 78, "schema hash");

    h->magic ^= 1;
    expect_reject(s->fd, SEGMENT_KIND_TEST, 77, "bad magic");
    h->magic ^= 1;

    h->layout_version = SEGMENT_LAYOUT_VERSION + 1;
    expect_reject(s->fd, SEGMENT_KIND_TEST, 77, "layout version");
    h->layout_version = SEGMENT_LAYOUT_VERSION;

    h->size = 4096;
    expect_reject(s->fd, SEGMENT_KIND_TEST, 77, "header says 4096 bytes");
    h->size = 8192;

    h->payload_off = 128;
    expect_reject(s->fd, SEGMENT_KIND_TEST, 77, "payload offset");
    h->payload_off = SEGMENT_PAYLOAD_OFF;

    a = segment_attach(s->fd, true, SEGMENT_KIND_TEST, 77, err, sizeof(err));
    assert_non_null(a);
    segment_free(&a);
    segment_free(&s);
}

static void test_map_bad_fds(void **state)
{
    (void)state;
    int p[2];
    int fd = memfd_create("small", MFD_CLOEXEC);

    assert_null(segment_map(-1, false, err, sizeof(err)));
    assert_non_null(strstr(err, "fstat"));
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 10), 0);
    assert_null(segment_map(fd, false, err, sizeof(err)));
    assert_non_null(strstr(err, "smaller than a segment header"));
    /* Big enough, but zeros: not a segment. */
    assert_int_equal(ftruncate(fd, 4096), 0);
    expect_reject(fd, SEGMENT_KIND_TEST, 0, "bad magic");
    close(fd);
    assert_int_equal(pipe(p), 0);
    assert_null(segment_map(p[0], false, err, sizeof(err)));
    close(p[0]);
    close(p[1]);
    assert_null(segment_create("bad", 10, SEGMENT_KIND_TEST, 0, err, sizeof(err)));
}

/* A child writes through its own mapping; the parent sees it. */
static void test_shared_across_fork(void **state)
{
    (void)state;
    struct segment *s = make(4096, 5);
    pid_t pid = fork();
    int st;

    assert_true(pid >= 0);
    if (pid == 0) {
        struct segment *c = segment_attach(s->fd, true, SEGMENT_KIND_TEST, 5, NULL, 0);

        if (c == NULL)
            _exit(1);
        memcpy(segment_payload(c), "hello", 6);
        segment_claim_writer(c);
        /* The seals hold in the child too. */
        _exit(ftruncate(c->fd, 0) == -1 ? 0 : 2);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_string_equal(segment_payload(s), "hello");
    assert_int_equal(segment_hdr(s)->writer_pid, pid);
    assert_int_equal(segment_hdr(s)->generation, 2);
    segment_free(&s);
}

struct demo_bucket {
    struct bucket_hdr hdr;
    uint64_t a;
    uint64_t b;
    struct card c;
};

static const struct metric_desc demo_metrics[] = {
    {METRIC_COUNTER, (uint32_t)offsetof(struct demo_bucket, a), "x.a", "a"},
    {METRIC_COUNTER, (uint32_t)offsetof(struct demo_bucket, b), "x.b", "b"},
    {METRIC_CARD, (uint32_t)offsetof(struct demo_bucket, c), "x.c", "c"},
};

static void test_schema_hash(void **state)
{
    (void)state;
    struct metric_desc m[3];
    struct metric_table t = {"demo", sizeof(struct demo_bucket), demo_metrics, 3};
    struct metric_table u = t;
    uint64_t h = segment_schema_hash(&t);

    assert_int_equal(segment_schema_hash(&u), h);
    u.metrics = m;
    memcpy(m, demo_metrics, sizeof(m));
    m[2].help = "other help text"; /* not part of the layout */
    assert_int_equal(segment_schema_hash(&u), h);
    m[1].path = "x.B";
    assert_int_not_equal(segment_schema_hash(&u), h);
    memcpy(m, demo_metrics, sizeof(m));
    m[1].offset += 8;
    assert_int_not_equal(segment_schema_hash(&u), h);
    memcpy(m, demo_metrics, sizeof(m));
    m[0].kind = METRIC_RATE;
    assert_int_not_equal(segment_schema_hash(&u), h);
    u = t;
    u.schema_key = "demo2";
    assert_int_not_equal(segment_schema_hash(&u), h);
    u = t;
    u.bucket_size += 64;
    assert_int_not_equal(segment_schema_hash(&u), h);
    u = t;
    u.count = 2;
    assert_int_not_equal(segment_schema_hash(&u), h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_header),      cmocka_unit_test(test_seals),
        cmocka_unit_test(test_validation_rejects), cmocka_unit_test(test_map_bad_fds),
        cmocka_unit_test(test_shared_across_fork), cmocka_unit_test(test_schema_hash),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
