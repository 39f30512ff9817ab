/*
 * sup.c - pktvisord's supervisor.  See sup.h.
 */
#define _GNU_SOURCE
#include "sup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cap_source.h"
#include "log.h"
#include "visor_config.h"
#include "metric_seg.h"
#include "privsep.h"
#include "proc_msg.h"
#include "proc_title.h"
#include "ring.h"
#include "segment.h"

enum role { ROLE_CAPTURE, ROLE_AGGREGATOR, ROLE_HTTPD };

enum pstate {
    P_IDLE,    /* not started yet, or stopped during shutdown */
    P_RUNNING, /* forked; ready once it sent READY */
    P_BACKOFF, /* crashed: waiting for respawn_at */
    P_DONE,    /* exited 0: its input ended */
    P_FAILED,  /* the breaker tripped */
    P_REMOVED, /* its policy was deleted (admin API) */
};

struct proc {
    enum role role;
    size_t idx; /* into a->inputs or a->inst */
    char name[200];
    enum pstate state;
    pid_t pid;
    int sock;
    bool ready;
    bool restart;  /* SIGHUP: start again when it exits */
    bool removing; /* its policy is being deleted: do not start again */
    int64_t crash_ms[SUP_BREAKER_CRASHES];
    unsigned ncrash;
    int64_t last_crash_ms;
    int backoff_ms;
    int64_t respawn_at;
    uint64_t starts;
};

struct sup {
    struct agent *a;
    struct proc procs[AGENT_MAX_INPUTS + AGENT_MAX_INSTANCES + 1];
    size_t nprocs;
    int sigfd;
    bool stopping;
    int64_t kill_at;
    int exit_status;
    bool notified_ready;
    struct {
        bool active;
        uint32_t id;
        char name[64];
    } del; /* a policy deletion waiting for its aggregators to exit */
    char logbuf[8192];
    size_t loglen;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sup_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || (path[0] != '/' && path[0] != '@'))
        return;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof(sa.sun_path))
        return;
    memcpy(sa.sun_path, path, len);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract namespace */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
               (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
        log_debug("systemd notification failed: %s", strerror(errno));
    close(fd);
}

/* ---- children ---- */

volatile sig_atomic_t agent_child_stop;

static void on_child_stop(int sig)
{
    (void)sig;
    agent_child_stop = 1;
}

static _Noreturn void child_main(struct sup *s, struct proc *p, int sock, pid_t sup_pid)
{
    struct agent *a = s->a;
    sigset_t all;
    struct sigaction sa = {.sa_handler = on_child_stop};
    int rc = 1;

    /* The supervisor's signal plumbing is not the child's. */
    close(s->sigfd);
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i].sock >= 0)
            close(s->procs[i].sock);
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGCHLD, SIG_DFL);
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    /* A child outlives no supervisor. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != sup_pid)
        _exit(0);

    close(a->log_pipe[0]);
    log_init_pipe(p->name, a->log_pipe[1]);
    proc_title_set("pktvisord: %s", p->name);
    switch (p->role) {
    case ROLE_CAPTURE:
        rc = cap_child_run(a, &a->inputs[p->idx], sock);
        break;
    case ROLE_AGGREGATOR:
        rc = agg_child_run(a, &a->inst[p->idx], sock);
        break;
    case ROLE_HTTPD:
        rc = httpd_child_run(a, sock);
        break;
    }
    /* Not exit(): the supervisor's atexit handlers are not ours (and a
     * leak checker cannot work in a chroot without /proc). */
    fflush(NULL);
    _exit(rc);
}

/* The capture source is opened here, with the supervisor's privileges, for
 * every start of a capture process. */
static int open_capture(struct agent_input *in)
{
    char err[PCAP_ERRBUF_SIZE + 512];
    struct cap_source_config cc = {
        .iface = in->iface, .file = in->file, .bpf = in->bpf, .fanout_group = in->fanout_group};
    in->src = cap_source_open(&cc, err, sizeof(err));
    if (in->src == NULL) {
        log_warnx("input %s: %s", in->name, err);
        return -1;
    }
    if (cap_source_warning(in->src)[0] != '\0')
        log_warnx("input %s: %s", in->name, cap_source_warning(in->src));
    return 0;
}

