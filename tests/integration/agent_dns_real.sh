#!/bin/bash
# pktvisord against a real DNS server and a real load generator: two network
# namespaces joined by a veth pair; unbound serves local zones in the server
# namespace (NOERROR for names in ok.test, NXDOMAIN for other names of the
# static zones, REFUSED for refused.test; no recursion, no network), dnsperf
# queries it from the client namespace (A and AAAA, one UDP run, one TCP
# run), and pktvisord captures on the server's veth with -H set to the
# server's address.  After each run the agent's default policy window is
# compared with dnsperf's report and unbound's statistics.  Then the UDP run
# again while a loop kills a random aggregator every 2 s (SIGKILL, SIGSEGV
# or SIGABRT) and the HTTP worker once: the counts must still agree,
# agent.restarts must count the kills, no OS drop, no ring overrun.
#
# Tolerance.  The capture sees every packet that crosses the veth, and the
# agent claims exactly-once counting across aggregator crashes, so the
# agent's counts must equal what unbound counted EXACTLY: wire_packets.queries
# = unbound's num.queries = dnsperf's "Queries sent", per-rcode replies =
# unbound's num.answer.rcode.*, replies = sum of those, xact.counts.total =
# xact.in.total = replies (every reply matches a query; the host is the
# server).  The only slack is on dnsperf's side: a reply that arrives after
# dnsperf's timeout (-t) is counted "lost" by dnsperf but is still a reply
# on the wire, so  completed <= replies <= completed + lost,  and a query
# unbound dropped unread (socket buffer full) is on the wire but not in
# num.queries, so  queries - lost <= num.queries <= queries.  With lost = 0
# (the normal case at 2000 q/s on a veth) everything is exact.  DNS over
# TCP messages in flight when an aggregator dies are lost by design (TCP
# reassembly buffers do not survive a restart), so the chaos run uses UDP.
#
# With WORKERS=N (agent_workers.sh) the agent reads the veth with a tap of
# `workers: N`: N capture processes in a PACKET_FANOUT group, each with its
# aggregators, merged by the HTTP worker; dnsperf then uses 8 sockets (8
# flows for the kernel's hash to spread) and every count must still be
# exact, and each capture must have received packets.
#
# Needs root, `ip netns`, unbound, unbound-control, dnsperf, python3, curl,
# pgrep, timeout (exit 77 without them).  Ports 11990-11999 (agent HTTP,
# inside the server namespace).  Runs in about 40 s.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
PKTVISORD="$top_builddir/pktvisord"
case $PKTVISORD in /*) ;; *) PKTVISORD="$(pwd)/$PKTVISORD" ;; esac

if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP not root"
    exit 77
fi
PATH=$PATH:/usr/sbin:/sbin
for tool in ip unbound unbound-control dnsperf python3 curl pgrep timeout; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "1..0 # SKIP $tool not found"
        exit 77
    fi
done
probe="pvdprobe$$"
if ! ip netns add "$probe" 2>/dev/null; then
    echo "1..0 # SKIP ip netns unavailable"
    exit 77
fi
ip netns del "$probe"
if [ ! -x "$PKTVISORD" ]; then
    echo "not ok - $PKTVISORD not built"
    exit 1
fi

T0=$(date +%s)
RATE=2000 # dnsperf queries per second
SECS=5    # dnsperf run length
PORT=${PORT:-$((11990 + $$ % 10))}
WORKERS=${WORKERS:-1}
CLIENTS=1 # dnsperf sockets
[ "$WORKERS" -gt 1 ] && CLIENTS=8
NPROC=$((4 * WORKERS + WORKERS + 1)) # aggregators, captures, HTTP worker
nss="pvds-$$" nsc="pvdc-$$"
va="pvdsa$$" vb="pvdcb$$"
net="10.198.$(($$ % 250))"
srv="$net.1" cli="$net.2"
tmp=$(mktemp -d /tmp/pv-dnsreal.XXXXXX)
chmod 755 "$tmp"
sup="" ub="" chaos=""
pass=0 fail=0

ok() { pass=$((pass + 1)); echo "ok - $1"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $1"; }
check() { # check COND-EXIT-STATUS MESSAGE
    if [ "$1" -eq 0 ]; then ok "$2"; else not_ok "$2"; fi
}

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
    [ -n "$chaos" ] && { kill "$chaos" 2>/dev/null; wait "$chaos" 2>/dev/null; }
    stop_pid "$sup"
    stop_pid "$ub"
    chaos="" sup="" ub=""
    ip netns del "$nss" 2>/dev/null
    ip netns del "$nsc" 2>/dev/null
    ip link del "$va" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

ins() { timeout 20 ip netns exec "$nss" "$@"; }
inc() { timeout 30 ip netns exec "$nsc" "$@"; }

finish() {
    echo "# elapsed $(($(date +%s) - T0)) s"
    echo "$pass passed, $fail failed"
    [ $fail -eq 0 ]
    exit
}

# ---- the namespaces (no IPv6 on the link: no router solicitations)
if ! { ip netns add "$nss" && ip netns add "$nsc" &&
    ip link add "$va" type veth peer name "$vb" &&
    ip link set "$va" netns "$nss" && ip link set "$vb" netns "$nsc" &&
    ip netns exec "$nss" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 &&
    ip netns exec "$nsc" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 &&
    ip -n "$nss" addr add "$srv/24" dev "$va" &&
    ip -n "$nsc" addr add "$cli/24" dev "$vb" &&
    ip -n "$nss" link set lo up && ip -n "$nsc" link set lo up &&
    ip -n "$nss" link set "$va" up && ip -n "$nsc" link set "$vb" up; } 2>"$tmp/ip.err"; then
    not_ok "network namespaces: $(cat "$tmp/ip.err")"
    finish
fi
ok "namespaces $nss ($va $srv/24) and $nsc ($vb $cli/24)"

# ---- unbound
cat >"$tmp/unbound.conf" <<EOF
server:
    interface: $srv
    port: 53
    do-ip4: yes
    do-ip6: no
    do-udp: yes
    do-tcp: yes
    num-threads: 1
    so-rcvbuf: 4m
    incoming-num-tcp: 64
    access-control: 0.0.0.0/0 refuse
    access-control: $net.0/24 allow
    username: ""
    chroot: ""
    directory: "$tmp"
    pidfile: "$tmp/unbound.pid"
    logfile: "$tmp/unbound.log"
    use-syslog: no
    verbosity: 1
    do-daemonize: no
    module-config: "iterator"
    extended-statistics: yes
    statistics-cumulative: yes
    statistics-interval: 0
    # nothing recursive: every name the test asks is in a local zone, and
    # anything else is refused without leaving the host
    local-zone: "." refuse
    local-zone: "ok.test." static
    local-data: "www.ok.test. 300 IN A 192.0.2.1"
    local-data: "www.ok.test. 300 IN AAAA 2001:db8::1"
    local-data: "mail.ok.test. 300 IN A 192.0.2.2"
    local-data: "mail.ok.test. 300 IN AAAA 2001:db8::2"
    local-zone: "nx.test." static
    local-zone: "refused.test." refuse
remote-control:
    control-enable: yes
    control-interface: "$tmp/unbound.ctl"
    control-use-cert: no
EOF
cat >"$tmp/queries" <<'EOF'
www.ok.test A
www.ok.test AAAA
mail.ok.test A
mail.ok.test AAAA
nope.ok.test A
foo.nx.test A
bar.nx.test AAAA
x.refused.test A
y.refused.test AAAA
EOF
# (nope.ok.test: a name of the static zone with no data: NXDOMAIN)

timeout 300 ip netns exec "$nss" unbound -d -c "$tmp/unbound.conf" >"$tmp/unbound.out" 2>&1 &
ub=$!
ubc() { ins unbound-control -c "$tmp/unbound.conf" "$@"; }
i=0
while [ $i -lt 50 ] && ! ubc status >/dev/null 2>&1; do
    kill -0 "$ub" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
done
if ubc status >/dev/null 2>&1; then
    ok "unbound on $srv:53 (udp, tcp), remote control on $tmp/unbound.ctl"
else
    not_ok "unbound did not start"
    sed 's/^/#   /' "$tmp/unbound.out" "$tmp/unbound.log" 2>/dev/null | tail -20
    finish
fi

# ---- pktvisord in the server namespace, on the server's veth
if [ "$WORKERS" -gt 1 ]; then
    cat >"$tmp/agent.yaml" <<EOF
version: "1.0"
visor:
  taps:
    t: { input_type: pcap, config: { iface: "$va", host_spec: "$srv/32", workers: $WORKERS } }
  policies:
    default:
      kind: collection
      input: { tap: t, input_type: pcap }
      handlers:
        modules: { net: {type: net}, dns: {type: dns}, dhcp: {type: dhcp}, pcap_stats: {type: pcap} }
EOF
    set -- --config "$tmp/agent.yaml" -v
else
    set -- -H "$srv/32" "$va"
fi
ip netns exec "$nss" "$PKTVISORD" -l 127.0.0.1 -p "$PORT" --ring-size 16M \
    --pid-file "$tmp/agent.pid" "$@" >"$tmp/agent.out" 2>"$tmp/agent.err" &
sup=$!
i=0
while [ $i -lt 100 ] && ! grep -qs "all $NPROC processes running" "$tmp/agent.err"; do
    kill -0 "$sup" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
done
if grep -qs "all $NPROC processes running" "$tmp/agent.err"; then
    ok "pktvisord on $va, -H $srv/32, $WORKERS worker(s), HTTP 127.0.0.1:$PORT in $nss (pid $sup)"
else
    not_ok "pktvisord did not start"
    sed 's/^/#   /' "$tmp/agent.err" | tail -20
    finish
fi

# ---- helpers
cat >"$tmp/snap.py" <<'EOF'
# snap.py FILE: key=value lines from the default policy's window (JSON in
# FILE); "bad" when FILE is not the JSON expected.
import json, sys
try:
    d = json.load(open(sys.argv[1]))["default"]
    dns = d["default-dns"]["dns"]
except Exception:
    print("bad=1")
    sys.exit(0)
def g(o, p):
    for k in p.split("."):
        o = o[k]
    return o
for key, path in (("q", "wire_packets.queries"), ("r", "wire_packets.replies"),
                  ("total", "wire_packets.total"), ("udp", "wire_packets.udp"),
                  ("tcp", "wire_packets.tcp"), ("noerror", "wire_packets.noerror"),
                  ("nxdomain", "wire_packets.nxdomain"), ("refused", "wire_packets.refused"),
                  ("srvfail", "wire_packets.srvfail"), ("malformed", "wire_packets.malformed"),
                  ("xt", "xact.counts.total"), ("xin", "xact.in.total"),
                  ("xout", "xact.out.total"), ("xto", "xact.counts.timed_out"),
                  ("xdrop", "xact.counts.dropped"), ("tcplost", "tcp.messages_lost"),
                  ("tcpframe", "tcp.framing_errors")):
    try:
        print("%s=%d" % (key, g(dns, path)))
    except Exception:
        print("%s=missing" % key)
pc = d.get("default-pcap_stats", {}).get("pcap", {})
print("os_drops=%s" % pc.get("os_drops", "missing"))
print("if_drops=%s" % pc.get("if_drops", "missing"))
over = poison = 0
for inst, key in (("default-net", "packets"), ("default-dns", "dns"),
                  ("default-dhcp", "dhcp"), ("default-pcap_stats", "pcap")):
    a = d.get(inst, {}).get(key, {}).get("agent", {})
    print("restarts_%s=%s" % (inst[8:], a.get("restarts", "missing")))
    over += a.get("ring_overruns", 0)
    poison += a.get("poison_packets", 0)
print("overruns=%d" % over)
print("poison=%d" % poison)
EOF

# snap NAME: the window into $tmp/NAME.json, its values into A_NAME_key
# variables (retrying while the HTTP worker restarts)
snap() {
    i=0
    while [ $i -lt 30 ]; do
        if ins curl -s -m 3 -o "$tmp/$1.json" \
            "http://127.0.0.1:$PORT/api/v1/policies/default/metrics/window/5" &&
            ! python3 "$tmp/snap.py" "$tmp/$1.json" | grep -q '^bad='; then
            break
        fi
        sleep 0.2
        i=$((i + 1))
    done
    python3 "$tmp/snap.py" "$tmp/$1.json" | sed "s/^/A_$1_/" >"$tmp/$1.vars"
    # shellcheck disable=SC1090
    . "$tmp/$1.vars"
}
# settle NAME: snapshots until dns wire_packets.total is unchanged for 1 s
# (the aggregators publish every 100 ms; 15 s at most)
settle() {
    last=-1 same=0 i=0
    while [ $i -lt 50 ]; do
        snap "$1"
        cur=$(eval echo "\${A_$1_total:-x}")
        if [ "$cur" = "$last" ]; then
            same=$((same + 1))
            [ $same -ge 4 ] && return 0
        else
            same=0
        fi
        last=$cur
        sleep 0.3
        i=$((i + 1))
    done
    return 1
}
# ustats NAME: unbound's stats_noreset into U_NAME_key variables
ustats() {
    ubc stats_noreset >"$tmp/u$1.txt" 2>&1
    : >"$tmp/u$1.vars"
    for k in total.num.queries num.answer.rcode.NOERROR num.answer.rcode.NXDOMAIN \
        num.answer.rcode.REFUSED num.answer.rcode.SERVFAIL num.query.tcp num.query.udpout; do
        v=$(grep "^$k=" "$tmp/u$1.txt" | head -n 1 | cut -d= -f2)
        echo "U_$1_$(echo "$k" | tr '.' '_')=${v:-0}" >>"$tmp/u$1.vars"
    done
    # shellcheck disable=SC1090
    . "$tmp/u$1.vars"
}
# d KEY BEFORE AFTER: the agent's delta of KEY between two snapshots
d() { echo $(($(eval echo "\$A_$3_$1") - $(eval echo "\$A_$2_$1"))); }
u() { echo $(($(eval echo "\$U_$3_$1") - $(eval echo "\$U_$2_$1"))); }

# perf TAG MODE: a dnsperf run from the client namespace; sets sent,
# completed, lost
perf() {
    t=$(date +%s.%N)
    inc dnsperf -s "$srv" -p 53 -m "$2" -d "$tmp/queries" -Q $RATE -l $SECS -t 2 -c $CLIENTS -q 100 \
        >"$tmp/$1.perf" 2>&1
    rc=$?
    el=$(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    sent=$(awk '/Queries sent:/ { print $3 }' "$tmp/$1.perf")
    completed=$(awk '/Queries completed:/ { print $3 }' "$tmp/$1.perf")
    lost=$(awk '/Queries lost:/ { print $3 }' "$tmp/$1.perf")
    if [ $rc -eq 0 ] && [ -n "$sent" ] && [ -n "$completed" ] && [ -n "$lost" ] && [ "$sent" -gt 0 ]; then
        ok "$1: dnsperf -m $2 -Q $RATE -l $SECS: sent $sent, completed $completed, lost $lost (${el} s)"
        return 0
    fi
    not_ok "$1: dnsperf -m $2 failed (exit $rc)"
    sed 's/^/#   /' "$tmp/$1.perf" | tail -20
    sent=0 completed=0 lost=0
    return 1
}

# compare TAG BEFORE AFTER MODE: the agent's deltas against dnsperf (sent,
# completed, lost) and unbound's deltas (see the tolerance at the top)
compare() {
    tag=$1 b=$2 a=$3 mode=$4
    q=$(d q "$b" "$a") r=$(d r "$b" "$a") tot=$(d total "$b" "$a")
    dudp=$(d udp "$b" "$a") dtcp=$(d tcp "$b" "$a")
    ne=$(d noerror "$b" "$a") nx=$(d nxdomain "$b" "$a") rf=$(d refused "$b" "$a")
    sf=$(d srvfail "$b" "$a")
    xt=$(d xt "$b" "$a") xin=$(d xin "$b" "$a") xout=$(d xout "$b" "$a")
    uq=$(u total_num_queries "$b" "$a") une=$(u num_answer_rcode_NOERROR "$b" "$a")
    unx=$(u num_answer_rcode_NXDOMAIN "$b" "$a") urf=$(u num_answer_rcode_REFUSED "$b" "$a")
    usf=$(u num_answer_rcode_SERVFAIL "$b" "$a") utcp=$(u num_query_tcp "$b" "$a")
    uout=$(u num_query_udpout "$b" "$a")
    uans=$((une + unx + urf + usf))
    echo "# $tag: agent queries $q replies $r total $tot udp $dudp tcp $dtcp noerror $ne nxdomain $nx refused $rf srvfail $sf xact $xt in $xin out $xout"
    echo "# $tag: unbound queries $uq noerror $une nxdomain $unx refused $urf servfail $usf tcp $utcp udpout $uout"
    # Whatever the capture lost explains missing counts: say it first.
    osd=$(d os_drops "$b" "$a") ifd=$(d if_drops "$b" "$a") ovr=$(d overruns "$b" "$a")
    [ "$osd" -eq 0 ] && [ "$ifd" -eq 0 ] && [ "$ovr" -eq 0 ]
    check $? "$tag: no packet lost by the capture (os_drops $osd, if_drops $ifd, ring_overruns $ovr)"

    [ "$q" -eq "$sent" ]
    check $? "$tag: dns.wire_packets.queries $q = dnsperf queries sent $sent"
    [ "$uq" -le "$q" ] && [ "$uq" -ge $((q - lost)) ]
    check $? "$tag: unbound num.queries $uq within [queries - lost, queries] = [$((q - lost)), $q]"
    [ "$r" -eq "$uans" ]
    check $? "$tag: dns.wire_packets.replies $r = unbound's answers $uans"
    [ "$r" -ge "$completed" ] && [ "$r" -le $((completed + lost)) ]
    check $? "$tag: replies $r within [completed, completed + lost] = [$completed, $((completed + lost))]"
    [ "$ne" -eq "$une" ] && [ "$nx" -eq "$unx" ] && [ "$rf" -eq "$urf" ] && [ "$sf" -eq "$usf" ]
    check $? "$tag: noerror/nxdomain/refused/srvfail $ne/$nx/$rf/$sf = unbound's $une/$unx/$urf/$usf"
    [ "$une" -gt 0 ] && [ "$unx" -gt 0 ] && [ "$urf" -gt 0 ] && [ "$uout" -eq 0 ]
    check $? "$tag: unbound answered all three kinds locally (no outgoing query: $uout)"
    [ "$tot" -eq $((q + r)) ]
    check $? "$tag: dns.wire_packets.total $tot = queries + replies $((q + r))"
    if [ "$mode" = tcp ]; then
        [ "$dtcp" -eq "$tot" ] && [ "$dudp" -eq 0 ] && [ "$utcp" -eq "$uq" ]
        check $? "$tag: all over TCP: tcp $dtcp udp $dudp, unbound num.query.tcp $utcp = num.queries $uq"
    else
        [ "$dudp" -eq "$tot" ] && [ "$dtcp" -eq 0 ] && [ "$utcp" -eq 0 ]
        check $? "$tag: all over UDP: udp $dudp tcp $dtcp, unbound num.query.tcp $utcp"
    fi
    if [ "$mode" = tcp ]; then
        # SPEC 4.3 (aggregator/handler_dns.c on_tcp_message): over TCP the
        # connection initiator's data is "from host" whatever -H says, so
        # the transactions of a server host land in xact.out, not xact.in
        # (pktvisor's behaviour).  Check the sum, and report the split.
        [ "$xt" -eq "$r" ] && [ $((xin + xout)) -eq "$r" ]
        check $? "$tag: xact.counts.total $xt = xact.in.total $xin + xact.out.total $xout = replies $r"
        echo "# $tag: TCP transactions with -H = the server: in $xin, out $xout (SPEC 4.3: initiator is 'from host')"
    else
        [ "$xt" -eq "$r" ] && [ "$xin" -eq "$r" ] && [ "$xout" -eq 0 ]
        check $? "$tag: xact.counts.total $xt = xact.in.total $xin = replies $r, xact.out.total $xout"
    fi
    for k in malformed xdrop tcplost tcpframe; do
        v=$(d $k "$b" "$a")
        [ "$v" -eq 0 ] || { not_ok "$tag: $k grew by $v"; return; }
    done
    ok "$tag: no malformed packet, dropped transaction, lost TCP message or framing error"
}

snap s0
ustats s0
if [ "${A_s0_q:-missing}" = missing ]; then
    not_ok "agent window: $(head -c 300 "$tmp/s0.json")"
    finish
fi
ok "agent window readable (dns queries $A_s0_q before the runs)"

# ---- UDP
perf udp udp
settle s1 || not_ok "udp: the agent's counts did not settle in 15 s"
ustats s1
compare udp s0 s1 udp

# ---- TCP
perf tcp tcp
settle s2 || not_ok "tcp: the agent's counts did not settle in 15 s"
ustats s2
compare tcp s1 s2 tcp

# ---- UDP under chaos
cat >"$tmp/chaos.sh" <<'EOF'
# chaos.sh SUP LOG SECS: every 2 s (at 0.5, 2.5, 4.5 ... < SECS) SIGKILL,
# SIGSEGV or SIGABRT a random aggregator of SUP, and SIGKILL the HTTP
# worker once (at 1.5 s); one line per kill in LOG
sup=$1 log=$2 secs=$3
sigs="KILL SEGV ABRT"
t=0
sleep 0.5
while [ $((t * 2 + 1)) -lt $((secs * 2)) ]; do
    set -- $(pgrep -P "$sup" -f 'pktvisord: aggregator')
    if [ $# -gt 0 ]; then
        n=$((RANDOM % $# + 1))
        eval p=\${$n}
        s=$(echo $sigs | cut -d' ' -f$((RANDOM % 3 + 1)))
        name=$(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null | awk '{ print $3 }')
        kill -$s "$p" 2>/dev/null && echo "aggregator $p $name $s" >>"$log"
    fi
    if [ $t -eq 0 ]; then
        sleep 1
        h=$(pgrep -P "$sup" -f 'pktvisord: httpd' | head -n 1)
        [ -n "$h" ] && kill -KILL "$h" 2>/dev/null && echo "httpd $h KILL" >>"$log"
        sleep 1
    else
        sleep 2
    fi
    t=$((t + 2))
done
EOF
: >"$tmp/chaos.log"
timeout 30 bash "$tmp/chaos.sh" "$sup" "$tmp/chaos.log" $SECS &
chaos=$!
perf chaos udp
wait "$chaos" 2>/dev/null
chaos=""
sed 's/^/# chaos: /' "$tmp/chaos.log"
nagg=$(grep -c '^aggregator' "$tmp/chaos.log")
nhttpd=$(grep -c '^httpd' "$tmp/chaos.log")
[ "$nagg" -ge 2 ] && [ "$nhttpd" -eq 1 ]
check $? "chaos: $nagg aggregator kills, $nhttpd HTTP worker kill"
# all 4 aggregators and the HTTP worker back (restart delay 100 ms .. 1.6 s)
i=0
while [ $i -lt 100 ]; do
    na=$(pgrep -P "$sup" -f 'pktvisord: aggregator' | wc -l)
    nh=$(pgrep -P "$sup" -f 'pktvisord: httpd' | wc -l)
    [ "$na" -eq $((4 * WORKERS)) ] && [ "$nh" -eq 1 ] && break
    sleep 0.1
    i=$((i + 1))
done
[ "$na" -eq $((4 * WORKERS)) ] && [ "$nh" -eq 1 ]
check $? "chaos: $((4 * WORKERS)) aggregators and 1 HTTP worker running again"
settle s3 || not_ok "chaos: the agent's counts did not settle in 15 s"
ustats s3
compare chaos s2 s3 udp
for inst in net dns dhcp pcap_stats; do
    want=$(grep -c "^aggregator [0-9]* default-$inst " "$tmp/chaos.log")
    got=$(eval echo "\$A_s3_restarts_$inst")
    [ "$got" = "$want" ]
    check $? "chaos: default-$inst agent.restarts $got = kills $want"
done
# shellcheck disable=SC2154 # set by snap (sourced)
[ "$A_s3_os_drops" = 0 ] && [ "$A_s3_overruns" = 0 ] && [ "$A_s3_poison" = 0 ]
check $? "chaos: pcap.os_drops $A_s3_os_drops, agent.ring_overruns $A_s3_overruns, agent.poison_packets $A_s3_poison"
if kill -0 "$sup" 2>/dev/null; then
    ok "supervisor still running"
else
    not_ok "supervisor died"
    sed 's/^/#   /' "$tmp/agent.err" | tail -20
fi

stop_pid "$sup"
rc=$?
sup=""
check $rc "pktvisord SIGTERM: exit $rc"
if [ "$WORKERS" -gt 1 ]; then
    # -v: each capture logs how many packets it read when it stops.
    w=0
    while [ $w -lt "$WORKERS" ]; do
        n=$(sed -n "s/^capture t-w$w: stopped after \([0-9]*\) packets.*/\1/p" "$tmp/agent.err" | tail -n 1)
        [ "${n:-0}" -gt 0 ]
        check $? "worker $w's capture read ${n:-no} packets"
        w=$((w + 1))
    done
fi
if [ $fail -gt 0 ]; then
    echo "# agent log (tail):"
    sed 's/^/#   /' "$tmp/agent.err" | tail -30
fi
finish
