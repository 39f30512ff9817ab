/*
 * privsep.c - user lookup, the empty root, the privilege drop and its
 * report.  The theory of operation and the order of the steps are in
 * privsep.h.  Only raw syscalls, prctl and /proc: no libcap.
 */
#define _GNU_SOURCE
#include "privsep.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Capability sets are 64 bits wide (two u32 in capget/capset version 3). */
#define CAP_BITS 64

/* Fields of /proc/PID/status that parse_status() found. */
enum {
    SEEN_UID = 1 << 0,
    SEEN_GID = 1 << 1,
    SEEN_CAPINH = 1 << 2,
    SEEN_CAPPRM = 1 << 3,
    SEEN_CAPEFF = 1 << 4,
    SEEN_CAPBND = 1 << 5,
    SEEN_THREADS = 1 << 6,
    SEEN_REQUIRED = (1 << 7) - 1,
};

/* ---- user lookup ---- */

/* 1 found, 0 no such user, -1 error (message in err). */
static int lookup_one(const char *name, struct privsep_user *user, char *err, size_t errlen)
{
    long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
    size_t len = hint > 0 ? (size_t)hint : 4096;

    for (;;) {
        struct passwd pw, *res = NULL;
        char *buf = malloc(len);
        int rc;

        if (buf == NULL) {
            err_set(err, errlen, "look up user %s: out of memory", name);
            return -1;
        }
        rc = getpwnam_r(name, &pw, buf, len, &res);
        if (rc == ERANGE && len < (1u << 20)) {
            /* An entry with a huge gecos field: try again, bounded. */
            free(buf);
            len *= 2;
            continue;
        }
        if (rc != 0 && rc != ENOENT && rc != ESRCH) {
            err_set(err, errlen, "look up user %s: %s", name, strerror(rc));
            free(buf);
            return -1;
        }
        if (res == NULL) {
            free(buf);
            return 0;
        }
        if (strlen(pw.pw_name) >= sizeof(user->name)) {
            err_set(err, errlen, "user name %s is too long", pw.pw_name);
            free(buf);
            return -1;
        }
        strcpy(user->name, pw.pw_name);
        user->uid = pw.pw_uid;
        user->gid = pw.pw_gid;
        free(buf);
        return 1;
    }
}

int privsep_lookup_user(const char *name, struct privsep_user *user, char *err, size_t errlen)
{
    struct privsep_user u;
    int found;

    memset(&u, 0, sizeof(u));
    if (name != NULL) {
        if (name[0] == '\0') {
            err_set(err, errlen, "empty user name");
            return -1;
        }
        found = lookup_one(name, &u, err, errlen);
        if (found < 0)
            return -1;
        if (found == 0) {
            err_set(err, errlen, "unknown user \"%s\"", name);
            return -1;
        }
    } else {
        found = lookup_one(PRIVSEP_DEFAULT_USER, &u, err, errlen);
        if (found == 0)
            found = lookup_one(PRIVSEP_FALLBACK_USER, &u, err, errlen);
        if (found < 0)
            return -1;
        if (found == 0) {
            err_set(err, errlen,
                    "neither user \"" PRIVSEP_DEFAULT_USER "\" nor \"" PRIVSEP_FALLBACK_USER
                    "\" exists: create a system user " PRIVSEP_DEFAULT_USER);
            return -1;
        }
    }
    /* Running the children as root would defeat the whole point. */
    if (u.uid == 0) {
        err_set(err, errlen, "user \"%s\" has uid 0: refusing to drop privileges to root", u.name);
        return -1;
    }
    if (u.gid == 0) {
        err_set(err, errlen, "user \"%s\" has gid 0 (group root): refusing it", u.name);
        return -1;
    }
    *user = u;
    return 0;
}

/* ---- the empty root ---- */

/* A directory on the way to the root may be writable by others only when
 * sticky (like /tmp): then only root can rename or remove root's entries,
 * so nobody can swap the empty root for a directory of their own. */