static int start_proc(struct sup *s, struct proc *p)
{
    int sv[2];
    pid_t sup_pid = s->a->sup_pid;

    if (p->role == ROLE_CAPTURE && open_capture(&s->a->inputs[p->idx]) != 0)
        return -1;
    if (proc_msg_channel(sv) != 0) {
        log_warn("%s: socketpair", p->name);
        if (p->role == ROLE_CAPTURE)
            cap_source_close(&s->a->inputs[p->idx].src);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        log_warn("%s: fork", p->name);
        close(sv[0]);
        close(sv[1]);
        if (p->role == ROLE_CAPTURE)
            cap_source_close(&s->a->inputs[p->idx].src);
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        child_main(s, p, sv[1], sup_pid);
    }
    close(sv[1]);
    if (p->role == ROLE_CAPTURE) /* the child reads it now; ours would race */
        cap_source_close(&s->a->inputs[p->idx].src);
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    p->sock = sv[0];
    p->pid = pid;
    p->state = P_RUNNING;
    p->ready = false;
    p->restart = false;
    p->starts++;
    log_debug("%s started (pid %ld)", p->name, (long)pid);
    return 0;
}

static void begin_stop(struct sup *s, int status)
{
    if (s->stopping)
        return;
    s->stopping = true;
    s->exit_status = status;
    sup_notify("STOPPING=1");
    for (size_t i = 0; i < s->nprocs; i++) {
        struct proc *p = &s->procs[i];
        if (p->state == P_RUNNING)
            kill(p->pid, SIGTERM);
        else
            p->state = p->state == P_BACKOFF ? P_IDLE : p->state;
    }
    s->kill_at = now_ms() + SUP_STOP_GRACE_MS;
}

static void schedule_respawn(struct sup *s, struct proc *p)
{
    int64_t now = now_ms();
    if (now - p->last_crash_ms > SUP_BREAKER_WINDOW_S * 1000)
        p->backoff_ms = 0; /* a minute without a crash starts over */
    p->last_crash_ms = now;
    p->crash_ms[p->ncrash % SUP_BREAKER_CRASHES] = now;
    p->ncrash++;
    if (p->ncrash >= SUP_BREAKER_CRASHES &&
        now - p->crash_ms[p->ncrash % SUP_BREAKER_CRASHES] <= SUP_BREAKER_WINDOW_S * 1000) {
        log_warnx("%s: %d crashes within %d s: not respawning it", p->name, SUP_BREAKER_CRASHES,
                  SUP_BREAKER_WINDOW_S);
        p->state = P_FAILED;
        if (p->role == ROLE_AGGREGATOR) { /* a file's capture must not wait for it */
            const struct agent_instance *ai = &s->a->inst[p->idx];
            ring_slot_release(ai->in->ring, ai->slot);
        }
        return;
    }
    p->backoff_ms = p->backoff_ms == 0 ? SUP_BACKOFF_MIN_MS : p->backoff_ms * 2;
    if (p->backoff_ms > SUP_BACKOFF_MAX_MS)
        p->backoff_ms = SUP_BACKOFF_MAX_MS;
    p->respawn_at = now + p->backoff_ms;
    p->state = P_BACKOFF;
    log_info("%s: respawning in %d ms", p->name, p->backoff_ms);
}

/* The rings a capture process fills: its own, or a file's workers' rings. */
static void free_rings(struct agent_input *in)
{
    unsigned n = agent_input_captures(in) && in->iface == NULL ? in->nworkers : 1;
    for (unsigned w = 0; w < n; w++)
        ring_free(&in[w].ring);
}

