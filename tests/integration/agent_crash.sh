#!/bin/sh
# Crash without loss (pktvisord(8), CRASH TOLERANCE): a DNS capture is
# replayed through the agent at a pace that makes the replay last about
# 8 s; meanwhile the dns aggregator is killed twice (SIGKILL at about 2 s
# and 4 s), the net aggregator once (SIGSEGV at about 3 s) and the HTTP
# worker once (SIGKILL at about 5 s).  After the end of input the window
# must be exactly what pktvisor-pcap makes of the same file (dns and
# packets objects, `agent` removed), with dns.agent.restarts 2,
# packets.agent.restarts 1, no ring overrun and no poison packet anywhere;
# the API must answer again within 2 s of the HTTP worker's death, and the
# capture process must never have been interrupted (same pid throughout,
# one start in the log).
#
# Runs as root only (privilege separation); exit 77 (skip) otherwise or
# without python3, curl, tcpdump or cc.  Port 11810.  Takes about 12 s.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
AGENT="$top_builddir/pktvisord"
PCAP="$top_builddir/pktvisor-pcap"
PORT=11810
HOSTS=10.0.0.0/8,2001:db8::/32
REPLAY_S=8

. "$top_srcdir/tests/integration/lib.sh"
agent_tests_begin python3 curl tcpdump cc timeout pgrep
log=$tmp/agent.log
show_log() {
    sed 's/^/#   /' "$log" | tail -n 60
}
finish() {
    if [ -n "$agent_pid" ]; then
        kill -TERM "$agent_pid" 2>/dev/null
        wait "$agent_pid" 2>/dev/null
        agent_pid=""
    fi
    echo "$pass passed, $fail failed"
    [ $fail -eq 0 ]
    exit
}
now_ms() {
    echo $(($(date +%s%N) / 1000000))
}
# child NAME: the pid of the supervisor's child titled "pktvisord: NAME",
# waiting up to 3 s for it (a respawn); empty if there is none.
child() {
    i=0
    while [ $i -lt 30 ]; do
        c=$(pgrep -P "$sup_pid" -f "pktvisord: $1\$" | head -n 1)
        [ -n "$c" ] && {
            echo "$c"
            return
        }
        sleep 0.1
        i=$((i + 1))
    done
}
# at SECONDS: sleep until SECONDS after the replay started.
at() {
    d=$(($1 * 1000 + t0 - $(now_ms)))
    [ $d -gt 0 ] && sleep "$(awk -v d=$d 'BEGIN { printf "%.3f", d / 1000 }')"
}
# running INSTANCE: its aggregator has not finished the file yet, so that a
# kill now lands in the middle of the replay.
running() {
    ! grep -qF "aggregator $1: finished" "$log"
}
# capture_same: the capture process is the one of the start.
capture_same() {
    [ "$(pgrep -P "$sup_pid" -f 'pktvisord: capture t$' | head -n 1)" = "$cap_pid" ]
}

# The capture: gen_pcap's DNS traffic without its TCP connections.  DNS
# over TCP messages that are being reassembled when an aggregator dies are
# lost: only pointer-free state (window, transaction table, sampling state)
# survives a restart, not the TCP reassembly buffers, so a capture with TCP
# would not give pktvisor-pcap's answer after a kill.  UDP only, it must.
if ! cc -O2 -o "$tmp/gen_pcap" "$top_srcdir/tests/bench/gen_pcap.c" -lm 2>"$tmp/cc.err"; then
    not_ok "build gen_pcap"
    sed 's/^/#   /' "$tmp/cc.err"
    finish
fi
"$tmp/gen_pcap" --mode dns --packets 300000 "$tmp/all.pcap" 2>"$tmp/gen.err" &&
    tcpdump -r "$tmp/all.pcap" -w - 'not tcp' >"$tmp/dns.pcap" 2>"$tmp/tcpdump.err"
check "a UDP-only DNS capture from gen_pcap" [ -s "$tmp/dns.pcap" ] || {
    sed 's/^/#   /' "$tmp/gen.err" "$tmp/tcpdump.err"
    finish
}
rm -f "$tmp/all.pcap"

timeout 60 "$PCAP" -H "$HOSTS" "$tmp/dns.pcap" >"$tmp/ref.json" 2>"$tmp/ref.err" || {
    not_ok "pktvisor-pcap on the capture"
    sed 's/^/#   /' "$tmp/ref.err"
    finish
}
packets=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["5m"]["packets"]["total"])' \
    "$tmp/ref.json")
