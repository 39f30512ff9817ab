/*
 * sup.h - pktvisord's supervisor: the process table, respawns, signals.
 *
 * Runs only in the supervisor (root, or the user that started the agent).
 * sup_run() forks every child of the declared table: one aggregator per
 * handler instance, the HTTP worker, then one capture process per input
 * (the aggregators' ring cursors start at the ring's first record, so the
 * order only matters for the start-up log).  Then it loops in poll() on a
 * signalfd, the children's control sockets (proc_msg.h) and the log pipe:
 *
 *   - a child's READY (sent after its privilege drop) is checked against
 *     /proc/PID/status (privsep_status_check): a child that kept root or a
 *     capability stops the agent;
 *   - the HTTP worker gets, after its READY, every handler instance with its
 *     metric segment fd (SCM_RIGHTS) and then START;
 *   - an exit is classified: 0 after a requested stop or the end of its input
 *     (a file tap): done, not respawned; PRIVSEP_EXIT_NORESPAWN (78): the
 *     child cannot work (bad configuration, failed privilege drop): the
 *     agent stops, status 1; anything else is a crash: respawned after a
 *     backoff doubling from 100 ms to 30 s, reset after a minute without a
 *     crash; the 5th crash within 60 s trips the breaker and the child is
 *     left failed (logged; the rest of the agent keeps running);
 *   - SIGTERM/SIGINT: "Shutting down", SIGTERM to every child, SIGKILL to
 *     those still alive 5 s later, exit 0;
 *   - SIGHUP: reopen the log file, and restart every aggregator with SIGTERM
 *     (each publishes its snapshot, exits 0, and is started again at once:
 *     the new process opens the GeoIP databases afresh and resumes from the
 *     snapshot, so nothing is lost or counted twice).
 *
 * systemd (Type=notify): READY=1 once every child reported ready,
 * RELOADING=1/READY=1 around a SIGHUP, STOPPING=1 at shutdown, over
 * $NOTIFY_SOCKET; nothing when it is unset.
 */
#ifndef PKTVISOR_SUP_H
#define PKTVISOR_SUP_H

#include "agent.h"

/* Backoff and breaker (HACKING.md, respawn policy). */
#define SUP_BACKOFF_MIN_MS   100
#define SUP_BACKOFF_MAX_MS   30000
#define SUP_BREAKER_CRASHES  5
#define SUP_BREAKER_WINDOW_S 60
#define SUP_STOP_GRACE_MS    5000

/* In the supervisor (src/sup_policy.c): build the inputs and handler
 * instances of policies [first, npolicies) of a->cfg, opening each new input
 * once (SPEC 1.1's interface errors; "policy [P] failed to start: ..."),
 * checking per-policy filters, creating the new rings and metric segments.
 * running: the agent runs already (admin API): new consumers of a running
 * input start at its newest record, and an input whose capture filter
 * differs from the policy's is not shared.  All or nothing: on failure
 * everything this call created is freed, and -1 with a message in err. */
int sup_policies_build(struct agent *a, size_t first, bool running, char *err, size_t errlen);
/* Free what instance i holds (segment, ring slot) and mark it removed. */
void sup_instance_remove(struct agent *a, size_t i);

/* Run the agent until it is stopped.  Returns the process exit status. */
int sup_run(struct agent *a);

/* Send a state line to systemd ($NOTIFY_SOCKET), if it is listening. */
void sup_notify(const char *state);

#endif