static void on_exit_status(struct sup *s, struct proc *p, int status)
{
    if (p->sock >= 0) {
        close(p->sock);
        p->sock = -1;
    }
    p->pid = 0;
    p->ready = false;
    if (s->stopping) {
        p->state = P_IDLE;
        return;
    }
    if (p->removing) {
        p->state = P_REMOVED;
        if (p->role == ROLE_CAPTURE)
            free_rings(&s->a->inputs[p->idx]);
        return;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        if (p->restart) {
            log_info("%s: restarting", p->name);
            if (start_proc(s, p) != 0)
                schedule_respawn(s, p);
            return;
        }
        log_info("%s: finished", p->name);
        p->state = P_DONE;
        return;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == PRIVSEP_EXIT_NORESPAWN) {
        log_warnx("%s exited with status %d (cannot run; see above): stopping the agent", p->name,
                  PRIVSEP_EXIT_NORESPAWN);
        p->state = P_FAILED;
        begin_stop(s, 1);
        return;
    }
    if (WIFSIGNALED(status))
        log_warnx("%s: killed by signal %d (%s)", p->name, WTERMSIG(status),
                  strsignal(WTERMSIG(status)));
    else
        log_warnx("%s: exited with status %d", p->name, WEXITSTATUS(status));
    schedule_respawn(s, p);
}

static void reap(struct sup *s)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (size_t i = 0; i < s->nprocs; i++)
            if (s->procs[i].pid == pid && s->procs[i].state == P_RUNNING) {
                on_exit_status(s, &s->procs[i], status);
                break;
            }
    }
}

static struct proc *httpd_proc(struct sup *s)
{
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i].role == ROLE_HTTPD)
            return &s->procs[i];
    return NULL;
}

/* One instance and its segment to the HTTP worker (when it is there). */
static int send_instance(struct sup *s, size_t i)
{
    const struct agent_instance *ai = &s->a->inst[i];
    struct proc *h = httpd_proc(s);
    struct proc_msg_instance m;
    if (ai->removed || ai->seg == NULL || h == NULL || h->sock < 0 || !h->ready)
        return 0;
    memset(&m, 0, sizeof(m));
    snprintf(m.policy, sizeof(m.policy), "%s", ai->policy);
    snprintf(m.name, sizeof(m.name), "%s", ai->mod->name);
    snprintf(m.type, sizeof(m.type), "%s", ai->type->name);
    snprintf(m.tap, sizeof(m.tap), "%s", ai->in->tap);
    m.num_periods = ai->num_periods;
    m.live = ai->in->iface != NULL;
    m.worker = ai->in->worker;
    m.nworkers = ai->in->nworkers;
    /* A read-only description of the segment: the worker can neither map
     * it writable nor mprotect its mapping to write (the memfd itself is
     * read-write, for the aggregator). */
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", ai->seg->fd);
    int ro = open(path, O_RDONLY | O_CLOEXEC);
    if (ro < 0) {
        log_warn("%s: read-only segment descriptor", ai->mod->name);
        return -1;
    }
    int rc = proc_msg_send(h->sock, PROC_MSG_INSTANCE, &m, sizeof(m), ro);
    close(ro);
    return rc;
}

/* The HTTP worker's view: every instance with its segment, then START. */
static int send_instances(struct sup *s, struct proc *p)
{
    struct agent *a = s->a;
    for (size_t i = 0; i < a->ninst; i++)
        if (send_instance(s, i) != 0)
            return -1;
    struct proc_msg_start st = {.start_ns = a->start_ns};
    return proc_msg_send(p->sock, PROC_MSG_START, &st, sizeof(st), -1);
}

static void check_ready(struct sup *s)
{
    if (s->notified_ready)
        return;
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i].state == P_RUNNING && !s->procs[i].ready)
            return;
    s->notified_ready = true;
    log_info("all %zu processes running", s->nprocs);
    sup_notify("READY=1");
}

/* A child that sent READY and finished at once (a short file) has no
 * /proc/PID/root to read any more: wait up to 200 ms for it to become a
 * zombie, which says it was exiting, not hiding. */
