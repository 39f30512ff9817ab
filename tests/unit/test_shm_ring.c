/*
 * test_shm_ring.c - the packet ring: layout, padding, lapping arithmetic,
 * cursors, and real producer/consumer processes (fork) with checksummed
 * records, plus a threaded run for ThreadSanitizer.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"
#include "ring.h"
#include "snapshot.h"

#define BUF_SIZE (1u << 20)

/* ThreadSanitizer makes every atomic word access a call: run fewer records
 * so each test still takes seconds. */
#if defined(__SANITIZE_THREAD__)
#define SCALE 10
#else
#define SCALE 1
#endif

static char err[256];

/* ---- checksummed test records ----------------------------------------- */

static uint64_t mix(uint64_t x)
{
    return hash_mix64(x + UINT64_C(0x9e3779b97f4a7c15));
}

/* 16..200 bytes, about 108 on average. */
static uint32_t rec_caplen(uint64_t seq)
{
    return 16 + (uint32_t)(mix(seq) % 185);
}

/* [0,8) seq, [8,16) hash of the rest, then bytes derived from seq. */
static void rec_fill(uint64_t seq, unsigned char *b, uint32_t len)
{
    uint64_t h;

    memcpy(b, &seq, 8);
    for (uint32_t i = 16; i < len; i += 8) {
        uint64_t w = mix(seq * 31 + i);
        memcpy(b + i, &w, len - i < 8 ? len - i : 8);
    }
    h = hash64(b + 16, len - 16, seq);
    memcpy(b + 8, &h, 8);
}

static bool rec_ok(const struct ring_pkt *p)
{
    uint64_t s, h;

    if (p->caplen != rec_caplen(p->seq) || p->wirelen != p->caplen + 4 ||
        p->ts_ns != p->seq * 1000 || p->linktype != 1)
        return false;
    memcpy(&s, p->data, 8);
    memcpy(&h, p->data + 8, 8);
    return s == p->seq && h == hash64(p->data + 16, p->caplen - 16, p->seq);
}

static void push_seq(struct ring *r, uint64_t seq)
{
    unsigned char b[256];
    uint32_t len = rec_caplen(seq);

    rec_fill(seq, b, len);
    assert_int_equal(ring_push(r, seq * 1000, len, len + 4, 1, b), 0);
}

/* Push a record of exactly caplen bytes (payload: seq repeated). */
static void push_len(struct ring *r, uint64_t seq, uint32_t caplen)
{
    unsigned char b[4096];

    memset(b, (int)(seq & 0xff), caplen);
    assert_int_equal(ring_push(r, seq, caplen, caplen, 1, b), 0);
}

static struct ring *new_ring(uint64_t size)
{
    struct ring *r = ring_create("test-ring", size, err, sizeof(err));

    if (r == NULL)
        fail_msg("ring_create: %s", err);
    if (ring_producer_init(r, err, sizeof(err)) == -1)
        fail_msg("ring_producer_init: %s", err);
    return r;
}

static void open_consumer(struct ring *r, unsigned slot, enum ring_start how,
                          const struct ring_cursor *cur, struct ring_consumer *c)
{
    if (ring_consumer_open(r, slot, how, cur, c, err, sizeof(err)) == -1)
        fail_msg("ring_consumer_open: %s", err);
}

/* ---- single process ----------------------------------------------------- */

