/*
 * seccomp.h - a system call allow-list for each kind of pktvisord child,
 * installed after the privilege drop and before the child touches untrusted
 * input (packets, HTTP requests).
 *
 * What it owns.  Nothing the caller frees: seccomp_install() builds a
 * classic-BPF program in static storage, installs it with
 * prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER) and keeps in static storage
 * only what the SIGSYS handler needs (the log descriptor, a message prefix,
 * the pid).  A filter cannot be removed: it lives as long as the process,
 * and is inherited by any child it forks (none of ours does).
 *
 * Where it runs.  In each child (capture, aggregator, httpd), through
 * agent_drop_and_ready(), once, with one thread: right after privsep_drop()
 * (which set no_new_privs; when the agent does not run as root there was no
 * drop and seccomp_install() sets no_new_privs itself) and before READY,
 * so the supervisor's check of /proc/PID/status sees "Seccomp: 2".  The
 * supervisor itself runs no filter: it must reopen captures, fork and read
 * /proc.
 *
 * The filter, in order: the architecture must be the one we were built for
 * (else the process is killed: a system call number of another ABI means
 * nothing here); on x86_64, x32 system calls (numbers with bit 30) are
 * refused the same way; kill and tgkill are allowed only towards the
 * process itself (what abort() and raise() need; never another pktvisord
 * child, which runs as the same user); httpd may ioctl only FIONREAD; a
 * capture or an aggregator may sendmsg only on its control socket (READY:
 * never a frame out of a packet socket); in capture and httpd, open/openat
 * fail with EACCES (libpcap tries sysfs for interface statistics, glibc
 * /etc/localtime; in the chroot there is nothing to open anyway), in an
 * aggregator they trap; the rest is one allow-list per role (seccomp.c,
 * and HACKING.md "Seccomp" for what each call is for).  In builds with
 * AddressSanitizer, what its runtime needs to print a report is allowed
 * too, and what it merely tries (open the maps, start the symbolizer)
 * fails with EACCES.
 *
 * A forbidden call.  The default action is SECCOMP_RET_TRAP, not
 * SECCOMP_RET_KILL_PROCESS: the kernel sends SIGSYS, whose handler (installed
 * before the filter, SA_RESETHAND) writes one line "seccomp: forbidden system
 * call N" to the log pipe with write(2) alone (async-signal-safe), then sends
 * itself SIGSYS, now with the default action: the process dies of SIGSYS
 * (the supervisor logs "killed by signal 31" and respawns it with backoff,
 * like any crash).  The kill action would say nothing about which call it
 * was.  The trap cannot be turned into an escape: a blocked or ignored
 * SIGSYS makes the kernel kill the process; a handler an attacker installs
 * instead would need rt_sigaction, which is allowed (abort() needs it), but
 * the trapped call is still skipped, never run.
 *
 * Platforms.  x86_64 and aarch64 have their allow-lists; elsewhere
 * seccomp_supported() is false, seccomp_install() does nothing, and the
 * supervisor does not require the filter: the agent runs without it.
 */
#ifndef PKTVISOR_SECCOMP_H
#define PKTVISOR_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>

enum seccomp_role {
    SECCOMP_ROLE_CAPTURE,
    SECCOMP_ROLE_AGGREGATOR,
    SECCOMP_ROLE_HTTPD,
};

/* Is there a filter for this architecture (a build-time answer)? */
bool seccomp_supported(void);

/* Install role's filter in the calling (single-threaded) process.  ctl_fd
 * is the control socket: the only descriptor a capture or aggregator may
 * sendmsg on (READY), -1 for none.  log_fd receives the SIGSYS handler's
 * line (-1: stderr), in log.c's pipe format when is_log_pipe.  0 (also
 * when !seccomp_supported(): nothing done), or -1 with the failing step in
 * err: the caller must not go on unfiltered. */
int seccomp_install(enum seccomp_role role, int ctl_fd, int log_fd, bool is_log_pipe, char *err,
                    size_t errlen);

/* The role's name ("capture", "aggregator", "httpd"). */
const char *seccomp_role_name(enum seccomp_role role);

/* Number of system calls role's allow-list names (documentation, tests). */
size_t seccomp_allowed_count(enum seccomp_role role);

#endif
