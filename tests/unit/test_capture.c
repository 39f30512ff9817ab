/*
 * test_capture.c - the capture source and loop: fixture files into a ring
 * read back by a consumer (counts and bytes from capinfos/tshark), BPF,
 * pacing, truncated and corrupt files, oversize records, IFACE errors, and,
 * as root, live capture on a veth pair between two network namespaces the
 * test creates (and deletes, also on failure).
 *
 * Expected values: dns_udp_tcp_random.pcap has 16147 frames, 1516056 bytes
 * (capinfos -c -d), 2971 of them UDP with 368553 bytes (tshark -Y udp,
 * frame.len summed); dns_ipv4_udp.pcapng 140 frames, 13320 bytes.  First
 * frame times (of the first UDP frame with the filter) from tshark -T
 * fields -e frame.time_epoch.
 *
 * The namespace tests fork: a child enters the capture namespace (setns)
 * and acts as the supervisor (opens the source), forks a capture child that
 * drops to uid 65534 before it reads, and a sender that enters the peer
 * namespace.  Children report through shared memory and their exit status,
 * never through cmocka (which must only run in the test process).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cap_loop.h"
#include "cap_source.h"
#include "hostspec.h"
#include "ring.h"

#define RING_BYTES (UINT64_C(1) << 23)
#define UDP_PORT   40001
#define N_LIVE     1000

static char err[1024];

/* ---- helpers ------------------------------------------------------------ */

static const char *fixture(const char *name)
{
    static char path[4096];
    fixture_path(path, sizeof(path), name);
    return path;
}

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * UINT64_C(0x100000001b3);
    return h;
}

struct ring_setup {
    struct ring *ring;
    struct ring_consumer c;
};

static void ring_setup(struct ring_setup *rs, uint64_t size, bool producer)
{
    rs->ring = ring_create("test-capture", size, err, sizeof(err));
    if (rs->ring == NULL)
        fail_msg("ring_create: %s", err);
    if (producer && ring_producer_init(rs->ring, err, sizeof(err)) != 0)
        fail_msg("ring_producer_init: %s", err);
    if (ring_consumer_open(rs->ring, 0, RING_START_OLDEST, NULL, &rs->c, err, sizeof(err)) != 0)
        fail_msg("ring_consumer_open: %s", err);
}

static void ring_teardown(struct ring_setup *rs)
{
    ring_consumer_close(&rs->c);
    ring_free(&rs->ring);
}

/* What a consumer read back. */
struct drained {
    uint64_t records, caplen_sum, wirelen_sum, hash, first_ts, lost;
    uint64_t stats_records, eof_records; /* control records, not in records */
    bool seq_ok, linktype_ok, eof_last;
};

typedef bool (*rec_pred)(const struct ring_pkt *p);

static void drain(struct ring_setup *rs, int linktype, rec_pred count_if, uint64_t *matched,
                  struct drained *d)
{
    static struct ring_pkt pkts[256];
    static unsigned char buf[RING_MAX_CAPLEN * 2];
    uint64_t next_seq = 0;
    unsigned n;

    memset(d, 0, sizeof(*d));
    d->hash = UINT64_C(0xcbf29ce484222325);
    d->seq_ok = d->linktype_ok = true;
    while ((n = ring_read_batch(&rs->c, pkts, 256, buf, sizeof(buf))) > 0) {
        for (unsigned i = 0; i < n; i++) {
            const struct ring_pkt *p = &pkts[i];
            if (d->records == 0)
                d->first_ts = p->ts_ns;
            if (p->seq != next_seq)
                d->seq_ok = false;
            next_seq = p->seq + 1;
            d->eof_last = false;
            if (p->linktype == RING_LINK_STATS) {
                d->stats_records++;
                continue;
            }
            if (p->linktype == RING_LINK_EOF) {
                d->eof_records++;
                d->eof_last = true;
                continue;
            }
            if (p->linktype != linktype)
                d->linktype_ok = false;
            d->records++;
            d->caplen_sum += p->caplen;
            d->wirelen_sum += p->wirelen;
            d->hash = fnv(d->hash, &p->caplen, sizeof(p->caplen));
            d->hash = fnv(d->hash, p->data, p->caplen);
            if (count_if != NULL && count_if(p))
                (*matched)++;
        }
    }
    d->lost = rs->c.cur.lost_records;
}

