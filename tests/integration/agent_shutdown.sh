#!/bin/bash
# A requested stop in the middle of traffic (man pktvisord, SIGNALS): a
# pcap_file tap paced with replay_pps is mid-replay when the supervisor gets
# SIGTERM (then, in a second run, SIGINT).  The agent exits 0 within 6 s and
# logs "exit with success", no child needed SIGKILL; afterwards none of its
# children is left (no zombie, no orphan reparented elsewhere, no process
# whose parent was the supervisor), nothing new in /dev/shm, and no process
# maps or holds one of its pktvisord-* memfds (found by this run's unique
# tap and policy names).  Just before the signal, bucket/0 answers with
# packets counted.  Not covered: a child that ignores SIGTERM (the 5 s
# SIGKILL path).  Root only (exit 77 otherwise).  Ports 12002-12003.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
AGENT="$top_builddir/pktvisord"
FILE="$top_srcdir/tests/fixtures/dns_udp_tcp_random.pcap" # 16147 frames
[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP not root"; exit 77; }
for t in curl timeout python3; do
    command -v $t >/dev/null || { echo "1..0 # SKIP needs $t"; exit 77; }
done
case $FILE in /*) ;; *) FILE="$(pwd)/$FILE" ;; esac
tmp=$(mktemp -d /tmp/pv-shut.XXXXXX)
pid= sup=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kids=$([ -n "$sup" ] && pgrep -P "$sup" 2>/dev/null)
        kill -TERM "$pid" 2>/dev/null
        sleep 1
        # shellcheck disable=SC2086
        kill -KILL "$pid" $sup $kids 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE
pass=0 fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
notok() { echo "not ok - $*"; fail=$((fail + 1)); }

# memfd_users MARK: "pid:where" of every process mapping or holding a
# memfd whose name contains MARK
memfd_users() {
    for d in /proc/[0-9]*; do
        grep -qs "memfd:pktvisord-.*$1" "$d/maps" && echo "${d#/proc/}:maps"
        for f in "$d"/fd/*; do
            case $(readlink "$f" 2>/dev/null) in
            *memfd:pktvisord-*"$1"*) echo "${d#/proc/}:fd"; break ;;
            esac
        done
    done
}

# run SIG PORT
run() {
    sig=$1 port=$2
    mark="sd$$$sig" # unique tap and policy names: memfd names carry them
    url="http://127.0.0.1:$port"
    cat >"$tmp/$sig.yaml" <<EOC
version: "1.0"
visor:
  taps:
    tap$mark:
      input_type: pcap
      config: { pcap_file: "$FILE", replay_pps: 1000 }
  policies:
    pol$mark:
      kind: collection
      input: { tap: tap$mark, input_type: pcap }
      handlers:
        modules: { net: { type: net }, dns: { type: dns } }
EOC
    ls -A /dev/shm | sort >"$tmp/$sig.shm0"
    # The agent runs in the foreground of a subshell so that $! is its pid
    # (no timeout(1) in between: the exit status is the agent's own).
    "$AGENT" --config "$tmp/$sig.yaml" --admin-api -l 127.0.0.1 -p "$port" --ring-size 16M \
        --pid-file "$tmp/$sig.pid" >"$tmp/$sig.out" 2>"$tmp/$sig.log" &
    pid=$! sup=$pid
    i=0
    until grep -qs "all 4 processes running" "$tmp/$sig.log" || [ $i -ge 100 ]; do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    if ! grep -qs "all 4 processes running" "$tmp/$sig.log"; then
        notok "$sig: agent did not start"
        sed 's/^/#   /' "$tmp/$sig.log"
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        pid= sup=
        return
    fi
    sleep 2 # mid-replay: 16147 frames at 1000/s
    kids=$(pgrep -P "$sup" | tr '\n' ' ')
    before=$(memfd_users "$mark" | wc -l)
    [ "$before" -gt 0 ] && ok "$sig: $before maps/fds of this run's pktvisord-*$mark* memfds while running" ||
        notok "$sig: no memfd of this run found while running (marker broken?)"
    curl -s -m 5 -o "$tmp/$sig.b0" "$url/api/v1/policies/pol$mark/metrics/bucket/0"
    total=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d[sys.argv[2]][sys.argv[2] + "-net"]["packets"]["total"])' "$tmp/$sig.b0" "pol$mark" 2>/dev/null)
    cap=$(for k in $kids; do grep -qs "capture" "/proc/$k/cmdline" && echo "$k"; done)
    if [ -n "$total" ] && [ "$total" -gt 0 ] && [ "$total" -lt 16147 ] && [ -n "$cap" ]; then
        ok "$sig: mid-replay before the signal: bucket/0 net packets.total $total of 16147, capture (pid $cap) running"
    else
        notok "$sig: before the signal: packets.total '$total', capture '$cap'"
    fi
    sup2=$sup # kept past the reaping, for the PPid scan
    t0=$(date +%s%N)
    kill -"$sig" "$sup"
    i=0
    while kill -0 "$sup" 2>/dev/null && [ $i -lt 60 ]; do
        # a zombie supervisor (exited, not reaped) counts as exited
        [ "$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$sup/status" 2>/dev/null)" = Z ] && break
        sleep 0.1
        i=$((i + 1))
    done
    if [ "$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$sup/status" 2>/dev/null)" = Z ] ||
        ! kill -0 "$sup" 2>/dev/null; then
        wait "$pid"
        rc=$?
        ms=$((($(date +%s%N) - t0) / 1000000))
        pid= sup=
        if [ $rc -eq 0 ]; then
            ok "$sig: agent exited 0 in $ms ms"
        else
            notok "$sig: agent exited $rc (in $ms ms)"
        fi
    else
        notok "$sig: agent still running 6 s after SIG$sig"
        # shellcheck disable=SC2086
        kill -KILL "$pid" $kids 2>/dev/null
        wait "$pid" 2>/dev/null
        pid= sup=
    fi
    if grep -q "exit with success" "$tmp/$sig.log"; then
        ok "$sig: \"exit with success\" logged"
    else
        notok "$sig: no \"exit with success\" in the log"
    fi
    if grep -q "did not stop" "$tmp/$sig.log"; then
        notok "$sig: a child needed SIGKILL: $(grep "did not stop" "$tmp/$sig.log" | tr '\n' ' ')"
    else
        ok "$sig: every child stopped on SIGTERM (no SIGKILL)"
    fi
    echo "#   log after the signal:"
    sed -n '/all 4 processes running/,$p' "$tmp/$sig.log" | sed '1d; s/^/#     /'
    sleep 0.2
    left=""
    for k in $kids; do
        [ -d "/proc/$k" ] && left="$left $k($(sed -n 's/^State:[[:space:]]*//p; s/^PPid:[[:space:]]*/ppid /p' "/proc/$k/status" | tr '\n' ' '))"
    done
    # anything whose parent is (was) the supervisor
    for d in /proc/[0-9]*; do
        pp=$(sed -n 's/^PPid:[[:space:]]*//p' "$d/status" 2>/dev/null)
        [ -n "$sup2" ] && [ "$pp" = "$sup2" ] && left="$left ${d#/proc/}(child)"
    done 2>/dev/null
    if [ -z "$left" ]; then
        ok "$sig: none of the children ($kids) left: no zombie, no orphan"
    else
        notok "$sig: processes left:$left"
    fi
    ls -A /dev/shm | sort >"$tmp/$sig.shm1"
    new=$(comm -13 "$tmp/$sig.shm0" "$tmp/$sig.shm1" | tr '\n' ' ')
    if [ -z "$new" ]; then
        ok "$sig: nothing new in /dev/shm"
    elif echo "$new" | grep -qi pktvisor; then
        notok "$sig: new in /dev/shm: $new"
    else
        ok "$sig: nothing new in /dev/shm from pktvisord (others' entries: $new)"
    fi
    after=$(memfd_users "$mark" | tr '\n' ' ')
    if [ -z "$after" ]; then
        ok "$sig: no process maps or holds a pktvisord-*$mark* memfd"
    else
        notok "$sig: pktvisord memfds still in use: $after"
    fi
}

sup2=
run TERM 12002
run INT 12003
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
