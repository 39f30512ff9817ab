/*
 * agg_child.c - the aggregator process of one handler instance (agent.h):
 * it builds the instance's handler and pipeline, opens the GeoIP databases,
 * resumes from the instance's last snapshot, drops its privileges and runs
 * agg_loop over the input's ring.
 *
 * Start-up, in this order and why:
 *   1. metric_seg_start(): what the predecessor left (restarts, a record
 *      that killed it twice);
 *   2. the handler, pipeline, policy filter and GeoIP databases, while files
 *      can still be opened (libmaxminddb maps the file and closes it);
 *   3. the newest snapshot, loaded as the handler's block (window, resume
 *      area, sampling state), and the ring opened at its cursor: every record
 *      after it is read again, none before it (DESIGN.md section 3).  No
 *      snapshot yet: from the ring's first record;
 *   4. the privilege drop, READY, and the loop.
 * A snapshot that cannot be read back (another build's segment is refused
 * at attach, so this means corruption) is logged and the instance starts
 * empty from the ring's oldest record, its losses counted.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agg_loop.h"
#include "cap_source.h"
#include "geo.h"
#include "log.h"
#include "metric_seg.h"
#include "pipeline.h"
#include "ring.h"

static uint64_t opt_uint(const struct config_module *m, const char *key, uint64_t def)
{
    const struct handler_opt *o = config_opt_find(m->opts, m->nopts, key);
    return o != NULL && o->type == HOPT_UINT ? o->u : def;
}

struct agg_child {
    struct geo *city, *asn;
    struct hostspec hosts;
    struct pipeline *pl;
    pcap_t *dead;
    struct bpf_program prog;
    bool have_prog;
    void *tmp;
};

static void agg_child_free(struct agg_child *c)
{
    pipeline_free(&c->pl);
    geo_close(&c->city);
    geo_close(&c->asn);
    if (c->have_prog)
        pcap_freecode(&c->prog);
    if (c->dead != NULL)
        pcap_close(c->dead);
    free(c->tmp);
}

static int build(struct agent *a, struct agent_instance *ai, struct agg_child *c)
{
    char err[512];
    const struct config_module *m = ai->mod;

    if (hostspec_parse(&c->hosts, ai->host_spec != NULL ? ai->host_spec : "", err, sizeof(err)) !=
        0) {
        log_warnx("host_spec: %s", err);
        return -1;
    }
    for (uint32_t i = 0; i < ai->in->iface_hosts.n; i++) {
        if (c->hosts.n >= HOSTSPEC_MAX)
            break;
        c->hosts.e[c->hosts.n++] = ai->in->iface_hosts.e[i];
    }
    if (ai->type == &handler_net) {
        if (a->opt.geo_city != NULL &&
            (c->city = geo_open(a->opt.geo_city, GEO_CITY, err, sizeof(err))) == NULL) {
            log_warnx("%s", err);
            return -1;
        }
        if (a->opt.geo_asn != NULL &&
            (c->asn = geo_open(a->opt.geo_asn, GEO_ASN, err, sizeof(err))) == NULL) {
            log_warnx("%s", err);
            return -1;
        }
    }
    struct handler_config hc = {
        .num_periods = ai->num_periods,
        .deep_sample_rate = (uint32_t)opt_uint(m, "deep_sample_rate", 100),
        .geo_city = c->city,
        .geo_asn = c->asn,
        .opts = m->opts,
        .nopts = m->nopts,
    };
    struct handler *h = handler_new(ai->type, m->name, &hc, err, sizeof(err));
    if (h == NULL) {
        log_warnx("%s", err);
        return -1;
    }
    c->pl = pipeline_new(&c->hosts);
    if (c->pl == NULL || pipeline_add(c->pl, h) != 0) {
        log_warnx("out of memory");
        return -1;
    }
    if (ai->bpf != NULL && ai->bpf[0] != '\0') {
        c->dead = pcap_open_dead(ai->in->linktype, 262144);
        if (c->dead == NULL ||
            pcap_compile(c->dead, &c->prog, ai->bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            log_warnx("invalid BPF filter '%s': %s", ai->bpf,
                      c->dead != NULL ? pcap_geterr(c->dead) : "out of memory");
            return -1;
        }
        c->have_prog = true;
    }
    return 0;
}

int agg_child_run(struct agent *a, struct agent_instance *ai, int sock)
{
    char err[512];
    struct agg_child c;
    struct metric_seg_start ms;
    struct ring_consumer rc;
    struct snap snap;
    struct snap_meta meta;
    struct agg_loop_stats st;
    int status = 1;

    memset(&c, 0, sizeof(c));
    agent_release(a, ai->in, false, ai);
    cap_source_close(&ai->in->src);
    metric_seg_start(ai->seg, &ms);
    if (build(a, ai, &c) != 0) {
        agg_child_free(&c);
        return PRIVSEP_EXIT_NORESPAWN; /* the same configuration fails again */
    }
    struct handler *h = c.pl->handlers[0];
    size_t size = h->blk->size;
    struct snap_area *area = metric_seg_snap(ai->seg);
    if (snap_attach(&snap, area, snap_area_size(size), size, err, sizeof(err)) != 0) {
        log_warnx("%s", err);
        goto out;
    }

    struct ring_cursor cur = {0};
    enum ring_start how = RING_START_CURSOR;
    c.tmp = malloc(size);
    if (c.tmp == NULL) {
        log_warnx("out of memory");
        goto out;
    }
    int lr = agg_snapshot_load(area, ai->type, ai->num_periods, c.tmp, size, &meta);
    if (lr == SNAP_OK && handler_block_load(h, c.tmp, size) == 0) {
        cur.pos = meta.ring_pos;
        cur.seq = meta.ring_seq;
        log_info("resuming from snapshot %" PRIu64 " at ring record %" PRIu64 "%s", meta.generation,
                 meta.ring_seq, ms.poison ? " (skipping a poison record)" : "");
    } else if (lr != SNAP_NONE) {
        log_warnx("snapshot unreadable: starting empty from the oldest record");
        how = RING_START_OLDEST;
    } else if (ai->start_newest) {
        how = RING_START_NEWEST; /* a policy added to a running input */
    }
    free(c.tmp);
    c.tmp = NULL;
    if (ring_consumer_open(ai->in->ring, ai->slot, how, &cur, &rc, err, sizeof(err)) != 0) {
        log_warnx("%s: starting from the oldest record", err);
        if (ring_consumer_open(ai->in->ring, ai->slot, RING_START_OLDEST, NULL, &rc, err,
                               sizeof(err)) != 0) {
            log_warnx("%s", err);
            goto out;
        }
    }
    if (ms.poison)
        log_warnx("ring record %" PRIu64 " crashed this handler twice: skipping it as poison",
                  ms.poison_seq);
    if (agent_drop_and_ready(a, sock, NULL, 0, SECCOMP_ROLE_AGGREGATOR) != 0) {
        status = PRIVSEP_EXIT_NORESPAWN;
        goto out;
    }

    struct metric_seg_hdr *mh = metric_seg_hdr(ai->seg);
    struct agg_loop_config cfg = {
        .consumer = &rc,
        .pipeline = c.pl,
        .snap = &snap,
        .wall_clock_rotation = ai->in->iface != NULL,
        .filter = c.have_prog ? &c.prog : NULL,
        .inflight = &mh->inflight,
        .skip_poison = ms.poison,
        .poison_seq = ms.poison_seq,
        .restarts = ms.restarts,
    };
    /* Fault injection for the poison-record test: PKTVISORD_TEST_FAULT=
     * "INSTANCE:SEQ" makes that instance crash on ring record SEQ. */
    const char *fault = getenv("PKTVISORD_TEST_FAULT");
    size_t nlen = strlen(ai->mod->name);
    if (fault != NULL && strncmp(fault, ai->mod->name, nlen) == 0 && fault[nlen] == ':') {
        cfg.fault = true;
        cfg.fault_seq = strtoull(fault + nlen + 1, NULL, 10);
    }
    int r = agg_loop_run(&cfg, &agent_child_stop, &st);
    /* Stopped on request (SIGHUP, shutdown), the slot keeps holding the
     * snapshot's cursor for the successor. */
    if (r != AGG_LOOP_STOPPED)
        ring_consumer_close(&rc);
    switch (r) {
    case AGG_LOOP_EOF:
        atomic_store(&mh->finished, 1);
        log_info("end of input: %" PRIu64 " records, %" PRIu64 " lost to overruns; %" PRIu64
                 " snapshots, %.1f ms publishing (max %.1f ms); cpu %.3f s",
                 st.records, st.lost_records, st.publications, (double)st.publish_ns_total / 1e6,
                 (double)st.publish_ns_max / 1e6, agent_cpu_seconds());
        status = 0;
        break;
    case AGG_LOOP_STOPPED:
        atomic_fetch_add(&mh->clean_stops, 1);
        status = 0;
        break;
    default:
        log_warnx("%s", st.message);
        status = 1;
        break;
    }
out:
    agg_child_free(&c);
    return status;
}