pps=$((packets / REPLAY_S))
echo "# $packets packets, replayed at $pps packets/s"

cat >"$tmp/agent.yaml" <<EOF
version: "1.0"
visor:
  taps:
    t:
      input_type: pcap
      config: { pcap_file: "$tmp/dns.pcap", host_spec: "$HOSTS", replay_pps: $pps }
  policies:
    default:
      kind: collection
      input: { tap: t, input_type: pcap }
      handlers:
        window_config: { num_periods: 5 }
        modules: { net: {type: net}, dns: {type: dns}, dhcp: {type: dhcp}, pcap: {type: pcap} }
EOF
timeout -k 5 120 "$AGENT" --config "$tmp/agent.yaml" -p $PORT -l 127.0.0.1 --ring-size 16M \
    --pid-file "$tmp/agent.pid" >"$log" 2>&1 &
agent_pid=$!
i=0
while [ $i -lt 100 ] && ! grep -q 'capture t: capturing from' "$log"; do
    kill -0 "$agent_pid" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
done
t0=$(now_ms)
sup_pid=$(cat "$tmp/agent.pid" 2>/dev/null)
cap_pid=""
[ -n "$sup_pid" ] && cap_pid=$(child 'capture t')
if [ -z "$cap_pid" ]; then
    not_ok "pktvisord started its capture"
    show_log
    finish
fi
ok "pktvisord started (supervisor $sup_pid, capture $cap_pid)"

# 2 s: SIGKILL the dns aggregator.
at 2
dns1=$(child 'aggregator default-dns')
if [ -n "$dns1" ] && running default-dns; then
    kill -KILL "$dns1"
    ok "SIGKILL to aggregator default-dns (pid $dns1) at 2 s, mid-replay"
else
    not_ok "SIGKILL to aggregator default-dns at 2 s, mid-replay (pid '$dns1')"
fi
check "capture not interrupted at 2 s" capture_same

# 3 s: SIGSEGV the net aggregator.
at 3
net1=$(child 'aggregator default-net')
if [ -n "$net1" ] && running default-net; then
    kill -SEGV "$net1"
    ok "SIGSEGV to aggregator default-net (pid $net1) at 3 s, mid-replay"
else
    not_ok "SIGSEGV to aggregator default-net at 3 s, mid-replay (pid '$net1')"
fi
check "capture not interrupted at 3 s" capture_same

# 4 s: SIGKILL the dns aggregator again: its successor.
at 4
dns2=$(child 'aggregator default-dns')
if [ -n "$dns2" ] && [ "$dns2" != "$dns1" ] && running default-dns; then
    kill -KILL "$dns2"
    ok "SIGKILL to the respawned aggregator default-dns (pid $dns2) at 4 s, mid-replay"
else
    not_ok "SIGKILL to the respawned aggregator default-dns at 4 s, mid-replay (pid '$dns2', first '$dns1')"
fi
check "capture not interrupted at 4 s" capture_same