static void test_record_layout(void **state)
{
    (void)state;
    struct ring *r = new_ring(RING_MIN_SIZE);
    unsigned char payload[5] = {1, 2, 3, 4, 5};
    struct ring_rec rec;
    struct ring_stats st;

    assert_int_equal(sizeof(struct ring_rec), 32);
    assert_int_equal(offsetof(struct ring_rec, seq), 0);
    assert_int_equal(offsetof(struct ring_rec, ts_ns), 8);
    assert_int_equal(offsetof(struct ring_rec, reclen), 16);
    assert_int_equal(offsetof(struct ring_rec, caplen), 20);
    assert_int_equal(offsetof(struct ring_rec, wirelen), 24);
    assert_int_equal(offsetof(struct ring_rec, linktype), 28);
    assert_int_equal(offsetof(struct ring_rec, flags), 30);
    assert_int_equal(sizeof(struct ring_slot) % 64, 0);
    assert_int_equal(RING_DEFAULT_SIZE & (RING_DEFAULT_SIZE - 1), 0);
    assert_true(RING_DEFAULT_SIZE >= UINT64_C(1000000) * (32 + 104));
    assert_true((uintptr_t)r->data % 64 == 0);

    assert_int_equal(ring_push(r, 77, 5, 60, 113, payload), 0);
    memcpy(&rec, r->data, sizeof(rec));
    assert_int_equal(rec.seq, 0);
    assert_int_equal(rec.ts_ns, 77);
    assert_int_equal(rec.reclen, 40); /* 32 + 5 rounded up to 8 */
    assert_int_equal(rec.caplen, 5);
    assert_int_equal(rec.wirelen, 60);
    assert_int_equal(rec.linktype, 113);
    assert_int_equal(rec.flags, 0);
    assert_memory_equal(r->data + 32, payload, 5);
    assert_int_equal(r->data[37], 0); /* padding is zero */
    assert_int_equal(ring_push(r, 78, 0, 0, 1, NULL), 0);
    memcpy(&rec, r->data + 40, sizeof(rec));
    assert_int_equal(rec.seq, 1);
    assert_int_equal(rec.reclen, 32);
    ring_stats(r, &st);
    assert_int_equal(st.write_pos, 72);
    assert_int_equal(st.records, 2);
    assert_int_equal(st.bytes, 5);
    ring_free(&r);
    assert_null(r);
}

static void test_create_rejects_bad_size(void **state)
{
    (void)state;
    assert_null(ring_create("bad", 5000, err, sizeof(err)));
    assert_non_null(strstr(err, "power of two"));
    assert_null(ring_create("bad", 2048, err, sizeof(err)));
}

static void test_oversize(void **state)
{
    (void)state;
    struct ring *r = new_ring(RING_MIN_SIZE);
    unsigned char b[2048] = {0};
    struct ring_stats st;

    assert_int_equal(ring_max_caplen(r), 1024 - 32);
    assert_int_equal(ring_push(r, 1, ring_max_caplen(r) + 1, 1500, 1, b), -1);
    assert_int_equal(ring_push(r, 1, ring_max_caplen(r), 1500, 1, b), 0);
    ring_stats(r, &st);
    assert_int_equal(st.oversize, 1);
    assert_int_equal(st.records, 1);
    ring_free(&r);
}

/* Records do not wrap: an explicit pad record fills the end. */
static void test_wrap_with_padding(void **state)
{
    (void)state;
    struct ring *r = new_ring(RING_MIN_SIZE);
    struct ring_consumer c;
    struct ring_pkt pkts[64];
    static unsigned char buf[BUF_SIZE];
    struct ring_rec rec;
    unsigned n, total = 0;
    uint64_t seq = 0;

    open_consumer(r, 0, RING_START_NEWEST, NULL, &c);
    /* 13 records of 300 bytes (reclen 336): 4368 > 4096, so the 13th pads. */
    for (int i = 0; i < 12; i++)
        push_len(r, seq++, 300);
    assert_int_equal(r->wpos, 12 * 336);
    while ((n = ring_read_batch(&c, pkts, 64, buf, sizeof(buf))) > 0)
        total += n;
    assert_int_equal(total, 12);
    push_len(r, seq++, 300);
    /* Pad covers [4032, 4096): 64 bytes; the record starts at offset 0. */
    memcpy(&rec, r->data + 4032, sizeof(rec));
    assert_int_equal(rec.flags, RING_REC_PAD);
    assert_int_equal(rec.reclen, 64);
    assert_int_equal(rec.seq, 12);
    memcpy(&rec, r->data, sizeof(rec));
    assert_int_equal(rec.seq, 12);
    assert_int_equal(rec.flags, 0);
    assert_int_equal(r->wpos, 4096 + 336);
    n = ring_read_batch(&c, pkts, 64, buf, sizeof(buf));
    assert_int_equal(n, 1);
    assert_int_equal(pkts[0].seq, 12);
    assert_int_equal(pkts[0].pos, 4096);
    assert_int_equal(pkts[0].caplen, 300);
    assert_int_equal(pkts[0].data[299], 12);
    assert_int_equal(c.cur.lost_records, 0);
    ring_free(&r);
}