/* The same hash computed by reading the file with libpcap directly. */
static uint64_t file_hash(const char *path, const char *bpf)
{
    char pe[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, pe);
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t hash = UINT64_C(0xcbf29ce484222325);
    struct bpf_program prog;

    assert_non_null(p);
    if (bpf != NULL) {
        assert_int_equal(pcap_compile(p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN), 0);
        assert_int_equal(pcap_setfilter(p, &prog), 0);
        pcap_freecode(&prog);
    }
    while (pcap_next_ex(p, &h, &data) == 1) {
        uint32_t cl = h->caplen;
        hash = fnv(hash, &cl, sizeof(cl));
        hash = fnv(hash, data, cl);
    }
    pcap_close(p);
    return hash;
}

/* Write n Ethernet/IPv4/UDP frames of `size` bytes (>= 42) to path. */
static void write_pcap(const char *path, unsigned n, unsigned size)
{
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t *dump;
    unsigned char frame[2048];

    assert_non_null(dead);
    assert_true(size >= 42 && size <= sizeof(frame));
    dump = pcap_dump_open(dead, path);
    assert_non_null(dump);
    for (unsigned i = 0; i < n; i++) {
        struct pcap_pkthdr h = {.ts = {.tv_sec = 1700000000 + i / 1000, .tv_usec = i % 1000},
                                .caplen = size,
                                .len = size};
        memset(frame, 0, sizeof(frame));
        frame[12] = 0x08; /* IPv4 */
        frame[14] = 0x45;
        frame[16] = (unsigned char)((size - 14) >> 8);
        frame[17] = (unsigned char)(size - 14);
        frame[22] = 64;
        frame[23] = 17; /* UDP */
        memcpy(frame + 26, "\xc0\x00\x02\x02\xc0\x00\x02\x01", 8);
        frame[36] = UDP_PORT >> 8;
        frame[37] = UDP_PORT & 0xff;
        memcpy(frame + 42, &i, size - 42 < sizeof(i) ? size - 42 : sizeof(i));
        pcap_dump((u_char *)dump, &h, frame);
    }
    pcap_dump_close(dump);
    pcap_close(dead);
}

static void tmp_path(char *buf, size_t size, const char *tag)
{
    snprintf(buf, size, "/tmp/test_capture_%d_%s.pcap", (int)getpid(), tag);
}

static struct cap_source *open_file(const char *path, const char *bpf)
{
    struct cap_source_config cfg = {.file = path, .bpf = bpf};
    struct cap_source *src = cap_source_open(&cfg, err, sizeof(err));

    if (src == NULL)
        fail_msg("cap_source_open(%s): %s", path, err);
    return src;
}

static volatile sig_atomic_t no_stop;

/* ---- files ------------------------------------------------------------- */

static void check_fixture(const char *name, const char *bpf, uint64_t packets, uint64_t bytes,
                          uint64_t first_ts)
{
    struct ring_setup rs;
    struct cap_loop_config cfg = {0};
    struct cap_loop_stats st;
    struct drained d;
    struct cap_source *src = open_file(fixture(name), bpf);

    ring_setup(&rs, RING_BYTES, true);
    assert_false(cap_source_is_live(src));
    assert_true(cap_source_nsec(src));
    assert_int_equal(cap_source_linktype(src), DLT_EN10MB);
    assert_int_equal(cap_loop_run(src, rs.ring, &cfg, &no_stop, &st), CAP_LOOP_EOF);
    assert_int_equal(st.packets, packets);
    assert_int_equal(st.bytes, bytes);
    assert_int_equal(st.captured_bytes, bytes);
    assert_int_equal(st.ring_pushes, packets);
    assert_int_equal(st.ring_push_failures, 0);
    assert_int_equal(st.file_errors, 0);
    assert_int_equal(st.stats_samples, 0);

    drain(&rs, DLT_EN10MB, NULL, NULL, &d);
    assert_int_equal(d.records, packets);
    /* After the last frame, once: the end of the file. */
    assert_int_equal(d.eof_records, 1);
    assert_true(d.eof_last);
    assert_int_equal(d.stats_records, 0);
    assert_int_equal(d.caplen_sum, bytes);
    assert_int_equal(d.wirelen_sum, bytes);
    assert_int_equal(d.lost, 0);
    assert_true(d.seq_ok);
    assert_true(d.linktype_ok);
    assert_int_equal(d.first_ts, first_ts);
    assert_true(d.hash == file_hash(fixture(name), bpf));

    /* Read again after the end: still the end, nothing new. */
    assert_int_equal(cap_loop_run(src, rs.ring, &cfg, &no_stop, &st), CAP_LOOP_EOF);
    assert_int_equal(st.packets, 0);
    cap_source_close(&src);
    assert_null(src);
    ring_teardown(&rs);
}

