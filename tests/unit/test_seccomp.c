/*
 * test_seccomp.c - each role's system call filter, from a forked child.
 *
 * The child installs a role's filter (no root needed: seccomp_install sets
 * no_new_privs), then does one thing; the parent looks at how it ended and
 * at the line the SIGSYS handler wrote to a pipe.  Allowed calls must work
 * (exit 0), forbidden ones must kill the child with SIGSYS after the line
 * "seccomp: forbidden system call N".  In sanitizer builds, opening a file
 * and execve fail with EACCES instead (seccomp.h).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "seccomp.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

struct run {
    int status;
    char log[1024];
};

typedef int (*body_fn)(void); /* in the child, after the filter: its exit status */

static int go_fd = -1;    /* an empty pipe (ioctl FIONREAD) */
static int ctl_fd = -1;   /* the child's control socket (READY) */
static int other_fd = -1; /* another socket, opened before the filter */
static pid_t parent = -1; /* getppid() is not allowed: known before */

/* Fork; the child installs role's filter (log in pipe format or not), runs
 * body and exits with its result.  The parent may look at the child
 * (look != NULL) before letting it run body, then collects status and log. */
static void run(enum seccomp_role role, bool log_pipe, body_fn body, void (*look)(pid_t),
                struct run *r)
{
    int logp[2], go[2], rdy[2], ctl[2], other[2];
    /* The go-ahead: a shared flag the child sleeps on (an aggregator may
     * not read). */
    volatile int *go_flag =
        mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(go_flag != MAP_FAILED);
    *go_flag = 0;

    assert_int_equal(pipe(logp), 0);
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(rdy), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ctl), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, other), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[256];
        close(logp[0]);
        close(go[1]);
        close(rdy[0]);
        go_fd = go[0];
        ctl_fd = ctl[0];
        other_fd = other[0];
        parent = getppid();
        if (seccomp_install(role, ctl_fd, logp[1], log_pipe, err, sizeof(err)) != 0) {
            ssize_t w = write(logp[1], err, strlen(err));
            (void)w;
            _exit(90);
        }
        /* Installed (a write: close is not allowed everywhere). */
        ssize_t w = write(rdy[1], "i", 1);
        (void)w;
        while (!*go_flag) { /* the parent's look first */
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        _exit(body());
    }
    char ch;
    close(logp[1]);
    close(go[0]);
    close(rdy[1]);
    close(ctl[0]);
    close(other[0]);
    assert_int_equal(read(rdy[0], &ch, 1), 1);
    close(rdy[0]);
    if (look != NULL)
        look(pid);
    *go_flag = 1;
    close(go[1]);
    size_t n = 0;
    ssize_t k;
    while (n < sizeof(r->log) - 1 && (k = read(logp[0], r->log + n, sizeof(r->log) - 1 - n)) > 0)
        n += (size_t)k;
    r->log[n] = '\0';
    close(logp[0]);
    close(ctl[1]);
    close(other[1]);
    assert_int_equal(waitpid(pid, &r->status, 0), pid);
    munmap((void *)go_flag, sizeof(int));
}

static void assert_exit0(const struct run *r)
{
    if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0)
        fail_msg("child: status 0x%x (%s%d), log: %s", r->status,
                 WIFSIGNALED(r->status) ? "signal " : "exit ",
                 WIFSIGNALED(r->status) ? WTERMSIG(r->status) : WEXITSTATUS(r->status), r->log);
    assert_string_equal(r->log, "");
}

/* Killed by SIGSYS, after saying which call. */
static void assert_trapped(const struct run *r, long nr)
{
    char want[96];
    snprintf(want, sizeof(want), "seccomp: forbidden system call %ld\n", nr);
    if (!WIFSIGNALED(r->status) || WTERMSIG(r->status) != SIGSYS)
        fail_msg("child not killed by SIGSYS: status 0x%x, log: %s", r->status, r->log);
    assert_string_equal(r->log, want);
}

/* ---- bodies (in the child) ---- */

/* What every role does: malloc small and large, clocks, sleep, signals to
 * itself, the CPU time. */
static int body_common(void)
{
    char *small = malloc(100);
    char *big = malloc(64 << 20); /* mmap */
    if (small == NULL || big == NULL)
        return 10;
    memset(big, 1, 64 << 20);
    big = realloc(big, 128 << 20); /* mremap */
    if (big == NULL)
        return 11;
    free(big);
    free(small);
    struct timespec ts;
    if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) != 0)
        return 12;
    struct timespec d = {0, 1000000};
    if (nanosleep(&d, NULL) != 0 || clock_nanosleep(CLOCK_MONOTONIC, 0, &d, NULL) != 0)
        return 13;
    if (kill(getpid(), 0) != 0 || syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), 0) != 0)
        return 14;
    struct sigaction sa = {.sa_handler = SIG_IGN};
    if (sigaction(SIGUSR1, &sa, NULL) != 0 || raise(SIGUSR1) != 0)
        return 15;
    return 0;
}

