/*
 * sup_policy.c - the supervisor turns policies into inputs and handler
 * instances (agent.h), at start-up and when the admin API adds a policy.
 * All or nothing: a policy that cannot start leaves nothing behind (SPEC 5).
 */
#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "cap_source.h"
#include "log.h"
#include "metric_seg.h"
#include "ring.h"
#include "segment.h"
#include "sup.h"

/* --ring-size is a tap's: its N workers share it (each ring gets 1/N of
 * the frames), rounded down to a power of two.  Twice the shared memory
 * for two workers would only cost page faults: a file tap's reader,
 * which touches every page of every ring, used 40% more CPU with it. */
static uint64_t ring_size_per_worker(uint64_t total, unsigned nworkers)
{
    if (total == 0)
        total = RING_DEFAULT_SIZE;
    uint64_t each = nworkers > 1 ? total / nworkers : total;
    while (each & (each - 1))
        each &= each - 1; /* keep the highest bit */
    return each < RING_MIN_SIZE ? RING_MIN_SIZE : each;
}

static bool same(const char *a, const char *b)
{
    return strcmp(a == NULL ? "" : a, b == NULL ? "" : b) == 0;
}

static const char *policy_bpf(const struct config_policy *p)
{
    return p->input.bpf != NULL ? p->input.bpf : "";
}

static int free_slot(const struct agent *a, const struct agent_input *in)
{
    for (unsigned slot = 0; slot < RING_MAX_CONSUMERS; slot++) {
        bool used = false;
        for (size_t k = 0; k < a->ninst && !used; k++)
            used = a->inst[k].in == in && !a->inst[k].removed && a->inst[k].slot == slot;
        if (!used)
            return (int)slot;
    }
    return -1;
}

static struct agent_input *input_for(struct agent *a, const struct config_policy *p, bool running,
                                     char *err, size_t errlen)
{
    const struct config_input *ci = &p->input;
    const char *file = ci->pcap_file != NULL ? agent_absolute_path(ci->pcap_file) : NULL;
    unsigned nworkers = ci->workers > 0 ? (unsigned)ci->workers : 1;
    bool tap_taken = false;

    for (size_t i = 0; i < a->ninputs; i++) {
        struct agent_input *in = &a->inputs[i];
        if (in->ring == NULL && running)
            continue; /* released: its last policy was deleted */
        tap_taken |= strcmp(in->tap, p->tap) == 0;
        /* A running capture's filter cannot change under its consumers. */
        if (in->worker == 0 && strcmp(in->tap, p->tap) == 0 && same(in->iface, ci->iface) &&
            same(in->file, file) && in->replay_pps == ci->replay_pps && in->nworkers == nworkers &&
            (!running || in->bpf[0] == '\0' || strcmp(in->bpf, policy_bpf(p)) == 0))
            return in;
    }
    if (ci->pcap_source != NULL && strcmp(ci->pcap_source, "libpcap") != 0 &&
        strcmp(ci->pcap_source, "af_packet") != 0) {
        err_set(err, errlen, "tap '%s': pcap_source '%s' is not supported", p->tap,
                ci->pcap_source);
        return NULL;
    }
    if ((ci->iface == NULL) == (file == NULL)) {
        err_set(err, errlen, "tap '%s': give exactly one of 'iface' and 'pcap_file'", p->tap);
        return NULL;
    }
    if (a->ninputs + nworkers > AGENT_MAX_INPUTS) {
        err_set(err, errlen, "too many inputs (at most %d, a worker is one)", AGENT_MAX_INPUTS);
        return NULL;
    }
    struct agent_input *first = &a->inputs[a->ninputs];
    /* Unique among this agent's groups, unlikely to meet another agent's. */
    uint16_t group = (uint16_t)(((uint32_t)getpid() * 2654435761u >> 16) + a->ninputs);
    for (unsigned w = 0; w < nworkers; w++) {
        struct agent_input *in = &a->inputs[a->ninputs++];
        memset(in, 0, sizeof(*in));
        in->tap = p->tap;
        in->policy = p->name;
        in->iface = ci->iface;
        in->file = file;
        in->replay_pps = ci->replay_pps;
        in->bpf = policy_bpf(p);
        in->worker = w;
        in->nworkers = nworkers;
        in->fanout_group = nworkers > 1 && in->iface != NULL ? group : 0;
        /* Two inputs on one tap (policies overriding iface, pcap_file or, at
         * run time, the filter) get the policy's name too. */
        int n = snprintf(in->name, sizeof(in->name), tap_taken ? "%s-%s" : "%s", p->tap, p->name);
        if (nworkers > 1 && n > 0 && (size_t)n < sizeof(in->name))
            snprintf(in->name + n, sizeof(in->name) - (size_t)n, "-w%u", w);
    }
    return first;
}