static void test_file_pcap(void **state)
{
    (void)state;
    check_fixture("dns_udp_tcp_random.pcap", NULL, 16147, 1516056, UINT64_C(1614874231565771000));
}

static void test_file_pcapng(void **state)
{
    (void)state;
    check_fixture("dns_ipv4_udp.pcapng", NULL, 140, 13320, UINT64_C(1567706414599964000));
}

static void test_file_bpf(void **state)
{
    (void)state;
    check_fixture("dns_udp_tcp_random.pcap", "udp", 2971, 368553, UINT64_C(1614874232763263000));
}

static void test_bpf_invalid(void **state)
{
    struct cap_source_config cfg = {.file = fixture("dns_ipv4_udp.pcapng"), .bpf = "udp and and"};
    const char *want = "invalid BPF filter 'udp and and': ";
    struct cap_source *src;

    (void)state;
    assert_null(cap_source_open(&cfg, err, sizeof(err)));
    assert_memory_equal(err, want, strlen(want));
    assert_true(strlen(err) > strlen(want)); /* libpcap's reason follows */

    src = open_file(fixture("dns_ipv4_udp.pcapng"), NULL);
    assert_int_equal(cap_source_set_filter(src, "port", err, sizeof(err)), -1);
    assert_memory_equal(err, "invalid BPF filter 'port': ", 27);
    assert_int_equal(cap_source_set_filter(src, "", err, sizeof(err)), 0);
    cap_source_close(&src);
}

static void test_file_errors(void **state)
{
    struct cap_source_config none = {0};
    struct cap_source_config both = {.file = "x.pcap", .iface = "lo"};
    struct cap_source_config missing = {.file = "/nonexistent/none.pcap"};
    struct cap_source *src = open_file(fixture("dns_ipv4_udp.pcapng"), NULL);
    struct cap_source_stats ks;

    (void)state;
    assert_null(cap_source_open(&none, err, sizeof(err)));
    assert_null(cap_source_open(&both, err, sizeof(err)));
    assert_null(cap_source_open(&missing, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/none.pcap"));
    assert_non_null(strstr(err, "No such file"));
    /* Files have no kernel counters and no interface addresses. */
    assert_int_equal(cap_source_stats(src, &ks, err, sizeof(err)), -1);
    struct hostspec *hs = calloc(1, sizeof(*hs));
    assert_non_null(hs);
    assert_int_equal(cap_source_iface_hosts(src, hs, err, sizeof(err)), 0);
    assert_int_equal(hs->n, 0);
    free(hs);
    cap_source_close(&src);
    cap_source_close(&src); /* NULL: nothing */
}

/* A file cut inside its last record: a warning, the rest stands. */
static void test_file_truncated(void **state)
{
    char path[256];
    struct ring_setup rs;
    struct cap_loop_config cfg = {0};
    struct cap_loop_stats st;
    struct stat sb;

    (void)state;
    tmp_path(path, sizeof(path), "trunc");
    write_pcap(path, 100, 100);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(truncate(path, sb.st_size - 10), 0);

    struct cap_source *src = open_file(path, NULL);
    ring_setup(&rs, RING_BYTES, true);
    assert_int_equal(cap_loop_run(src, rs.ring, &cfg, &no_stop, &st), CAP_LOOP_TRUNCATED);
    assert_int_equal(st.packets, 99);
    assert_int_equal(st.ring_pushes, 99);
    assert_int_equal(st.file_errors, 1);
    assert_non_null(strstr(st.message, "truncated"));
    assert_non_null(strstr(st.message, path));
    cap_source_close(&src);
    ring_teardown(&rs);
    unlink(path);
}

/* A record header with an impossible length: an error, not a warning. */
static void test_file_corrupt(void **state)
{
    char path[256];
    struct ring_setup rs;
    struct cap_loop_config cfg = {0};
    struct cap_loop_stats st;
    uint32_t bad = 0x7fffffff;

    (void)state;
    tmp_path(path, sizeof(path), "corrupt");
    write_pcap(path, 10, 100);
    /* Record 5's header: 24-byte file header, records of 16 + 100 bytes;
     * caplen is the third 32-bit word. */
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, &bad, 4, 24 + 5 * 116 + 8), 4);
    close(fd);

    struct cap_source *src = open_file(path, NULL);
    ring_setup(&rs, RING_BYTES, true);
    assert_int_equal(cap_loop_run(src, rs.ring, &cfg, &no_stop, &st), CAP_LOOP_ERROR);
    assert_int_equal(st.packets, 5);
    assert_int_equal(st.file_errors, 1);
    assert_null(strstr(st.message, "truncated"));
    assert_non_null(strstr(st.message, path));
    cap_source_close(&src);
    ring_teardown(&rs);
    unlink(path);
}