/* Fewer than 32 bytes before the end: an implicit pad, no header. */
static void test_wrap_implicit_pad(void **state)
{
    (void)state;
    struct ring *r = new_ring(RING_MIN_SIZE);
    struct ring_consumer c;
    struct ring_pkt pkts[64];
    static unsigned char buf[BUF_SIZE];
    uint64_t seq = 0;
    unsigned n, total = 0;

    open_consumer(r, 0, RING_START_NEWEST, NULL, &c);
    for (int i = 0; i < 4; i++)
        push_len(r, seq++, 976); /* reclen 1008: 4032 bytes, 64 left */
    push_len(r, seq++, 8);       /* reclen 40, 24 bytes left */
    assert_int_equal(r->wpos, 4072);
    while ((n = ring_read_batch(&c, pkts, 64, buf, sizeof(buf))) > 0)
        total += n;
    assert_int_equal(total, 5);
    push_len(r, seq++, 8); /* skips the 24-byte remainder */
    assert_int_equal(r->wpos, 4096 + 40);
    n = ring_read_batch(&c, pkts, 64, buf, sizeof(buf));
    assert_int_equal(n, 1);
    assert_int_equal(pkts[0].seq, 5);
    assert_int_equal(pkts[0].pos, 4096);
    assert_int_equal(c.cur.lost_records, 0);
    ring_free(&r);
}

/* reclen 128, 32 records per 4 KiB ring.  After 100 pushes (write_pos
 * 12800) the oldest intact record starts at 12800 - 4096 = 8704 (seq 68); a
 * lapped consumer lands on the first record at or past halfway to write_pos:
 * 8704 + 2048 = 10752, seq 84. */
static void test_lapping_exact(void **state)
{
    (void)state;
    struct ring *r = new_ring(RING_MIN_SIZE);
    struct ring_consumer c;
    struct ring_pkt pkts[64];
    static unsigned char buf[BUF_SIZE];
    struct ring_slot_info si;
    struct ring_stats st;
    unsigned n;

    open_consumer(r, 3, RING_START_NEWEST, NULL, &c);
    for (uint64_t s = 0; s < 100; s++)
        push_len(r, s, 96);
    ring_stats(r, &st);
    assert_int_equal(st.tail_pos, 8704);
    n = ring_read_batch(&c, pkts, 64, buf, sizeof(buf));
    assert_int_equal(n, 16);
    assert_int_equal(pkts[0].seq, 84);
    assert_int_equal(pkts[0].pos, 10752);
    assert_int_equal(pkts[15].seq, 99);
    assert_int_equal(c.cur.lost_records, 84);
    assert_int_equal(c.cur.lost_bytes, 10752);
    assert_int_equal(c.cur.seq, 100);
    assert_int_equal(ring_read_batch(&c, pkts, 64, buf, sizeof(buf)), 0);
    assert_int_equal(ring_slot_read(r, 3, &si), 0);
    assert_true(si.in_use);
    assert_int_equal(si.pid, getpid());
    assert_int_equal(si.lost_records, 84);
    assert_int_equal(si.lost_bytes, 10752);
    assert_int_equal(si.read_pos, 12800);
    assert_int_equal(si.lag, 0);

    /* 33 records behind (one more than a ring): write_pos 17024, tail 12928
     * (seq 101), halfway 14976 (seq 117): 17 more lost. */
    for (uint64_t s = 100; s < 133; s++)
        push_len(r, s, 96);
    n = ring_read_batch(&c, pkts, 64, buf, sizeof(buf));
    assert_int_equal(n, 16);
    assert_int_equal(pkts[0].seq, 117);
    assert_int_equal(c.cur.lost_records, 84 + 17);
    assert_int_equal(c.cur.lost_bytes, 10752 + 14976 - 12800);

    /* Exactly one ring behind: nothing lost. */
    for (uint64_t s = 133; s < 165; s++)
        push_len(r, s, 96);
    n = ring_read_batch(&c, pkts, 64, buf, sizeof(buf));
    assert_int_equal(n, 32);
    assert_int_equal(pkts[0].seq, 133);
    assert_int_equal(c.cur.lost_records, 101);
    ring_consumer_close(&c);
    assert_int_equal(ring_slot_read(r, 3, &si), 0);
    assert_false(si.in_use);
    assert_int_equal(ring_slot_read(r, RING_MAX_CONSUMERS, &si), -1);
    ring_free(&r);
}