static int send_one(int fd)
{
    char b = 'r';
    struct iovec iov = {.iov_base = &b, .iov_len = 1};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    return sendmsg(fd, &mh, 0) == 1 ? 0 : -1;
}

/* Capture and aggregator: READY on the control socket, the CPU time. */
static int body_worker(void)
{
    struct rusage ru;
    if (send_one(ctl_fd) != 0)
        return 21;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? body_common() : 20;
}

/* sendmsg on any other socket (a capture's packet socket). */
static int body_send_other(void)
{
    return send_one(other_fd) == 0 ? 0 : 22;
}

static int body_socket(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    (void)fd;
    return 30; /* not reached */
}

static int body_open_new(void)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/seccomp-test.%ld", (long)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
        unlink(path);
        return 40;
    }
    return errno == EACCES ? 0 : 41;
}

static int body_execve(void)
{
    char *argv[] = {"/bin/true", NULL}, *envp[] = {NULL};
    execve("/bin/true", argv, envp);
    return errno == EACCES ? 0 : 50;
}

static int body_ptrace(void)
{
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    return 60;
}

static int body_kill_parent(void)
{
    kill(parent, 0); /* signal 0: a mistake would hurt nobody */
    return 70;
}

static int body_abort(void)
{
    abort();
}

static int body_ioctl(void)
{
    int n = 0;
    /* FIONREAD is allowed (on the go pipe, at its end: 0 bytes). */
    if (ioctl(go_fd, FIONREAD, &n) != 0 || n != 0)
        return 80;
    struct winsize ws;
    ioctl(go_fd, TIOCGWINSZ, &ws);
    return errno == EACCES ? 0 : 81; /* sanitizer builds: refused, not trapped */
}

#ifdef __x86_64__
static int body_x32(void)
{
    syscall(0x40000000 | SYS_getpid);
    return 90;
}
#endif

/* ---- tests ---- */

static void test_supported(void **state)
{
    (void)state;
#if defined(__x86_64__) || defined(__aarch64__)
    assert_true(seccomp_supported());
#endif
    if (!seccomp_supported())
        skip();
    size_t cap = seccomp_allowed_count(SECCOMP_ROLE_CAPTURE);
    size_t agg = seccomp_allowed_count(SECCOMP_ROLE_AGGREGATOR);
    size_t web = seccomp_allowed_count(SECCOMP_ROLE_HTTPD);
    assert_true(agg > 20);
    assert_true(agg < cap);
    assert_true(cap < web);
    assert_true(web < 100);
    assert_string_equal(seccomp_role_name(SECCOMP_ROLE_AGGREGATOR), "aggregator");
}

static void look_status(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int seccomp = -1, nnp = -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        sscanf(line, "Seccomp: %d", &seccomp);
        sscanf(line, "NoNewPrivs: %d", &nnp);
    }
    fclose(f);
    assert_int_equal(seccomp, 2);
    assert_int_equal(nnp, 1);
}

static void test_allowed(void **state)
{
    (void)state;
    struct run r;
    if (!seccomp_supported())
        skip();
    run(SECCOMP_ROLE_AGGREGATOR, false, body_worker, look_status, &r);
    assert_exit0(&r);
    run(SECCOMP_ROLE_CAPTURE, false, body_worker, look_status, &r);
    assert_exit0(&r);
    run(SECCOMP_ROLE_HTTPD, false, body_common, look_status, &r);
    assert_exit0(&r);
}

static void test_socket_forbidden(void **state)
{
    (void)state;
    struct run r;
    if (!seccomp_supported())
        skip();
    for (int role = SECCOMP_ROLE_CAPTURE; role <= SECCOMP_ROLE_HTTPD; role++) {
        run((enum seccomp_role)role, false, body_socket, NULL, &r);
        assert_trapped(&r, SYS_socket);
    }
}