/* Records the ring cannot hold are counted, the others still go in. */
static void test_ring_oversize(void **state)
{
    char big[256], small[256];
    struct ring_setup rs;
    struct cap_loop_config cfg = {0};
    struct cap_loop_stats st;
    struct ring_stats rst;
    struct drained d;

    (void)state;
    tmp_path(big, sizeof(big), "big");
    tmp_path(small, sizeof(small), "small");
    write_pcap(big, 10, 1500);
    write_pcap(small, 10, 100);
    ring_setup(&rs, RING_MIN_SIZE, true);
    assert_true(ring_max_caplen(rs.ring) < 1500);

    struct cap_source *src = open_file(big, NULL);
    assert_int_equal(cap_loop_run(src, rs.ring, &cfg, &no_stop, &st), CAP_LOOP_EOF);
    assert_int_equal(st.packets, 10);
    assert_int_equal(st.ring_pushes, 0);
    assert_int_equal(st.ring_push_failures, 10);
    cap_source_close(&src);
    src = open_file(small, NULL);
    assert_int_equal(cap_loop_run(src, rs.ring, &cfg, &no_stop, &st), CAP_LOOP_EOF);
    assert_int_equal(st.ring_pushes, 10);
    assert_int_equal(st.ring_push_failures, 0);
    cap_source_close(&src);
    ring_stats(rs.ring, &rst);
    assert_int_equal(rst.oversize, 10);
    drain(&rs, DLT_EN10MB, NULL, NULL, &d);
    assert_int_equal(d.records, 10);
    assert_int_equal(d.caplen_sum, 1000);
    ring_teardown(&rs);
    unlink(big);
    unlink(small);
}

/* ---- pacing ------------------------------------------------------------- */

/* Replay n packets at pps; returns the elapsed seconds. */
static double paced_run(unsigned n, uint64_t pps)
{
    char path[256];
    struct ring_setup rs;
    struct cap_loop_config cfg = {.replay_pps = pps};
    struct cap_loop_stats st;
    double t0, dt;

    tmp_path(path, sizeof(path), "pace");
    write_pcap(path, n, 60);
    struct cap_source *src = open_file(path, NULL);
    ring_setup(&rs, UINT64_C(1) << 25, true);
    t0 = mono_s();
    assert_int_equal(cap_loop_run(src, rs.ring, &cfg, &no_stop, &st), CAP_LOOP_EOF);
    dt = mono_s() - t0;
    assert_int_equal(st.packets, n);
    assert_int_equal(st.ring_pushes, n);
    cap_source_close(&src);
    ring_teardown(&rs);
    unlink(path);
    return dt;
}

static void test_pacing_1k(void **state)
{
    (void)state;
    double dt = paced_run(2000, 1000);
    print_message("pacing: 2000 packets at 1000 pps took %.4f s (%+.3f%%)\n", dt,
                  (dt / 2.0 - 1) * 100);
    assert_true(dt > 2.0 * 0.95 && dt < 2.0 * 1.05);
}

static void test_pacing_200k(void **state)
{
    (void)state;
    double dt = paced_run(400000, 200000);
    print_message("pacing: 400000 packets at 200000 pps took %.4f s (%+.3f%%)\n", dt,
                  (dt / 2.0 - 1) * 100);
    /* Never ahead of the schedule.  Behind it only by what a busy machine
     * takes away beyond the 20 ms of credit (make check runs suites in
     * parallel, under sanitizers too); a pacer that lost its schedule or
     * slept per packet would be far slower than 10%. */
    assert_true(dt > 2.0 * 0.99 && dt < 2.0 * 1.10);
}

/* Long runs at several rates, for the record: CAP_TEST_PACING_FULL=1. */
static void test_pacing_rates(void **state)
{
    static const uint64_t rates[] = {1000, 10000, 50000, 100000, 200000};

    (void)state;
    if (getenv("CAP_TEST_PACING_FULL") == NULL)
        skip();
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        unsigned n = (unsigned)(rates[i] * 4);
        double dt = paced_run(n, rates[i]);
        double want = (double)n / (double)rates[i];
        print_message("pacing: %u packets at %llu pps: %.4f s, expected %.1f s (%+.3f%%)\n", n,
                      (unsigned long long)rates[i], dt, want, (dt / want - 1) * 100);
        assert_true(dt > want * 0.99 && dt < want * 1.01);
    }
}

static volatile sig_atomic_t stop_flag;