/* Lapping across padding: losses still count records, not pads. */
static void test_lapping_with_padding(void **state)
{
    (void)state;
    struct ring *r = new_ring(RING_MIN_SIZE);
    struct ring_consumer c;
    struct ring_pkt pkts[256];
    static unsigned char buf[BUF_SIZE];
    uint64_t got = 0, next = 0;
    unsigned n;

    open_consumer(r, 0, RING_START_NEWEST, NULL, &c);
    for (uint64_t s = 0; s < 5000; s++) {
        push_seq(r, s);
        if (s % 97 == 0) {
            while ((n = ring_read_batch(&c, pkts, 256, buf, sizeof(buf))) > 0) {
                for (unsigned i = 0; i < n; i++) {
                    assert_true(rec_ok(&pkts[i]));
                    assert_true(pkts[i].seq >= next);
                    next = pkts[i].seq + 1;
                }
                got += n;
            }
        }
    }
    while ((n = ring_read_batch(&c, pkts, 256, buf, sizeof(buf))) > 0)
        got += n;
    assert_int_equal(got + c.cur.lost_records, 5000);
    assert_true(c.cur.lost_records > 0);
    assert_int_equal(c.cur.seq, 5000);
    ring_free(&r);
}

static void test_commit_and_resume(void **state)
{
    (void)state;
    struct ring *r = new_ring(1u << 16);
    struct ring_consumer c;
    struct ring_pkt pkts[16];
    static unsigned char buf[BUF_SIZE];
    struct ring_cursor cur, bad;
    struct ring_slot_info si;
    unsigned n;

    for (uint64_t s = 0; s < 40; s++)
        push_seq(r, s);
    open_consumer(r, 5, RING_START_OLDEST, NULL, &c);
    assert_int_equal(ring_consumer_open(r, 6, RING_START_COMMITTED, NULL, &c, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "no committed cursor"));
    open_consumer(r, 5, RING_START_OLDEST, NULL, &c);
    n = ring_read_batch(&c, pkts, 16, buf, sizeof(buf));
    assert_int_equal(n, 16);
    cur = ring_cursor_after(&c, &pkts[9]); /* the snapshot covers seq 0..9 */
    ring_consumer_commit(&c, &cur);
    assert_int_equal(ring_slot_read(r, 5, &si), 0);
    assert_true(si.committed);
    assert_int_equal(si.commit.seq, 10);
    assert_int_equal(si.commit.pos, pkts[10].pos);

    /* Die half-way through the next commit: the previous cursor survives. */
    atomic_store(&c.slot->commit_writing, atomic_load(&c.slot->commit_gen) + 1);
    atomic_store(&c.slot->copy[(atomic_load(&c.slot->commit_gen) + 1) & 1].seq, 999);

    open_consumer(r, 5, RING_START_COMMITTED, NULL, &c);
    n = ring_read_batch(&c, pkts, 16, buf, sizeof(buf));
    assert_int_equal(n, 16);
    assert_int_equal(pkts[0].seq, 10);
    assert_true(rec_ok(&pkts[0]));

    open_consumer(r, 7, RING_START_CURSOR, &cur, &c);
    n = ring_read_batch(&c, pkts, 1, buf, sizeof(buf));
    assert_int_equal(n, 1);
    assert_int_equal(pkts[0].seq, 10);

    bad = cur;
    bad.seq = 11;
    assert_int_equal(ring_consumer_open(r, 7, RING_START_CURSOR, &bad, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "seq"));
    bad = cur;
    bad.pos = 1u << 20;
    assert_int_equal(ring_consumer_open(r, 7, RING_START_CURSOR, &bad, &c, err, sizeof(err)), -1);
    assert_int_equal(
        ring_consumer_open(r, RING_MAX_CONSUMERS, RING_START_NEWEST, NULL, &c, err, sizeof(err)),
        -1);
    ring_free(&r);
}

