/*
 * agent.c - what every pktvisord child does with its copy of the agent
 * before it runs.  See agent.h.
 */
#define _GNU_SOURCE
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cap_source.h"
#include "log.h"
#include "proc_msg.h"
#include "ring.h"
#include "seccomp.h"
#include "segment.h"

const char *agent_absolute_path(const char *path)
{
    char cwd[4096], *out;
    if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
        return path;
    if (asprintf(&out, "%s/%s", cwd, path) < 0) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return out;
}

double agent_cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

void agent_release(struct agent *a, const struct agent_input *keep_in, bool keep_listen,
                   const struct agent_instance *keep_inst)
{
    /* A file's capture fills the rings of all its workers. */
    size_t nkeep = keep_in != NULL && agent_input_captures(keep_in) && keep_in->iface == NULL
                       ? keep_in->nworkers
                       : 1;
    for (size_t i = 0; i < a->ninputs; i++) {
        struct agent_input *in = &a->inputs[i];
        if (keep_in == NULL || in < keep_in || in >= keep_in + nkeep) {
            ring_free(&in->ring);
            cap_source_close(&in->src);
        }
    }
    for (size_t i = 0; i < a->ninst; i++)
        if (&a->inst[i] != keep_inst)
            segment_free(&a->inst[i].seg);
    if (!keep_listen && a->listen_fd >= 0) {
        close(a->listen_fd);
        a->listen_fd = -1;
    }
}

int agent_drop_and_ready(struct agent *a, int sock, const int *extra, size_t nextra,
                         enum seccomp_role role)
{
    char err[512];
    int keep[PRIVSEP_MAX_KEEP];
    size_t n = 0;

    /* stdin and stdout on /dev/null, so nothing of ours lands on 0 or 1
     * after the drop closed them; stderr stays: where a crash report
     * (abort, sanitizer) can go. */
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        if (null > STDERR_FILENO)
            close(null);
    }
    keep[n++] = STDIN_FILENO;
    keep[n++] = STDOUT_FILENO;
    keep[n++] = STDERR_FILENO;
    keep[n++] = a->log_pipe[1];
    keep[n++] = sock;
    for (size_t i = 0; i < nextra && n < PRIVSEP_MAX_KEEP; i++)
        keep[n++] = extra[i];
    if (a->drop) {
        const char *root = a->opt.chroot != NULL && a->opt.chroot[0] != '\0' ? a->opt.chroot : NULL;
        if (privsep_drop(&a->user, root, keep, n, err, sizeof(err)) != 0) {
            log_warnx("privilege drop failed: %s", err);
            return -1;
        }
        /* The credential change cleared the parent-death signal. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != a->sup_pid) {
            log_warnx("the supervisor is gone");
            return -1;
        }
    }
    /* Last: the drop itself needs calls the filter refuses. */
    if (seccomp_install(role, sock, a->log_pipe[1], true, err, sizeof(err)) != 0) {
        log_warnx("%s", err);
        return -1;
    }
    struct proc_msg_ready r = {.pid = (int32_t)getpid()};
    if (proc_msg_send(sock, PROC_MSG_READY, &r, sizeof(r), -1) != 0) {
        log_warn("telling the supervisor");
        return -1;
    }
    return 0;
}