static bool exiting(pid_t pid)
{
    for (int i = 0; i < 40; i++) {
        siginfo_t si = {0};
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
            return true;
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void on_admin(struct sup *s, struct proc *p, uint32_t type, const unsigned char *buf,
                     size_t len);
static void policy_del_finish(struct sup *s);

static void on_message(struct sup *s, struct proc *p)
{
    char err[256];
    unsigned char buf[PROC_MSG_MAX];
    uint32_t type;
    size_t len;
    int fd;

    for (;;) {
        int rc = proc_msg_recv(p->sock, &type, buf, &len, &fd, err, sizeof(err));
        if (rc == -2)
            return;
        if (rc <= 0) {
            if (rc < 0) {
                log_warnx("%s: %s: killing it", p->name, err);
                kill(p->pid, SIGKILL);
            }
            /* Closed: the exit status tells the rest. */
            close(p->sock);
            p->sock = -1;
            return;
        }
        if (p->role == ROLE_HTTPD && p->ready && s->a->opt.admin_api &&
            (type == PROC_MSG_POLICY_ADD || type == PROC_MSG_POLICY_DEL ||
             type == PROC_MSG_SERVER_STOP)) {
            on_admin(s, p, type, buf, len);
            continue;
        }
        if (type != PROC_MSG_READY || p->ready) {
            log_warnx("%s: unexpected message %" PRIu32 ": killing it", p->name, type);
            kill(p->pid, SIGKILL);
            return;
        }
        struct proc_msg_ready r;
        memcpy(&r, buf, sizeof(r));
        if (s->a->drop) {
            struct privsep_status st;
            int rep = privsep_report(p->pid, &st, err, sizeof(err));
            if (rep != 0 && exiting(p->pid))
                continue; /* it finished already: its exit status tells */
            if (rep == 0)
                rep = privsep_status_check(&st, &s->a->user, err, sizeof(err));
            /* The child's own filter (seccomp.h), as the kernel sees it. */
            if (rep == 0 && seccomp_supported() && st.seccomp != 2) {
                snprintf(err, sizeof(err), "Seccomp %d, expected 2 (filter)", st.seccomp);
                rep = -1;
            }
            if (rep != 0) {
                log_warnx("%s (pid %ld): privilege check failed: %s", p->name, (long)p->pid, err);
                kill(p->pid, SIGKILL);
                begin_stop(s, 1);
                return;
            }
        }
        p->ready = true;
        log_debug("%s ready (pid %ld)", p->name, (long)p->pid);
        if (p->role == ROLE_HTTPD && send_instances(s, p) != 0) {
            log_warn("%s: sending instances", p->name);
            kill(p->pid, SIGKILL);
        }
        check_ready(s);
    }
}

static void drain_log(struct sup *s)
{
    for (;;) {
        ssize_t n =
            read(s->a->log_pipe[0], s->logbuf + s->loglen, sizeof(s->logbuf) - 1 - s->loglen);
        if (n <= 0)
            return;
        s->loglen += (size_t)n;
        s->logbuf[s->loglen] = '\0';
        char *line = s->logbuf, *nl;
        while ((nl = strchr(line, '\n')) != NULL) {
            *nl = '\0';
            if (log_forward(line) != 0)
                log_warnx("child log: %s", line);
            line = nl + 1;
        }
        s->loglen = (size_t)(s->logbuf + s->loglen - line);
        memmove(s->logbuf, line, s->loglen);
        if (s->loglen == sizeof(s->logbuf) - 1)
            s->loglen = 0; /* a line longer than the buffer: dropped */
    }
}

static void on_hup(struct sup *s)
{
    sup_notify("RELOADING=1");
    if (log_reopen() != 0)
        log_warn("reopening the log file");
    log_info("SIGHUP: log reopened; restarting the aggregators (GeoIP databases reloaded)");
    for (size_t i = 0; i < s->nprocs; i++) {
        struct proc *p = &s->procs[i];
        if (p->role == ROLE_AGGREGATOR && p->state == P_RUNNING) {
            p->restart = true;
            kill(p->pid, SIGTERM);
        }
    }
    sup_notify("READY=1");
}

static void on_signals(struct sup *s)
{
    struct signalfd_siginfo si;
    while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGCHLD:
            reap(s);
            break;
        case SIGTERM:
        case SIGINT:
            if (!s->stopping)
                log_info("Shutting down");
            begin_stop(s, 0);
            break;
        case SIGHUP:
            if (!s->stopping)
                on_hup(s);
            break;
        }
    }
    reap(s); /* SIGCHLDs coalesce */
    policy_del_finish(s);
}

