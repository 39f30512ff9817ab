#!/bin/bash
# pktvisor-cli against a real agent (SPEC 8): the screen, read back with
# tmux at 80x24 and at 200x50, shows the API's numbers (packet total, DNS
# wire packets, the top qname2 entry with its percentage computed here from
# SPEC 8's rules); when the agent stops, the status line says it is
# unreachable within ~3 s while the old numbers stay; when it comes back,
# the screen recovers.
set -u
top_srcdir=${top_srcdir:-.}
# file_tap_config (and ok), shared with the other agent scripts
. "$top_srcdir/tests/integration/lib.sh"
top_builddir=${top_builddir:-.}
AGENT="$top_builddir/pktvisord"
CLI="$top_builddir/pktvisor-cli"
FILE="$top_srcdir/tests/fixtures/dns_udp_tcp_random.pcap"
PORT=11970
URL="http://127.0.0.1:$PORT"
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root"; exit 77; }
for t in tmux curl python3; do
    command -v $t >/dev/null || { echo "skip: needs $t"; exit 77; }
done
case "$CLI" in /*) ;; *) CLI="$PWD/$CLI" ;; esac
tmp=$(mktemp -d)
sock="pktvisor-cli-test-$$" # our own tmux server, never the user's
pid=
stop_agent() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    pid=
}
cleanup() {
    stop_agent
    tmux -L "$sock" kill-server 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fail=0 pass=0
notok() { echo "not ok - $*"; fail=$((fail + 1)); }

file_tap_config "$tmp/c.yaml" "$FILE" "net: { type: net }, dns: { type: dns }, dhcp: { type: dhcp }, pcap: { type: pcap }"

start_agent() {
    : >"$tmp/log"
    timeout -k 5 120 "$AGENT" --config "$tmp/c.yaml" -l 127.0.0.1 -p $PORT \
        --ring-size 16M 2>"$tmp/log" &
    pid=$!
    i=0
    until grep -qs "aggregator default-dns: finished" "$tmp/log" || [ $i -ge 300 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    grep -qs "aggregator default-dns: finished" "$tmp/log"
}

# screen NAME: the pane's text
screen() { tmux -L "$sock" capture-pane -p -t "$1" 2>/dev/null; }
# wait_for NAME SECONDS FIXED-STRING: poll the screen until it shows the text
wait_for() {
    local end=$((SECONDS + $2))
    while [ $SECONDS -le $end ]; do
        screen "$1" | grep -qF -- "$3" && return 0
        sleep 0.2
    done
    return 1
}

if start_agent; then
    ok "agent finished the file"
else
    notok "agent did not finish the file: $(tail -3 "$tmp/log")"
    exit 1
fi

curl -s -m 5 "$URL/api/v1/policies/default/metrics/window/5" >"$tmp/w.json"
# The expected strings, from SPEC 8's rules (percentages with one decimal).
python3 - "$tmp/w.json" >"$tmp/expect" <<'EOF' || { notok "cannot read the API's window"; exit 1; }
import json, sys
d = json.load(open(sys.argv[1]))["default"]
by = {}
for inst in d.values():
    for k in ("pcap", "dns", "dhcp", "packets"):
        if k in inst:
            by.setdefault(k, inst[k])
p, n = by["packets"], by["dns"]
ratio = p["deep_samples"] / p["total"] if p["total"] else 1.0
wp = n["wire_packets"]
top = n["top_qname2"][0]
base = wp["total"] * ratio
print("Pkts %d | UDP %d (%.1f%%)" % (p["total"], p["udp"], 100.0 * p["udp"] / p["total"]))
print("DNS Wire Pkts %d/%d" % (wp["total"] - wp["filtered"], wp["total"]))
print("Query %d (%.1f%%)" % (wp["queries"], 100.0 * wp["queries"] / wp["total"]))
print(top["name"])
print("%d (%.1f%%)" % (top["estimate"], 100.0 * top["estimate"] / base))
qt = n["top_qtype"][0]
print(qt["name"])
print("%d (%.1f%%)" % (qt["estimate"], 100.0 * qt["estimate"] / base))
EOF
pkts=$(sed -n 1p "$tmp/expect")
dnsw=$(sed -n 2p "$tmp/expect")
query=$(sed -n 3p "$tmp/expect")
qname=$(sed -n 4p "$tmp/expect")
qest=$(sed -n 5p "$tmp/expect")
qtype=$(sed -n 6p "$tmp/expect")
qtest=$(sed -n 7p "$tmp/expect")
echo "# expect: $pkts / $dnsw / $query / $qname $qest"

# Each pane's shell records its client's exit status.
for s in small wide; do
    [ $s = small ] && size="-x 80 -y 24" || size="-x 200 -y 50"
    # shellcheck disable=SC2086
    tmux -L "$sock" new-session -d -s $s $size "'$CLI' -H 127.0.0.1 -p $PORT; echo \$? >$tmp/$s.rc"
done
sleep 2
for s in small wide; do
    wait_for $s 3 "$qest" >/dev/null
    screen $s >"$tmp/$s.txt"
    for want in "$pkts" "$dnsw" "$query" "Policy: default" "server: 3.3.0"; do
        if grep -qF -- "$want" "$tmp/$s.txt"; then
            ok "$s: shows '$want'"
        else
            notok "$s: no '$want' on the screen"
        fi
    done
    # The top qname2 row: the name, then (right-aligned) estimate and percentage.
    if grep -F -- "$qname" "$tmp/$s.txt" | grep -qF -- "$qest"; then
        ok "$s: top qname2 row '$qname ... $qest'"
    else
        notok "$s: no top qname2 row '$qname ... $qest'"
    fi
done
# The wide screen shows the third table row too: the top qtype (a base of
# DNS wire packets x deep/total, not 100 %).
if grep -F -- "$qtype " "$tmp/wide.txt" | grep -qF -- "$qtest"; then
    ok "wide: top qtype row '$qtype ... $qtest'"
else
    notok "wide: no top qtype row '$qtype ... $qtest'"
fi
# The layout adapts: four table columns on the wide screen, two on the small one.
if grep -F "Top QName 2" "$tmp/wide.txt" | grep -F "Top NX" | grep -qF "Slow In"; then
    ok "wide: four table columns"
else
    notok "wide: no four-column row of tables"
fi
if [ "$(head -1 "$tmp/small.txt" | wc -L)" -le 80 ] && grep -qF "Top QName 3" "$tmp/small.txt"; then
    ok "small: fits 80 columns, two tables per row"
else
    notok "small: layout does not fit 80 columns"
fi
# A live resize: the small session grows to 200x50 and shows four columns.
tmux -L "$sock" resize-window -t small -x 200 -y 50 2>/dev/null
sleep 1.5
if screen small | grep -F "Top QName 2" | grep -qF "Slow In"; then
    ok "resize: the screen is redrawn at 200x50"
else
    notok "resize: not redrawn at the new size"
fi
tmux -L "$sock" resize-window -t small -x 80 -y 24 2>/dev/null

# The agent goes away: an unreachable status within ~3 s, the numbers stay.
stop_agent
t0=$SECONDS
if wait_for wide 4 "unreachable"; then
    ok "unreachable status after $((SECONDS - t0)) s"
else
    notok "no unreachable status: $(screen wide | tail -1)"
fi
for s in small wide; do
    screen $s >"$tmp/$s.txt"
    if grep -qF -- "$pkts" "$tmp/$s.txt" && grep -qF "STALE" "$tmp/$s.txt"; then
        ok "$s: old numbers stay, marked STALE"
    else
        notok "$s: old numbers gone or not marked stale"
    fi
done

# It comes back: fresh data, no longer stale.
if start_agent; then
    ok "agent restarted"
else
    notok "agent did not restart: $(tail -3 "$tmp/log")"
fi
recovered=0
end=$((SECONDS + 5))
while [ $SECONDS -le $end ]; do
    screen wide >"$tmp/wide.txt"
    if ! grep -qF "STALE" "$tmp/wide.txt" && grep -qF "ok http://127.0.0.1:$PORT" "$tmp/wide.txt"; then
        recovered=1
        break
    fi
    sleep 0.2
done
if [ $recovered = 1 ] && grep -qF -- "$pkts" "$tmp/wide.txt"; then
    ok "recovered: ok status, numbers shown"
else
    notok "not recovered: $(tail -1 "$tmp/wide.txt")"
fi

# q quits with status 0 (under the sanitizers: nothing leaked either).
tmux -L "$sock" send-keys -t wide q
i=0
until [ -s "$tmp/wide.rc" ] || [ $i -ge 50 ]; do
    sleep 0.1
    i=$((i + 1))
done
st=$(cat "$tmp/wide.rc" 2>/dev/null)
[ "$st" = 0 ] && ok "q quits, exit status 0" || notok "q: exit status '$st'"
if [ ! -e "$tmp/small.rc" ]; then
    ok "small: still running"
else
    notok "small: exited with $(cat "$tmp/small.rc")"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
