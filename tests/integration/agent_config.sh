#!/bin/sh
# pktvisord's configuration and start-up errors:
#  (a) SPEC 5's complete YAML example (its tap replaying a fixture instead
#      of capturing on eth0) loads and runs its three handler instances;
#  (b) each of SPEC 5's tap and policy error messages, produced by a file:
#      "configuration error: MSG" on stderr, exit 1;
#  (c) the same example in libconfig syntax loads and gives the same window;
#  (d) bad input (unknown interface, no capture permission, port in use,
#      unwritable log file, missing user, unfit chroot, malformed YAML,
#      hostile files):
#      a clear message and a non-zero exit within 10 s.
# After every failing start: no process left in its process group (timeout
# makes one) nor with its unique --pid-file marker in the command line, no
# pid file, and nothing new in /dev/shm.
# Runs as root only (the setpriv case and the children's privilege drop);
# needs python3, curl, setpriv and pgrep (exit 77 without them).  Ports 11870-11879.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
PKTVISORD="$top_builddir/pktvisord"
FIX="$top_srcdir/tests/fixtures"
case $PKTVISORD in /*) ;; *) PKTVISORD="$(pwd)/$PKTVISORD" ;; esac
case $FIX in /*) ;; *) FIX="$(pwd)/$FIX" ;; esac

if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP not root"
    exit 77
fi
for tool in python3 curl setpriv pgrep; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "1..0 # SKIP $tool not found"
        exit 77
    fi
done

PORT_RUN=11870  # agents that must run
PORT_FAIL=11871 # agents that must not start
PORT_BUSY=11872 # held by another socket
REPLAY="$FIX/dns_udp_tcp_random.pcap"
REPLAY_FRAMES=16147 # all TCP or UDP (tcpdump -r ... 'tcp or udp' | wc -l)

tmp=$(mktemp -d /tmp/pv-config.XXXXXX)
sup="" holder=""
pass=0 fail=0
ncase=0
wrap="" # command prefix for expect_fail (setpriv)

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
    stop_pid "$holder"
    sup="" holder=""
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

# expect_fail NAME STATUS WANT ARGS...: pktvisord ARGS (after a unique
# --pid-file marker) must exit with STATUS ("nz": any failure status, not a
# timeout nor a signal) within 10 s, with WANT on stderr, nothing on stdout,
# and leave no process, pid file or /dev/shm entry behind.
expect_fail() {
    name=$1 want_rc=$2 want=$3
    shift 3
    ncase=$((ncase + 1))
    marker="$tmp/marker-$ncase.pid"
    ls -A /dev/shm >"$tmp/shm.before" 2>/dev/null
    # shellcheck disable=SC2086
    timeout 10 $wrap "$PKTVISORD" --pid-file "$marker" "$@" >"$tmp/out" 2>"$tmp/err" &
    tpid=$!
    wait $tpid
    rc=$?
    why=""
    case $want_rc in
    nz) { [ $rc -ne 0 ] && { [ $rc -lt 124 ] || [ $rc -eq 255 ]; }; } || why="$why exit $rc" ;;
    *) [ $rc -eq "$want_rc" ] || why="$why exit $rc (expected $want_rc)" ;;
    esac
    grep -qF -- "$want" "$tmp/err" || why="$why, stderr lacks '$want'"
    [ -s "$tmp/out" ] && why="$why, $(wc -c <"$tmp/out") bytes on stdout"
    sleep 0.1
    left=$( (pgrep -g $tpid; pgrep -f "$marker") 2>/dev/null | sort -u | tr '\n' ' ')
    if [ -n "$left" ]; then
        why="$why, processes left: $left"
        # shellcheck disable=SC2086
        kill -KILL $left 2>/dev/null
    fi
    [ -e "$marker" ] && why="$why, pid file left"
    ls -A /dev/shm >"$tmp/shm.after" 2>/dev/null
    if ! cmp -s "$tmp/shm.before" "$tmp/shm.after"; then
        why="$why, /dev/shm changed: $(comm -13 "$tmp/shm.before" "$tmp/shm.after" | tr '\n' ' ')"
    fi
    if [ -z "$why" ]; then
        ok "$name: $(grep -F -- "$want" "$tmp/err" | head -n 1)"
    else
        not_ok "$name:$why"
        sed 's/^/#   /' "$tmp/err" | head -n 20
    fi
}

# expect_config_error NAME MSG FILE [IFACE]: --config FILE (and IFACE) must
# exit 1 with "configuration error: MSG".
expect_config_error() {
    name=$1 msg=$2 file=$3
    shift 3
    expect_fail "$name" 1 "configuration error: $msg" \
        -l 127.0.0.1 -p $PORT_FAIL --ring-size 16M --config "$file" "$@"
}

# start_agent TAG NPROCS ARGS...: pktvisord ARGS in the background (sets
# sup); waits (10 s at most) until its NPROCS processes run.
start_agent() {
    tag=$1 nprocs=$2
    shift 2
    "$PKTVISORD" -l 127.0.0.1 -p $PORT_RUN --ring-size 16M "$@" >"$tmp/$tag.out" 2>"$tmp/$tag.err" &
    sup=$!
    i=0
    while [ $i -lt 100 ]; do
        grep -q "all $nprocs processes running" "$tmp/$tag.err" && return 0
        kill -0 "$sup" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    not_ok "$tag: agent did not start"
    sed 's/^/#   /' "$tmp/$tag.err"
    stop_pid "$sup"
    sup=""
    return 1
}

stop_agent_ok() { # stop_agent_ok TAG: SIGTERM, exit 0
    stop_pid "$sup"
    rc=$?
    sup=""
    if [ $rc -eq 0 ]; then
        ok "$1: SIGTERM: exit 0"
    else
        not_ok "$1: SIGTERM: exit $rc"
        sed 's/^/#   /' "$tmp/$1.err"
    fi
}

cat >"$tmp/check.py" <<'EOF'
# check.py FILE POLICY FRAMES INSTANCE=KEY...: prints "ok" when FILE is the
# JSON of POLICY's window with exactly the INSTANCEs, each with its schema
# KEY, and the first (a net handler) counted FRAMES packets; else why not.
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("not JSON: %s" % e); sys.exit(0)
pol, frames = sys.argv[2], int(sys.argv[3])
want = dict(a.split("=") for a in sys.argv[4:])
got = d.get(pol, {}) if isinstance(d, dict) else {}
if sorted(got) != sorted(want):
    print("instances %s, expected %s" % (sorted(got), sorted(want))); sys.exit(0)
for inst, key in want.items():
    if not isinstance(got[inst], dict) or list(got[inst]) != [key]:
        print("%s has %s, expected [%s]" % (inst, list(got[inst]), key)); sys.exit(0)
first = sys.argv[4].split("=")[0]
total = got[first]["packets"].get("total")
if total != frames:
    print("%s packets.total %s, expected %d" % (first, total, frames)); sys.exit(0)
print("ok")
EOF

# wait_window TAG POLICY INSTANCE=KEY...: polls (10 s) the policy's
# window/2 until every instance's aggregator logged "finished" (the file
# is all counted, also by the slower dns instances) and check.py accepts
# it; the document is left in $tmp/TAG.json.
wait_window() {
    tag=$1 pol=$2
    shift 2
    i=0
    res=""
    while [ $i -lt 50 ]; do
        done_all=1
        for inst in "$@"; do
            grep -qF "aggregator ${inst%%=*}: finished" "$tmp/$tag.err" || done_all=0
        done
        if [ $done_all -eq 0 ]; then
            res="not every aggregator finished"
            sleep 0.2
            i=$((i + 1))
            continue
        fi
        curl -s -m 5 -o "$tmp/$tag.json" "http://127.0.0.1:$PORT_RUN/api/v1/policies/$pol/metrics/window/2"
        res=$(python3 "$tmp/check.py" "$tmp/$tag.json" "$pol" $REPLAY_FRAMES "$@")
        [ "$res" = ok ] && break
        sleep 0.2
        i=$((i + 1))
    done
    if [ "$res" = ok ]; then
        touch "$tmp/$tag.good"
        ok "$tag: window/2 of $pol has $*, all $REPLAY_FRAMES frames counted"
    else
        not_ok "$tag: window/2 of $pol: $res"
        head -c 300 "$tmp/$tag.json" | sed 's/^/#   /'
        echo
    fi
}

INSTANCES="default_view-default_net=packets default_view-default_dns=dns default_view-special_domain=dns"

# ---- (a) SPEC 5's complete example, the tap replaying a fixture
cat >"$tmp/example.yaml" <<EOF
version: "1.0"
visor:
  taps:
    anycast:
      input_type: pcap
      config:
        pcap_file: "$REPLAY"
  policies:
    default_view:
      kind: collection
      input:
        tap: anycast
        input_type: pcap
        config:
          sample: value
        filter:
          bpf: "tcp or udp"
      handlers:
        window_config:
          num_periods: 5
          deep_sample_rate: 100
        modules:
          default_net:
            type: net
          default_dns:
            type: dns
          special_domain:
            type: dns
            filter:
              only_qname_suffix:
                - ".google.com"
                - ".ns1.com"
                - "slack.com"
EOF
# 3 aggregators, httpd, capture
if start_agent yaml 5 --config "$tmp/example.yaml"; then
    ok "yaml: SPEC 5 example starts"
    # shellcheck disable=SC2086
    wait_window yaml default_view $INSTANCES
    stop_agent_ok yaml
fi

# ---- (a2) a file tap that ends at once (a capture with no packet): the
# agent keeps running and serving (man pktvisord, CAPTURE FILES), however
# fast the capture process finishes.  Ten starts, because the capture may
# finish before or after the supervisor checks its privileges.
head -c 24 "$FIX/dns_ipv4_udp.pcap" >"$tmp/empty.pcap"
cat >"$tmp/empty.yaml" <<EOF
version: "1.0"
visor:
  taps:
    t:
      input_type: pcap
      config:
        pcap_file: "$tmp/empty.pcap"
  policies:
    p:
      kind: collection
      input:
        tap: t
        input_type: pcap
      handlers:
        modules:
          net:
            type: net
EOF
good_runs=0
for run in 1 2 3 4 5 6 7 8 9 10; do
    "$PKTVISORD" -l 127.0.0.1 -p $PORT_RUN --ring-size 16M --config "$tmp/empty.yaml" \
        >"$tmp/empty.out" 2>"$tmp/empty.err" &
    sup=$!
    i=0
    body=""
    while [ $i -lt 50 ] && kill -0 "$sup" 2>/dev/null; do
        body=$(curl -s -m 5 "http://127.0.0.1:$PORT_RUN/api/v1/policies/p/metrics/bucket/0")
        case $body in *'"p-net"'*) break ;; esac
        sleep 0.1
        i=$((i + 1))
    done
    sleep 0.3
    if kill -0 "$sup" 2>/dev/null; then
        case $body in
        *'"total":0'*) good_runs=$((good_runs + 1)) ;;
        *) echo "# run $run: bucket 0: $body" ;;
        esac
        stop_pid "$sup"
    else
        wait "$sup"
        echo "# run $run: the agent exited (status $?):"
        grep -v 'starting up\|children run as\|input t:\|listening on\|capturing from' \
            "$tmp/empty.err" | sed 's/^/#   /'
    fi
    sup=""
done
if [ $good_runs -eq 10 ]; then
    ok "empty capture file: the agent keeps running and serving (10 starts)"
else
    not_ok "empty capture file: the agent kept running and serving in $good_runs of 10 starts"
fi

# ---- (c) the same in libconfig syntax, by extension and by content
cat >"$tmp/example.conf" <<EOF
// SPEC 5's complete example in libconfig syntax
version = "1.0";
visor = {
  taps = {
    anycast = {
      input_type = "pcap";
      config = { pcap_file = "$REPLAY"; };
    };
  };
  policies = {
    default_view = {
      kind = "collection";
      input = {
        tap = "anycast";
        input_type = "pcap";
        config = { sample = "value"; };
        filter = { bpf = "tcp or udp"; };
      };
      handlers = {
        window_config = { num_periods = 5; deep_sample_rate = 100; };
        modules = {
          default_net = { type = "net"; };
          default_dns = { type = "dns"; };
          special_domain = {
            type = "dns";
            filter = { only_qname_suffix = [ ".google.com", ".ns1.com", "slack.com" ]; };
          };
        };
      };
    };
  };
};
EOF
grep -v '^//' "$tmp/example.conf" >"$tmp/example-noext"
for f in example.conf example-noext; do
    if start_agent "$f" 5 --config "$tmp/$f"; then
        ok "$f: libconfig example starts"
        # shellcheck disable=SC2086
        wait_window "$f" default_view $INSTANCES
        # Same file, same handlers: the same window, byte for byte.
        if [ ! -e "$tmp/yaml.good" ] || [ ! -e "$tmp/$f.good" ]; then
            not_ok "$f: window/2 not compared with the YAML example's (a run failed)"
        elif cmp -s "$tmp/yaml.json" "$tmp/$f.json"; then
            ok "$f: window/2 identical to the YAML example's"
        else
            not_ok "$f: window/2 differs from the YAML example's"
        fi
        stop_agent_ok "$f"
    fi
done

# ---- (b) SPEC 5's error messages, one file each
tapcfg="  taps:
    t:
      input_type: pcap
      config:
        pcap_file: \"$FIX/dns_ipv4_udp.pcap\""
modules="      handlers:
        modules:
          m: { type: net }"
input="      input: { tap: t, input_type: pcap }"

cfg() { # cfg NAME: stdin to $tmp/NAME.yaml
    cat >"$tmp/$1.yaml"
}

cfg version <<EOF
version: "2.0"
visor:
$tapcfg
EOF
expect_config_error "unsupported version" "missing or unsupported version" "$tmp/version.yaml"

cfg schema <<EOF
version: "1.0"
taps: {}
EOF
expect_config_error "no visor key" "invalid schema" "$tmp/schema.yaml"

cfg tap_type <<EOF
version: "1.0"
visor:
  taps:
    t:
      config: { iface: lo }
EOF
expect_config_error "tap without input_type" "missing or invalid tap type key 'input_type'" "$tmp/tap_type.yaml"

cfg tap_unknown <<EOF
version: "1.0"
visor:
  taps:
    t:
      input_type: dnstap
EOF
expect_config_error "tap of an unknown type" \
    "Tap 't' requires input stream type 'dnstap' which is not available" "$tmp/tap_unknown.yaml"

cfg tap_nested <<EOF
version: "1.0"
visor:
  taps:
    t:
      input_type: pcap
      config:
        iface: { name: lo }
EOF
expect_config_error "tap config with a nested map" "invalid value for key: iface" "$tmp/tap_nested.yaml"

# A tap named default, with IFACE: the default tap is a duplicate.
cfg tap_dup <<EOF
version: "1.0"
visor:
  taps:
    default:
      input_type: pcap
      config:
        pcap_file: "$FIX/dns_ipv4_udp.pcap"
EOF
expect_config_error "tap named default with IFACE" "tap with name 'default' already defined" \
    "$tmp/tap_dup.yaml" lo

cfg pol_map <<EOF
version: "1.0"
visor:
$tapcfg
  policies:
    p: collection
EOF
expect_config_error "policy not a map" "expecting policy configuration map" "$tmp/pol_map.yaml"

# A policy named default, with IFACE: the default policy is a duplicate.
cfg pol_dup <<EOF
version: "1.0"
visor:
$tapcfg
  policies:
    default:
      kind: collection
$input
$modules
EOF
expect_config_error "policy named default with IFACE" "policy with name 'default' already defined" \
    "$tmp/pol_dup.yaml" lo

cfg kind_missing <<EOF
version: "1.0"
visor:
$tapcfg
  policies:
    p:
$input
$modules
EOF
expect_config_error "policy without kind" "missing or invalid policy kind at key 'kind'" \
    "$tmp/kind_missing.yaml"

cfg kind_unknown <<EOF
version: "1.0"
visor:
$tapcfg
  policies:
    p:
      kind: sampler
$input
$modules
EOF
expect_config_error "unknown policy kind" "unknown policy kind: sampler" "$tmp/kind_unknown.yaml"

cfg input_missing <<EOF
version: "1.0"
visor:
$tapcfg
  policies:
    p:
      kind: collection
$modules
EOF
expect_config_error "policy without input" \
    "missing or invalid policy input stream configuration at key 'input'" "$tmp/input_missing.yaml"

cfg input_tap <<EOF
version: "1.0"
visor:
$tapcfg
  policies:
    p:
      kind: collection
      input: { input_type: pcap }
$modules
EOF
expect_config_error "input without tap" "missing or invalid tap at key 'input.tap'" \
    "$tmp/input_tap.yaml"

cfg input_type <<EOF
version: "1.0"
visor:
$tapcfg
  policies:
    p:
      kind: collection
      input: { tap: t }
$modules
EOF
expect_config_error "input without input_type" \
    "missing or invalid input_type at key 'input.input_type'" "$tmp/input_type.yaml"

cfg tap_none <<EOF
version: "1.0"
visor:
$tapcfg
  policies:
    p:
      kind: collection
      input: { tap: nosuch, input_type: pcap }
$modules
EOF
expect_config_error "input tap that does not exist" "tap 'nosuch' does not exist" "$tmp/tap_none.yaml"

cfg filter_bpf <<EOF
version: "1.0"
visor:
$tapcfg
  policies:
    p:
      kind: collection
      input:
        tap: t
        input_type: pcap
        filter:
          bpf: { expr: "port 53" }
$modules
EOF
expect_config_error "input filter bpf not a scalar" \
    "invalid input filter for tap 't': invalid value for key: bpf" "$tmp/filter_bpf.yaml"

cfg type_mismatch <<EOF
version: "1.0"
visor:
  taps:
    mk:
      input_type: mock
  policies:
    p:
      kind: collection
      input: { tap: mk, input_type: pcap }
$modules
EOF
expect_config_error "input_type differs from the tap's" \
    "unable to instantiate tap 'mk': input_type for policy specified tap 'mk' doesn't match tap's defined input type: pcap/mock" \
    "$tmp/type_mismatch.yaml"

cfg handlers_missing <<EOF
version: "1.0"
visor:
$tapcfg
  policies:
    p:
      kind: collection
$input
EOF
expect_config_error "policy without handlers" \
    "missing or invalid handler configuration at key 'handlers'" "$tmp/handlers_missing.yaml"

cfg modules_missing <<EOF
version: "1.0"
visor:
$tapcfg
  policies:
    p:
      kind: collection
$input
      handlers:
        window_config: { num_periods: 2 }
EOF
expect_config_error "handlers without modules" \
    "missing or invalid handler modules at key 'modules'" "$tmp/modules_missing.yaml"

cfg module_type <<EOF
version: "1.0"
visor:
$tapcfg
  policies:
    p:
      kind: collection
$input
      handlers:
        modules:
          m: { config: { x: 1 } }
EOF
expect_config_error "module without type" "missing or invalid stream handler type at key 'type'" \
    "$tmp/module_type.yaml"

cfg module_unknown <<EOF
version: "1.0"
visor:
$tapcfg
  policies:
    p:
      kind: collection
$input
      handlers:
        modules:
          m: { type: bgp }
EOF
expect_config_error "module of an unknown type" \
    "Policy 'p' requires stream handler type 'bgp' which is not available" "$tmp/module_unknown.yaml"

# pktvisor starts each policy as it loads it; an input that cannot start
# fails the policy: "policy [P] failed to start: <reason>".
cfg start_fail <<EOF
version: "1.0"
visor:
  taps:
    t:
      input_type: pcap
      config: { iface: pvnosuch0 }
  policies:
    p:
      kind: collection
$input
$modules
EOF
expect_config_error "policy whose input cannot start" \
    "policy [p] failed to start: Couldn't find interface by provided name" "$tmp/start_fail.yaml"

# Policy a, module b-c and policy a-b, module c: both instances a-b-c.
cfg module_dup <<EOF
version: "1.0"
visor:
$tapcfg
  policies:
    a:
      kind: collection
$input
      handlers:
        modules:
          b-c: { type: net }
    a-b:
      kind: collection
$input
      handlers:
        modules:
          c: { type: dns }
EOF
expect_config_error "handler instance name taken" \
    "policy [a-b-c] creation failed (handler: a-b): module name 'a-b-c' already exists" \
    "$tmp/module_dup.yaml"

# ---- (d) bad input
good="$tmp/example.yaml"
expect_fail "unknown interface" 1 "Couldn't find interface by provided name: \"pvnosuch0\"" \
    -l 127.0.0.1 -p $PORT_FAIL --ring-size 16M pvnosuch0
expect_fail "unknown interface address" 1 "Couldn't find interface by provided IP: 192.0.2.77" \
    -l 127.0.0.1 -p $PORT_FAIL --ring-size 16M 192.0.2.77

# Capture without the right to: run as nobody (the binary copied where
# nobody can execute it).
mkdir "$tmp/bin"
cp "$PKTVISORD" "$tmp/bin/pktvisord"
chmod 711 "$tmp"
chmod 755 "$tmp/bin" "$tmp/bin/pktvisord"
saved=$PKTVISORD
PKTVISORD="$tmp/bin/pktvisord"
wrap="setpriv --reuid=nobody --regid=nogroup --clear-groups"
expect_fail "capture without permission" nz "lo: permission denied opening the capture device" \
    -l 127.0.0.1 -p $PORT_FAIL --ring-size 16M lo
wrap=""
PKTVISORD=$saved
chmod 700 "$tmp"

# Port in use: a listening socket holds it.
timeout 30 python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
open(sys.argv[2], "w").close()
time.sleep(30)' $PORT_BUSY "$tmp/holder.ready" 2>"$tmp/holder.err" &
holder=$!
i=0
while [ ! -e "$tmp/holder.ready" ] && [ $i -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
done
if [ -e "$tmp/holder.ready" ]; then
    expect_fail "port in use" 1 "unable to bind to 127.0.0.1:$PORT_BUSY" \
        -l 127.0.0.1 -p $PORT_BUSY --ring-size 16M --config "$good"
else
    not_ok "port in use: cannot bind $PORT_BUSY first: $(cat "$tmp/holder.err")"
fi
stop_pid "$holder"
holder=""

expect_fail "unwritable log file" 1 "Log init failed" \
    -l 127.0.0.1 -p $PORT_FAIL --ring-size 16M --log-file /proc/nonexistent/x --config "$good"
expect_fail "unwritable log file with -d" 1 "Log init failed" \
    -d -l 127.0.0.1 -p $PORT_FAIL --ring-size 16M --log-file /proc/nonexistent/x --config "$good"
expect_fail "missing user" 1 "unknown user \"pvnosuchuser\"" \
    -l 127.0.0.1 -p $PORT_FAIL --ring-size 16M --user pvnosuchuser --config "$good"
expect_fail "user root" 1 "refusing to drop privileges to root" \
    -l 127.0.0.1 -p $PORT_FAIL --ring-size 16M --user root --config "$good"
mkdir "$tmp/notempty" "$tmp/notroot"
touch "$tmp/notempty/x"
chown nobody "$tmp/notroot"
expect_fail "chroot not empty" 1 "chroot directory $tmp/notempty is not empty" \
    -l 127.0.0.1 -p $PORT_FAIL --ring-size 16M --chroot "$tmp/notempty" --config "$good"
expect_fail "chroot not owned by root" 1 "chroot directory $tmp/notroot is owned by uid" \
    -l 127.0.0.1 -p $PORT_FAIL --ring-size 16M --chroot "$tmp/notroot" --config "$good"
expect_config_error "missing configuration file" "$tmp/nosuch.yaml: No such file or directory" \
    "$tmp/nosuch.yaml"

printf 'version: "1.0"\nvisor:\n  taps: [\n    t: {\n' >"$tmp/malformed.yaml"
expect_config_error "malformed YAML" "YAML syntax error at line" "$tmp/malformed.yaml"
printf 'version = "1.0";\nvisor = { taps = { t = ; };\n' >"$tmp/malformed.conf"
expect_config_error "malformed libconfig" "libconfig syntax error at line" "$tmp/malformed.conf"
printf 'version: "1.0"\nvisor:\n  taps:\n    t:\n      input_type: pcap\n    t:\n      input_type: pcap\n' \
    >"$tmp/dupkey.yaml"
expect_config_error "duplicate YAML key" "duplicate key 't'" "$tmp/dupkey.yaml"
printf '\000' | cat "$tmp/example.yaml" - >"$tmp/nul.yaml"
expect_config_error "NUL byte" "configuration contains a NUL byte" "$tmp/nul.yaml"

# Hostile: deep nesting (flow and block style), 2 MB, many nodes, aliases.
python3 -c 'print("version: \"1.0\"\nvisor: " + "[" * 100000 + "]" * 100000)' >"$tmp/deep_flow.yaml"
expect_config_error "deeply nested sequences (100000)" "configuration nested deeper than 32 levels" \
    "$tmp/deep_flow.yaml"
python3 -c '
print("version: \"1.0\"\nvisor:")
for i in range(200):
    print("  " * (i + 1) + "k%d:" % i)' >"$tmp/deep_block.yaml"
expect_config_error "deeply nested maps (200)" "configuration nested deeper than 32 levels" \
    "$tmp/deep_block.yaml"
python3 -c '
print("version: \"1.0\"\nvisor:\n  taps:")
for i in range(40000):
    print("    t%d: { input_type: pcap, config: { iface: eth%d } }" % (i, i))' >"$tmp/big.yaml"
size=$(wc -c <"$tmp/big.yaml")
expect_config_error "2 MB file ($size bytes)" "$tmp/big.yaml: configuration larger than 1048576 bytes" \
    "$tmp/big.yaml"
python3 -c '
print("version: \"1.0\"\nvisor:\n  taps:\n    t:\n      input_type: pcap\n      config:\n        l:")
for i in range(20000):
    print("          - x")' >"$tmp/nodes.yaml"
expect_config_error "20000 nodes" "configuration has more than 10000 nodes" "$tmp/nodes.yaml"
cat >"$tmp/laughs.yaml" <<'EOF'
version: "1.0"
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
visor: [*d, *d, *d, *d, *d, *d, *d, *d, *d]
EOF
expect_config_error "YAML alias bomb" "YAML anchors are not supported" "$tmp/laughs.yaml"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