static void add_proc(struct sup *s, enum role role, size_t idx, const char *name)
{
    struct proc *p = &s->procs[s->nprocs++];
    memset(p, 0, sizeof(*p));
    p->role = role;
    p->idx = idx;
    p->sock = -1;
    snprintf(p->name, sizeof(p->name), "%s", name);
}

/* ---- the admin API's requests (from the HTTP worker) ---- */

static void reply(struct sup *s, uint32_t id, uint32_t status, const char *text)
{
    static unsigned char buf[sizeof(struct proc_msg_reply) + PROC_MSG_TEXT_MAX];
    struct proc_msg_reply r = {.id = id, .status = status};
    struct proc *h = httpd_proc(s);
    size_t n = strlen(text);
    if (n > PROC_MSG_TEXT_MAX)
        n = PROC_MSG_TEXT_MAX;
    memcpy(buf, &r, sizeof(r));
    memcpy(buf + sizeof(r), text, n);
    if (h != NULL && h->sock >= 0 &&
        proc_msg_send(h->sock, PROC_MSG_REPLY, buf, sizeof(r) + n, -1) != 0)
        log_warn("httpd: reply %" PRIu32, id);
}

static void policy_add(struct sup *s, uint32_t id, const char *text, size_t len)
{
    struct agent *a = s->a;
    char err[1024];
    config_t tree;
    size_t before = a->cfg->npolicies, ninst0 = a->ninst, ninputs0 = a->ninputs;

    config_init(&tree);
    int rc = config_parse(text, len, CONFIG_FORMAT_YAML, &tree, err, sizeof(err));
    if (rc == 0)
        rc = config_add_policies(a->cfg, &tree, err, sizeof(err));
    config_destroy(&tree);
    if (rc == 0 && s->nprocs + (AGENT_MAX_INSTANCES - a->ninst) + (AGENT_MAX_INPUTS - a->ninputs) >
                       sizeof(s->procs) / sizeof(s->procs[0])) {
        err_set(err, sizeof(err), "too many processes");
        rc = -1;
    }
    if (rc == 0 && sup_policies_build(a, before, true, err, sizeof(err)) != 0) {
        /* All or nothing (SPEC 5): the policies just added go again. */
        while (a->cfg->npolicies > before)
            config_remove_policy(a->cfg, a->cfg->policies[a->cfg->npolicies - 1].name);
        rc = -1;
    }
    if (rc != 0) {
        log_warnx("admin API: policy not created: %s", err);
        reply(s, id, 500, err);
        return;
    }
    char names[PROC_MSG_TEXT_MAX / 2] = "", name[200];
    size_t off = 0;
    for (size_t i = before; i < a->cfg->npolicies && off < sizeof(names) - 66; i++)
        off += (size_t)snprintf(names + off, sizeof(names) - off, "%s\n", a->cfg->policies[i].name);
    for (size_t i = ninst0; i < a->ninst; i++) {
        snprintf(name, sizeof(name), "aggregator %s", a->inst[i].mod->name);
        add_proc(s, ROLE_AGGREGATOR, i, name);
        struct proc *p = &s->procs[s->nprocs - 1];
        if (start_proc(s, p) != 0)
            schedule_respawn(s, p);
        send_instance(s, i);
    }
    for (size_t i = ninputs0; i < a->ninputs; i++) {
        if (!agent_input_captures(&a->inputs[i]))
            continue;
        snprintf(name, sizeof(name), "capture %s", a->inputs[i].name);
        add_proc(s, ROLE_CAPTURE, i, name);
        struct proc *p = &s->procs[s->nprocs - 1];
        if (start_proc(s, p) != 0)
            schedule_respawn(s, p);
    }
    log_info("admin API: policies created: %.*s", (int)(off > 0 ? off - 1 : 0), names);
    reply(s, id, 200, names);
}