/* Open a new input once: SPEC 1.1's interface errors and BPF errors now,
 * not in a child; the addresses and the link type for the aggregators. */
static int probe_input(struct agent_input *in, char *err, size_t errlen)
{
    if (in->worker > 0) { /* the same source as its worker 0, probed just before */
        const struct agent_input *lead = agent_input_leader(in);
        in->linktype = lead->linktype;
        memcpy(in->iface_resolved, lead->iface_resolved, sizeof(in->iface_resolved));
        in->iface_hosts = lead->iface_hosts;
        return 0;
    }
    char why[1024];
    struct cap_source_config cc = {.iface = in->iface, .file = in->file, .bpf = in->bpf};
    struct cap_source *src = cap_source_open(&cc, why, sizeof(why));
    if (src == NULL) {
        /* SPEC 5: a policy whose input cannot start. */
        err_set(err, errlen, "policy [%s] failed to start: %s", in->policy, why);
        return -1;
    }
    in->linktype = cap_source_linktype(src);
    snprintf(in->iface_resolved, sizeof(in->iface_resolved), "%s", cap_source_name(src));
    int rc = cap_source_iface_hosts(src, &in->iface_hosts, err, errlen);
    cap_source_close(&src);
    if (rc < 0)
        return -1;
    log_info("input %s: %s %s%s%s%s", in->name, in->iface != NULL ? "interface" : "file",
             in->iface != NULL ? in->iface_resolved : in->file,
             in->bpf[0] != '\0' ? ", filter " : "", in->bpf,
             in->nworkers > 1 ? (in->iface != NULL ? ", workers in a fanout group"
                                                   : ", spread over the workers' rings")
                              : "");
    return 0;
}