/* A respawned producer continues the seq and the positions. */
static void test_producer_restart(void **state)
{
    (void)state;
    struct ring *r = new_ring(RING_MIN_SIZE);
    struct ring *r2;
    struct ring_consumer c;
    struct ring_pkt pkts[64];
    static unsigned char buf[BUF_SIZE];
    uint64_t got = 0, next = 0;
    unsigned n;

    open_consumer(r, 0, RING_START_NEWEST, NULL, &c);
    for (uint64_t s = 0; s < 100; s++)
        push_seq(r, s);
    /* Pretend it died after publishing but before counting. */
    atomic_store(&r->hdr->records, 97);
    r2 = ring_attach(ring_fd(r), true, err, sizeof(err));
    if (r2 == NULL)
        fail_msg("ring_attach: %s", err);
    assert_int_equal(ring_producer_init(r2, err, sizeof(err)), 0);
    assert_int_equal(r2->seq, 100);
    assert_int_equal(r2->wpos, r->wpos);
    for (uint64_t s = 100; s < 200; s++)
        push_seq(r2, s);
    while ((n = ring_read_batch(&c, pkts, 64, buf, sizeof(buf))) > 0) {
        for (unsigned i = 0; i < n; i++) {
            assert_true(rec_ok(&pkts[i]));
            assert_true(pkts[i].seq >= next);
            next = pkts[i].seq + 1;
        }
        got += n;
    }
    assert_int_equal(got + c.cur.lost_records, 200);
    assert_int_equal(next, 200);
    ring_free(&r2);
    ring_free(&r);
}

/* ---- processes ---------------------------------------------------------- */

struct result {
    _Atomic uint64_t returned;
    _Atomic uint64_t lost;
    _Atomic uint64_t lost_bytes;
    _Atomic uint64_t discarded;
    _Atomic uint64_t errors;
    _Atomic uint64_t first_seq; /* of a resumed consumer */
    char msg[128];
};

struct shared {
    _Atomic unsigned ready;
    _Atomic unsigned go;
    struct result res[4];
};

