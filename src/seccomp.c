/*
 * seccomp.c - the per-role system call filters of pktvisord's children.
 * See seccomp.h for the order of the checks and what a violation does;
 * HACKING.md ("Seccomp") says what each allowed call is for.
 *
 * The lists come from reading the children's code and from strace -f of
 * every agent test (file and live taps, replay pacing, SIGHUP restarts,
 * admin API, TLS, crashes, respawns, shutdown), counting only what a child
 * calls after its READY.
 */
#define _GNU_SOURCE
#include "seccomp.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#if defined(__x86_64__)
#define SC_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SC_ARCH AUDIT_ARCH_AARCH64
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SC_ASAN 1
#endif
#endif

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS SECCOMP_RET_KILL
#endif

const char *seccomp_role_name(enum seccomp_role role)
{
    switch (role) {
    case SECCOMP_ROLE_CAPTURE:
        return "capture";
    case SECCOMP_ROLE_AGGREGATOR:
        return "aggregator";
    case SECCOMP_ROLE_HTTPD:
        return "httpd";
    }
    return "?";
}

#ifndef SC_ARCH

bool seccomp_supported(void)
{
    return false;
}

int seccomp_install(enum seccomp_role role, int ctl_fd, int log_fd, bool is_log_pipe, char *err,
                    size_t errlen)
{
    (void)role, (void)ctl_fd, (void)log_fd, (void)is_log_pipe, (void)err, (void)errlen;
    return 0;
}

size_t seccomp_allowed_count(enum seccomp_role role)
{
    (void)role;
    return 0;
}

#else

/* clang-format off */

/* What every child may do after READY: log (one write per line to the log
 * pipe), glibc's malloc, clocks and sleeps, signals (SIGTERM's handler,
 * abort()), exit.  kill and tgkill are handled apart (only towards
 * ourselves). */
static const int common[] = {
    __NR_write,           /* the log pipe */
    __NR_brk,             /* malloc, free, realloc */
    __NR_mmap,
    __NR_munmap,
    __NR_mremap,
    __NR_madvise,
    __NR_clock_gettime,   /* where the vDSO falls back to the kernel */
    __NR_gettimeofday,
    __NR_clock_nanosleep, /* empty ring, replay pacing, waits */
    __NR_nanosleep,
    __NR_getpid,          /* each log line; abort() */
    __NR_gettid,          /* abort(), raise() */
    __NR_rt_sigprocmask,
    __NR_rt_sigaction,
    __NR_rt_sigreturn,    /* SIGTERM/SIGINT's handler returning */
    __NR_restart_syscall,
    __NR_fstat,           /* stdio's first use of a stream */
    __NR_newfstatat,
    __NR_exit,
    __NR_exit_group,
#ifdef __NR_time
    __NR_time,
#endif
};

/* libpcap reading a file (read) or a live TPACKET ring (poll, and
 * getsockopt(PACKET_STATISTICS) each second); the CPU time logged at the
 * end of a file; closing at exit. */
static const int capture[] = {
    __NR_read,
    __NR_close,
    __NR_getsockopt,
#ifdef __NR_poll
    __NR_poll,
#else
    __NR_ppoll,
#endif
    __NR_getrusage,
};

/* The ring and the metric segment were mapped, the GeoIP databases opened,
 * before READY: an aggregator copies memory, sleeps when the ring is empty,
 * logs, and exits.  It reads no descriptor at all. */
static const int aggregator[] = {
    __NR_getrusage, /* the CPU time logged at the end of input */
};

/* libevent: epoll and its notification pipe, accept4, readv/writev (and
 * read/write under TLS), TCP_NODELAY, shutdown, fcntl (dup), close; the
 * control socket (sendmsg/recvmsg, segments arriving by SCM_RIGHTS are
 * mmap'ed); OpenSSL's getrandom; libevent's issetugid check (get*id).
 * ioctl only for FIONREAD (apart). */
static const int httpd[] = {
    __NR_read,
    __NR_readv,
    __NR_writev,
    __NR_close,
    __NR_sendmsg,
    __NR_recvmsg,
    __NR_accept4,
    __NR_epoll_create1,
    __NR_epoll_ctl,
#ifdef __NR_epoll_wait
    __NR_epoll_wait,
#endif
    __NR_epoll_pwait,
    __NR_pipe2,
    __NR_fcntl,
    __NR_setsockopt,
    __NR_getsockname,
    __NR_shutdown,
    __NR_getrandom,
    __NR_getuid,
    __NR_geteuid,
    __NR_getgid,
    __NR_getegid,
};

#ifdef SC_ASAN
/* AddressSanitizer's runtime when it reports (a deadly signal, a bad
 * access): an alternate stack, its signal handlers, its locks, limits.
 * Test builds only; what would reach outside (opening /proc/self/maps,
 * starting the symbolizer) fails with an error instead (below). */