static int check_ancestor(const struct stat *sb, const char *path, char *err, size_t errlen)
{
    if (!S_ISDIR(sb->st_mode)) {
        err_set(err, errlen, "chroot directory: %s is not a directory", path);
        return -1;
    }
    if (sb->st_uid != 0) {
        err_set(err, errlen, "chroot directory: %s is owned by uid %u, not root", path,
                (unsigned)sb->st_uid);
        return -1;
    }
    if ((sb->st_mode & (S_IWGRP | S_IWOTH)) != 0 && (sb->st_mode & S_ISVTX) == 0) {
        err_set(err, errlen, "chroot directory: %s is writable by group or others (mode %04o)",
                path, (unsigned)(sb->st_mode & 07777));
        return -1;
    }
    return 0;
}

static int check_root_dir(int fd, const struct stat *sb, const char *path, char *err, size_t errlen)
{
    DIR *d;
    struct dirent *de;
    int dfd, rc = 0;

    if (!S_ISDIR(sb->st_mode)) {
        err_set(err, errlen, "chroot directory %s is not a directory", path);
        return -1;
    }
    /* Sticky is not enough here: anyone could create files in it. */
    if ((sb->st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        err_set(err, errlen, "chroot directory %s is writable by group or others (mode %04o)", path,
                (unsigned)(sb->st_mode & 07777));
        return -1;
    }
    /* Empty, so a process that escapes into it finds nothing to use. */
    dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dfd < 0) {
        err_set(err, errlen, "chroot directory %s: dup: %s", path, strerror(errno));
        return -1;
    }
    d = fdopendir(dfd);
    if (d == NULL) {
        err_set(err, errlen, "chroot directory %s: %s", path, strerror(errno));
        close(dfd);
        return -1;
    }
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            err_set(err, errlen, "chroot directory %s is not empty (holds \"%s\")", path,
                    de->d_name);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && errno != 0) {
        err_set(err, errlen, "chroot directory %s: read: %s", path, strerror(errno));
        rc = -1;
    }
    closedir(d);
    if (rc == 0 && sb->st_uid != 0) {
        err_set(err, errlen, "chroot directory %s is owned by uid %u, not root", path,
                (unsigned)sb->st_uid);
        rc = -1;
    }
    return rc;
}

/* Open path as a directory fit to chroot into (see privsep_empty_root) and
 * return its fd; the fd is what gets entered, so the checks cannot be
 * raced by a rename between check and chroot. */
