/*
 * agent.h - what pktvisord's supervisor builds before it forks, and what
 * each child reads from its copy.
 *
 * The supervisor (src/pktvisord.c, src/sup.c) turns the options and the
 * configuration into inputs and handler instances, opens what needs
 * privileges (capture handles, the listening socket) and creates every
 * shared segment (rings, metric segments); then it forks one capture
 * process per input, one aggregator per handler instance and one HTTP
 * worker (HACKING.md, "Processes").  A child starts from a copy of struct
 * agent: it keeps what its role needs, releases the rest (agent_release:
 * other rings and segments unmapped, handles closed), drops privileges and
 * only then touches packets or requests.
 *
 * Inputs.  Policies that read the same tap with the same capture source
 * (interface or file, pcap_source, replay_pps, workers) share one input: one
 * capture process and one packet ring, whatever the number of policies and
 * handlers (each handler instance is one consumer slot).  The capture
 * applies a BPF filter only when every policy of the input asks for the
 * same one; otherwise each aggregator applies its policy's filter to the
 * frames it reads.
 *
 * Ownership: struct agent lives for the supervisor's life (agent_free at
 * exit); the config strings it points to belong to its visor_config.
 */
#ifndef PKTVISOR_AGENT_H
#define PKTVISOR_AGENT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "handler.h"
#include "hostspec.h"
#include "privsep.h"
#include "seccomp.h"
#include "visor_config.h"

#define AGENT_MAX_INPUTS    32
#define AGENT_MAX_INSTANCES 128

struct ring;
struct segment;
struct cap_source;

/* Options of the command line (SPEC 1.1 and ours). */
struct agent_options {
    bool daemonize, verbose, admin_api, syslog, tls;
    const char *host; /* -l */
    uint16_t port;    /* -p */
    const char *tls_cert, *tls_key;
    const char *geo_city, *geo_asn;
    const char *config;
    const char *log_file;
    const char *prom_instance;
    uint64_t max_deep_sample, periods;
    const char *bpf;       /* -b */
    const char *host_spec; /* -H */
    const char *iface;
    const char *user;   /* --user; NULL: pktvisor or nobody */
    const char *chroot; /* --chroot; "" disables */
    const char *pid_file;
    uint64_t ring_size;
};

struct agent_input {
    char name[160];
    const char *tap;
    const char *policy; /* the first policy reading it (error messages) */
    const char *iface;  /* live, or NULL */
    const char *file;   /* pcap_file, or NULL */
    uint64_t replay_pps;
    const char *bpf; /* applied by the capture ("" none) */
    struct ring *ring;
    struct cap_source *src; /* open in the supervisor between open and fork */
    struct hostspec iface_hosts;
    char iface_resolved[64];
    int linktype;
    unsigned nconsumers;
    /* A tap with `workers: N` is N consecutive inputs, worker 0 first, each
     * with its own ring and aggregators.  Live: N capture processes in one
     * PACKET_FANOUT group.  File: worker 0's capture reads the file and
     * spreads the frames over the N rings (cap_spread.h); the others have
     * no capture process. */
    unsigned worker, nworkers;
    uint16_t fanout_group; /* live with nworkers > 1 */
};

/* Worker 0 of in's group. */
static inline struct agent_input *agent_input_leader(struct agent_input *in)
{
    return in - in->worker;
}
/* Whether the input has a capture process of its own. */
static inline bool agent_input_captures(const struct agent_input *in)
{
    return in->iface != NULL || in->worker == 0;
}

struct agent_instance {
    /* Into the policy's heap allocations, stable while the policy exists
     * (struct config_policy itself moves when policies are added). */
    const char *policy;
    const char *host_spec;
    const struct config_module *mod;
    const struct handler_type *type;
    struct agent_input *in;
    unsigned slot; /* consumer slot in the input's ring */
    uint32_t num_periods;
    const char *bpf; /* filter the aggregator applies, or NULL */
    struct segment *seg;
    bool start_newest; /* added at run time to a running input: from now on */
    bool removed;      /* its policy was deleted: nothing left but the slot */
};

struct agent {
    struct agent_options opt;
    struct visor_config *cfg;
    struct agent_input inputs[AGENT_MAX_INPUTS];
    size_t ninputs;
    struct agent_instance inst[AGENT_MAX_INSTANCES];
    size_t ninst;
    int listen_fd;
    int log_pipe[2]; /* children write [1]; the supervisor reads [0] */
    bool drop;       /* running as root: children drop to user */
    struct privsep_user user;
    int64_t start_ns;
    pid_t sup_pid; /* the supervisor (after -d: the daemon) */
};

/* Set by SIGTERM/SIGINT in a child: finish what you do and exit 0. */
extern volatile sig_atomic_t agent_child_stop;

/* Children.  Each returns its exit status: 0 after a requested stop or the
 * end of its input (not respawned), PRIVSEP_EXIT_NORESPAWN when the
 * privilege drop or its configuration failed, anything else a failure. */
int cap_child_run(struct agent *a, struct agent_input *in, int sock);
int agg_child_run(struct agent *a, struct agent_instance *ai, int sock);
int httpd_child_run(struct agent *a, int sock);

/* path, made absolute against the current directory (a new string when it
 * was relative): it must stay valid after -d's chdir("/"). */
const char *agent_absolute_path(const char *path);
/* CPU time (user + system) of the calling process, in seconds: what a
 * child reports when its file ended. */
double agent_cpu_seconds(void);

/* In a child: unmap and close everything of the agent except what the
 * given input (ring; a file's worker 0: every worker's ring) and instance
 * (metric segment) need; NULL for none. */
void agent_release(struct agent *a, const struct agent_input *keep_in, bool keep_listen,
                   const struct agent_instance *keep_inst);
/* In a child: drop privileges (when the agent runs as root) keeping the
 * log pipe, sock and extra fds, install role's system call filter
 * (seccomp.h), then tell the supervisor it is ready.  On failure logs why
 * and returns -1: exit PRIVSEP_EXIT_NORESPAWN. */
int agent_drop_and_ready(struct agent *a, int sock, const int *extra, size_t nextra,
                         enum seccomp_role role);

#endif