# 5 s: SIGKILL the HTTP worker; the API must answer again within 2 s.
at 5
httpd1=$(child httpd)
if [ -n "$httpd1" ]; then
    kill -KILL "$httpd1"
    killed=$(now_ms)
    code=000
    i=0
    while [ $i -lt 20 ]; do
        sleep 0.1
        code=$(curl -s --max-time 1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/metrics/app")
        [ "$code" = 200 ] && break
        [ $(($(now_ms) - killed)) -ge 2000 ] && break
        i=$((i + 1))
    done
    waited=$(($(now_ms) - killed))
    if [ "$code" = 200 ] && [ $waited -le 2100 ]; then
        ok "API answers 200 again ${waited} ms after SIGKILL to httpd (pid $httpd1)"
    else
        not_ok "API answers 200 again within 2 s of SIGKILL to httpd (last status $code after $waited ms)"
    fi
    httpd2=$(child httpd)
    if [ -n "$httpd2" ] && [ "$httpd2" != "$httpd1" ]; then
        ok "httpd respawned with a new pid ($httpd2)"
    else
        not_ok "httpd respawned with a new pid ('$httpd2')"
    fi
else
    not_ok "found the httpd process"
fi
check "capture not interrupted at 5 s" capture_same
if running default-dns && running default-net; then
    ok "the replay was still running at 5 s"
else
    not_ok "the replay was still running at 5 s"
fi

# The end of the file: every aggregator finishes (the replay ends at 8 s).
i=0
all=1
while [ $i -lt 600 ]; do
    all=1
    for inst in default-net default-dns default-dhcp default-pcap; do
        grep -qF "aggregator $inst: finished" "$log" || all=0
    done
    [ $all -eq 1 ] && break
    kill -0 "$agent_pid" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
done
if [ $all -eq 1 ]; then
    ok "the four aggregators finished the file ($(($(now_ms) - t0)) ms after the start)"
else
    not_ok "the four aggregators finished the file within 60 s"
    show_log
    finish
fi

starts=$(grep -c 'capture t: capturing from' "$log")
if [ "$starts" -eq 1 ] && grep -qF 'capture t: finished' "$log" &&
    ! grep -qE 'capture t: (killed|exited|respawning)' "$log"; then
    ok "the capture started once, finished, and was never respawned"
else
    not_ok "the capture started once ($starts), finished, and was never respawned"
fi
check "the log shows both dns kills" [ "$(grep -c 'aggregator default-dns: killed by signal 9' "$log")" -eq 2 ]
# An ASan build catches SIGSEGV itself and exits with status 1.
check "the log shows the net crash" grep -qE 'aggregator default-net: (killed by signal 11|exited with status)' "$log"
if grep -q 'not respawning' "$log"; then
    not_ok "nothing tripped the crash-loop breaker"
else
    ok "nothing tripped the crash-loop breaker"
fi

code=$(curl -s --max-time 10 -o "$tmp/agent.json" -w '%{http_code}' \
    "http://127.0.0.1:$PORT/api/v1/policies/default/metrics/window/5")
if [ "$code" != 200 ]; then
    not_ok "GET window/5 (status $code)"
    show_log
    finish
fi
python3 - "$tmp/agent.json" "$tmp/ref.json" >"$tmp/result" <<'EOF'
import json, sys

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
    elif a != b:
        out.append("%s: agent %s, pktvisor-pcap %s" % (path, json.dumps(a), json.dumps(b)))

def report(good, what, lines=()):
    print(("ok - " if good else "not ok - ") + what)
    for l in ([] if good else list(lines)[:20]):
        print("#   " + l)

agent = load(sys.argv[1]).get("default", {})
ref = load(sys.argv[2])["5m"]
want_restarts = {"default-net": 1, "default-dns": 2, "default-dhcp": 0, "default-pcap": 0}
for inst, key in (("default-net", "packets"), ("default-dns", "dns"), ("default-dhcp", "dhcp"),
                  ("default-pcap", "pcap")):
    obj = agent.get(inst, {}).get(key)
    if not isinstance(obj, dict):
        report(False, "%s: %s object in the window" % (inst, key))
        continue
    h = obj.pop("agent", {})
    want = {"restarts": ("int", str(want_restarts[inst])), "ring_overruns": ("int", "0"),
            "poison_packets": ("int", "0")}
    report(h == want, "%s: agent restarts %d, ring_overruns 0, poison_packets 0"
           % (inst, want_restarts[inst]), [json.dumps(h)])
    if key in ("packets", "dns"):
        out = []
        diff(obj, ref[key], key, out)
        report(not out, "%s: %s identical to pktvisor-pcap's after the crashes" % (inst, key), out)
EOF
cat "$tmp/result"
pass=$((pass + $(grep -c '^ok - ' "$tmp/result")))
fail=$((fail + $(grep -c '^not ok - ' "$tmp/result")))
grep -q '^ok - ' "$tmp/result" || not_ok "the comparison ran"

kids=$(pgrep -P "$sup_pid")
kill -TERM "$agent_pid"
wait "$agent_pid"
rc=$?
agent_pid=""
left=""
for k in $kids; do
    kill -0 "$k" 2>/dev/null && left="$left $k"
done
if [ $rc -eq 0 ] && [ -z "$left" ]; then
    ok "pktvisord stopped on SIGTERM with status 0, no child left"
else
    not_ok "pktvisord stopped on SIGTERM with status 0, no child left (status $rc, left:$left)"
fi
[ $fail -eq 0 ] || show_log
finish