static int open_checked_root(const char *path, struct stat *out, char *err, size_t errlen)
{
    char copy[PATH_MAX], parent[PATH_MAX], walked[PATH_MAX];
    char *slash, *leaf, *comp, *save = NULL;
    size_t len;
    struct stat sb;
    int dirfd, fd;

    len = strlen(path);
    if (len == 0 || path[0] != '/') {
        err_set(err, errlen, "chroot directory \"%s\" is not an absolute path", path);
        return -1;
    }
    if (len >= sizeof(copy)) {
        err_set(err, errlen, "chroot directory path is too long");
        return -1;
    }
    memcpy(copy, path, len + 1);
    while (len > 1 && copy[len - 1] == '/')
        copy[--len] = '\0';
    slash = strrchr(copy, '/');
    leaf = slash + 1;
    if (*leaf == '\0' || strcmp(leaf, ".") == 0 || strcmp(leaf, "..") == 0) {
        err_set(err, errlen, "chroot directory \"%s\": not a directory name", path);
        return -1;
    }
    *slash = '\0';
    /* Symlinks among the ancestors are resolved once (/var/run -> /run);
     * the walk below then follows none. */
    if (realpath(copy[0] != '\0' ? copy : "/", parent) == NULL) {
        err_set(err, errlen, "chroot directory %s: %s", path, strerror(errno));
        return -1;
    }

    dirfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0 || fstat(dirfd, &sb) < 0) {
        err_set(err, errlen, "chroot directory: open /: %s", strerror(errno));
        if (dirfd >= 0)
            close(dirfd);
        return -1;
    }
    if (check_ancestor(&sb, "/", err, errlen) < 0) {
        close(dirfd);
        return -1;
    }
    walked[0] = '\0';
    for (comp = strtok_r(parent, "/", &save); comp != NULL; comp = strtok_r(NULL, "/", &save)) {
        int next = openat(dirfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        /* Both are at most PATH_MAX: realpath's result fits. */
        if (strlen(walked) + strlen(comp) + 2 <= sizeof(walked)) {
            strcat(walked, "/");
            strcat(walked, comp);
        }
        if (next < 0 || fstat(next, &sb) < 0) {
            err_set(err, errlen, "chroot directory: %s: %s", walked, strerror(errno));
            if (next >= 0)
                close(next);
            close(dirfd);
            return -1;
        }
        close(dirfd);
        dirfd = next;
        if (check_ancestor(&sb, walked, err, errlen) < 0) {
            close(dirfd);
            return -1;
        }
    }

    fd = openat(dirfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;

        if (e == ELOOP || (e == ENOTDIR && fstatat(dirfd, leaf, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
                           S_ISLNK(sb.st_mode)))
            err_set(err, errlen, "chroot directory %s is a symbolic link", path);
        else
            err_set(err, errlen, "chroot directory %s: %s", path, strerror(e));
        close(dirfd);
        return -1;
    }
    close(dirfd);
    if (fstat(fd, &sb) < 0) {
        err_set(err, errlen, "chroot directory %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (check_root_dir(fd, &sb, path, err, errlen) < 0) {
        close(fd);
        return -1;
    }
    if (out != NULL)
        *out = sb;
    return fd;
}

/* mkdir -p with mode 0755 whatever the umask; existing parts are left as
 * they are (open_checked_root judges them). */
static int make_dirs(const char *path, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);

    if (len >= sizeof(buf)) {
        err_set(err, errlen, "chroot directory path is too long");
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        if (buf[i - 1] == '/')
            continue; /* "//" */
        char saved = buf[i];

        buf[i] = '\0';
        if (mkdir(buf, 0755) == 0) {
            if (chmod(buf, 0755) < 0) {
                err_set(err, errlen, "chmod %s: %s", buf, strerror(errno));
                return -1;
            }
        } else if (errno != EEXIST) {
            err_set(err, errlen, "mkdir %s: %s", buf, strerror(errno));
            return -1;
        }
        buf[i] = saved;
    }
    return 0;
}

int privsep_empty_root(const char *path, char *err, size_t errlen)
{
    int fd;

    if (path == NULL)
        path = PRIVSEP_DEFAULT_ROOT;
    if (path[0] != '/') {
        err_set(err, errlen, "chroot directory \"%s\" is not an absolute path", path);
        return -1;
    }
    if (make_dirs(path, err, errlen) < 0)
        return -1;
    fd = open_checked_root(path, NULL, err, errlen);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* ---- /proc/PID/status ---- */

static int parse_status(const char *text, struct privsep_status *st, char *err, size_t errlen)
{
    unsigned seen = 0;
    const char *line = text;

    st->cap_amb = 0; /* kernels before 4.3 have no ambient set */
    st->no_new_privs = -1;
    st->seccomp = -1;
    while (*line != '\0') {
        const char *nl = strchr(line, '\n');
        unsigned u[4];
        uint64_t v;
        int n;

        if (sscanf(line, "Uid: %u %u %u %u", &u[0], &u[1], &u[2], &u[3]) == 4) {
            for (int i = 0; i < 4; i++)
                st->uid[i] = (uid_t)u[i];
            seen |= SEEN_UID;
        } else if (sscanf(line, "Gid: %u %u %u %u", &u[0], &u[1], &u[2], &u[3]) == 4) {
            for (int i = 0; i < 4; i++)
                st->gid[i] = (gid_t)u[i];
            seen |= SEEN_GID;
        } else if (sscanf(line, "CapInh: %" SCNx64, &v) == 1) {
            st->cap_inh = v;
            seen |= SEEN_CAPINH;
        } else if (sscanf(line, "CapPrm: %" SCNx64, &v) == 1) {
            st->cap_prm = v;
            seen |= SEEN_CAPPRM;
        } else if (sscanf(line, "CapEff: %" SCNx64, &v) == 1) {
            st->cap_eff = v;
            seen |= SEEN_CAPEFF;
        } else if (sscanf(line, "CapBnd: %" SCNx64, &v) == 1) {
            st->cap_bnd = v;
            seen |= SEEN_CAPBND;
        } else if (sscanf(line, "CapAmb: %" SCNx64, &v) == 1) {
            st->cap_amb = v;
        } else if (sscanf(line, "NoNewPrivs: %d", &n) == 1) {
            st->no_new_privs = n;
        } else if (sscanf(line, "Seccomp: %d", &n) == 1) {
            st->seccomp = n;
        } else if (sscanf(line, "Threads: %d", &n) == 1) {
            st->threads = n;
            seen |= SEEN_THREADS;
        }
        if (nl == NULL)
            break;
        line = nl + 1;
    }
    if ((seen & SEEN_REQUIRED) != SEEN_REQUIRED) {
        err_set(err, errlen, "status: missing fields (found mask %#x of %#x)", seen,
                (unsigned)SEEN_REQUIRED);
        return -1;
    }
    return 0;
}

/* Read the whole of a /proc status file from offset 0 (pread, so the same
 * fd can be read again: the kernel regenerates the text on each read). */
static int read_status_fd(int fd, struct privsep_status *st, char *err, size_t errlen)
{
    char buf[16384];
    size_t len = 0;

    for (;;) {
        ssize_t n = pread(fd, buf + len, sizeof(buf) - 1 - len, (off_t)len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            err_set(err, errlen, "read status: %s", strerror(errno));
            return -1;
        }
        if (n == 0 || len + (size_t)n == sizeof(buf) - 1) {
            len += (size_t)n;
            break;
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    return parse_status(buf, st, err, errlen);
}

int privsep_status_check(const struct privsep_status *st, const struct privsep_user *user,
                         char *err, size_t errlen)
{
    static const char *const which[4] = {"real", "effective", "saved", "filesystem"};
    const struct {
        const char *name;
        uint64_t value;
    } caps[] = {
        {"CapInh", st->cap_inh}, {"CapPrm", st->cap_prm}, {"CapEff", st->cap_eff},
        {"CapBnd", st->cap_bnd}, {"CapAmb", st->cap_amb},
    };

    for (int i = 0; i < 4; i++) {
        if (user != NULL ? st->uid[i] != user->uid : st->uid[i] == 0) {
            err_set(err, errlen, "pid %d: %s uid is %u, not %s", (int)st->pid, which[i],
                    (unsigned)st->uid[i], user != NULL ? user->name : "unprivileged");
            return -1;
        }
        if (user != NULL ? st->gid[i] != user->gid : st->gid[i] == 0) {
            err_set(err, errlen, "pid %d: %s gid is %u, not %s's", (int)st->pid, which[i],
                    (unsigned)st->gid[i], user != NULL ? user->name : "an unprivileged group");
            return -1;
        }
    }
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        if (caps[i].value != 0) {
            err_set(err, errlen, "pid %d: %s is %016" PRIx64 ", not 0", (int)st->pid, caps[i].name,
                    caps[i].value);
            return -1;
        }
    }
    if (st->no_new_privs != 1) {
        err_set(err, errlen, "pid %d: NoNewPrivs is %d, not 1", (int)st->pid, st->no_new_privs);
        return -1;
    }
    return 0;
}

int privsep_report(pid_t pid, struct privsep_status *st, char *err, size_t errlen)
{
    char dir[64], path[96];
    struct dirent *de;
    ssize_t n;
    DIR *d;
    int fd, rc;

    memset(st, 0, sizeof(*st));
    if (pid < 0) {
        err_set(err, errlen, "report: bad pid %d", (int)pid);
        return -1;
    }
    if (pid == 0)
        snprintf(dir, sizeof(dir), "/proc/self");
    else
        snprintf(dir, sizeof(dir), "/proc/%d", (int)pid);
    st->pid = pid != 0 ? pid : getpid();

    snprintf(path, sizeof(path), "%s/status", dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err_set(err, errlen, "report: open %s: %s", path, strerror(errno));
        return -1;
    }
    rc = read_status_fd(fd, st, err, errlen);
    close(fd);
    if (rc < 0)
        return -1;

    snprintf(path, sizeof(path), "%s/root", dir);
    n = readlink(path, st->root, sizeof(st->root) - 1);
    /* Another user's root and fds need the right to ptrace it (root
     * without CAP_SYS_PTRACE under systemd has not): unknown, not an error. */
    if (n < 0 && errno != EACCES && errno != EPERM) {
        err_set(err, errlen, "report: readlink %s: %s", path, strerror(errno));
        return -1;
    }
    st->root[n < 0 ? 0 : n] = '\0';

    snprintf(path, sizeof(path), "%s/fd", dir);
    d = opendir(path);
    if (d == NULL && (errno == EACCES || errno == EPERM)) {
        st->nfds = -1;
        return 0;
    }
    if (d == NULL) {
        err_set(err, errlen, "report: open %s: %s", path, strerror(errno));
        return -1;
    }
    st->nfds = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            st->nfds++;
    }
    closedir(d);
    if (pid == 0 || pid == getpid())
        st->nfds--; /* the directory we were reading */
    return 0;
}

/* ---- the drop ---- */

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

/* Close every fd not in keep (sorted, unique) when close_range is missing:
 * through /proc/self/fd, else every number below the fd limit. */
static int close_others_slow(const int *keep, size_t nkeep, char *err, size_t errlen)
{
    DIR *d = opendir("/proc/self/fd");

    if (d != NULL) {
        int self = dirfd(d);
        struct dirent *de;

        /* Closing others while reading is fine: entries are generated by
         * fd number, and the ones not yet read are above the cursor. */
        while ((de = readdir(d)) != NULL) {
            char *end;
            long fd = strtol(de->d_name, &end, 10);

            if (*end != '\0' || end == de->d_name || fd == self)
                continue;
            if (bsearch(&(int){(int)fd}, keep, nkeep, sizeof(int), cmp_int) == NULL)
                close((int)fd);
        }
        closedir(d);
        return 0;
    }

    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        err_set(err, errlen, "close fds: getrlimit: %s", strerror(errno));
        return -1;
    }
    rlim_t max = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > INT_MAX ? INT_MAX : rl.rlim_max;

    for (rlim_t fd = 0; fd < max; fd++) {
        if (bsearch(&(int){(int)fd}, keep, nkeep, sizeof(int), cmp_int) == NULL)
            close((int)fd);
    }
    return 0;
}

static int close_others(const int *keep, size_t nkeep, char *err, size_t errlen)
{
#ifdef SYS_close_range
    unsigned lo = 0;

    /* close_range over each gap between the kept fds. */
    for (size_t i = 0; i <= nkeep; i++) {
        unsigned hi = i < nkeep ? (unsigned)keep[i] : ~0u;

        if (hi > lo && syscall(SYS_close_range, lo, i < nkeep ? hi - 1 : hi, 0) < 0) {
            if (errno == ENOSYS)
                return close_others_slow(keep, nkeep, err, errlen);
            err_set(err, errlen, "close fds: close_range from %u: %s", lo, strerror(errno));
            return -1;
        }
        if (i < nkeep)
            lo = hi + 1;
    }
    return 0;
#else
    return close_others_slow(keep, nkeep, err, errlen);
#endif
}

/* The highest capability number the kernel knows; the bounding set loop
 * stops there.  Read before the chroot hides /proc; without /proc, probe. */
static int read_cap_last(void)
{
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
    int last = -1;

    if (f != NULL) {
        if (fscanf(f, "%d", &last) != 1)
            last = -1;
        fclose(f);
    }
    if (last < 0 || last >= CAP_BITS) {
        for (last = 0; last + 1 < CAP_BITS && prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0;)
            last++;
    }
    return last;
}

static int sys_capget(struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3])
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};

    return (int)syscall(SYS_capget, &hdr, data);
}