static void test_open(void **state)
{
    (void)state;
    struct run r;
    if (!seccomp_supported())
        skip();
    /* An aggregator opens nothing: a violation. */
    run(SECCOMP_ROLE_AGGREGATOR, false, body_open_new, NULL, &r);
#ifdef SANITIZED
    assert_exit0(&r);
#else
    assert_trapped(&r, SYS_openat);
#endif
    /* Capture and httpd: EACCES, and the file is not created. */
    run(SECCOMP_ROLE_HTTPD, false, body_open_new, NULL, &r);
    assert_exit0(&r);
    run(SECCOMP_ROLE_CAPTURE, false, body_open_new, NULL, &r);
    assert_exit0(&r);
}

static void test_execve_ptrace(void **state)
{
    (void)state;
    struct run r;
    if (!seccomp_supported())
        skip();
    run(SECCOMP_ROLE_HTTPD, false, body_execve, NULL, &r);
#ifdef SANITIZED
    assert_exit0(&r);
#else
    assert_trapped(&r, SYS_execve);
#endif
    run(SECCOMP_ROLE_CAPTURE, false, body_ptrace, NULL, &r);
    assert_trapped(&r, SYS_ptrace);
}

static void test_kill_others(void **state)
{
    (void)state;
    struct run r;
    if (!seccomp_supported())
        skip();
    run(SECCOMP_ROLE_AGGREGATOR, false, body_kill_parent, NULL, &r);
    assert_trapped(&r, SYS_kill);
}

static void test_sendmsg_other(void **state)
{
    (void)state;
    struct run r;
    if (!seccomp_supported())
        skip();
    run(SECCOMP_ROLE_CAPTURE, false, body_send_other, NULL, &r);
    assert_trapped(&r, SYS_sendmsg);
    run(SECCOMP_ROLE_AGGREGATOR, false, body_send_other, NULL, &r);
    assert_trapped(&r, SYS_sendmsg);
    run(SECCOMP_ROLE_HTTPD, false, body_send_other, NULL, &r);
    assert_exit0(&r);
}

static void test_abort(void **state)
{
    (void)state;
    struct run r;
    if (!seccomp_supported())
        skip();
    run(SECCOMP_ROLE_AGGREGATOR, false, body_abort, NULL, &r);
    assert_true(WIFSIGNALED(r.status));
    assert_int_equal(WTERMSIG(r.status), SIGABRT);
    assert_string_equal(r.log, "");
}

static void test_ioctl(void **state)
{
    (void)state;
    struct run r;
    if (!seccomp_supported())
        skip();
    run(SECCOMP_ROLE_HTTPD, false, body_ioctl, NULL, &r);
#ifdef SANITIZED
    assert_exit0(&r);
#else
    assert_trapped(&r, SYS_ioctl);
#endif
    run(SECCOMP_ROLE_AGGREGATOR, false, body_ioctl, NULL, &r);
#ifdef SANITIZED
    assert_int_equal(WEXITSTATUS(r.status), 80); /* FIONREAD refused too */
#else
    assert_trapped(&r, SYS_ioctl);
#endif
}

/* The line in log.c's pipe format: "PRI PID ROLE\tmessage". */
static void test_log_pipe_format(void **state)
{
    (void)state;
    struct run r;
    if (!seccomp_supported())
        skip();
    run(SECCOMP_ROLE_CAPTURE, true, body_socket, NULL, &r);
    assert_true(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGSYS);
    int pri = -1, off = 0;
    long pid = -1;
    assert_int_equal(sscanf(r.log, "%d %ld %n", &pri, &pid, &off), 2);
    assert_int_equal(pri, 2);
    assert_true(pid > 0);
    char want[96];
    snprintf(want, sizeof(want), "capture\tseccomp: forbidden system call %ld\n", (long)SYS_socket);
    assert_string_equal(r.log + off, want);
}

static void test_x32(void **state)
{
    (void)state;
#ifdef __x86_64__
    struct run r;
    if (!seccomp_supported())
        skip();
    run(SECCOMP_ROLE_HTTPD, false, body_x32, NULL, &r);
    /* Killed by the kernel, no handler, no line. */
    assert_true(WIFSIGNALED(r.status));
    assert_int_equal(WTERMSIG(r.status), SIGSYS);
    assert_string_equal(r.log, "");
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_supported),
        cmocka_unit_test(test_allowed),
        cmocka_unit_test(test_socket_forbidden),
        cmocka_unit_test(test_open),
        cmocka_unit_test(test_execve_ptrace),
        cmocka_unit_test(test_kill_others),
        cmocka_unit_test(test_sendmsg_other),
        cmocka_unit_test(test_abort),
        cmocka_unit_test(test_ioctl),
        cmocka_unit_test(test_log_pipe_format),
        cmocka_unit_test(test_x32),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
