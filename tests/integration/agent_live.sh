#!/bin/sh
# pktvisord capturing live: two network namespaces joined by a veth pair;
# the agent runs in the first on its veth end, a peer in the second sends
# ICMP echo requests and N DNS queries over UDP to port 53 (a sink in the
# first namespace receives them, so no ICMP error quotes them back).  The
# default policy's live bucket must count every query exactly (a fresh
# namespace has no other DNS traffic), every packet, and the queries as
# "in" (the interface's own address is the host, SPEC 1.1).  Then the
# same with IFACE given as the interface's IPv4 address, and its IPv6 one.
# Needs root, `ip netns`, python3, curl and pgrep (exit 77 without them).
# Ports 11860-11862 (inside the namespace).
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
PKTVISORD="$top_builddir/pktvisord"
case $PKTVISORD in /*) ;; *) PKTVISORD="$(pwd)/$PKTVISORD" ;; esac

if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP not root"
    exit 77
fi
for tool in ip python3 curl pgrep; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "1..0 # SKIP $tool not found"
        exit 77
    fi
done
probe="pvlprobe$$"
if ! ip netns add "$probe" 2>/dev/null; then
    echo "1..0 # SKIP ip netns unavailable"
    exit 77
fi
ip netns del "$probe"

NQ=50    # DNS queries
NPING=5  # ICMP echo requests
ns1="pvl1-$$" ns2="pvl2-$$"
va="pvla$$" vb="pvlb$$"
net="10.199.$(($$ % 250))"
addr1="$net.1" addr2="$net.2"
addr6="fd00:199:$(printf %x $(($$ % 65536)))::1"
tmp=$(mktemp -d /tmp/pv-live.XXXXXX)
sup="" sink=""
pass=0 fail=0

ok() { pass=$((pass + 1)); echo "ok - $1"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $1"; }

stop_pid() { # stop_pid PID: SIGTERM, SIGKILL (with its children) after 10 s
    [ -n "$1" ] || return 0
    kids=$(pgrep -P "$1" 2>/dev/null)
    kill -TERM "$1" 2>/dev/null
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    # shellcheck disable=SC2086
    kill -0 "$1" 2>/dev/null && kill -KILL "$1" $kids 2>/dev/null
    wait "$1" 2>/dev/null
}

cleanup() {
    stop_pid "$sup"
    stop_pid "$sink"
    sup="" sink=""
    ip netns del "$ns1" 2>/dev/null
    ip netns del "$ns2" 2>/dev/null
    ip link del "$va" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

in1() { timeout 20 ip netns exec "$ns1" "$@"; }
in2() { timeout 20 ip netns exec "$ns2" "$@"; }

# ---- the namespaces
if ! { ip netns add "$ns1" && ip netns add "$ns2" &&
    ip link add "$va" type veth peer name "$vb" &&
    ip link set "$va" netns "$ns1" && ip link set "$vb" netns "$ns2" &&
    ip -n "$ns1" addr add "$addr1/24" dev "$va" &&
    ip -n "$ns1" addr add "$addr6/64" dev "$va" nodad &&
    ip -n "$ns2" addr add "$addr2/24" dev "$vb" &&
    ip -n "$ns1" link set lo up && ip -n "$ns2" link set lo up &&
    ip -n "$ns1" link set "$va" up && ip -n "$ns2" link set "$vb" up; } 2>"$tmp/ip.err"; then
    not_ok "network namespaces: $(cat "$tmp/ip.err")"
    exit 1
fi
ok "namespaces $ns1 ($va $addr1/24 $addr6/64) and $ns2 ($vb $addr2/24)"

# ---- helpers in python3
cat >"$tmp/sink.py" <<'EOF'
# UDP sink on ADDR:53: receives and discards, so the queries get no ICMP
# port unreachable (which would quote them back).
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
open(sys.argv[2], "w").close()
s.settimeout(1.0)
end = time.monotonic() + 60
while time.monotonic() < end:
    try:
        s.recv(65535)
    except socket.timeout:
        pass
EOF
cat >"$tmp/send.py" <<'EOF'
# send.py DST NPING NQ: NPING ICMP echo requests (waiting for each reply),
# then NQ DNS queries (A, "qN.example.com") over UDP to DST:53 from one
# socket.  Prints the number of echo replies received.
import os, socket, struct, sys, time
dst, nping, nq = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF

icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
icmp.settimeout(1.0)
ident = os.getpid() & 0xFFFF
replies = 0
for seq in range(nping):
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"pktvisord-live-test"
    pkt = hdr[:2] + struct.pack("!H", csum(hdr)) + hdr[4:]
    icmp.sendto(pkt, (dst, 0))
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        try:
            data, _ = icmp.recvfrom(2048)
        except socket.timeout:
            break
        ihl = (data[0] & 0x0F) * 4
        t, _, _, i, sq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
        if t == 0 and i == ident and sq == seq:
            replies += 1
            break
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in range(nq):
    qname = b"".join(bytes([len(l)]) + l for l in [b"q%d" % n, b"example", b"com"]) + b"\0"
    msg = struct.pack("!HHHHHH", n + 1, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", 1, 1)
    udp.sendto(msg, (dst, 53))
    time.sleep(0.002)
print(replies)
EOF
cat >"$tmp/get.py" <<'EOF'
# get.py FILE PATH...: print the value at each dotted PATH of the JSON in
# FILE ("missing" when absent, "invalid" when FILE is not JSON).
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    for p in sys.argv[2:]:
        print("invalid")
    sys.exit(0)
for p in sys.argv[2:]:
    v = d
    for k in p.split("/"):
        if isinstance(v, dict) and k in v:
            v = v[k]
        else:
            v = "missing"
            break
    print(json.dumps(v) if not isinstance(v, str) else v)
EOF

# start_agent TAG PORT IFACE: pktvisord in ns1 (sets sup); waits (10 s at
# most) until all its processes run.
start_agent() {
    tag=$1 port=$2 iface=$3
    ip netns exec "$ns1" "$PKTVISORD" -l 127.0.0.1 -p "$port" --ring-size 16M \
        --pid-file "$tmp/$tag.pid" "$iface" >"$tmp/$tag.out" 2>"$tmp/$tag.err" &
    sup=$!
    i=0
    while [ $i -lt 100 ]; do
        if grep -qs "all 6 processes running" "$tmp/$tag.err"; then
            if [ "$(cat "$tmp/$tag.pid" 2>/dev/null)" = "$sup" ]; then
                ok "$tag: agent started on $iface (pid $sup)"
            else
                not_ok "$tag: agent started on $iface, but its pid file holds '$(cat "$tmp/$tag.pid" 2>/dev/null)', not $sup"
            fi
            return 0
        fi
        kill -0 "$sup" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    not_ok "$tag: agent did not start on $iface"
    sed 's/^/#   /' "$tmp/$tag.err"
    stop_pid "$sup"
    sup=""
    return 1
}

# bucket TAG PORT: GET the default policy's merged window into $tmp/TAG.json
# (not bucket 0: a minute boundary during the test moves the counts to
# bucket 1, and the window holds everything since the start)
bucket() {
    in1 curl -s -m 5 -o "$tmp/$1.json" "http://127.0.0.1:$2/api/v1/policies/default/metrics/window/5"
}

P=default
NET="$P/$P-net/packets"
DNS="$P/$P-dns/dns"
PCAP="$P/$P-pcap_stats/pcap"

run_case() { # run_case TAG PORT IFACE
    tag=$1 port=$2 iface=$3
    start_agent "$tag" "$port" "$iface" || return
    if in2 python3 "$tmp/send.py" "$addr1" $NPING $NQ >"$tmp/$tag.send" 2>&1; then
        replies=$(cat "$tmp/$tag.send")
        ok "$tag: sent $NPING echo requests ($replies replies) and $NQ DNS queries"
    else
        not_ok "$tag: sender failed"
        sed 's/^/#   /' "$tmp/$tag.send"
        replies=0
    fi
    # The aggregators publish every 100 ms: allow 5 s for the last query.
    i=0
    while [ $i -lt 50 ]; do
        bucket "$tag" "$port"
        [ "$(python3 "$tmp/get.py" "$tmp/$tag.json" "$DNS/wire_packets/udp")" = $NQ ] && break
        sleep 0.1
        i=$((i + 1))
    done
    sleep 0.5 # anything counted late (there must be nothing) shows now
    bucket "$tag" "$port"
    # shellcheck disable=SC2046
    set -- $(python3 "$tmp/get.py" "$tmp/$tag.json" "$NET/total" "$NET/in" "$NET/udp" \
        "$DNS/wire_packets/total" "$DNS/wire_packets/udp" "$DNS/wire_packets/queries" \
        "$DNS/wire_packets/tcp" "$PCAP/os_drops" "$PCAP/if_drops")
    total=$1 pin=$2 pudp=$3 dtotal=$4 dudp=$5 dq=$6 dtcp=$7 osd=$8 ifd=$9
    min=$((NQ + NPING + replies))
    if [ "$total" != missing ] && [ "$total" != invalid ] && [ "$total" -ge $min ]; then
        ok "$tag: packets.total $total >= $min"
    else
        not_ok "$tag: packets.total $total, expected >= $min"
    fi
    if [ "$pudp" != missing ] && [ "$pudp" != invalid ] && [ "$pudp" -ge $NQ ]; then
        ok "$tag: packets.udp $pudp >= $NQ"
    else
        not_ok "$tag: packets.udp $pudp, expected >= $NQ"
    fi
    if [ "$pin" != missing ] && [ "$pin" != invalid ] && [ "$pin" -ge $((NQ + NPING)) ]; then
        ok "$tag: packets.in $pin >= $((NQ + NPING)) (queries and echo requests to $addr1)"
    else
        not_ok "$tag: packets.in $pin, expected >= $((NQ + NPING))"
    fi
    if [ "$dtotal" = $NQ ] && [ "$dudp" = $NQ ] && [ "$dq" = $NQ ] && [ "$dtcp" = 0 ]; then
        ok "$tag: dns.wire_packets total/udp/queries = $NQ, tcp 0"
    else
        not_ok "$tag: dns.wire_packets total $dtotal udp $dudp queries $dq tcp $dtcp, expected $NQ $NQ $NQ 0"
    fi
    case $osd in
    [0-9]*) ok "$tag: pcap.os_drops present ($osd)" ;;
    *) not_ok "$tag: pcap.os_drops $osd" ;;
    esac
    case $ifd in
    [0-9]*) ok "$tag: pcap.if_drops present ($ifd)" ;;
    *) not_ok "$tag: pcap.if_drops $ifd" ;;
    esac
    if grep -q "input default: interface $va" "$tmp/$tag.err"; then
        ok "$tag: capturing on $va"
    else
        not_ok "$tag: log does not say it captures on $va"
        sed 's/^/#   /' "$tmp/$tag.err"
    fi
    stop_pid "$sup"
    rc=$?
    sup=""
    if [ $rc -eq 0 ]; then
        ok "$tag: SIGTERM: exit 0"
    else
        not_ok "$tag: SIGTERM: exit $rc"
        sed 's/^/#   /' "$tmp/$tag.err"
    fi
}

# ---- the sink
# (not through in1: $! must be timeout's pid, not a subshell's)
timeout 60 ip netns exec "$ns1" python3 "$tmp/sink.py" "$addr1" "$tmp/sink.ready" \
    >/dev/null 2>"$tmp/sink.err" &
sink=$!
i=0
while [ ! -e "$tmp/sink.ready" ] && [ $i -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
done
if [ -e "$tmp/sink.ready" ]; then
    ok "UDP sink on $addr1:53"
else
    not_ok "UDP sink on $addr1:53: $(cat "$tmp/sink.err")"
fi

run_case name 11860 "$va"
run_case address 11861 "$addr1"
run_case ipv6-address 11862 "$addr6"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