static int sys_capset_zero(void)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

    memset(data, 0, sizeof(data));
    return (int)syscall(SYS_capset, &hdr, data);
}

/* Step 6: check the result with calls independent of the ones that made it. */
static int verify(const struct privsep_user *user, int status_fd, int cap_last,
                  const struct stat *root_sb, char *err, size_t errlen)
{
    struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3];
    struct privsep_status st;
    uid_t ru, eu, su;
    gid_t rg, eg, sg, groups[2];
    char cwd[16];
    int ngroups;

    if (getresuid(&ru, &eu, &su) < 0 || ru != user->uid || eu != user->uid || su != user->uid) {
        err_set(err, errlen, "verify: uids are %u/%u/%u, not %u", (unsigned)ru, (unsigned)eu,
                (unsigned)su, (unsigned)user->uid);
        return -1;
    }
    if (getresgid(&rg, &eg, &sg) < 0 || rg != user->gid || eg != user->gid || sg != user->gid) {
        err_set(err, errlen, "verify: gids are %u/%u/%u, not %u", (unsigned)rg, (unsigned)eg,
                (unsigned)sg, (unsigned)user->gid);
        return -1;
    }
    ngroups = getgroups(2, groups);
    if (ngroups != 1 || groups[0] != user->gid) {
        err_set(err, errlen, "verify: supplementary groups are not just %u", (unsigned)user->gid);
        return -1;
    }
    /* The way back must be closed. */
    if (setuid(0) == 0 || seteuid(0) == 0) {
        err_set(err, errlen, "verify: setuid(0) succeeded after the drop");
        return -1;
    }
    if (setgid(0) == 0 || setegid(0) == 0) {
        err_set(err, errlen, "verify: setgid(0) succeeded after the drop");
        return -1;
    }
    if (sys_capget(caps) < 0) {
        err_set(err, errlen, "verify: capget: %s", strerror(errno));
        return -1;
    }
    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
        if (caps[i].effective != 0 || caps[i].permitted != 0 || caps[i].inheritable != 0) {
            err_set(err, errlen, "verify: capget shows capabilities left (word %d: %08x/%08x/%08x)",
                    i, caps[i].effective, caps[i].permitted, caps[i].inheritable);
            return -1;
        }
    }
    for (int c = 0; c <= cap_last; c++) {
        if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 0) {
            err_set(err, errlen, "verify: capability %d is still in the bounding set", c);
            return -1;
        }
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) > 0) {
            err_set(err, errlen, "verify: capability %d is still ambient", c);
            return -1;
        }
    }
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
        err_set(err, errlen, "verify: no_new_privs is not set");
        return -1;
    }
    if (getcwd(cwd, sizeof(cwd)) == NULL || strcmp(cwd, "/") != 0) {
        err_set(err, errlen, "verify: working directory is not /");
        return -1;
    }
    if (root_sb != NULL) {
        struct stat sb;

        if (stat("/", &sb) < 0 || sb.st_dev != root_sb->st_dev || sb.st_ino != root_sb->st_ino) {
            err_set(err, errlen, "verify: / is not the chroot directory");
            return -1;
        }
    }
    /* And the kernel's own account agrees. */
    memset(&st, 0, sizeof(st));
    st.pid = getpid();
    if (read_status_fd(status_fd, &st, err, errlen) < 0)
        return -1;
    if (privsep_status_check(&st, user, err, errlen) < 0) {
        /* Keep the message, say which step found it. */
        char msg[256];

        snprintf(msg, sizeof(msg), "%s", err != NULL ? err : "");
        err_set(err, errlen, "verify: /proc/self/status: %s", msg);
        return -1;
    }
    return 0;
}