static void on_alarm(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* A stop request ends a paced replay within a packet interval or two. */
static void test_stop(void **state)
{
    char path[256];
    struct ring_setup rs;
    struct cap_loop_config cfg = {.replay_pps = 1000};
    struct cap_loop_stats st;
    struct sigaction sa = {.sa_handler = on_alarm};
    struct itimerval it = {.it_value = {.tv_sec = 0, .tv_usec = 300000}};

    (void)state;
    tmp_path(path, sizeof(path), "stop");
    write_pcap(path, 2000, 60);
    struct cap_source *src = open_file(path, NULL);
    ring_setup(&rs, RING_BYTES, true);
    stop_flag = 0;
    sigaction(SIGALRM, &sa, NULL);
    setitimer(ITIMER_REAL, &it, NULL);
    double t0 = mono_s();
    assert_int_equal(cap_loop_run(src, rs.ring, &cfg, &stop_flag, &st), CAP_LOOP_STOPPED);
    double dt = mono_s() - t0;
    assert_true(dt > 0.29 && dt < 0.35);
    assert_true(st.packets > 250 && st.packets < 350);
    cap_source_close(&src);
    ring_teardown(&rs);
    unlink(path);
}

/* ---- IFACE resolution (any namespace) ------------------------------------ */

/* ",lo," is in ",list," */
static bool list_has(const char *list, const char *name)
{
    char a[2048], b[64];

    snprintf(a, sizeof(a), ",%s,", list);
    snprintf(b, sizeof(b), ",%s,", name);
    return strstr(a, b) != NULL;
}

static const char *name_prefix = "Couldn't find interface by provided name: \"pvnosuch0\". "
                                 "Available interfaces: ";

static void test_iface_unknown(void **state)
{
    struct cap_source_config cfg = {.iface = "pvnosuch0"};

    (void)state;
    assert_null(cap_source_open(&cfg, err, sizeof(err)));
    assert_memory_equal(err, name_prefix, strlen(name_prefix));
    assert_true(list_has(err + strlen(name_prefix), "lo"));

    /* Documentation addresses (RFC 5737, RFC 3849) no host should own. */
    cfg.iface = "203.0.113.254";
    assert_null(cap_source_open(&cfg, err, sizeof(err)));
    assert_string_equal(err, "Couldn't find interface by provided IP: 203.0.113.254");
    cfg.iface = "2001:db8:ffff::99";
    assert_null(cap_source_open(&cfg, err, sizeof(err)));
    assert_string_equal(err, "Couldn't find interface by provided IP: 2001:db8:ffff::99");
}

/* ---- network namespaces (root) ------------------------------------------ */

static char ns_cap[32], ns_peer[32];
static bool ns_ready;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return rc == -1 || !WIFEXITED(rc) ? -1 : WEXITSTATUS(rc);
}

static void ns_delete(void)
{
    sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null; true", ns_cap, ns_peer);
}

/* Two namespaces joined by a veth pair with fixed MAC addresses and static
 * neighbour entries (no ARP, so no datagram waits in a neighbour queue). */
static int ns_setup(void **state)
{
    (void)state;
    ns_ready = false;
    if (geteuid() != 0 || sh("ip netns list >/dev/null 2>&1") != 0)
        return 0;
    snprintf(ns_cap, sizeof(ns_cap), "pvtest%d", (int)getpid());
    snprintf(ns_peer, sizeof(ns_peer), "pvtest%dp", (int)getpid());
    ns_delete();
    if (sh("set -e; C=%s; P=%s;"
           "ip netns add $C; ip netns add $P;"
           "ip link add pvcap0 address 02:00:00:00:00:01 netns $C type veth"
           " peer name pvpeer0 address 02:00:00:00:00:02 netns $P;"
           "ip -n $C link set pvcap0 addrgenmode none;"
           "ip -n $P link set pvpeer0 addrgenmode none;"
           "ip -n $C addr add 192.0.2.1/24 dev pvcap0;"
           "ip -n $C addr add 2001:db8::1/64 dev pvcap0 nodad;"
           "ip -n $P addr add 192.0.2.2/24 dev pvpeer0;"
           "ip -n $C link set lo up; ip -n $C link set pvcap0 up;"
           "ip -n $P link set lo up; ip -n $P link set pvpeer0 up;"
           "ip -n $P neigh replace 192.0.2.1 lladdr 02:00:00:00:00:01 dev pvpeer0 nud permanent;"
           "ip -n $C neigh replace 192.0.2.2 lladdr 02:00:00:00:00:02 dev pvcap0 nud permanent",
           ns_cap, ns_peer) != 0) {
        ns_delete();
        return -1;
    }
    ns_ready = true;
    return 0;
}

