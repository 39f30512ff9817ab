#!/bin/sh
# pktvisord gives the answer of pktvisor-pcap (DESIGN.md property 6): each
# fixture capture is replayed through the agent from a pcap_file tap
# (replay_pps 0, one policy with the net, dns, dhcp and pcap handlers) and
# read by pktvisor-pcap with the same host spec and options (those of
# tests/golden/*.golden).  Once the agent's four aggregators have finished,
# GET /api/v1/policies/default/metrics/window/5 must hold, for net, dns and
# dhcp, exactly pktvisor-pcap's objects (counters, cardinalities, top lists,
# quantiles, rates, period) once the agent's own `agent` key is removed;
# every `agent` counter must be 0, and the pcap handler must report no drop.
#
# With WORKERS=N (agent_workers.sh) the tap has `workers: N`: its reader
# spreads the frames over N rings by flow hash and the HTTP worker merges
# the N aggregators of each handler.  Then counters, cardinalities and the
# counts of the top lists must still be exact (a conversation stays in one
# worker: transactions and TCP streams are whole), but which of many equal
# small counts a top list shows may differ (a sketch keeps the text of its
# 64 highest items only, and each worker chose from its share): names in
# both lists must have equal counts, and the top count must agree
# (top_udp_ports counts every port exactly: it must be identical); top_slow
# is not compared ("slow" is above each
# worker's own p90 of its previous minute), and quantiles other than rates
# are compared within 15%: a KLL sketch merged from two keeps its rank
# error under 1%, which on a sparse tail moves the value more.  Rates stay
# exact: a minute's bucket merges second by second (sketch_rate.h).
#
# Runs as root only (the agent's children drop to an unprivileged user in
# a chroot); exit 77 (skip) otherwise or without python3/curl.  Ports
# 11800-11807.  Every wait is bounded; the agent runs under timeout(1) so
# that it cannot outlive the test even if this script is killed.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
AGENT="$top_builddir/pktvisord"
PCAP="$top_builddir/pktvisor-pcap"
FIX="$top_srcdir/tests/fixtures"
PORT0=${PORT0:-11800}
WORKERS=${WORKERS:-1}
workers_line=""
[ "$WORKERS" -gt 1 ] && workers_line=", workers: $WORKERS"

. "$top_srcdir/tests/integration/lib.sh"
agent_tests_begin python3 curl timeout pgrep
show_log() { # the agent's log, indented, for a failure
    sed 's/^/#   /' "$1" | tail -n 40
}