static struct shared *shared_new(void)
{
    struct shared *sh =
        mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    assert_true(sh != MAP_FAILED);
    memset(sh, 0, sizeof(*sh));
    return sh;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void child_fail(struct result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void child_fail(struct result *res, const char *fmt, ...)
{
    va_list ap;

    if (atomic_fetch_add(&res->errors, 1) == 0) {
        va_start(ap, fmt);
        vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
        va_end(ap);
    }
}

static void idle(unsigned *spins)
{
    if (++*spins < 64) {
        sched_yield();
    } else {
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
    }
}

/* rate: records per second (0: as fast as possible). */
static void produce(int fd, struct shared *sh, unsigned consumers, uint64_t total, double rate)
{
    double start;

    char e[256];
    struct ring *r = ring_attach(fd, true, e, sizeof(e));

    if (r == NULL || ring_producer_init(r, e, sizeof(e)) == -1)
        _exit(10);
    while (atomic_load(&sh->ready) < consumers)
        sched_yield();
    atomic_store(&sh->go, 1);
    start = now_s();
    for (uint64_t s = 0; s < total; s++) {
        unsigned char b[256];
        uint32_t len = rec_caplen(s);

        if (rate > 0 && (s & 63) == 0)
            while (now_s() < start + (double)s / rate)
                ;

        rec_fill(s, b, len);
        if (ring_push(r, s * 1000, len, len + 4, 1, b) == -1)
            _exit(11);
    }
    ring_free(&r);
    _exit(0);
}

/* Read until every record up to total is returned or counted lost.
 * slow: sleep this many microseconds every 64 records. */
static void consume(int fd, unsigned slot, struct shared *sh, uint64_t total, long slow_us)
{
    char e[256];
    struct result *res = &sh->res[slot];
    struct ring *r = ring_attach(fd, true, e, sizeof(e));
    struct ring_consumer c;
    static struct ring_pkt pkts[256];
    static unsigned char buf[BUF_SIZE];
    uint64_t next = 0, got = 0;
    double deadline = now_s() + 30;
    unsigned spins = 0;

    if (r == NULL || ring_consumer_open(r, slot, RING_START_NEWEST, NULL, &c, e, sizeof(e)) == -1)
        _exit(20);
    atomic_fetch_add(&sh->ready, 1);
    while (c.cur.seq < total) {
        unsigned n = ring_read_batch(&c, pkts, 256, buf, sizeof(buf));

        if (n == 0) {
            if (now_s() > deadline) {
                child_fail(res, "slot %u: timeout at seq %llu", slot,
                           (unsigned long long)c.cur.seq);
                break;
            }
            idle(&spins);
            continue;
        }
        spins = 0;
        for (unsigned i = 0; i < n; i++) {
            if (pkts[i].seq < next)
                child_fail(res, "slot %u: seq %llu after %llu", slot,
                           (unsigned long long)pkts[i].seq, (unsigned long long)next);
            if (!rec_ok(&pkts[i]))
                child_fail(res, "slot %u: bad record seq %llu", slot,
                           (unsigned long long)pkts[i].seq);
            next = pkts[i].seq + 1;
            if (slow_us > 0 && (++got & 63) == 0)
                usleep((useconds_t)slow_us);
        }
        atomic_fetch_add(&res->returned, n);
    }
    atomic_store(&res->lost, c.cur.lost_records);
    atomic_store(&res->lost_bytes, c.cur.lost_bytes);
    atomic_store(&res->discarded, c.discarded);
    ring_free(&r);
    _exit(0);
}

static void wait_ok(pid_t pid)
{
    int st;

    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void run_spmc(uint64_t ring_size, uint64_t total, double rate, unsigned nc, const long *slow,
                     struct shared *sh)
{
    struct ring *r = ring_create("test-spmc", ring_size, err, sizeof(err));
    pid_t kids[4], prod;
    struct ring_stats st;

    assert_non_null(r);
    for (unsigned i = 0; i < nc; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0)
            consume(ring_fd(r), i, sh, total, slow[i]);
    }
    prod = fork();
    assert_true(prod >= 0);
    if (prod == 0)
        produce(ring_fd(r), sh, nc, total, rate);
    wait_ok(prod);
    for (unsigned i = 0; i < nc; i++)
        wait_ok(kids[i]);
    ring_stats(r, &st);
    assert_int_equal(st.records, total);
    for (unsigned i = 0; i < nc; i++) {
        struct ring_slot_info si;

        if (sh->res[i].errors != 0)
            fail_msg("consumer %u: %s", i, sh->res[i].msg);
        assert_int_equal(ring_slot_read(r, i, &si), 0);
        assert_int_equal(si.lost_records, sh->res[i].lost);
        assert_int_equal(si.lost_bytes, sh->res[i].lost_bytes);
    }
    ring_free(&r);
}

/* Three consumers, a ring that holds the whole stream: nothing lost. */
static void test_mp_no_loss(void **state)
{
    (void)state;
    struct shared *sh = shared_new();
    const long slow[3] = {0, 0, 0};
    const uint64_t total = 2000000 / SCALE;

    run_spmc(UINT64_C(1) << 29, total, 0, 3, slow, sh);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(sh->res[i].returned, total);
        assert_int_equal(sh->res[i].lost, 0);
    }
    munmap(sh, sizeof(*sh));
}

static void report_losses(const char *what, const struct shared *sh)
{
    print_message("%s: consumer 0 lost %llu (%llu discarded batches), consumer 1 lost %llu "
                  "(%llu bytes skipped, %llu discarded)\n",
                  what, (unsigned long long)sh->res[0].lost,
                  (unsigned long long)sh->res[0].discarded, (unsigned long long)sh->res[1].lost,
                  (unsigned long long)sh->res[1].lost_bytes,
                  (unsigned long long)sh->res[1].discarded);
}

/* A 4 MiB ring (about 30 ms) at 1 Mpps, one consumer that keeps up and one
 * that sleeps (at most 320k records/s): losses are counted exactly, per
 * consumer. */
static void test_mp_small_ring_slow_consumer(void **state)
{
    (void)state;
    struct shared *sh = shared_new();
    const long slow[2] = {0, 200};
    const uint64_t total = 500000 / SCALE;

    run_spmc(UINT64_C(1) << 22, total, 1e6, 2, slow, sh);
    for (unsigned i = 0; i < 2; i++)
        assert_int_equal(sh->res[i].returned + sh->res[i].lost, total);
    assert_true(sh->res[1].lost > 0);
    assert_true(sh->res[1].lost_bytes > 0);
    report_losses("4 MiB ring, 1 Mpps", sh);
    munmap(sh, sizeof(*sh));
}

/* A 4 KiB ring (about 30 records) and an unpaced producer: consumers are
 * lapped during their copies all the time; accounting stays exact and no
 * torn record is returned. */
static void test_mp_tiny_ring_exact_loss(void **state)
{
    (void)state;
    struct shared *sh = shared_new();
    const long slow[2] = {0, 0};
    const uint64_t total = 500000 / SCALE;

    run_spmc(UINT64_C(1) << 12, total, 0, 2, slow, sh);
    for (unsigned i = 0; i < 2; i++)
        assert_int_equal(sh->res[i].returned + sh->res[i].lost, total);
    report_losses("4 KiB ring, unpaced", sh);
    munmap(sh, sizeof(*sh));
}

/* ---- kill and resume from a snapshot ----------------------------------- */

/* What the consumer's "metrics" are: enough to detect a lost or doubled
 * record. */
struct agg_state {
    uint64_t count;
    uint64_t seq_sum;
    uint64_t next_seq;
    uint64_t lost;
};

static void aggregate(int ring_fd_, struct snap *sn, struct shared *sh, uint64_t total, bool resume)
{
    char e[256];
    struct result *res = &sh->res[0];
    struct ring *r = ring_attach(ring_fd_, true, e, sizeof(e));
    struct ring_consumer c;
    static struct ring_pkt pkts[128];
    static unsigned char buf[BUF_SIZE];
    struct agg_state st = {0};
    struct ring_cursor cur = {0};
    double deadline = now_s() + 30;
    unsigned spins = 0;
    bool first = true;

    if (r == NULL)
        _exit(30);
    if (resume) {
        struct snap_meta m;

        if (snap_read(sn, &st, &m) != SNAP_OK)
            _exit(31);
        cur = (struct ring_cursor){m.ring_pos, m.ring_seq, st.lost, 0};
        if (ring_consumer_open(r, 0, RING_START_CURSOR, &cur, &c, e, sizeof(e)) == -1)
            _exit(32);
    } else if (ring_consumer_open(r, 0, RING_START_NEWEST, NULL, &c, e, sizeof(e)) == -1) {
        _exit(33);
    }
    atomic_fetch_add(&sh->ready, 1);
    while (st.next_seq < total) {
        unsigned n = ring_read_batch(&c, pkts, 128, buf, sizeof(buf));

        if (n == 0) {
            if (now_s() > deadline) {
                child_fail(res, "timeout at %llu", (unsigned long long)st.next_seq);
                break;
            }
            idle(&spins);
            continue;
        }
        spins = 0;
        if (first && resume)
            atomic_store(&res->first_seq, pkts[0].seq);
        first = false;
        for (unsigned i = 0; i < n; i++) {
            if (pkts[i].seq != st.next_seq || !rec_ok(&pkts[i]))
                child_fail(res, "got seq %llu, expected %llu", (unsigned long long)pkts[i].seq,
                           (unsigned long long)st.next_seq);
            st.count++;
            st.seq_sum += pkts[i].seq;
            st.next_seq = pkts[i].seq + 1;
            /* Publish every 1000 records, as an aggregator every 100 ms. */
            if (st.count % 1000 == 0) {
                struct ring_cursor after = ring_cursor_after(&c, &pkts[i]);
                struct snap_meta m = {0, after.pos, after.seq, pkts[i].ts_ns};

                st.lost = c.cur.lost_records;
                snap_publish(sn, &st, &m);
                ring_consumer_commit(&c, &after);
            }
        }
    }
    if (st.count != total - c.cur.lost_records)
        child_fail(res, "count %llu, lost %llu", (unsigned long long)st.count,
                   (unsigned long long)c.cur.lost_records);
    atomic_store(&res->returned, st.count);
    atomic_store(&res->lost, c.cur.lost_records);
    atomic_store(&res->discarded, st.seq_sum == total * (total - 1) / 2);
    _exit(0);
}

static void test_mp_kill_and_resume(void **state)
{
    (void)state;
    struct shared *sh = shared_new();
    const uint64_t total = 1000000 / SCALE;
    struct ring *r = ring_create("test-kill", UINT64_C(1) << 28, err, sizeof(err));
    struct segment *seg =
        segment_create("test-snap", snap_area_size(sizeof(struct agg_state)) + SEGMENT_PAYLOAD_OFF,
                       SEGMENT_KIND_TEST, 1, err, sizeof(err));
    struct snap sn;
    pid_t agg, prod;
    int st;
    uint64_t killed_at[2];

    assert_non_null(r);
    assert_non_null(seg);
    assert_int_equal(snap_init(&sn, segment_payload(seg), segment_payload_size(seg),
                               sizeof(struct agg_state), err, sizeof(err)),
                     0);
    agg = fork();
    if (agg == 0)
        aggregate(ring_fd(r), &sn, sh, total, false);
    prod = fork();
    if (prod == 0)
        produce(ring_fd(r), sh, 1, total, 0);
    for (int round = 0; round < 2; round++) {
        /* Let it publish a few snapshots, then kill it mid-stream. */
        uint64_t g0 = snap_generation(&sn);
        while (snap_generation(&sn) < g0 + 20)
            sched_yield();
        kill(agg, SIGKILL);
        assert_int_equal(waitpid(agg, &st, 0), agg);
        assert_true(WIFSIGNALED(st));
        {
            struct agg_state as;
            struct snap_meta m;

            assert_int_equal(snap_read(&sn, &as, &m), SNAP_OK);
            killed_at[round] = m.ring_seq;
            assert_int_equal(as.next_seq, m.ring_seq);
        }
        atomic_store(&sh->res[0].first_seq, UINT64_MAX);
        agg = fork();
        if (agg == 0)
            aggregate(ring_fd(r), &sn, sh, total, true);
        while (atomic_load(&sh->res[0].first_seq) == UINT64_MAX &&
               atomic_load(&sh->res[0].errors) == 0)
            sched_yield();
        /* It continued exactly where its snapshot ended. */
        assert_int_equal(atomic_load(&sh->res[0].first_seq), killed_at[round]);
    }
    wait_ok(prod);
    wait_ok(agg);
    if (sh->res[0].errors != 0)
        fail_msg("aggregator: %s", sh->res[0].msg);
    assert_int_equal(sh->res[0].returned, total);
    assert_int_equal(sh->res[0].lost, 0);
    assert_int_equal(sh->res[0].discarded, 1); /* seq sum matched */
    assert_true(killed_at[0] < killed_at[1]);
    print_message("killed at seq %llu and %llu, resumed without loss or duplicate\n",
                  (unsigned long long)killed_at[0], (unsigned long long)killed_at[1]);
    segment_free(&seg);
    ring_free(&r);
    munmap(sh, sizeof(*sh));
}

/* ---- threads (for ThreadSanitizer) -------------------------------------- */

struct thr {
    struct ring *r;
    unsigned slot;
    uint64_t total;
    uint64_t returned, lost, errors;
    _Atomic unsigned *ready;
};

static void *thr_consume(void *arg)
{
    struct thr *t = arg;
    struct ring_consumer c;
    struct ring_pkt *pkts = calloc(64, sizeof(*pkts));
    unsigned char *buf = malloc(1u << 16);
    uint64_t next = 0;
    unsigned spins = 0;

    if (ring_consumer_open(t->r, t->slot, RING_START_NEWEST, NULL, &c, NULL, 0) == -1)
        t->errors++;
    atomic_fetch_add(t->ready, 1);
    while (c.cur.seq < t->total) {
        unsigned n = ring_read_batch(&c, pkts, 64, buf, 1u << 16);

        if (n == 0) {
            idle(&spins);
            continue;
        }
        for (unsigned i = 0; i < n; i++) {
            if (pkts[i].seq < next || !rec_ok(&pkts[i]))
                t->errors++;
            next = pkts[i].seq + 1;
        }
        t->returned += n;
    }
    t->lost = c.cur.lost_records;
    free(pkts);
    free(buf);
    return NULL;
}

static void test_threads_small_ring(void **state)
{
    (void)state;
    struct ring *r = new_ring(UINT64_C(1) << 14);
    _Atomic unsigned ready = 0;
    struct thr t[2];
    pthread_t th[2];
    const uint64_t total = 200000 / SCALE;

    for (unsigned i = 0; i < 2; i++) {
        t[i] = (struct thr){.r = r, .slot = i, .total = total, .ready = &ready};
        assert_int_equal(pthread_create(&th[i], NULL, thr_consume, &t[i]), 0);
    }
    while (atomic_load(&ready) < 2)
        sched_yield();
    for (uint64_t s = 0; s < total; s++)
        push_seq(r, s);
    for (unsigned i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(t[i].errors, 0);
        assert_int_equal(t[i].returned + t[i].lost, total);
    }
    ring_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_layout),
        cmocka_unit_test(test_create_rejects_bad_size),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_wrap_with_padding),
        cmocka_unit_test(test_wrap_implicit_pad),
        cmocka_unit_test(test_lapping_exact),
        cmocka_unit_test(test_lapping_with_padding),
        cmocka_unit_test(test_commit_and_resume),
        cmocka_unit_test(test_producer_restart),
        cmocka_unit_test(test_threads_small_ring),
        cmocka_unit_test(test_mp_no_loss),
        cmocka_unit_test(test_mp_small_ring_slow_consumer),
        cmocka_unit_test(test_mp_tiny_ring_exact_loss),
        cmocka_unit_test(test_mp_kill_and_resume),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