static bool policy_procs_running(const struct sup *s, const char *policy)
{
    for (size_t i = 0; i < s->nprocs; i++) {
        const struct proc *p = &s->procs[i];
        if (p->role == ROLE_AGGREGATOR && p->removing && p->state == P_RUNNING &&
            strcmp(s->a->inst[p->idx].policy, policy) == 0)
            return true;
    }
    return false;
}

/* Once the deleted policy's aggregators are gone: free what they held,
 * stop inputs nobody reads any more, forget the policy, answer. */
static void policy_del_finish(struct sup *s)
{
    struct agent *a = s->a;
    if (!s->del.active || policy_procs_running(s, s->del.name))
        return;
    for (size_t i = 0; i < a->ninst; i++)
        if (!a->inst[i].removed && strcmp(a->inst[i].policy, s->del.name) == 0)
            sup_instance_remove(a, i);
    for (size_t i = 0; i < s->nprocs; i++) {
        struct proc *p = &s->procs[i];
        if (p->role != ROLE_CAPTURE)
            continue;
        bool read = false;
        const struct agent_input *in = &a->inputs[p->idx];
        for (size_t k = 0; k < a->ninst && !read; k++)
            read = !a->inst[k].removed &&
                   (a->inst[k].in == in ||
                    (in->iface == NULL && agent_input_leader(a->inst[k].in) == in));
        if (read)
            continue;
        p->removing = true;
        if (p->state == P_RUNNING) {
            kill(p->pid, SIGTERM); /* its rings go when it has exited */
        } else {
            p->state = P_REMOVED;
            free_rings(&a->inputs[p->idx]);
        }
    }
    config_remove_policy(a->cfg, s->del.name);
    log_info("admin API: policy %s deleted", s->del.name);
    s->del.active = false;
    reply(s, s->del.id, 200, "");
}

static void policy_del(struct sup *s, uint32_t id, const char *name)
{
    struct agent *a = s->a;
    if (s->del.active) {
        reply(s, id, 503, "another policy is being deleted");
        return;
    }
    if (config_find_policy(a->cfg, name) == NULL) {
        reply(s, id, 404, "policy does not exists");
        return;
    }
    s->del.active = true;
    s->del.id = id;
    snprintf(s->del.name, sizeof(s->del.name), "%s", name);
    struct proc *h = httpd_proc(s);
    for (size_t i = 0; i < s->nprocs; i++) {
        struct proc *p = &s->procs[i];
        if (p->role != ROLE_AGGREGATOR || a->inst[p->idx].removed ||
            strcmp(a->inst[p->idx].policy, name) != 0)
            continue;
        struct proc_msg_gone g;
        memset(&g, 0, sizeof(g));
        snprintf(g.name, sizeof(g.name), "%s", a->inst[p->idx].mod->name);
        if (h != NULL && h->sock >= 0)
            proc_msg_send(h->sock, PROC_MSG_INSTANCE_GONE, &g, sizeof(g), -1);
        p->removing = true;
        if (p->state == P_RUNNING)
            kill(p->pid, SIGTERM);
        else
            p->state = P_REMOVED;
    }
    policy_del_finish(s);
}

static void on_admin(struct sup *s, struct proc *p, uint32_t type, const unsigned char *buf,
                     size_t len)
{
    struct proc_msg_req rq;
    (void)p;
    memcpy(&rq, buf, sizeof(rq));
    rq.name[sizeof(rq.name) - 1] = '\0';
    switch (type) {
    case PROC_MSG_POLICY_ADD:
        policy_add(s, rq.id, (const char *)buf + sizeof(rq), len - sizeof(rq));
        break;
    case PROC_MSG_POLICY_DEL:
        policy_del(s, rq.id, rq.name);
        break;
    case PROC_MSG_SERVER_STOP:
        log_info("admin API: server stop requested");
        reply(s, rq.id, 200, "");
        begin_stop(s, 0);
        break;
    }
}

