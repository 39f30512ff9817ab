/*
 * test_shm_snapshot.c - RCU-style snapshots: slot choice, a writer killed
 * half-way, attach checks, and a writer process publishing thousands of
 * self-consistent blobs while reader processes (and threads, for TSan)
 * verify every copy they get.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "segment.h"
#include "snapshot.h"

#define WORDS 1024 /* an 8 KiB blob */

static char err[256];

struct blob {
    uint64_t w[WORDS];
};

static struct segment *new_area(struct snap *s, size_t blob_size)
{
    struct segment *seg =
        segment_create("test-snap", SEGMENT_PAYLOAD_OFF + snap_area_size(blob_size),
                       SEGMENT_KIND_TEST, 7, err, sizeof(err));

    if (seg == NULL)
        fail_msg("segment_create: %s", err);
    if (snap_init(s, segment_payload(seg), segment_payload_size(seg), blob_size, err,
                  sizeof(err)) == -1)
        fail_msg("snap_init: %s", err);
    return seg;
}

static void fill(struct blob *b, uint64_t v)
{
    for (size_t i = 0; i < WORDS; i++)
        b->w[i] = v;
}

static uint64_t slot_seq(const struct snap *s, unsigned i)
{
    const struct snap_slot_hdr *sl =
        (const void *)((const char *)s->area + SNAP_SLOT_OFF + i * s->area->slot_stride);

    return atomic_load(&sl->seq);
}

static void test_empty_then_publish(void **state)
{
    (void)state;
    struct snap s;
    struct segment *seg = new_area(&s, sizeof(struct blob));
    static struct blob b, out;
    struct snap_meta m = {0, 4096, 17, 123456789}, got;

    assert_int_equal(snap_read(&s, &out, &got), SNAP_NONE);
    assert_int_equal(snap_generation(&s), 0);
    fill(&b, 42);
    assert_int_equal(snap_publish(&s, &b, &m), 1);
    assert_int_equal(snap_read(&s, &out, &got), SNAP_OK);
    assert_memory_equal(&out, &b, sizeof(b));
    assert_int_equal(got.generation, 1);
    assert_int_equal(got.ring_pos, 4096);
    assert_int_equal(got.ring_seq, 17);
    assert_int_equal(got.ts_ns, 123456789);
    segment_free(&seg);
}

/* The writer never touches the published slot nor the one before it. */
static void test_slot_rotation(void **state)
{
    (void)state;
    struct snap s;
    struct segment *seg = new_area(&s, sizeof(struct blob));
    static struct blob b;
    struct snap_meta m = {0};
    unsigned prev = SNAP_SLOTS, cur = SNAP_SLOTS;

    for (uint64_t g = 1; g <= 30; g++) {
        uint64_t pub;
        unsigned idx;

        fill(&b, g);
        assert_int_equal(snap_publish(&s, &b, &m), g);
        pub = atomic_load(&s.area->published);
        idx = (unsigned)(pub & 0xff);
        assert_int_equal(pub >> 8, g);
        if (g > 1)
            assert_int_not_equal(idx, cur);
        if (g > 2)
            assert_int_not_equal(idx, prev);
        assert_int_equal(slot_seq(&s, idx), 2 * g + 2);
        prev = cur;
        cur = idx;
    }
    segment_free(&seg);
}

/* A writer killed while filling a slot: readers keep the previous
 * snapshot; a new writer (no state) reuses the torn slot first and continues
 * the generations. */
static void test_writer_killed_half_way(void **state)
{
    (void)state;
    struct snap s, s2;
    struct segment *seg = new_area(&s, sizeof(struct blob));
    static struct blob b, out;
    struct snap_meta m = {0}, got;
    struct snap_slot_hdr *torn;
    uint64_t pub;
    unsigned idx, t;

    for (uint64_t g = 1; g <= 4; g++) {
        fill(&b, g);
        snap_publish(&s, &b, &m);
    }
    pub = atomic_load(&s.area->published);
    idx = (unsigned)(pub & 0xff);
    /* Simulate the crash: the next slot marked odd (gen 5) and half filled. */
    for (t = 0; t < SNAP_SLOTS; t++)
        if (t != idx && slot_seq(&s, t) == 2 * 3 + 2)
            break;
    assert_true(t < SNAP_SLOTS);
    torn = (void *)((char *)s.area + SNAP_SLOT_OFF + t * s.area->slot_stride);
    atomic_store(&torn->seq, 2 * 5 + 1);
    memset((char *)torn + SNAP_BLOB_OFF, 0xee, 100);

    assert_int_equal(snap_read(&s, &out, &got), SNAP_OK);
    assert_int_equal(got.generation, 4);
    assert_int_equal(out.w[0], 4);
    assert_int_equal(out.w[WORDS - 1], 4);

    assert_int_equal(snap_attach(&s2, segment_payload(seg), segment_payload_size(seg),
                                 sizeof(struct blob), err, sizeof(err)),
                     0);
    fill(&b, 6);
    assert_int_equal(snap_publish(&s2, &b, &m), 6);
    assert_int_equal(atomic_load(&s2.area->published) & 0xff, t);
    assert_int_equal(snap_read(&s2, &out, &got), SNAP_OK);
    assert_int_equal(got.generation, 6);
    assert_int_equal(out.w[0], 6);
    segment_free(&seg);
}