static const int asan[] = {
    __NR_sigaltstack, __NR_mprotect, __NR_prlimit64,         __NR_sched_yield,
    __NR_futex,       __NR_getppid,  __NR_sched_getaffinity,
#ifdef __NR_getrlimit
    __NR_getrlimit,
#endif
};
#endif

/* Calls that fail with EACCES instead of trapping: opening a file, where
 * a library tries one and copes (libpcap's sysfs statistics, glibc's
 * /etc/localtime); not for an aggregator, which opens nothing.  In sanitizer
 * builds also what the runtime's report tries (the maps, the symbolizer). */
static const int refused[] = {
    __NR_openat,
#ifdef __NR_open
    __NR_open,
#endif
#ifdef SC_ASAN
    __NR_readlinkat, __NR_execve, __NR_clone, __NR_prctl, __NR_ioctl,
#ifdef __NR_readlink
    __NR_readlink,
#endif
#ifdef __NR_clone3
    __NR_clone3,
#endif
#ifdef __NR_fork
    __NR_fork,
#endif
#ifdef __NR_vfork
    __NR_vfork,
#endif
#endif
};

/* clang-format on */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct list {
    const int *nr;
    size_t n;
};

/* The role's allow-lists (up to 3) and whether refused[] applies. */
static size_t role_lists(enum seccomp_role role, struct list out[3], bool *refuse)
{
    size_t k = 0;
    out[k++] = (struct list){common, NELEM(common)};
    *refuse = true;
    switch (role) {
    case SECCOMP_ROLE_CAPTURE:
        out[k++] = (struct list){capture, NELEM(capture)};
        break;
    case SECCOMP_ROLE_AGGREGATOR:
        out[k++] = (struct list){aggregator, NELEM(aggregator)};
#ifndef SC_ASAN
        *refuse = false;
#endif
        break;
    case SECCOMP_ROLE_HTTPD:
        out[k++] = (struct list){httpd, NELEM(httpd)};
        break;
    }
#ifdef SC_ASAN
    out[k++] = (struct list){asan, NELEM(asan)};
#endif
    return k;
}

size_t seccomp_allowed_count(enum seccomp_role role)
{
    struct list l[3];
    bool refuse;
    size_t k = role_lists(role, l, &refuse), n = 0;
    /* Distinct numbers: the lists overlap a little. */
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < l[i].n; j++) {
            bool seen = false;
            for (size_t a = 0; a <= i && !seen; a++)
                for (size_t b = 0; b < (a == i ? j : l[a].n) && !seen; b++)
                    seen = l[a].nr[b] == l[i].nr[j];
            n += !seen;
        }
    /* kill and tgkill towards ourselves; httpd's ioctl(FIONREAD), the
     * others' sendmsg on the control socket. */
    return n + 3;
}

bool seccomp_supported(void)
{
    return true;
}

/* ---- the SIGSYS handler ---- */

static int s_fd = -1;
static char s_prefix[96];
static size_t s_prefix_len;

static size_t put_str(char *buf, size_t n, size_t cap, const char *s)
{
    while (*s != '\0' && n < cap)
        buf[n++] = *s++;
    return n;
}

static size_t put_uint(char *buf, size_t n, size_t cap, unsigned long v)
{
    char tmp[24];
    size_t k = 0;
    do {
        tmp[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (k > 0 && n < cap)
        buf[n++] = tmp[--k];
    return n;
}

/* Async-signal-safe: write(2), getpid(2), kill(2) only.  SA_RESETHAND
 * made SIGSYS's action the default again and the signal stays blocked
 * until we return: the one we send ourselves then kills the process. */
static void on_sigsys(int sig, siginfo_t *si, void *uctx)
{
    char line[192];
    size_t n = 0;
    (void)uctx;
    memcpy(line, s_prefix, s_prefix_len);
    n = s_prefix_len;
    n = put_str(line, n, sizeof(line) - 1, "seccomp: forbidden system call ");
    n = put_uint(line, n, sizeof(line) - 1, (unsigned long)(unsigned)si->si_syscall);
    line[n++] = '\n';
    ssize_t w = write(s_fd >= 0 ? s_fd : STDERR_FILENO, line, n);
    (void)w;
    kill(getpid(), sig);
}

/* ---- the program ---- */

#define MAX_INSNS 256

struct prog {
    struct sock_filter f[MAX_INSNS];
    size_t n;
};

static void emit(struct prog *p, struct sock_filter insn)
{
    if (p->n < MAX_INSNS)
        p->f[p->n] = insn;
    p->n++;
}

/* The two 32-bit halves of argument i (both our arches are little-endian). */
#define ARG_LO(i) (uint32_t)(offsetof(struct seccomp_data, args) + (i) * sizeof(uint64_t))
#define ARG_HI(i) (ARG_LO(i) + 4)

/* Allow nr when its argument arg is value (the whole 64 bits when wide,
 * else the low 32: an ioctl request is an int to the kernel); otherwise
 * deny.  The accumulator holds nr before and after. */
static void emit_arg_eq(struct prog *p, int nr, unsigned arg, uint32_t value, bool wide,
                        uint32_t deny)
{
    emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, wide ? 6 : 4));
    if (wide) {
        emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_HI(arg)));
        emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3));
    }
    emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(arg)));
    emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, value, 0, 1));
    emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, deny));
}