static bool any_running(const struct sup *s)
{
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i].state == P_RUNNING)
            return true;
    return false;
}

int sup_run(struct agent *a)
{
    static struct sup s;
    char name[200];
    sigset_t mask;

    memset(&s, 0, sizeof(s));
    s.a = a;
    a->sup_pid = getpid();
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    s.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s.sigfd < 0) {
        log_warn("signalfd");
        return 1;
    }
    for (size_t i = 0; i < a->ninst; i++) {
        snprintf(name, sizeof(name), "aggregator %s", a->inst[i].mod->name);
        add_proc(&s, ROLE_AGGREGATOR, i, name);
    }
    add_proc(&s, ROLE_HTTPD, 0, "httpd");
    for (size_t i = 0; i < a->ninputs; i++) {
        if (!agent_input_captures(&a->inputs[i]))
            continue;
        snprintf(name, sizeof(name), "capture %s", a->inputs[i].name);
        add_proc(&s, ROLE_CAPTURE, i, name);
    }
    for (size_t i = 0; i < s.nprocs; i++)
        if (start_proc(&s, &s.procs[i]) != 0) {
            log_warnx("%s: could not start: stopping the agent", s.procs[i].name);
            begin_stop(&s, 1);
            break;
        }

    for (;;) {
        struct pollfd pfd[2 + AGENT_MAX_INPUTS + AGENT_MAX_INSTANCES + 1];
        struct proc *who[2 + AGENT_MAX_INPUTS + AGENT_MAX_INSTANCES + 1];
        nfds_t n = 0;
        int64_t now = now_ms(), wake = now + 1000;

        if (s.stopping && !any_running(&s))
            break;
        if (s.stopping && now >= s.kill_at) {
            for (size_t i = 0; i < s.nprocs; i++)
                if (s.procs[i].state == P_RUNNING) {
                    log_warnx("%s did not stop: SIGKILL", s.procs[i].name);
                    kill(s.procs[i].pid, SIGKILL);
                }
            s.kill_at = now + 1000;
        }
        for (size_t i = 0; i < s.nprocs && !s.stopping; i++) {
            struct proc *p = &s.procs[i];
            if (p->state != P_BACKOFF)
                continue;
            if (now >= p->respawn_at) {
                if (start_proc(&s, p) != 0)
                    schedule_respawn(&s, p);
            } else if (p->respawn_at < wake) {
                wake = p->respawn_at;
            }
        }
        if (s.stopping && s.kill_at < wake)
            wake = s.kill_at;

        pfd[n] = (struct pollfd){.fd = s.sigfd, .events = POLLIN};
        who[n++] = NULL;
        pfd[n] = (struct pollfd){.fd = a->log_pipe[0], .events = POLLIN};
        who[n++] = NULL;
        for (size_t i = 0; i < s.nprocs; i++)
            if (s.procs[i].sock >= 0) {
                pfd[n] = (struct pollfd){.fd = s.procs[i].sock, .events = POLLIN};
                who[n++] = &s.procs[i];
            }
        int timeout = wake > now ? (int)(wake - now) : 0;
        if (poll(pfd, n, timeout) < 0 && errno != EINTR) {
            log_warn("poll");
            begin_stop(&s, 1);
            continue;
        }
        if (pfd[1].revents != 0)
            drain_log(&s);
        for (nfds_t i = 2; i < n; i++)
            if (pfd[i].revents != 0 && who[i]->sock == pfd[i].fd)
                on_message(&s, who[i]);
        if (pfd[0].revents != 0)
            on_signals(&s);
        if (!s.stopping)
            check_ready(&s); /* also when the last child to be ready already finished */
    }
    drain_log(&s);
    close(s.sigfd);
    if (s.exit_status == 0)
        log_info("exit with success");
    return s.exit_status;
}
