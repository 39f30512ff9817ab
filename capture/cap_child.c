/*
 * cap_child.c - the capture process of one input (agent.h): it reads the
 * capture handle the supervisor opened for it and appends every packet to
 * the input's ring (cap_loop.h), unprivileged.
 *
 * A respawned capture process of a file tap resumes after the frames its
 * predecessors pushed (the ring counts them), so a crash of the capture
 * neither repeats nor loses packets of the file; a live capture simply goes
 * on with what the interface delivers.  The reader of a file tap with
 * workers spreads the frames over all their rings.
 */
#include <inttypes.h>
#include <stdio.h>

#include "agent.h"
#include "cap_loop.h"
#include "cap_source.h"
#include "log.h"
#include "ring.h"

int cap_child_run(struct agent *a, struct agent_input *in, int sock)
{
    char err[512];
    struct cap_loop_stats st;
    struct ring_stats rs;

    /* A file's reader fills every worker's ring (cap_spread.h). */
    unsigned nrings = in->iface == NULL ? in->nworkers : 1;
    struct ring *rings[CONFIG_WORKERS_MAX];
    uint64_t pushed = 0;
    agent_release(a, in, false, NULL);
    for (unsigned w = 0; w < nrings; w++) {
        rings[w] = in[w].ring;
        if (ring_producer_init(rings[w], err, sizeof(err)) != 0) {
            log_warnx("%s", err);
            return 1;
        }
        ring_stats(rings[w], &rs);
        pushed += rs.records;
    }
    /* A savefile's descriptor is its FILE's; pcap_fileno() is -1 for it. */
    pcap_t *pc = cap_source_pcap(in->src);
    int fd = in->file != NULL ? fileno(pcap_file(pc)) : pcap_fileno(pc);
    if (agent_drop_and_ready(a, sock, &fd, fd >= 0 ? 1 : 0, SECCOMP_ROLE_CAPTURE) != 0)
        return PRIVSEP_EXIT_NORESPAWN;

    struct cap_loop_config cfg = {
        .replay_pps = in->replay_pps,
        .skip_packets = in->file != NULL ? pushed : 0,
        .wait_for_consumers = in->file != NULL,
        .rings = rings,
        .nrings = nrings,
    };
    if (cfg.skip_packets > 0)
        log_info("resuming %s after its first %" PRIu64 " packets", in->file, cfg.skip_packets);
    else
        log_info("capturing from %s", cap_source_name(in->src));
    int rc = cap_loop_run(in->src, in->ring, &cfg, &agent_child_stop, &st);
    switch (rc) {
    case CAP_LOOP_EOF: {
        log_info("end of %s: %" PRIu64 " packets; waited %" PRIu64
                 " times for a consumer; cpu %.3f s",
                 in->file, st.packets, st.ring_waits, agent_cpu_seconds());
        return 0;
    }
    case CAP_LOOP_TRUNCATED:
        log_warnx("%s", st.message);
        return 0;
    case CAP_LOOP_STOPPED:
        log_debug("stopped after %" PRIu64 " packets", st.packets);
        return 0;
    default:
        log_warnx("%s", st.message);
        return 1;
    }
}