static int build(struct prog *p, enum seccomp_role role, uint32_t pid, int ctl_fd)
{
    const uint32_t deny = SECCOMP_RET_TRAP;
    const uint32_t eacces = SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA);
    struct list l[3];
    bool refuse;
    size_t k = role_lists(role, l, &refuse);

    p->n = 0;
    emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                         (uint32_t)offsetof(struct seccomp_data, arch)));
    emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SC_ARCH, 1, 0));
    emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
    emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                         (uint32_t)offsetof(struct seccomp_data, nr)));
#ifdef __x86_64__
    /* x32: the same arch value, numbers with bit 30 set. */
    emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1));
    emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
#endif
    /* abort(), raise() and our SIGSYS handler signal this process, never
     * another one (the other children run as the same user). */
    emit_arg_eq(p, __NR_kill, 0, pid, true, deny);
    emit_arg_eq(p, __NR_tgkill, 0, pid, true, deny);
    /* libevent sizes its reads with FIONREAD; a sanitizer's report asks
     * isatty(). */
#ifdef SC_ASAN
    const uint32_t ioctl_deny = eacces;
#else
    const uint32_t ioctl_deny = deny;
#endif
    if (role == SECCOMP_ROLE_HTTPD)
        emit_arg_eq(p, __NR_ioctl, 1, FIONREAD, false, ioctl_deny);
    /* READY goes out after the filter is in.  A capture process or an
     * aggregator sends nothing else: never a frame on a packet socket. */
    if (role != SECCOMP_ROLE_HTTPD && ctl_fd >= 0)
        emit_arg_eq(p, __NR_sendmsg, 0, (uint32_t)ctl_fd, true, deny);
    if (refuse)
        for (size_t i = 0; i < NELEM(refused); i++) {
            emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)refused[i], 0,
                                                 1));
            emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, eacces));
        }
    /* The allow-list: each match jumps to the final ALLOW. */
    size_t total = 0;
    for (size_t i = 0; i < k; i++)
        total += l[i].n;
    size_t allow = p->n + total + 1;
    if (allow + 1 > MAX_INSNS)
        return -1;
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < l[i].n; j++) {
            size_t off = allow - (p->n + 1);
            if (off > 255)
                return -1;
            emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)l[i].nr[j],
                                                 (uint8_t)off, 0));
        }
    emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, deny));
    emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    return p->n <= MAX_INSNS ? 0 : -1;
}

int seccomp_install(enum seccomp_role role, int ctl_fd, int log_fd, bool is_log_pipe, char *err,
                    size_t errlen)
{
    static struct prog p; /* 2 KiB: not on a small stack */
    pid_t pid = getpid();

    if (build(&p, role, (uint32_t)pid, ctl_fd) != 0) {
        snprintf(err, errlen, "seccomp: the %s filter does not fit", seccomp_role_name(role));
        return -1;
    }
    s_fd = log_fd;
    s_prefix_len = 0;
    if (is_log_pipe) {
        /* log.c's pipe format: "PRI PID ROLE\tmessage"; LOG_CRIT is 2. */
        int len =
            snprintf(s_prefix, sizeof(s_prefix), "2 %ld %s\t", (long)pid, seccomp_role_name(role));
        if (len > 0 && (size_t)len < sizeof(s_prefix))
            s_prefix_len = (size_t)len;
    }
    struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO | SA_RESETHAND};
    sigfillset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL) != 0) {
        snprintf(err, errlen, "seccomp: SIGSYS handler: %s", strerror(errno));
        return -1;
    }
    sigset_t sys;
    sigemptyset(&sys);
    sigaddset(&sys, SIGSYS);
    sigprocmask(SIG_UNBLOCK, &sys, NULL);
    /* Without the privilege drop (not run as root) no_new_privs is not set
     * yet; the kernel requires it (or CAP_SYS_ADMIN) for a filter. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        snprintf(err, errlen, "seccomp: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
        return -1;
    }
    struct sock_fprog fp = {.len = (unsigned short)p.n, .filter = p.f};
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp, 0, 0) != 0) {
        snprintf(err, errlen, "seccomp: installing the %s filter: %s", seccomp_role_name(role),
                 strerror(errno));
        return -1;
    }
    return 0;
}

#endif