int privsep_drop(const struct privsep_user *user, const char *chroot_dir, const int *keep_fds,
                 size_t nkeep, char *err, size_t errlen)
{
    int keep[PRIVSEP_MAX_KEEP + 2];
    size_t n = 0;
    struct privsep_status st;
    struct stat root_sb;
    size_t u;
    int status_fd = -1, root_fd = -1, cap_last;

    /* Step 0: arguments; nothing changes before they are all good. */
    if (user == NULL || user->uid == 0 || user->gid == 0) {
        err_set(err, errlen, "drop: refusing to drop to %s",
                user == NULL ? "no user" : "root (uid or gid 0)");
        return -1;
    }
    if (nkeep > PRIVSEP_MAX_KEEP || (nkeep > 0 && keep_fds == NULL)) {
        err_set(err, errlen, "drop: bad list of fds to keep (%zu)", nkeep);
        return -1;
    }
    for (size_t i = 0; i < nkeep; i++) {
        struct stat sb;

        if (keep_fds[i] < 0 || fstat(keep_fds[i], &sb) < 0) {
            err_set(err, errlen, "drop: fd %d to keep is not open", keep_fds[i]);
            return -1;
        }
        /* A directory fd would reach past the chroot (openat, fchdir). */
        if (S_ISDIR(sb.st_mode)) {
            err_set(err, errlen, "drop: fd %d to keep is a directory", keep_fds[i]);
            return -1;
        }
        keep[n++] = keep_fds[i];
    }

    status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (status_fd < 0) {
        err_set(err, errlen, "drop: open /proc/self/status: %s", strerror(errno));
        return -1;
    }
    memset(&st, 0, sizeof(st));
    if (read_status_fd(status_fd, &st, err, errlen) < 0)
        goto fail;
    /* Capabilities and no_new_privs are per thread. */
    if (st.threads != 1) {
        err_set(err, errlen,
                "drop: the process has %d threads; drop privileges before starting any",
                st.threads);
        goto fail;
    }
    cap_last = read_cap_last();
    if (chroot_dir != NULL) {
        root_fd = open_checked_root(chroot_dir, &root_sb, err, errlen);
        if (root_fd < 0)
            goto fail;
        keep[n++] = root_fd;
    }
    keep[n++] = status_fd;

    /* Step 1: close what the caller did not ask to keep. */
    qsort(keep, n, sizeof(int), cmp_int);
    u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u == 0 || keep[u - 1] != keep[i])
            keep[u++] = keep[i];
    }
    if (close_others(keep, u, err, errlen) < 0)
        goto fail;

    /* Step 2: enter the directory that was checked, not a path. */
    if (root_fd >= 0) {
        if (fchdir(root_fd) < 0) {
            err_set(err, errlen, "drop: fchdir %s: %s", chroot_dir, strerror(errno));
            goto fail;
        }
        if (chroot(".") < 0) {
            err_set(err, errlen, "drop: chroot %s: %s", chroot_dir, strerror(errno));
            goto fail;
        }
        close(root_fd);
        root_fd = -1;
    }
    if (chdir("/") < 0) {
        err_set(err, errlen, "drop: chdir /: %s", strerror(errno));
        goto fail;
    }

    /* Step 3: needs CAP_SETPCAP, so before the uid change. */
    for (int c = 0; c <= cap_last; c++) {
        int in = prctl(PR_CAPBSET_READ, c, 0, 0, 0);

        if (in < 0) {
            err_set(err, errlen, "drop: read bounding set capability %d: %s", c, strerror(errno));
            goto fail;
        }
        if (in == 1 && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
            err_set(err, errlen, "drop: drop capability %d from the bounding set: %s", c,
                    strerror(errno));
            goto fail;
        }
    }
    /* The uid change clears the ambient set too; clearing it here keeps
     * that from resting on securebits.  EINVAL: a kernel before 4.3, which
     * has no ambient set. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
        err_set(err, errlen, "drop: clear ambient capabilities: %s", strerror(errno));
        goto fail;
    }

    /* Step 4: groups, then gid, then uid: each needs what the next removes. */
    if (setgroups(1, &user->gid) < 0) {
        err_set(err, errlen, "drop: setgroups(%u): %s", (unsigned)user->gid, strerror(errno));
        goto fail;
    }
    if (setresgid(user->gid, user->gid, user->gid) < 0) {
        err_set(err, errlen, "drop: setresgid(%u): %s", (unsigned)user->gid, strerror(errno));
        goto fail;
    }
    if (setresuid(user->uid, user->uid, user->uid) < 0) {
        err_set(err, errlen, "drop: setresuid(%u): %s", (unsigned)user->uid, strerror(errno));
        goto fail;
    }

    /* Step 5: the inheritable set survives setresuid; clear everything. */
    if (sys_capset_zero() < 0) {
        err_set(err, errlen, "drop: capset to zero: %s", strerror(errno));
        goto fail;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        err_set(err, errlen, "drop: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
        goto fail;
    }

    /* Step 6. */
    if (verify(user, status_fd, cap_last, chroot_dir != NULL ? &root_sb : NULL, err, errlen) < 0)
        goto fail;
    close(status_fd);
    return 0;

fail:
    if (root_fd >= 0)
        close(root_fd);
    close(status_fd);
    return -1;
}
