/*
 * privsep.h - dropping privileges for good: user lookup, the empty root,
 * the drop itself, and a report of what a process holds.
 *
 * What it owns.  Nothing long-lived: these functions change the calling
 * process's credentials, root directory and open files, and read
 * /proc/PID of another process.  They write no log; every failure returns
 * -1 with a message in the caller's err buffer naming the step that failed.
 *
 * Where it runs.  privsep_lookup_user() and privsep_empty_root() run in the
 * supervisor (root) before it forks, because after the drop there is neither
 * /etc/passwd nor the right to create a directory.  privsep_drop() runs in
 * each child (capture, aggregator, httpd) right after fork, while the child
 * is still root and has one thread.  privsep_report() runs in the supervisor
 * (start-up check of every child) and in the privilege audit test.
 *
 * The order of privsep_drop(), after OpenBSD's privsep (proc.c) and
 * OpenSSH, and why each step comes where it does:
 *
 *   0. check the arguments (user not root, kept fds open and not
 *      directories, one thread) and open what the drop itself needs while
 *      /proc and the file system are still there: /proc/self/status into
 *      a private fd (read again in step 6), /proc/sys/kernel/cap_last_cap,
 *      and the empty root, checked and held open.  Nothing has changed
 *      yet, so a refused call leaves the process as it was;
 *   1. close every fd the caller did not list (close_range over the gaps,
 *      else /proc/self/fd): whatever the supervisor had open must not reach
 *      a process that will parse untrusted input.  The caller opened its
 *      privileged resources (pcap handle, listening socket, segments)
 *      before, and lists them;
 *   2. enter the empty root with fchdir + chroot("."), so the directory
 *      checked in step 0 is the one entered (no rename race), then
 *      chdir("/");
 *   3. drop every capability from the bounding set and clear the ambient
 *      set.  This must come before setresuid: PR_CAPBSET_DROP needs
 *      CAP_SETPCAP, which the uid change takes away;
 *   4. setgroups(1, &gid), setresgid, setresuid, in this order because each
 *      needs the privilege the next one removes;
 *   5. capset() all sets to zero (the uid change clears the permitted and
 *      effective sets but keeps the inheritable set, keeps the permitted
 *      set when a parent left PR_SET_KEEPCAPS on, and keeps everything
 *      under SECBIT_NO_SETUID_FIXUP), then PR_SET_NO_NEW_PRIVS, so no
 *      later execve of a setuid or file-capability binary gains anything;
 *   6. verify, without trusting the calls above: real, effective and saved
 *      ids are the target's, the only group is the target's, setuid(0) and
 *      setgid(0) fail, capget and PR_CAPBSET_READ show nothing,
 *      PR_GET_NO_NEW_PRIVS is 1, the cwd is the new "/", and the kernel's
 *      own account (/proc/self/status through the fd of step 0) agrees.
 *
 * Only then may the caller touch untrusted input.  When privsep_drop()
 * fails, the process is in an unknown state between root and nobody: the
 * caller must exit with PRIVSEP_EXIT_NORESPAWN, which tells the supervisor
 * not to respawn it (respawning would fail the same way, forever).
 *
 * Threads: capabilities and no_new_privs are per thread, so privsep_drop()
 * refuses to run in a process with more than one thread.  The uid change
 * (glibc applies it to all threads) would otherwise leave a thread behind
 * with its capabilities.
 */
#ifndef PKTVISOR_PRIVSEP_H
#define PKTVISOR_PRIVSEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit status of a child whose privilege drop failed: EX_CONFIG from
 * <sysexits.h>.  The supervisor does not respawn a child that exits with it
 * and stops the agent (HACKING.md, respawn policy). */
#define PRIVSEP_EXIT_NORESPAWN 78

#define PRIVSEP_DEFAULT_USER  "pktvisor" /* used when it exists */
#define PRIVSEP_FALLBACK_USER "nobody"
#define PRIVSEP_DEFAULT_ROOT  "/var/empty/pktvisord"
#define PRIVSEP_MAX_KEEP      256 /* fds privsep_drop() can keep open */
#define PRIVSEP_NAME_MAX      64

struct privsep_user {
    char name[PRIVSEP_NAME_MAX];
    uid_t uid; /* never 0 */
    gid_t gid; /* the user's primary group, never 0 */
};

/* Resolve name (NULL: "pktvisor" when that user exists, else "nobody") with
 * getpwnam_r.  Refuses root and any user with uid 0 or gid 0.  Call it
 * before privsep_drop(): NSS needs /etc and open files.  0, or -1 with a
 * message in err. */
int privsep_lookup_user(const char *name, struct privsep_user *user, char *err, size_t errlen);

/* Make sure path (NULL: PRIVSEP_DEFAULT_ROOT) is a directory fit to chroot
 * into, creating it (and missing parents) with mode 0755 when missing.  Fit
 * means: a real directory (not a symlink), owned by root, not writable by
 * group or others, and empty; and every ancestor owned by root and either
 * not writable by group or others or sticky (like /tmp), so nobody but root
 * can rename it and put something else in its place.  0, or -1 with a
 * message in err. */
int privsep_empty_root(const char *path, char *err, size_t errlen);

/* Drop to user, in the order described above.  chroot_dir NULL: no chroot
 * (where an empty root is not practical).  keep_fds: the nkeep fds to leave
 * open (may include 0, 1, 2; none may be a directory, which would lead out
 * of the chroot).  0 when the process runs as user with no capability and
 * no way back; -1 with a message naming the step in err, after which the
 * caller must exit(PRIVSEP_EXIT_NORESPAWN). */
int privsep_drop(const struct privsep_user *user, const char *chroot_dir, const int *keep_fds,
                 size_t nkeep, char *err, size_t errlen);

/* What a process holds, from /proc/PID (the supervisor's view of a child). */
struct privsep_status {
    pid_t pid;
    uid_t uid[4]; /* real, effective, saved, filesystem */
    gid_t gid[4];
    uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
    int no_new_privs; /* 0 or 1 */
    int seccomp;      /* 0 off, 1 strict, 2 filter */
    int threads;
    int nfds;        /* entries in /proc/PID/fd; -1: not readable */
    char root[4096]; /* readlink /proc/PID/root, as the reader sees it; "": not readable */
};

/* Fill st from /proc/PID/status, /proc/PID/root and /proc/PID/fd (pid 0:
 * the caller; its own directory fd is not counted).  Reading another
 * process's root and fds needs the right to ptrace it (the supervisor as
 * root has it).  0, or -1 with a message in err. */
int privsep_report(pid_t pid, struct privsep_status *st, char *err, size_t errlen);

/* Does st describe a process that dropped to user (NULL: any non-root
 * user): all four uids and gids the user's, no capability in any set
 * (bounding included), no_new_privs set?  0, or -1 with the first
 * difference in err.  The supervisor's start-up check of each child. */
int privsep_status_check(const struct privsep_status *st, const struct privsep_user *user,
                         char *err, size_t errlen);

#endif
