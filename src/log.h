/*
 * log.h - one logging vocabulary for every process (OpenBSD style).
 *
 * log_warn() appends strerror(errno), log_warnx() does not; log_info(),
 * log_debug() (only with -v); fatal()/fatalx() log and exit(1) and are for
 * a process's top level only.  Each line carries the process role set by
 * log_init() ("pktvisor-pcap", "aggregator default-dns", ...).  Lines go to
 * stderr, a file (--log-file) or syslog.  The packet path never logs: it
 * counts.
 *
 * State is process-global and set up once at start (log_init) before other
 * threads exist; log_reopen() serves SIGHUP.
 */
#ifndef PKTVISOR_LOG_H
#define PKTVISOR_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum log_target { LOG_TO_STDERR, LOG_TO_FILE, LOG_TO_SYSLOG, LOG_TO_PIPE };

/* role: shown on every line.  path: for LOG_TO_FILE.  Returns 0 or -1. */
int log_init(const char *role, enum log_target target, const char *path, bool verbose);
void log_set_role(const char *role);
void log_set_verbose(bool verbose);
bool log_is_verbose(void);
int log_reopen(void);

/* pktvisord's children log through a pipe to the supervisor, which alone
 * holds the log file or syslog (a chrooted child can open neither, and
 * SIGHUP reopens one file in one process).  log_init_pipe() switches the
 * calling child to the pipe's write end (non-blocking); the supervisor
 * hands each line it reads (without the newline, modified in place) to
 * log_forward(), which writes it with the child's role and pid.  -1 for a
 * line that is not in the pipe format. */
void log_init_pipe(const char *role, int fd);
int log_forward(char *line);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write a message into a caller's error buffer (err may be NULL): the
 * "return -1 and say why in err" half of the error convention. */
void err_set(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
