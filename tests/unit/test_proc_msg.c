/*
 * test_proc_msg.c - the supervisor's control messages and the metric
 * segment's crash bookkeeping.
 *
 * Messages: every type round-trips with its payload and fd; a message of an
 * unknown type, a wrong length, a missing or unexpected fd is refused as a
 * protocol error (and a passed fd is closed, not leaked); a closed peer reads
 * as 0, an empty socket as -2.  Expected values are the messages' own
 * definitions, built by hand here.
 *
 * Metric segment: metric_seg_start() counts restarts after crashes only and
 * names a record as poison the second time a process dies feeding it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agg_loop.h"
#include "handler.h"
#include "metric_seg.h"
#include "proc_msg.h"

static int pair[2];

static int setup(void **state)
{
    (void)state;
    assert_int_equal(proc_msg_channel(pair), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    close(pair[0]);
    close(pair[1]);
    return 0;
}

static bool fd_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

static void test_roundtrip(void **state)
{
    unsigned char buf[PROC_MSG_MAX];
    char err[256];
    uint32_t type;
    size_t len;
    int fd;
    (void)state;

    struct proc_msg_ready r = {.pid = 4242};
    assert_int_equal(proc_msg_send(pair[0], PROC_MSG_READY, &r, sizeof(r), -1), 0);
    assert_int_equal(proc_msg_recv(pair[1], &type, buf, &len, &fd, err, sizeof(err)), 1);
    assert_int_equal(type, PROC_MSG_READY);
    assert_int_equal(len, sizeof(r));
    assert_int_equal(fd, -1);
    assert_int_equal(((struct proc_msg_ready *)buf)->pid, 4242);

    struct proc_msg_instance m;
    memset(&m, 0, sizeof(m));
    strcpy(m.name, "default-dns");
    m.num_periods = 5;
    int devnull = open("/dev/null", O_RDONLY);
    assert_true(devnull >= 0);
    assert_int_equal(proc_msg_send(pair[0], PROC_MSG_INSTANCE, &m, sizeof(m), devnull), 0);
    close(devnull);
    assert_int_equal(proc_msg_recv(pair[1], &type, buf, &len, &fd, err, sizeof(err)), 1);
    assert_int_equal(type, PROC_MSG_INSTANCE);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_true(S_ISCHR(st.st_mode)); /* the same /dev/null */
    close(fd);
    assert_string_equal(((struct proc_msg_instance *)buf)->name, "default-dns");

    /* Nothing waiting: -2. */
    assert_int_equal(proc_msg_recv(pair[1], &type, buf, &len, &fd, err, sizeof(err)), -2);
}