static int ns_teardown(void **state)
{
    (void)state;
    if (ns_ready)
        ns_delete();
    ns_ready = false;
    return 0;
}

static int enter_ns(const char *name)
{
    char path[256];

    snprintf(path, sizeof(path), "/run/netns/%s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = setns(fd, CLONE_NEWNET);
    close(fd);
    return rc;
}

/* What a child process reports (shared anonymous memory). */
struct child_report {
    char msg[1536];
    struct cap_loop_stats st;
    int status;
    uint64_t callbacks, cb_recv, cb_drop, cb_ifdrop;
    uint64_t records, stats_records, matched, lost;
    double seconds;
    char hosts[4][64];
    uint32_t nhosts;
};

static struct child_report *report;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            snprintf(report->msg, sizeof(report->msg), __VA_ARGS__);                               \
            _exit(1);                                                                              \
        }                                                                                          \
    } while (0)

/* Run body in a forked child inside the capture namespace. */
static void in_namespace(void (*body)(void))
{
    pid_t pid;
    int status;

    if (!ns_ready)
        skip();
    report = mmap(NULL, sizeof(*report), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(report != MAP_FAILED);
    memset(report, 0, sizeof(*report));
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        CHECK(enter_ns(ns_cap) == 0, "setns %s: %s", ns_cap, strerror(errno));
        body();
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("namespace child failed (status 0x%x): %s", status, report->msg);
}

static void body_resolve(void)
{
    struct cap_source_config cfg = {.iface = "192.0.2.1"};
    struct hostspec *hs = calloc(1, sizeof(*hs));
    struct cap_source *src;

    CHECK(hs != NULL, "calloc");
    CHECK(hostspec_parse(hs, "10.0.0.0/8", err, sizeof(err)) == 0, "hostspec_parse: %s", err);
    src = cap_source_open(&cfg, err, sizeof(err));
    CHECK(src != NULL, "open 192.0.2.1: %s", err);
    CHECK(strcmp(cap_source_name(src), "pvcap0") == 0, "192.0.2.1 -> %s", cap_source_name(src));
    CHECK(cap_source_is_live(src), "not live");
    CHECK(cap_source_linktype(src) == DLT_EN10MB, "linktype %d", cap_source_linktype(src));
    int n = cap_source_iface_hosts(src, hs, err, sizeof(err));
    CHECK(n == 2, "appended %d: %s", n, err);
    report->nhosts = hs->n;
    for (uint32_t i = 0; i < hs->n && i < 4; i++)
        hostspec_format(hs, i, report->hosts[i], sizeof(report->hosts[i]));
    cap_source_close(&src);

    cfg.iface = "2001:db8::1";
    src = cap_source_open(&cfg, err, sizeof(err));
    CHECK(src != NULL, "open 2001:db8::1: %s", err);
    CHECK(strcmp(cap_source_name(src), "pvcap0") == 0, "2001:db8::1 -> %s", cap_source_name(src));
    cap_source_close(&src);

    cfg.iface = "pvcap0";
    src = cap_source_open(&cfg, err, sizeof(err));
    CHECK(src != NULL, "open pvcap0: %s", err);
    cap_source_close(&src);

    /* Inside the namespace the address list is known exactly. */
    cfg.iface = "192.0.2.2"; /* the peer's, in the other namespace */
    CHECK(cap_source_open(&cfg, err, sizeof(err)) == NULL, "192.0.2.2 opened");
    CHECK(strcmp(err, "Couldn't find interface by provided IP: 192.0.2.2") == 0, "%s", err);
    cfg.iface = "pvnosuch0";
    CHECK(cap_source_open(&cfg, err, sizeof(err)) == NULL, "pvnosuch0 opened");
    CHECK(strncmp(err, name_prefix, strlen(name_prefix)) == 0, "%s", err);
    CHECK(list_has(err + strlen(name_prefix), "pvcap0") &&
              list_has(err + strlen(name_prefix), "lo"),
          "%s", err);
    CHECK(!list_has(err + strlen(name_prefix), "pvpeer0"), "%s", err);

    /* A live BPF error has the same words. */
    cfg.iface = "pvcap0";
    cfg.bpf = "tcp port";
    CHECK(cap_source_open(&cfg, err, sizeof(err)) == NULL, "bad filter accepted");
    CHECK(strncmp(err, "invalid BPF filter 'tcp port': ", 31) == 0, "%s", err);
    free(hs);
}

static void test_ns_resolve(void **state)
{
    (void)state;
    in_namespace(body_resolve);
    assert_int_equal(report->nhosts, 3);
    assert_string_equal(report->hosts[0], "10.0.0.0/8");
    assert_string_equal(report->hosts[1], "192.0.2.1/24");
    assert_string_equal(report->hosts[2], "2001:db8::1/64");
    munmap(report, sizeof(*report));
}

static void drop_privileges(void)
{
    CHECK(setgroups(0, NULL) == 0 && setresgid(65534, 65534, 65534) == 0 &&
              setresuid(65534, 65534, 65534) == 0,
          "dropping privileges: %s", strerror(errno));
}

static void body_permission(void)
{
    struct cap_source_config cfg = {.iface = "pvcap0"};

    drop_privileges();
    CHECK(cap_source_open(&cfg, err, sizeof(err)) == NULL, "opened without privileges");
    CHECK(strstr(err, "you need CAP_NET_RAW") != NULL, "%s", err);
    CHECK(strncmp(err, "pvcap0: ", 8) == 0, "%s", err);
}

static void test_ns_permission(void **state)
{
    (void)state;
    in_namespace(body_permission);
    munmap(report, sizeof(*report));
}

static volatile sig_atomic_t child_stop;

static void on_term(int sig)
{
    (void)sig;
    child_stop = 1;
}

static void count_stats(const struct cap_source_stats *d, void *arg)
{
    struct child_report *r = arg;

    r->callbacks++;
    r->cb_recv += d->recv;
    r->cb_drop += d->drop;
    r->cb_ifdrop += d->ifdrop;
}

/* The capture process: unprivileged, it only reads the handle. */
static void capture_child(struct cap_source *src, struct ring *ring)
{
    struct cap_loop_config cfg = {.on_stats = count_stats, .stats_arg = report};
    double t0;

    CHECK(ring_producer_init(ring, err, sizeof(err)) == 0, "producer: %s", err);
    drop_privileges();
    t0 = mono_s();
    report->status = cap_loop_run(src, ring, &cfg, &child_stop, &report->st);
    report->seconds = mono_s() - t0;
    _exit(0);
}

/* The sender, in the peer namespace: N_LIVE datagrams to 192.0.2.1. */
static void sender_child(void)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(UDP_PORT)};
    char payload[100];
    int fd;

    CHECK(enter_ns(ns_peer) == 0, "setns %s: %s", ns_peer, strerror(errno));
    inet_pton(AF_INET, "192.0.2.1", &to.sin_addr);
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(fd >= 0, "socket: %s", strerror(errno));
    for (int i = 0; i < N_LIVE; i++) {
        memset(payload, 0, sizeof(payload));
        snprintf(payload, sizeof(payload), "pvtest %d", i);
        CHECK(sendto(fd, payload, sizeof(payload), 0, (struct sockaddr *)&to, sizeof(to)) ==
                  (ssize_t)sizeof(payload),
              "sendto: %s", strerror(errno));
        /* Short pauses keep the receive backlog (1000 by default) clear. */
        if (i % 50 == 49)
            usleep(1000);
    }
    close(fd);
    _exit(0);
}