# start_agent LOG PORT CONFIG [OPTIONS...]: sets agent_pid (timeout's) and
# sup_pid (the supervisor's); returns 1 if it did not come up in 10 s.
start_agent() {
    log=$1 port=$2 conf=$3
    shift 3
    rm -f "$tmp/agent.pid"
    timeout -k 5 120 "$AGENT" --config "$conf" -p "$port" -l 127.0.0.1 --ring-size 16M \
        --pid-file "$tmp/agent.pid" "$@" >"$log" 2>&1 &
    agent_pid=$!
    sup_pid=""
    i=0
    while [ $i -lt 100 ]; do
        if [ -s "$tmp/agent.pid" ]; then
            sup_pid=$(cat "$tmp/agent.pid")
            return 0
        fi
        kill -0 "$agent_pid" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# stop_agent: SIGTERM, wait (bounded by timeout -k); sets stop_rc, and
# left to the children still alive afterwards (none expected).
stop_agent() {
    kids=""
    [ -n "$sup_pid" ] && kids=$(pgrep -P "$sup_pid")
    kill -TERM "$agent_pid" 2>/dev/null
    wait "$agent_pid"
    stop_rc=$?
    agent_pid=""
    left=""
    for k in $kids; do
        kill -0 "$k" 2>/dev/null && left="$left $k"
    done
}

# wait_finished LOG SECONDS INSTANCE...: every instance's aggregator logged
# "finished"; fails early on a crash or when the agent is gone, and says
# why in $why.
wait_finished() {
    log=$1 limit=$(($2 * 10))
    shift 2
    i=0
    while [ $i -lt $limit ]; do
        missing=0
        for inst in "$@"; do
            grep -qF "aggregator $inst: finished" "$log" || missing=1
        done
        [ $missing -eq 0 ] && return 0
        if grep -qE 'killed by signal|exited with status|not respawning|check failed' "$log"; then
            why="a child failed"
            return 1
        fi
        if ! kill -0 "$agent_pid" 2>/dev/null; then
            why="pktvisord exited"
            return 1
        fi
        sleep 0.1
        i=$((i + 1))
    done
    why="not within $2 s"
    return 1
}

# compare AGENT_JSON PCAP_JSON: the checks on one document, one line each.
compare() {
    python3 - "$1" "$2" "$WORKERS" <<'EOF'
import json, sys

workers = int(sys.argv[3])

def load(path):
    # Numbers keep their text: 1 and 1.0 differ, as they do on the wire.
    with open(path) as f:
        return json.load(f, parse_int=lambda s: ("int", s), parse_float=lambda s: ("float", s))

def diff(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append("%s.%s: missing in the agent" % (path, k))
            elif k not in b:
                out.append("%s.%s: only in the agent" % (path, k))
            else:
                diff(a[k], b[k], path + "." + k, out)
    elif workers > 1 and path.endswith(".top_slow"):
        pass  # "slow" is above each worker's own p90 of the previous minute
    elif (workers > 1 and isinstance(a, list) and isinstance(b, list)
          and path.split(".")[-1].startswith("top_") and not path.endswith(".top_udp_ports")):
        # Every name both list has the same count, and the top count is the
        # same; which of many equal small counts are listed may differ.
        ea = {e.get("name"): e.get("estimate") for e in a if isinstance(e, dict)}
        eb = {e.get("name"): e.get("estimate") for e in b if isinstance(e, dict)}
        diff_names = [n for n in ea if n in eb and ea[n] != eb[n]]
        if diff_names or (a and b and a[0].get("estimate") != b[0].get("estimate")) or bool(a) != bool(b):
            out.append("%s: agent %s, pktvisor-pcap %s" % (path, json.dumps(a)[:300], json.dumps(b)[:300]))
    elif workers > 1 and ".rates." not in path and path.endswith((".p50", ".p90", ".p95", ".p99")):
        x, y = float(a[1]), float(b[1])
        if abs(x - y) > 0.15 * max(abs(y), 1.0):
            out.append("%s: agent %s, pktvisor-pcap %s (beyond 15%%)" % (path, a[1], b[1]))
    elif a != b:
        out.append("%s: agent %s, pktvisor-pcap %s" % (path, json.dumps(a), json.dumps(b)))

agent = load(sys.argv[1])
pcap = load(sys.argv[2])
fails = 0
def report(good, what, lines=()):
    global fails
    print(("ok - " if good else "not ok - ") + what)
    for l in ([] if good else list(lines)[:20]):
        print("#   " + l)
    fails += 0 if good else 1

pol = agent.get("default", {})
window = pcap.get("5m", {})
for inst, key in (("default-net", "packets"), ("default-dns", "dns"), ("default-dhcp", "dhcp"),
                  ("default-pcap", "pcap")):
    obj = pol.get(inst, {}).get(key)
    if not isinstance(obj, dict):
        report(False, "%s: %s object in the agent's window" % (inst, key))
        continue
    health = obj.pop("agent", None)
    zero = ("int", "0")
    good = (isinstance(health, dict) and sorted(health) == ["poison_packets", "restarts", "ring_overruns"]
            and all(v == zero for v in health.values()))
    report(good, "%s: agent counters all 0" % inst, [json.dumps(health)])
    if key == "pcap":
        good = obj.get("os_drops") == zero and obj.get("if_drops") == zero
        report(good, "%s: os_drops 0, if_drops 0" % inst,
               ["os_drops %s if_drops %s" % (obj.get("os_drops"), obj.get("if_drops"))])
        continue
    out = []
    if key not in window:
        out.append("pktvisor-pcap has no %s object" % key)
    else:
        diff(obj, window[key], key, out)
    report(not out, "%s: %s identical to pktvisor-pcap's" % (inst, key), out)
sys.exit(1 if fails else 0)
EOF
}

# run_case NAME PCAP HOSTSPEC [OPTIONS...]: the options go to both programs.
n=0
run_case() {
    name=$1 file=$FIX/$2 hosts=$3
    shift 3
    port=$((PORT0 + n))
    n=$((n + 1))
    dir=$tmp/$name
    mkdir -p "$dir"
    host_line=""
    pcap_h=""
    if [ -n "$hosts" ]; then
        host_line=", host_spec: \"$hosts\""
        pcap_h="-H $hosts"
    fi
    cat >"$dir/agent.yaml" <<EOF
version: "1.0"
visor:
  taps:
    t:
      input_type: pcap
      config: { pcap_file: "$file"$host_line, replay_pps: 0$workers_line }
  policies:
    default:
      kind: collection
      input: { tap: t, input_type: pcap }
      handlers:
        window_config: { num_periods: 5 }
        modules: { net: {type: net}, dns: {type: dns}, dhcp: {type: dhcp}, pcap: {type: pcap} }
EOF
    # shellcheck disable=SC2086
    if ! timeout 60 "$PCAP" $pcap_h "$@" "$file" >"$dir/pcap.json" 2>"$dir/pcap.err"; then
        not_ok "$name: pktvisor-pcap failed"
        sed 's/^/#   /' "$dir/pcap.err"
        return
    fi
    if ! start_agent "$dir/agent.log" "$port" "$dir/agent.yaml" "$@"; then
        not_ok "$name: pktvisord started"
        show_log "$dir/agent.log"
        stop_agent
        return
    fi
    if wait_finished "$dir/agent.log" 60 default-net default-dns default-dhcp default-pcap; then
        ok "$name: the four aggregators finished"
    else
        not_ok "$name: the four aggregators finished ($why)"
        show_log "$dir/agent.log"
        stop_agent
        return
    fi
    code=$(curl -s --max-time 10 -o "$dir/agent.json" -w '%{http_code}' \
        "http://127.0.0.1:$port/api/v1/policies/default/metrics/window/5")
    if [ "$code" = 200 ]; then
        compare "$dir/agent.json" "$dir/pcap.json" >"$dir/result"
        sed "s/^\(\(not \)\{0,1\}ok - \)/\1$name: /" "$dir/result"
        pass=$((pass + $(grep -c '^ok - ' "$dir/result")))
        fail=$((fail + $(grep -c '^not ok - ' "$dir/result")))
        grep -q '^ok - ' "$dir/result" || not_ok "$name: comparison ran"
    else
        not_ok "$name: GET window/5 (status $code)"
        show_log "$dir/agent.log"
    fi
    stop_agent
    if [ "$stop_rc" -eq 0 ] && grep -q 'exit with success' "$dir/agent.log" && [ -z "$left" ]; then
        ok "$name: pktvisord stopped on SIGTERM with status 0, no child left"
    else
        not_ok "$name: pktvisord stopped on SIGTERM with status 0, no child left (status $stop_rc, left:$left)"
        show_log "$dir/agent.log"
    fi
}

run_case dns_ipv4_udp dns_ipv4_udp.pcap 127.0.0.1/32
run_case dns_ipv4_tcp dns_ipv4_tcp.pcap 127.0.0.1/32
run_case dns_ipv6_udp dns_ipv6_udp.pcap ::1/128
run_case dns_ipv6_tcp dns_ipv6_tcp.pcap ::1/128
run_case dns_udp_tcp_random dns_udp_tcp_random.pcap 192.168.0.0/24
run_case dns_udp_mixed_rcode dns_udp_mixed_rcode.pcap 192.168.0.0/24
run_case dhcp-flow dhcp-flow.pcap ""
run_case geo geo.pcap 10.0.0.0/8,fd00::/8 \
    --geo-city "$FIX/GeoIP2-City-Test.mmdb" --geo-asn "$FIX/GeoLite2-ASN-Test.mmdb"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
