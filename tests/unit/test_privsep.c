/*
 * test_privsep.c - the privilege drop, checked from inside and outside.
 *
 * Each drop runs in a forked child (the test process stays root): the child
 * drops to "nobody" into a fresh empty root, checks from inside what it can
 * and cannot do, reports "ok" or the first failed check over a pipe, and
 * then waits on a second pipe while the parent audits it through
 * privsep_report().  Error cases check the messages.  Without root, the
 * drop tests are skipped; the argument checks still run.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privsep.h"

static char err[512];
static char base[PATH_MAX]; /* a fresh directory per test, /tmp/privsep-test.XXXXXX */
static int cap_last = -1;   /* read while /proc is still visible */

static int base_setup(void **state)
{
    (void)state;
    snprintf(base, sizeof(base), "/tmp/privsep-test.XXXXXX");
    if (mkdtemp(base) == NULL)
        return -1;
    err[0] = '\0';
    return 0;
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int base_teardown(void **state)
{
    (void)state;
    return nftw(base, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static bool is_root(void)
{
    return geteuid() == 0;
}

static void path_in_base(char *out, size_t len, const char *name)
{
    int n = snprintf(out, len, "%s/%s", base, name);

    assert_true(n > 0 && (size_t)n < len);
}

static struct privsep_user nobody(void)
{
    struct privsep_user u;

    if (privsep_lookup_user("nobody", &u, err, sizeof(err)) < 0)
        fail_msg("lookup nobody: %s", err);
    return u;
}

/* ---- the child side: report the first failed check, then _exit ---- */

static int child_res_fd = -1;

static void child_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void child_say(const char *fmt, ...)
{
    char line[600];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    if (write(child_res_fd, line, (size_t)n) < 0)
        _exit(3);
}

/* No cmocka in the child: its failures would longjmp in the wrong process. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            child_say("line %d: %s (errno: %s)", __LINE__, #cond, strerror(errno));                \
            _exit(1);                                                                              \
        }                                                                                          \
    } while (0)

typedef void (*child_fn)(void *arg, int go_fd);

struct child {
    pid_t pid;
    int res_r; /* the child's report */
    int go_w;  /* closing it lets the child exit */
};

static void child_start(struct child *c, child_fn fn, void *arg)
{
    int res[2], go[2];

    assert_int_equal(pipe(res), 0);
    assert_int_equal(pipe(go), 0);
    fflush(NULL);
    c->pid = fork();
    assert_true(c->pid >= 0);
    if (c->pid == 0) {
        close(res[0]);
        close(go[1]);
        child_res_fd = res[1];
        fn(arg, go[0]);
        _exit(2); /* fn always _exits */
    }
    close(res[1]);
    close(go[0]);
    c->res_r = res[0];
    c->go_w = go[1];
}

/* The child's first line (without newline), or "" when it said nothing. */
static void child_read(struct child *c, char *msg, size_t len)
{
    size_t n = 0;
    char ch;

    while (n + 1 < len && read(c->res_r, &ch, 1) == 1 && ch != '\n')
        msg[n++] = ch;
    msg[n] = '\0';
}

/* Let the child go and return its exit status (-1: killed). */
static int child_finish(struct child *c)
{
    int status;

    close(c->go_w);
    close(c->res_r);
    assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Wait for the child's go-ahead pipe to close, then exit. */
static void child_wait_and_exit(int go_fd)
{
    char ch;

    while (read(go_fd, &ch, 1) > 0)
        ;
    _exit(0);
}

/* ---- user lookup ---- */

static void test_lookup_default(void **state)
{
    (void)state;
    struct privsep_user u;
    struct passwd *pw = getpwnam("pktvisor");

    if (pw == NULL)
        pw = getpwnam("nobody");
    assert_non_null(pw);
    assert_int_equal(privsep_lookup_user(NULL, &u, err, sizeof(err)), 0);
    assert_string_equal(u.name, pw->pw_name);
    assert_int_equal(u.uid, pw->pw_uid);
    assert_int_equal(u.gid, pw->pw_gid);
    assert_int_not_equal(u.uid, 0);
}

static void test_lookup_nobody(void **state)
{
    (void)state;
    struct privsep_user u = nobody();
    struct passwd *pw = getpwnam("nobody");

    assert_non_null(pw);
    assert_string_equal(u.name, "nobody");
    assert_int_equal(u.uid, pw->pw_uid);
    assert_int_equal(u.gid, pw->pw_gid);
}

static void test_lookup_unknown(void **state)
{
    (void)state;
    struct privsep_user u = {.uid = 4242};

    assert_int_equal(privsep_lookup_user("no-such-user-pv", &u, err, sizeof(err)), -1);
    assert_string_equal(err, "unknown user \"no-such-user-pv\"");
    assert_int_equal(u.uid, 4242); /* untouched */
    assert_int_equal(privsep_lookup_user("", &u, err, sizeof(err)), -1);
    assert_string_equal(err, "empty user name");
}

static void test_lookup_root_refused(void **state)
{
    (void)state;
    struct privsep_user u;

    assert_int_equal(privsep_lookup_user("root", &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "uid 0"));
    assert_non_null(strstr(err, "root"));
}

/* ---- the empty root ---- */

static void test_empty_root_created(void **state)
{
    (void)state;
    char root[PATH_MAX];
    struct stat sb;
    mode_t old = umask(077); /* the mode must not depend on it */
    int rc;

    path_in_base(root, sizeof(root), "var/empty/pktvisord");
    rc = privsep_empty_root(root, err, sizeof(err));
    umask(old);
    if (!is_root()) {
        /* The parent is ours, not root's: refused, and said so. */
        assert_int_equal(rc, -1);
        assert_non_null(strstr(err, "not root"));
        return;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(lstat(root, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 07777, 0755);
    assert_int_equal(sb.st_uid, 0);
    /* The parents it made too. */
    path_in_base(root, sizeof(root), "var/empty");
    assert_int_equal(lstat(root, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0755);
    /* A second call accepts what the first made; a trailing slash too. */
    path_in_base(root, sizeof(root), "var/empty/pktvisord/");
    assert_int_equal(privsep_empty_root(root, err, sizeof(err)), 0);
}

static void test_empty_root_world_writable(void **state)
{
    (void)state;
    assert_int_equal(chmod(base, 0777), 0);
    assert_int_equal(privsep_empty_root(base, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "writable by group or others (mode 0777)"));
    /* Sticky does not make the root itself acceptable. */
    assert_int_equal(chmod(base, 01777), 0);
    assert_int_equal(privsep_empty_root(base, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "writable by group or others"));
    assert_int_equal(chmod(base, 0775), 0);
    assert_int_equal(privsep_empty_root(base, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "writable by group or others (mode 0775)"));
}

static void test_empty_root_not_empty(void **state)
{
    (void)state;
    char file[PATH_MAX];
    int fd;

    assert_int_equal(chmod(base, 0755), 0);
    path_in_base(file, sizeof(file), "leftover");
    fd = open(file, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(privsep_empty_root(base, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "is not empty (holds \"leftover\")"));
    assert_non_null(strstr(err, base));
    /* Emptied again, it passes the emptiness check. */
    assert_int_equal(unlink(file), 0);
    if (is_root()) {
        assert_int_equal(privsep_empty_root(base, err, sizeof(err)), 0);
    } else {
        assert_int_equal(privsep_empty_root(base, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "not root"));
    }
}

static void test_empty_root_bad_paths(void **state)
{
    (void)state;
    char path[PATH_MAX], target[PATH_MAX];
    int fd;

    assert_int_equal(privsep_empty_root("relative/root", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not an absolute path"));
    assert_int_equal(privsep_empty_root("/", err, sizeof(err)), -1);
    if (!is_root())
        skip();
    /* A symbolic link where the root should be. */
    path_in_base(target, sizeof(target), "target");
    assert_int_equal(mkdir(target, 0755), 0);
    path_in_base(path, sizeof(path), "link");
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(privsep_empty_root(path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "is a symbolic link"));
    /* A regular file. */
    path_in_base(path, sizeof(path), "file");
    fd = open(path, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(privsep_empty_root(path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "file"));
    /* A parent anyone may write to (and not sticky): someone could rename
     * the root away and put their own in its place. */
    assert_int_equal(chmod(base, 0777), 0);
    path_in_base(path, sizeof(path), "root");
    assert_int_equal(privsep_empty_root(path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "writable by group or others (mode 0777)"));
    assert_non_null(strstr(err, base));
    /* Sticky, like /tmp: fine. */
    assert_int_equal(chmod(base, 01777), 0);
    assert_int_equal(privsep_empty_root(path, err, sizeof(err)), 0);
    /* A parent owned by someone else. */
    assert_int_equal(chmod(base, 0755), 0);
    assert_int_equal(chown(base, 65534, 65534), 0);
    assert_int_equal(privsep_empty_root(path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "is owned by uid 65534, not root"));
    assert_int_equal(chown(base, 0, 0), 0);
}

/* ---- the drop ---- */

struct drop_case {
    const char *chroot_dir;   /* NULL: no chroot */
    const char *secret;       /* a root-only file to try (no chroot) */
    int keep_extra, other_fd; /* one fd to keep, one to lose */
    bool dirty;               /* start with capabilities a parent left */
    bool no_close_range;      /* make close_range fail with ENOSYS */
    struct privsep_user user;
};

static void read_cap_last(void)
{
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");

    assert_non_null(f);
    assert_int_equal(fscanf(f, "%d", &cap_last), 1);
    fclose(f);
    assert_true(cap_last > 0 && cap_last < 64);
}

static void child_drop_and_check(void *arg, int go_fd)
{
    struct drop_case *dc = arg;
    int keep[] = {2, child_res_fd, go_fd, dc->keep_extra};
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3];
    uid_t ru, eu, su;
    gid_t rg, eg, sg, groups[4];
    char cwd[PATH_MAX], ch;

    if (dc->dirty) {
        /* What a careless parent might leave: CAP_NET_RAW inheritable and
         * ambient, and keep-caps, under which setresuid keeps the
         * permitted set.  The drop must clear all of it. */
        CHECK(syscall(SYS_capget, &hdr, caps) == 0);
        caps[0].inheritable |= 1u << 13;
        CHECK(syscall(SYS_capset, &hdr, caps) == 0);
        CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, 13, 0, 0) == 0);
        CHECK(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0);
    }
    if (dc->no_close_range) {
        /* An old kernel, as seccomp can fake one: the drop must fall back
         * to closing through /proc/self/fd. */
        struct sock_filter insns[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_close_range, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = {.len = sizeof(insns) / sizeof(insns[0]), .filter = insns};

        CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0);
        errno = 0;
        CHECK(syscall(__NR_close_range, 1000, 1000, 0) == -1 && errno == ENOSYS);
    }
    if (privsep_drop(&dc->user, dc->chroot_dir, keep, 4, err, sizeof(err)) < 0) {
        child_say("privsep_drop: %s", err);
        _exit(PRIVSEP_EXIT_NORESPAWN);
    }
    /* Who we are, and no way back. */
    CHECK(getresuid(&ru, &eu, &su) == 0);
    CHECK(ru == dc->user.uid && eu == dc->user.uid && su == dc->user.uid);
    CHECK(getresgid(&rg, &eg, &sg) == 0);
    CHECK(rg == dc->user.gid && eg == dc->user.gid && sg == dc->user.gid);
    CHECK(getgroups(4, groups) == 1 && groups[0] == dc->user.gid);
    errno = 0;
    CHECK(setuid(0) == -1 && errno == EPERM);
    errno = 0;
    CHECK(setgid(0) == -1 && errno == EPERM);
    errno = 0;
    CHECK(setgroups(0, NULL) == -1 && errno == EPERM);
    errno = 0;
    CHECK(chroot("/") == -1 && errno == EPERM);

    /* No capabilities, none to get back. */
    CHECK(syscall(SYS_capget, &hdr, caps) == 0);
    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
        CHECK(caps[i].effective == 0 && caps[i].permitted == 0 && caps[i].inheritable == 0);
    for (int c = 0; c <= cap_last; c++) {
        CHECK(prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 0);
        CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) == 0);
    }
    errno = 0;
    CHECK(prctl(PR_CAPBSET_READ, cap_last + 1, 0, 0, 0) == -1 && errno == EINVAL);
    caps[0].effective = caps[0].permitted = 1u << 13; /* CAP_NET_RAW */
    errno = 0;
    CHECK(syscall(SYS_capset, &hdr, caps) == -1 && errno == EPERM);
    CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);

    /* Where we are. */
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL && strcmp(cwd, "/") == 0);
    if (dc->chroot_dir != NULL) {
        DIR *d = opendir("/");
        struct dirent *de;
        int entries = 0;

        CHECK(d != NULL);
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                child_say("chroot holds %s", de->d_name);
            entries++;
        }
        closedir(d);
        CHECK(entries == 2);
        errno = 0;
        CHECK(open("/etc/passwd", O_RDONLY) == -1 && errno == ENOENT);
        errno = 0;
        CHECK(open("/proc/self/status", O_RDONLY) == -1 && errno == ENOENT);
        /* The root is root's: nothing can be created in it. */
        errno = 0;
        CHECK(open("/x", O_CREAT | O_WRONLY, 0600) == -1 && errno == EACCES);
        errno = 0;
        CHECK(mkdir("/d", 0755) == -1 && errno == EACCES);
        /* ".." at the root is the root. */
        CHECK(chdir("..") == 0 && getcwd(cwd, sizeof(cwd)) != NULL && strcmp(cwd, "/") == 0);
    } else {
        /* Files only root may read are out of reach. */
        errno = 0;
        CHECK(open(dc->secret, O_RDONLY) == -1 && errno == EACCES);
        errno = 0;
        CHECK(open("/etc/shadow", O_RDONLY) == -1 && errno == EACCES);
    }

    /* Exactly the kept fds are open, and they work. */
    for (int fd = 0; fd < 1024; fd++) {
        bool kept = fd == 2 || fd == child_res_fd || fd == go_fd || fd == dc->keep_extra;

        if (kept != (fcntl(fd, F_GETFD) >= 0))
            child_say("fd %d is %s", fd, kept ? "closed" : "open");
        CHECK(kept == (fcntl(fd, F_GETFD) >= 0));
    }
    errno = 0;
    CHECK(fcntl(dc->other_fd, F_GETFD) == -1 && errno == EBADF);
    CHECK(read(dc->keep_extra, &ch, 1) == 0); /* /dev/null */

    child_say("ok");
    child_wait_and_exit(go_fd);
}

/* Drop in a child, check it from inside, then audit it from outside. */
static void run_drop(const char *chroot_dir, const char *secret, const char *want_root, bool dirty,
                     bool no_close_range)
{
    struct drop_case dc = {.chroot_dir = chroot_dir,
                           .secret = secret,
                           .dirty = dirty,
                           .no_close_range = no_close_range,
                           .user = nobody()};
    struct privsep_status st;
    struct privsep_user other;
    struct child c;
    char msg[600];
    int status;

    read_cap_last();
    dc.keep_extra = open("/dev/null", O_RDONLY);
    dc.other_fd = open("/dev/null", O_RDONLY);
    assert_true(dc.keep_extra >= 0 && dc.other_fd >= 0);
    child_start(&c, child_drop_and_check, &dc);
    child_read(&c, msg, sizeof(msg));
    if (strcmp(msg, "ok") != 0) {
        status = child_finish(&c);
        fail_msg("child (exit %d): %s", status, msg);
    }

    /* The supervisor's view of the child while it runs. */
    assert_int_equal(privsep_report(c.pid, &st, err, sizeof(err)), 0);
    assert_int_equal(st.pid, c.pid);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(st.uid[i], dc.user.uid);
        assert_int_equal(st.gid[i], dc.user.gid);
    }
    assert_int_equal(st.cap_eff, 0);
    assert_int_equal(st.cap_prm, 0);
    assert_int_equal(st.cap_inh, 0);
    assert_int_equal(st.cap_amb, 0);
    assert_int_equal(st.cap_bnd, 0);
    assert_int_equal(st.no_new_privs, 1);
    assert_int_equal(st.seccomp, no_close_range ? 2 : 0);
    assert_int_equal(st.threads, 1);
    assert_int_equal(st.nfds, 4);
    assert_string_equal(st.root, want_root);
    if (privsep_status_check(&st, &dc.user, err, sizeof(err)) < 0)
        fail_msg("status check: %s", err);
    assert_int_equal(privsep_status_check(&st, NULL, err, sizeof(err)), 0);
    /* The check tells one user from another. */
    other = dc.user;
    other.uid++;
    assert_int_equal(privsep_status_check(&st, &other, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "real uid is"));

    assert_int_equal(child_finish(&c), 0);
    close(dc.keep_extra);
    close(dc.other_fd);
}

static void test_drop_chroot(void **state)
{
    (void)state;
    char root[PATH_MAX], real[PATH_MAX];

    if (!is_root())
        skip();
    path_in_base(root, sizeof(root), "root");
    assert_int_equal(privsep_empty_root(root, err, sizeof(err)), 0);
    assert_non_null(realpath(root, real));
    run_drop(root, NULL, real, false, false);
    run_drop(root, NULL, real, true, false);
    run_drop(root, NULL, real, false, true);
}

static void test_drop_no_chroot(void **state)
{
    (void)state;
    char secret[PATH_MAX];
    int fd;

    if (!is_root())
        skip();
    /* The directory is open to all, the file only to root. */
    assert_int_equal(chmod(base, 0755), 0);
    path_in_base(secret, sizeof(secret), "secret");
    fd = open(secret, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    run_drop(NULL, secret, "/", true, false);
}

/* A drop expected to fail: the child reports the message, exits with
 * PRIVSEP_EXIT_NORESPAWN, and shows that step 0 changed nothing. */
struct fail_case {
    struct privsep_user user;
    const char *chroot_dir;
    const int *keep;
    size_t nkeep;
    int other_fd;
    bool threaded;
};

static void *idle_thread(void *arg)
{
    char ch;

    while (read(*(int *)arg, &ch, 1) > 0)
        ;
    return NULL;
}

static void child_drop_fails(void *arg, int go_fd)
{
    struct fail_case *fc = arg;
    uid_t uid = getuid(), euid = geteuid();
    pthread_t t;

    if (fc->threaded && pthread_create(&t, NULL, idle_thread, &go_fd) != 0) {
        child_say("pthread_create failed");
        _exit(1);
    }
    if (privsep_drop(&fc->user, fc->chroot_dir, fc->keep, fc->nkeep, err, sizeof(err)) == 0) {
        child_say("privsep_drop succeeded");
        _exit(0);
    }
    /* Refused before any change: same uid, nothing closed. */
    if (getuid() != uid || geteuid() != euid || fcntl(fc->other_fd, F_GETFD) < 0 ||
        prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0)
        child_say("changed before refusing: %s", err);
    else
        child_say("%s", err);
    _exit(PRIVSEP_EXIT_NORESPAWN);
}

static void expect_drop_failure(struct fail_case *fc, const char *want)
{
    struct child c;
    char msg[600];
    int status;

    fc->other_fd = open("/dev/null", O_RDONLY);
    assert_true(fc->other_fd >= 0);
    child_start(&c, child_drop_fails, fc);
    child_read(&c, msg, sizeof(msg));
    status = child_finish(&c);
    close(fc->other_fd);
    if (strstr(msg, want) == NULL || strncmp(msg, "changed", 7) == 0)
        fail_msg("want \"%s\", child said \"%s\"", want, msg);
    assert_int_equal(status, PRIVSEP_EXIT_NORESPAWN);
}

static void test_drop_bad_chroot(void **state)
{
    (void)state;
    struct fail_case fc = {.user = nobody()};
    char path[PATH_MAX], file[PATH_MAX], want[PATH_MAX + 64];
    int fd;

    if (!is_root())
        skip();
    /* Missing: the drop does not create it. */
    path_in_base(path, sizeof(path), "missing");
    fc.chroot_dir = path;
    snprintf(want, sizeof(want), "chroot directory %s: No such file or directory", path);
    expect_drop_failure(&fc, want);

    /* World-writable. */
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(chmod(path, 0777), 0);
    expect_drop_failure(&fc, "writable by group or others (mode 0777)");

    /* Not empty. */
    assert_int_equal(chmod(path, 0755), 0);
    path_in_base(file, sizeof(file), "missing/resolv.conf");
    fd = open(file, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    close(fd);
    expect_drop_failure(&fc, "is not empty (holds \"resolv.conf\")");
}

static void test_drop_refuses_root(void **state)
{
    (void)state;
    struct fail_case fc = {.user = {.name = "root", .uid = 0, .gid = 0}};

    expect_drop_failure(&fc, "refusing to drop to root");
    fc.user = (struct privsep_user){.name = "halfroot", .uid = 1000, .gid = 0};
    expect_drop_failure(&fc, "refusing to drop to root");
}

static void test_drop_bad_keep(void **state)
{
    (void)state;
    struct fail_case fc = {.user = nobody()};
    int dirfd = open("/tmp", O_RDONLY | O_DIRECTORY);
    int keep[2] = {2, 1000};

    assert_true(dirfd >= 0);
    fc.keep = keep;
    fc.nkeep = 2;
    expect_drop_failure(&fc, "fd 1000 to keep is not open");
    keep[1] = dirfd;
    expect_drop_failure(&fc, "is a directory");
    fc.keep = NULL;
    expect_drop_failure(&fc, "bad list of fds to keep");
    close(dirfd);
}

static void test_drop_refuses_threads(void **state)
{
    (void)state;
    struct fail_case fc = {.user = nobody(), .threaded = true};

    expect_drop_failure(&fc, "the process has 2 threads");
}

/* ---- the report ---- */

static void test_report_self(void **state)
{
    (void)state;
    struct privsep_status st;
    int fd = open("/dev/null", O_RDONLY);
    int before;

    assert_true(fd >= 0);
    assert_int_equal(privsep_report(0, &st, err, sizeof(err)), 0);
    assert_int_equal(st.pid, getpid());
    assert_int_equal(st.uid[0], getuid());
    assert_int_equal(st.uid[1], geteuid());
    assert_int_equal(st.gid[0], getgid());
    assert_int_equal(st.threads, 1);
    assert_int_equal(st.no_new_privs, prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    assert_string_equal(st.root, "/");
    /* The fd count follows opens and closes. */
    before = st.nfds;
    close(fd);
    assert_int_equal(privsep_report(getpid(), &st, err, sizeof(err)), 0);
    assert_int_equal(st.nfds, before - 1);
    /* This process is not dropped: the check says why. */
    assert_int_equal(privsep_status_check(&st, NULL, err, sizeof(err)), -1);
    if (is_root()) {
        assert_non_null(strstr(err, "real uid is 0"));
        assert_true(st.cap_eff != 0);
    }
    assert_int_equal(privsep_report(-1, &st, err, sizeof(err)), -1);
    assert_int_equal(privsep_report(INT_MAX, &st, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_default),
        cmocka_unit_test(test_lookup_nobody),
        cmocka_unit_test(test_lookup_unknown),
        cmocka_unit_test(test_lookup_root_refused),
        cmocka_unit_test_setup_teardown(test_empty_root_created, base_setup, base_teardown),
        cmocka_unit_test_setup_teardown(test_empty_root_world_writable, base_setup, base_teardown),
        cmocka_unit_test_setup_teardown(test_empty_root_not_empty, base_setup, base_teardown),
        cmocka_unit_test_setup_teardown(test_empty_root_bad_paths, base_setup, base_teardown),
        cmocka_unit_test_setup_teardown(test_drop_chroot, base_setup, base_teardown),
        cmocka_unit_test_setup_teardown(test_drop_no_chroot, base_setup, base_teardown),
        cmocka_unit_test_setup_teardown(test_drop_bad_chroot, base_setup, base_teardown),
        cmocka_unit_test(test_drop_refuses_root),
        cmocka_unit_test(test_drop_bad_keep),
        cmocka_unit_test(test_drop_refuses_threads),
        cmocka_unit_test(test_report_self),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