/* A raw message as a broken or hostile peer would send it. */
static void send_raw(uint32_t type, uint32_t hdr_len, size_t payload, int pass_fd)
{
    unsigned char buf[PROC_MSG_MAX + 64];
    struct proc_msg_hdr h = {.type = type, .len = hdr_len};
    union {
        struct cmsghdr align;
        char c[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(buf, 0xab, sizeof(buf));
    memcpy(buf, &h, sizeof(h));
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(h) + payload};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (pass_fd >= 0) {
        memset(&ctl, 0, sizeof(ctl));
        msg.msg_control = ctl.c;
        msg.msg_controllen = sizeof(ctl.c);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
    }
    assert_int_equal(sendmsg(pair[0], &msg, 0), (ssize_t)iov.iov_len);
}

static void expect_refused(const char *why)
{
    unsigned char buf[PROC_MSG_MAX];
    char err[256];
    uint32_t type;
    size_t len;
    int fd = 12345;
    assert_int_equal(proc_msg_recv(pair[1], &type, buf, &len, &fd, err, sizeof(err)), -1);
    assert_int_equal(fd, -1);
    assert_non_null(strstr(err, why));
}

static void test_protocol_errors(void **state)
{
    (void)state;
    send_raw(99, 0, 0, -1);
    expect_refused("unknown message type");

    send_raw(PROC_MSG_READY, sizeof(struct proc_msg_ready) + 1, sizeof(struct proc_msg_ready) + 1,
             -1);
    expect_refused("wrong message length");

    /* The header claims more than was sent. */
    send_raw(PROC_MSG_READY, sizeof(struct proc_msg_ready), 2, -1);
    expect_refused("wrong message length");

    send_raw(1, 0, 0, -1); /* READY without its payload */
    expect_refused("wrong message length");

    send_raw(PROC_MSG_START, 2, 1, -1);
    expect_refused("wrong message length");

    send_raw(PROC_MSG_INSTANCE, sizeof(struct proc_msg_instance), sizeof(struct proc_msg_instance),
             -1);
    expect_refused("missing file descriptor");

    /* An fd where none belongs: refused, and the fd we got closed. */
    int before = open("/dev/null", O_RDONLY);
    assert_true(before >= 0);
    send_raw(PROC_MSG_READY, sizeof(struct proc_msg_ready), sizeof(struct proc_msg_ready), before);
    close(before);
    expect_refused("unexpected file descriptor");
    assert_false(fd_open(before)); /* the received copy took the lowest free number */

    send_raw(PROC_MSG_READY, 0, 0, -1);
    expect_refused("wrong message length");

    /* Too big for any message: truncated. */
    send_raw(PROC_MSG_READY, PROC_MSG_MAX, PROC_MSG_MAX + 32, -1);
    expect_refused("truncated");
}

static void test_peer_closed(void **state)
{
    unsigned char buf[PROC_MSG_MAX];
    char err[256];
    uint32_t type;
    size_t len;
    int fd;
    (void)state;
    close(pair[0]);
    assert_int_equal(proc_msg_recv(pair[1], &type, buf, &len, &fd, err, sizeof(err)), 0);
    pair[0] = open("/dev/null", O_RDONLY); /* for teardown */
}

static void test_seg_crash_words(void **state)
{
    char err[256];
    struct metric_seg_start ms;
    (void)state;
    struct segment *s = metric_seg_create(&handler_dhcp, "test-dhcp", 2, err, sizeof(err));
    if (s == NULL)
        fail_msg("%s", err);
    struct metric_seg_hdr *h = metric_seg_hdr(s);

    metric_seg_start(s, &ms); /* first process */
    assert_int_equal(ms.restarts, 0);
    assert_false(ms.poison);

    atomic_store(&h->inflight, 77); /* it dies feeding record 77 */
    metric_seg_start(s, &ms);
    assert_int_equal(ms.restarts, 1);
    assert_false(ms.poison);
    assert_int_equal(atomic_load(&h->inflight), AGG_INFLIGHT_NONE);

    atomic_store(&h->inflight, 77); /* and again: poison */
    metric_seg_start(s, &ms);
    assert_int_equal(ms.restarts, 2);
    assert_true(ms.poison);
    assert_int_equal(ms.poison_seq, 77);

    atomic_fetch_add(&h->clean_stops, 1); /* a requested stop: not a crash */
    metric_seg_start(s, &ms);
    assert_int_equal(ms.restarts, 2);
    assert_false(ms.poison);

    atomic_store(&h->inflight, 90); /* a different record: a new suspect */
    metric_seg_start(s, &ms);
    assert_int_equal(ms.restarts, 3);
    assert_false(ms.poison);

    /* The HTTP worker's read-only view refuses a segment of another type. */
    struct segment *r = metric_seg_attach(s->fd, false, &handler_dhcp, 2, err, sizeof(err));
    assert_non_null(r);
    segment_free(&r);
    assert_null(metric_seg_attach(s->fd, false, &handler_net, 2, err, sizeof(err)));
    assert_null(metric_seg_attach(s->fd, false, &handler_dhcp, 3, err, sizeof(err)));
    segment_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_closed, setup, teardown),
        cmocka_unit_test(test_seg_crash_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
