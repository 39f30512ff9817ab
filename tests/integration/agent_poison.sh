#!/bin/sh
# A record that crashes a handler twice is skipped and counted (DESIGN.md
# property 2).  With PKTVISORD_TEST_FAULT=default-net:5000 the net
# aggregator dies (SIGSEGV) whenever it feeds ring record 5000; the agent
# must respawn it twice, skip that record the second time, and end with
# every other frame counted: packets.total = frames in the file - 1 (the
# frame count from tcpdump), agent.restarts 2, agent.poison_packets 1, and
# the dns aggregator untouched.
set -u
top_srcdir=${top_srcdir:-.}
# file_tap_config (and ok), shared with the other agent scripts
. "$top_srcdir/tests/integration/lib.sh"
top_builddir=${top_builddir:-.}
AGENT="$top_builddir/pktvisord"
FILE="$top_srcdir/tests/fixtures/dns_udp_tcp_random.pcap"
PORT=11900
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root"; exit 77; }
command -v curl >/dev/null && command -v python3 >/dev/null && command -v tcpdump >/dev/null ||
    { echo "skip: needs curl, python3, tcpdump"; exit 77; }
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fail=0 pass=0
notok() { echo "not ok - $*"; fail=1; }

frames=$(tcpdump -r "$FILE" -nn 2>/dev/null | wc -l)
file_tap_config "$tmp/c.yaml" "$FILE" "net: { type: net }, dns: { type: dns }"
PKTVISORD_TEST_FAULT=default-net:5000 timeout 60 "$AGENT" --config "$tmp/c.yaml" -l 127.0.0.1 \
    -p $PORT --ring-size 16M 2>"$tmp/log" &
pid=$!
i=0
while [ $i -lt 200 ] && ! grep -q 'aggregator default-net: finished' "$tmp/log"; do
    sleep 0.1
    i=$((i + 1))
done
grep -q 'aggregator default-net: finished' "$tmp/log" && ok "net aggregator finished after its crashes" ||
    notok "net aggregator did not finish"
curl -s "http://127.0.0.1:$PORT/api/v1/policies/default/metrics/window/5" >"$tmp/w.json"
python3 - "$tmp/w.json" "$frames" <<'EOP' || fail=1
import json, sys
w = json.load(open(sys.argv[1]))["default"]
frames = int(sys.argv[2])
net = w["default-net"]["packets"]
dns = w["default-dns"]["dns"]
def check(name, got, want):
    print(("ok - " if got == want else "not ok - ") + f"{name}: {got} (want {want})")
    return got == want
good = all([
    check("net agent.restarts", net["agent"]["restarts"], 2),
    check("net agent.poison_packets", net["agent"]["poison_packets"], 1),
    check("net packets.total", net["total"], frames - 1),
    check("net agent.ring_overruns", net["agent"]["ring_overruns"], 0),
    check("dns agent.restarts", dns["agent"]["restarts"], 0),
    check("dns agent.poison_packets", dns["agent"]["poison_packets"], 0),
])
sys.exit(0 if good else 1)
EOP
grep -c 'killed by signal 11' "$tmp/log" | grep -qx 2 && ok "two crashes logged" || notok "crashes logged: $(grep -c 'killed by signal 11' "$tmp/log")"
grep -q 'skipping it as poison' "$tmp/log" && ok "poison record named in the log" || notok "no poison log line"
[ $fail -eq 0 ] || sed 's/^/#   /' "$tmp/log"
exit $fail
