#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static struct {
    char role[64];
    enum log_target target;
    char path[4096];
    FILE *file;
    int pipe_fd; /* LOG_TO_PIPE */
    bool verbose;
} lg = {.role = "pktvisor", .target = LOG_TO_STDERR};

int log_init(const char *role, enum log_target target, const char *path, bool verbose)
{
    log_set_role(role);
    lg.verbose = verbose;
    lg.target = target;
    if (target == LOG_TO_FILE) {
        snprintf(lg.path, sizeof(lg.path), "%s", path);
        return log_reopen();
    }
    if (target == LOG_TO_SYSLOG)
        openlog("pktvisord", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    return 0;
}

void log_init_pipe(const char *role, int fd)
{
    log_set_role(role);
    if (lg.file != NULL)
        fclose(lg.file);
    lg.file = NULL;
    if (lg.target == LOG_TO_SYSLOG)
        closelog();
    lg.target = LOG_TO_PIPE;
    lg.pipe_fd = fd;
}

void log_set_role(const char *role)
{
    snprintf(lg.role, sizeof(lg.role), "%s", role);
}

void log_set_verbose(bool verbose)
{
    lg.verbose = verbose;
}

bool log_is_verbose(void)
{
    return lg.verbose;
}

int log_reopen(void)
{
    if (lg.target != LOG_TO_FILE)
        return 0;
    FILE *f = fopen(lg.path, "a");
    if (f == NULL)
        return -1;
    setvbuf(f, NULL, _IOLBF, 0);
    if (lg.file != NULL)
        fclose(lg.file);
    lg.file = f;
    return 0;
}

static void emit(int pri, const char *role, long pid, const char *msg)
{
    if (lg.target == LOG_TO_SYSLOG) {
        syslog(pri, "%s: %s", role, msg);
        return;
    }
    FILE *out = lg.target == LOG_TO_FILE && lg.file != NULL ? lg.file : stderr;
    if (lg.target == LOG_TO_FILE) {
        char stamp[32];
        struct tm tm;
        time_t now = time(NULL);
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
        fprintf(out, "%s %s[%ld]: %s\n", stamp, role, pid, msg);
    } else {
        fprintf(out, "%s: %s\n", role, msg);
    }
}

static void vlog(int pri, const char *fmt, va_list ap, int err)
{
    char msg[2048];
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (n < 0)
        return;
    if (err != 0 && (size_t)n < sizeof(msg))
        snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(err));

    if (lg.target == LOG_TO_PIPE) {
        /* One write per line (below PIPE_BUF: atomic), never blocking: a
         * child must not stall on a busy supervisor; a full pipe loses the
         * line. */
        char line[2304];
        int len = snprintf(line, sizeof(line), "%d %ld %s\t", pri, (long)getpid(), lg.role);
        if (len < 0 || (size_t)len >= sizeof(line))
            return;
        for (const char *c = msg; *c != '\0' && (size_t)len < sizeof(line) - 1; c++)
            line[len++] = *c == '\n' ? ' ' : *c;
        line[len++] = '\n';
        ssize_t w = write(lg.pipe_fd, line, (size_t)len);
        (void)w;
        return;
    }
    emit(pri, lg.role, (long)getpid(), msg);
}

int log_forward(char *line)
{
    int pri;
    long pid;
    int off = 0;
    if (sscanf(line, "%d %ld %n", &pri, &pid, &off) != 2 || off == 0)
        return -1;
    char *role = line + off;
    char *tab = strchr(role, '\t');
    if (tab == NULL)
        return -1;
    *tab = '\0';
    if (pri == LOG_DEBUG && !lg.verbose)
        return 0;
    emit(pri, role, pid, tab + 1);
    return 0;
}

#define LOG_BODY(pri, err)                                                                         \
    do {                                                                                           \
        int saved = errno;                                                                         \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        vlog(pri, fmt, ap, err);                                                                   \
        va_end(ap);                                                                                \
        errno = saved;                                                                             \
    } while (0)

void err_set(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void log_warn(const char *fmt, ...)
{
    LOG_BODY(LOG_WARNING, errno);
}

void log_warnx(const char *fmt, ...)
{
    LOG_BODY(LOG_WARNING, 0);
}

void log_info(const char *fmt, ...)
{
    LOG_BODY(LOG_INFO, 0);
}

void log_debug(const char *fmt, ...)
{
    if (!lg.verbose)
        return;
    LOG_BODY(LOG_DEBUG, 0);
}

void fatal(const char *fmt, ...)
{
    LOG_BODY(LOG_CRIT, errno);
    exit(1);
}

void fatalx(const char *fmt, ...)
{
    LOG_BODY(LOG_CRIT, 0);
    exit(1);
}