/* Ethernet/IPv4/UDP from 192.0.2.2 to 192.0.2.1:UDP_PORT, 100-byte payload. */
static bool is_test_datagram(const struct ring_pkt *p)
{
    const unsigned char *b = p->data;

    return p->caplen == 14 + 20 + 8 + 100 && p->wirelen == p->caplen && b[12] == 0x08 &&
           b[13] == 0x00 && b[14] == 0x45 && b[23] == 17 &&
           memcmp(b + 26, "\xc0\x00\x02\x02\xc0\x00\x02\x01", 8) == 0 && b[36] == (UDP_PORT >> 8) &&
           b[37] == (UDP_PORT & 0xff) && memcmp(b + 42, "pvtest ", 7) == 0;
}

/* A grandchild failed: keep its message if it left one. */
static void child_failed(const char *who, int status)
{
    if (report->msg[0] == '\0')
        snprintf(report->msg, sizeof(report->msg), "%s failed (status 0x%x)", who, status);
    _exit(1);
}

static void body_live(void)
{
    struct cap_source_config cfg = {.iface = "192.0.2.1"};
    struct sigaction sa = {.sa_handler = on_term};
    struct cap_source *src;
    struct ring_setup rs;
    struct drained d;
    pid_t cap, snd;
    int status;

    /* The supervisor's half: open, create the ring, fork. */
    src = cap_source_open(&cfg, err, sizeof(err));
    CHECK(src != NULL, "open: %s", err);
    rs.ring = ring_create("test-capture-live", RING_BYTES, err, sizeof(err));
    CHECK(rs.ring != NULL, "ring_create: %s", err);
    CHECK(ring_consumer_open(rs.ring, 0, RING_START_OLDEST, NULL, &rs.c, err, sizeof(err)) == 0,
          "consumer: %s", err);
    sigaction(SIGTERM, &sa, NULL);
    cap = fork();
    CHECK(cap >= 0, "fork: %s", strerror(errno));
    if (cap == 0)
        capture_child(src, rs.ring);
    /* One reader per handle: the supervisor lets go of its copy. */
    cap_source_close(&src);

    snd = fork();
    CHECK(snd >= 0, "fork: %s", strerror(errno));
    if (snd == 0)
        sender_child();
    if (waitpid(snd, &status, 0) != snd || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        child_failed("sender", status);
    /* Let the 10 ms block timeout hand over the last block and a 1 s
     * statistics tick pass, then stop the capture process. */
    usleep(1500 * 1000);
    kill(cap, SIGTERM);
    if (waitpid(cap, &status, 0) != cap || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        child_failed("capture child", status);

    uint64_t matched = 0;
    drain(&rs, DLT_EN10MB, is_test_datagram, &matched, &d);
    report->records = d.records;
    report->stats_records = d.stats_records;
    report->matched = matched;
    report->lost = d.lost;
    CHECK(d.seq_ok && d.linktype_ok, "seq or linktype wrong in the ring");
    /* Live stamps are in nanoseconds since the epoch: now, give or take. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    CHECK(d.first_ts / 1000000000u + 60 > (uint64_t)now.tv_sec &&
              d.first_ts / 1000000000u <= (uint64_t)now.tv_sec,
          "first timestamp %llu", (unsigned long long)d.first_ts);
    ring_consumer_close(&rs.c);
    ring_free(&rs.ring);
}

static void test_ns_live(void **state)
{
    (void)state;
    in_namespace(body_live);
    const struct child_report *r = report;
    print_message("live: %llu packets (%llu test datagrams) in the ring, %llu bytes, "
                  "kernel recv %llu drop %llu ifdrop %llu, %llu stats samples over %.2f s\n",
                  (unsigned long long)r->records, (unsigned long long)r->matched,
                  (unsigned long long)r->st.bytes, (unsigned long long)r->st.kernel_recv,
                  (unsigned long long)r->st.kernel_drops, (unsigned long long)r->st.if_drops,
                  (unsigned long long)r->st.stats_samples, r->seconds);
    assert_int_equal(r->status, CAP_LOOP_STOPPED);
    assert_true(r->records >= N_LIVE);
    assert_int_equal(r->matched, N_LIVE);
    assert_int_equal(r->lost, 0);
    assert_int_equal(r->st.packets, r->records);
    assert_int_equal(r->st.ring_pushes, r->records);
    assert_int_equal(r->st.ring_push_failures, 0);
    assert_int_equal(r->st.kernel_drops, 0);
    assert_int_equal(r->st.if_drops, 0);
    assert_true(r->st.kernel_recv >= N_LIVE);
    /* One sample per second plus the last one at stop; the callback saw
     * every sample the loop took. */
    assert_true(r->st.stats_samples >= 2);
    assert_true(r->st.stats_samples <= (uint64_t)r->seconds + 2);
    assert_int_equal(r->callbacks, r->st.stats_samples);
    /* Each sample also went into the ring, in order with the frames. */
    assert_int_equal(r->stats_records, r->st.stats_samples);
    assert_int_equal(r->cb_recv, r->st.kernel_recv);
    assert_int_equal(r->cb_drop, 0);
    munmap(report, sizeof(*report));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_pcap),
        cmocka_unit_test(test_file_pcapng),
        cmocka_unit_test(test_file_bpf),
        cmocka_unit_test(test_bpf_invalid),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_file_truncated),
        cmocka_unit_test(test_file_corrupt),
        cmocka_unit_test(test_ring_oversize),
        cmocka_unit_test(test_pacing_1k),
        cmocka_unit_test(test_pacing_200k),
        cmocka_unit_test(test_pacing_rates),
        cmocka_unit_test(test_stop),
        cmocka_unit_test(test_iface_unknown),
        cmocka_unit_test_setup_teardown(test_ns_resolve, ns_setup, ns_teardown),
        cmocka_unit_test_setup_teardown(test_ns_permission, ns_setup, ns_teardown),
        cmocka_unit_test_setup_teardown(test_ns_live, ns_setup, ns_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