static int check_filter(const struct agent_instance *ai, char *err, size_t errlen)
{
    struct bpf_program prog;
    pcap_t *dead = pcap_open_dead(ai->in->linktype, 262144);
    if (dead == NULL || pcap_compile(dead, &prog, ai->bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        err_set(err, errlen, "policy [%s] failed to start: invalid BPF filter '%s': %s", ai->policy,
                ai->bpf, dead != NULL ? pcap_geterr(dead) : "out of memory");
        if (dead != NULL)
            pcap_close(dead);
        return -1;
    }
    pcap_freecode(&prog);
    pcap_close(dead);
    return 0;
}

void sup_instance_remove(struct agent *a, size_t i)
{
    struct agent_instance *ai = &a->inst[i];
    if (ai->in->ring != NULL)
        ring_slot_release(ai->in->ring, ai->slot);
    segment_free(&ai->seg);
    ai->removed = true;
    ai->policy = NULL; /* the policy's strings go with it */
    ai->host_spec = NULL;
}

static void rollback(struct agent *a, size_t ninputs, size_t ninst)
{
    while (a->ninst > ninst) {
        struct agent_instance *ai = &a->inst[--a->ninst];
        segment_free(&ai->seg);
    }
    while (a->ninputs > ninputs) {
        struct agent_input *in = &a->inputs[--a->ninputs];
        ring_free(&in->ring);
        cap_source_close(&in->src);
    }
}

int sup_policies_build(struct agent *a, size_t first, bool running, char *err, size_t errlen)
{
    const struct visor_config *vc = a->cfg;
    size_t ninputs0 = a->ninputs, ninst0 = a->ninst;

    for (size_t i = first; i < vc->npolicies; i++) {
        const struct config_policy *p = &vc->policies[i];
        struct agent_input *in = input_for(a, p, running, err, errlen);
        if (in == NULL)
            goto fail;
        bool new_input = in >= &a->inputs[ninputs0];
        for (size_t j = 0; j < p->nmodules * in->nworkers; j++) {
            /* One instance per module and worker, the workers of a module
             * next to each other. */
            const struct config_module *m = &p->modules[j / in->nworkers];
            struct agent_input *win = in + j % in->nworkers;
            int slot = free_slot(a, win);
            if (a->ninst == AGENT_MAX_INSTANCES || slot < 0) {
                err_set(err, errlen, "too many handler instances (at most %d per tap)",
                        RING_MAX_CONSUMERS);
                goto fail;
            }
            struct agent_instance *ai = &a->inst[a->ninst++];
            const struct handler_opt *np = config_opt_find(m->opts, m->nopts, "num_periods");
            memset(ai, 0, sizeof(*ai));
            ai->policy = p->name;
            ai->host_spec = p->input.host_spec;
            ai->mod = m;
            ai->type = handler_type_find(m->type);
            ai->in = win;
            ai->slot = (unsigned)slot;
            ai->num_periods = np != NULL && np->type == HOPT_UINT ? (uint32_t)np->u : 5;
            ai->bpf = policy_bpf(p);
            ai->start_newest = running && !new_input;
            if (ai->type == NULL) {
                err_set(err, errlen, "handler type '%s' is not available", m->type);
                goto fail;
            }
        }
    }
    /* The capture of a new input filters when all its policies want the
     * same filter; otherwise each aggregator filters what it reads. */
    for (size_t i = ninputs0; i < a->ninputs; i++) {
        struct agent_input *in = &a->inputs[i];
        for (size_t k = ninst0; k < a->ninst; k++)
            if (a->inst[k].in == in && strcmp(a->inst[k].bpf, in->bpf) != 0)
                in->bpf = "";
    }
    for (size_t k = ninst0; k < a->ninst; k++) {
        struct agent_instance *ai = &a->inst[k];
        if (ai->bpf[0] == '\0' || strcmp(ai->bpf, ai->in->bpf) == 0)
            ai->bpf = NULL;
    }
    for (size_t i = ninputs0; i < a->ninputs; i++)
        if (probe_input(&a->inputs[i], err, errlen) != 0)
            goto fail;
    for (size_t k = ninst0; k < a->ninst; k++)
        if (a->inst[k].bpf != NULL && check_filter(&a->inst[k], err, errlen) != 0)
            goto fail;
    for (size_t i = ninputs0; i < a->ninputs; i++) {
        char name[200];
        snprintf(name, sizeof(name), "pktvisord-ring-%s", a->inputs[i].name);
        a->inputs[i].ring = ring_create(
            name, ring_size_per_worker(a->opt.ring_size, a->inputs[i].nworkers), err, errlen);
        if (a->inputs[i].ring == NULL)
            goto fail;
    }
    for (size_t k = ninst0; k < a->ninst; k++) {
        struct agent_instance *ai = &a->inst[k];
        ai->seg = metric_seg_create(ai->type, ai->mod->name, ai->num_periods, err, errlen);
        if (ai->seg == NULL)
            goto fail;
        /* Held from the start, so a file's capture cannot lap an aggregator
         * still starting (ring_room); one added to a running input opens
         * its slot at the newest record itself. */
        if (!ai->start_newest)
            ring_slot_reserve(ai->in->ring, ai->slot);
    }
    return 0;
fail:
    rollback(a, ninputs0, ninst0);
    return -1;
}