static void test_attach_checks(void **state)
{
    (void)state;
    struct snap s, s2;
    struct segment *seg = new_area(&s, 1000);
    void *p = segment_payload(seg);
    size_t n = segment_payload_size(seg);

    assert_int_equal(snap_attach(&s2, p, n, 1000, err, sizeof(err)), 0);
    assert_int_equal(snap_attach(&s2, p, n, 1008, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "expected"));
    assert_int_equal(snap_attach(&s2, p, 100, 1000, err, sizeof(err)), -1);
    assert_int_equal(snap_attach(&s2, (char *)p + 8, n - 8, 1000, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "aligned"));
    ((struct snap_area *)p)->magic = 0;
    assert_int_equal(snap_attach(&s2, p, n, 1000, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "magic"));
    segment_free(&seg);
}

/* A blob size that is not a multiple of 8 round-trips exactly. */
static void test_odd_blob_size(void **state)
{
    (void)state;
    struct snap s;
    struct segment *seg = new_area(&s, 13);
    unsigned char in[13], out[14];
    struct snap_meta m = {0};

    for (int i = 0; i < 13; i++)
        in[i] = (unsigned char)(i + 1);
    memset(out, 0x55, sizeof(out));
    snap_publish(&s, in, &m);
    assert_int_equal(snap_read(&s, out, NULL), SNAP_OK);
    assert_memory_equal(out, in, 13);
    assert_int_equal(out[13], 0x55);
    segment_free(&seg);
}

/* ---- concurrency -------------------------------------------------------- */

struct counts {
    _Atomic uint64_t ok, busy, bad, regress;
};

/* Every word, and the metadata, must equal the generation. */
static void read_loop(struct snap *s, struct counts *c, uint64_t last_gen)
{
    struct blob *outp = malloc(sizeof(*outp)); /* one per thread */
    struct snap_meta m;
    uint64_t prev = 0;

    assert_non_null(outp);
    for (;;) {
        enum snap_result r = snap_read(s, outp, &m);

        if (r == SNAP_BUSY) {
            atomic_fetch_add(&c->busy, 1);
            continue;
        }
        if (r == SNAP_NONE) {
            sched_yield();
            continue;
        }
        atomic_fetch_add(&c->ok, 1);
        if (m.ring_pos != m.generation * 10 || m.ring_seq != m.generation * 3 ||
            m.ts_ns != m.generation)
            atomic_fetch_add(&c->bad, 1);
        for (size_t i = 0; i < WORDS; i++)
            if (outp->w[i] != m.generation) {
                atomic_fetch_add(&c->bad, 1);
                break;
            }
        if (m.generation < prev)
            atomic_fetch_add(&c->regress, 1);
        prev = m.generation;
        if (m.generation >= last_gen)
            break;
    }
    free(outp);
}

static void write_loop(struct snap *s, uint64_t n)
{
    static struct blob b;

    for (uint64_t g = 1; g <= n; g++) {
        struct snap_meta m = {0, g * 10, g * 3, g};

        fill(&b, g);
        if (snap_publish(s, &b, &m) != g)
            abort();
    }
}

static void test_processes(void **state)
{
    (void)state;
    struct snap s;
    struct segment *seg = new_area(&s, sizeof(struct blob));
    struct counts *c =
        mmap(NULL, sizeof(*c) * 3, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    const uint64_t n = 20000;
    pid_t kids[3];

    assert_true(c != MAP_FAILED);
    memset(c, 0, sizeof(*c) * 3);
    for (int i = 0; i < 3; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            struct snap mine;
            /* Readers map the segment read-only through its fd. */
            struct segment *ro = segment_attach(seg->fd, false, SEGMENT_KIND_TEST, 7, NULL, 0);

            if (ro == NULL || snap_attach(&mine, segment_payload(ro), segment_payload_size(ro),
                                          sizeof(struct blob), NULL, 0) == -1)
                _exit(2);
            read_loop(&mine, &c[i], n);
            _exit(0);
        }
    }
    write_loop(&s, n);
    for (int i = 0; i < 3; i++) {
        int st;

        assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        assert_int_equal(c[i].bad, 0);
        assert_int_equal(c[i].regress, 0);
        assert_true(c[i].ok > 0);
        print_message("reader %d: %llu consistent copies, %llu busy\n", i,
                      (unsigned long long)c[i].ok, (unsigned long long)c[i].busy);
    }
    munmap(c, sizeof(*c) * 3);
    segment_free(&seg);
}

struct targ {
    struct snap *s;
    struct counts c;
    uint64_t n;
};

static void *thr_read(void *arg)
{
    struct targ *t = arg;

    read_loop(t->s, &t->c, t->n);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    struct snap s;
    struct segment *seg = new_area(&s, sizeof(struct blob));
    static struct targ t[2];
    pthread_t th[2];
    const uint64_t n = 5000;

    for (int i = 0; i < 2; i++) {
        memset(&t[i], 0, sizeof(t[i]));
        t[i].s = &s;
        t[i].n = n;
        assert_int_equal(pthread_create(&th[i], NULL, thr_read, &t[i]), 0);
    }
    write_loop(&s, n);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(t[i].c.bad, 0);
        assert_int_equal(t[i].c.regress, 0);
    }
    segment_free(&seg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_then_publish),
        cmocka_unit_test(test_slot_rotation),
        cmocka_unit_test(test_writer_killed_half_way),
        cmocka_unit_test(test_attach_checks),
        cmocka_unit_test(test_odd_blob_size),
        cmocka_unit_test(test_processes),
        cmocka_unit_test(test_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
