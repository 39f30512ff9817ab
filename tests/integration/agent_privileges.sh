#!/bin/sh
# pktvisord's privilege separation, seen from outside: every child of the
# supervisor (capture, aggregators, httpd) runs as the unprivileged user,
# with no capability in any set, no_new_privs set and the empty chroot as
# its root (man pktvisord, PROCESSES), also after SIGHUP restarted the
# aggregators and after a child of each role was killed and respawned; the
# supervisor's pid file holds its pid (also with -d) and is removed when
# SIGTERM stops it (exit 0).  Runs as a given --user in a given --chroot.
# Runs as root only; needs curl (exit 77 otherwise).  Ports 11850-11852.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
PKTVISORD="$top_builddir/pktvisord"
FIX="$top_srcdir/tests/fixtures"

if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP not root"
    exit 77
fi
for tool in curl pgrep useradd; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "1..0 # SKIP $tool not found"
        exit 77
    fi
done
case $FIX in /*) ;; *) FIX="$(pwd)/$FIX" ;; esac

tmp=$(mktemp -d /tmp/pv-priv.XXXXXX)
testuser="pvpriv$$"
useradd_done=0
sup=""
pass=0 fail=0

# Stop an agent (SIGTERM, then SIGKILL to it and its children after 10 s).
stop_agent() { # stop_agent PID
    [ -n "$1" ] || return 0
    kids=$(pgrep -P "$1" 2>/dev/null)
    kill -TERM "$1" 2>/dev/null
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if kill -0 "$1" 2>/dev/null; then
        # shellcheck disable=SC2086
        kill -KILL "$1" $kids 2>/dev/null
    fi
    wait "$1" 2>/dev/null
}

cleanup() {
    stop_agent "$sup"
    sup=""
    [ $useradd_done -eq 1 ] && userdel "$testuser" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

ok() { pass=$((pass + 1)); echo "ok - $1"; }
not_ok() {
    fail=$((fail + 1))
    echo "not ok - $1"
}

cat >"$tmp/agent.yaml" <<EOF
version: "1.0"
visor:
  taps:
    replay:
      input_type: pcap
      config:
        pcap_file: "$FIX/dns_udp_tcp_random.pcap"
        replay_pps: 2000
  policies:
    priv:
      kind: collection
      input:
        tap: replay
        input_type: pcap
      handlers:
        modules:
          net: { type: net }
          dns: { type: dns }
          dhcp: { type: dhcp }
          pcap_stats: { type: pcap }
EOF
# capture + 4 aggregators + httpd
NCHILDREN=6
TITLES="pktvisord: aggregator priv-dhcp
pktvisord: aggregator priv-dns
pktvisord: aggregator priv-net
pktvisord: aggregator priv-pcap_stats
pktvisord: capture replay
pktvisord: httpd"

# start_agent TAG PORT ARGS...: starts pktvisord in the background (sets
# sup), waits (10 s at most) until it logs that all its processes run.
start_agent() {
    tag=$1 port=$2
    shift 2
    "$PKTVISORD" --config "$tmp/agent.yaml" -p "$port" -l 127.0.0.1 --ring-size 16M \
        --pid-file "$tmp/$tag.pid" "$@" >"$tmp/$tag.out" 2>"$tmp/$tag.err" &
    sup=$!
    i=0
    while [ $i -lt 100 ]; do
        grep -q "all $NCHILDREN processes running" "$tmp/$tag.err" && return 0
        kill -0 "$sup" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    not_ok "$tag: agent did not start"
    sed 's/^/#   /' "$tmp/$tag.err"
    return 1
}

# status_field PID KEY: the value part of "KEY:\t..." in /proc/PID/status
status_field() {
    sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null | tr -s ' \t' '  '
}

# check_children TAG UID GID CHROOT: every child of $sup dropped to UID/GID
# inside CHROOT.
check_children() {
    tag=$1 want_uid=$2 want_gid=$3 want_root=$4
    kids=$(pgrep -P "$sup")
    n=$(echo "$kids" | grep -c .)
    if [ "$n" -eq $NCHILDREN ]; then
        ok "$tag: supervisor has $NCHILDREN children"
    else
        not_ok "$tag: supervisor has $n children, expected $NCHILDREN"
    fi
    titles=$(for k in $kids; do tr '\0' ' ' 2>/dev/null <"/proc/$k/cmdline" | sed 's/ *$//'; echo; done | sort)
    if [ "$titles" = "$TITLES" ]; then
        ok "$tag: process titles"
    else
        not_ok "$tag: process titles"
        echo "$titles" | sed 's/^/#   /'
    fi
    for k in $kids; do
        title=$(tr '\0' ' ' 2>/dev/null <"/proc/$k/cmdline" | sed 's/ *$//')
        errs=""
        uids=$(status_field "$k" Uid)
        gids=$(status_field "$k" Gid)
        [ "$uids" = "$want_uid $want_uid $want_uid $want_uid" ] || errs="$errs Uid=($uids)"
        [ "$gids" = "$want_gid $want_gid $want_gid $want_gid" ] || errs="$errs Gid=($gids)"
        for f in $uids $gids; do
            [ "$f" != 0 ] || errs="$errs uid/gid-0"
        done
        groups=$(status_field "$k" Groups | sed 's/ *$//')
        [ "$groups" = "$want_gid" ] || errs="$errs Groups=($groups)"
        for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
            v=$(status_field "$k" $cap)
            [ "$v" = 0000000000000000 ] || errs="$errs $cap=$v"
        done
        nnp=$(status_field "$k" NoNewPrivs)
        [ "$nnp" = 1 ] || errs="$errs NoNewPrivs=$nnp"
        root=$(readlink "/proc/$k/root")
        [ "$root" = "$want_root" ] || errs="$errs root=$root"
        if [ -z "$errs" ]; then
            ok "$tag: $title (pid $k): uid $want_uid gid $want_gid, no capabilities, no_new_privs, root $want_root"
        else
            not_ok "$tag: $title (pid $k):$errs"
        fi
    done
    # The supervisor itself stays root (it reopens captures, starts children).
    sup_uid=$(status_field "$sup" Uid)
    if [ "$sup_uid" = "0 0 0 0" ]; then
        ok "$tag: supervisor runs as root"
    else
        not_ok "$tag: supervisor uids ($sup_uid)"
    fi
}

# kids_titled WORDS: the children of $sup whose title starts with
# "pktvisord: WORDS"
kids_titled() {
    for k in $(pgrep -P "$sup"); do
        case $(tr '\0' ' ' 2>/dev/null <"/proc/$k/cmdline") in
        "pktvisord: $1"*) echo "$k" ;;
        esac
    done
}

# wait_replaced PIDS: waits (10 s at most) until $sup has its
# $NCHILDREN children again, none of them one of PIDS, with their titles
# (past the fork).
wait_replaced() {
    i=0
    while [ $i -lt 100 ]; do
        now=$(pgrep -P "$sup")
        n=$(echo "$now" | grep -c .)
        same=0
        for o in $1; do
            echo "$now" | grep -qx "$o" && same=1
        done
        titles=$(for k in $now; do tr '\0' ' ' 2>/dev/null <"/proc/$k/cmdline" | sed 's/ *$//'; echo; done | sort)
        if [ "$n" -eq $NCHILDREN ] && [ $same -eq 0 ] && [ "$titles" = "$TITLES" ]; then
            # a fresh child is ready once it has dropped: give it 2 s
            j=0
            while [ $j -lt 20 ]; do
                allset=1
                for k in $now; do
                    [ "$(status_field "$k" NoNewPrivs)" = 1 ] || allset=0
                done
                [ $allset -eq 1 ] && return 0
                sleep 0.1
                j=$((j + 1))
            done
            return 0
        fi
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# stop_and_check TAG: SIGTERM, exit 0 within 10 s, pid file removed,
# children gone.
stop_and_check() {
    tag=$1
    kids=$(pgrep -P "$sup")
    kill -TERM "$sup"
    i=0
    while kill -0 "$sup" 2>/dev/null && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if kill -0 "$sup" 2>/dev/null; then
        not_ok "$tag: agent still running 10 s after SIGTERM"
        stop_agent "$sup"
        sup=""
        return
    fi
    wait "$sup"
    rc=$?
    sup=""
    if [ $rc -eq 0 ] && grep -q "exit with success" "$tmp/$tag.err"; then
        ok "$tag: SIGTERM: exit 0, \"exit with success\""
    else
        not_ok "$tag: SIGTERM: exit $rc"
        sed 's/^/#   /' "$tmp/$tag.err"
    fi
    if [ -e "$tmp/$tag.pid" ]; then
        not_ok "$tag: pid file left after SIGTERM"
    else
        ok "$tag: pid file removed after SIGTERM"
    fi
    left=""
    for k in $kids; do
        kill -0 "$k" 2>/dev/null && left="$left $k"
    done
    if [ -z "$left" ]; then
        ok "$tag: no child left"
    else
        not_ok "$tag: children left:$left"
        # shellcheck disable=SC2086
        kill -KILL $left 2>/dev/null
    fi
}

# ---- 1. default user and chroot
if id -u pktvisor >/dev/null 2>&1; then defuser=pktvisor; else defuser=nobody; fi
uid=$(id -u "$defuser")
gid=$(id -g "$defuser")
if start_agent default 11850; then
    pid_in_file=$(cat "$tmp/default.pid" 2>/dev/null)
    if [ "$pid_in_file" = "$sup" ]; then
        ok "default: pid file holds the supervisor's pid ($sup)"
    else
        not_ok "default: pid file holds '$pid_in_file', supervisor is $sup"
    fi
    check_children default "$uid" "$gid" /var/empty/pktvisord
    # SIGHUP restarts the aggregators: the new ones drop privileges too.
    aggs=$(kids_titled "aggregator")
    kill -HUP "$sup"
    if wait_replaced "$aggs"; then
        check_children "after SIGHUP" "$uid" "$gid" /var/empty/pktvisord
    else
        not_ok "after SIGHUP: the aggregators were not restarted (children: $(pgrep -P "$sup" | tr '\n' ' '))"
    fi
    # A child of each role killed: the respawned ones drop privileges too.
    killed="$(kids_titled "capture") $(kids_titled "aggregator priv-dns") $(kids_titled "httpd")"
    # shellcheck disable=SC2086
    kill -KILL $killed
    if wait_replaced "$killed"; then
        check_children "after respawn" "$uid" "$gid" /var/empty/pktvisord
    else
        not_ok "after SIGKILL of capture, aggregator and httpd: not respawned (children: $(pgrep -P "$sup" | tr '\n' ' '))"
    fi
    i=0
    while [ $i -lt 50 ]; do
        body=$(curl -s -m 5 "http://127.0.0.1:11850/api/v1/metrics/app")
        case $body in *'"version":"3.3.0"'*) break ;; esac
        sleep 0.1
        i=$((i + 1))
    done
    case $body in
    *'"version":"3.3.0"'*) ok "default: respawned httpd answers" ;;
    *) not_ok "default: GET /api/v1/metrics/app: '$body'" ;;
    esac
    stop_and_check default
fi

# ---- 2. --user USER --chroot DIR
if useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$testuser" 2>"$tmp/useradd.err"; then
    useradd_done=1
    uid=$(id -u "$testuser")
    gid=$(id -g "$testuser")
    mkdir "$tmp/empty"
    chmod 755 "$tmp/empty"
    if start_agent user 11851 --user "$testuser" --chroot "$tmp/empty"; then
        check_children user "$uid" "$gid" "$tmp/empty"
        stop_and_check user
    fi
    userdel "$testuser" >/dev/null 2>&1 && useradd_done=0
else
    not_ok "useradd $testuser: $(cat "$tmp/useradd.err")"
fi

# ---- 3. -d: the pid file holds the daemon's pid
uid=$(id -u "$defuser")
gid=$(id -g "$defuser")
timeout 10 "$PKTVISORD" -d --config "$tmp/agent.yaml" -p 11852 -l 127.0.0.1 --ring-size 16M \
    --pid-file "$tmp/daemon.pid" --log-file "$tmp/daemon.log" >"$tmp/daemon.out" 2>"$tmp/daemon.err"
rc=$?
if [ $rc -eq 0 ] && [ ! -s "$tmp/daemon.out" ] && [ ! -s "$tmp/daemon.err" ]; then
    ok "daemon: -d returns 0, nothing on stdout or stderr"
else
    not_ok "daemon: -d exit $rc"
    sed 's/^/#   /' "$tmp/daemon.out" "$tmp/daemon.err"
fi
i=0
while [ $i -lt 100 ] && ! grep -q "all $NCHILDREN processes running" "$tmp/daemon.log" 2>/dev/null; do
    sleep 0.1
    i=$((i + 1))
done
sup=$(cat "$tmp/daemon.pid" 2>/dev/null)
if [ -n "$sup" ] && kill -0 "$sup" 2>/dev/null &&
    [ "$(tr '\0' ' ' 2>/dev/null <"/proc/$sup/cmdline" | sed 's/ *$//')" = "pktvisord: supervisor" ]; then
    ok "daemon: pid file holds the running supervisor's pid ($sup)"
    # after ") ": state ppid pgrp session
    sid=$(sed 's/.*) //' "/proc/$sup/stat" | cut -d' ' -f4)
    mysid=$(sed 's/.*) //' "/proc/$$/stat" | cut -d' ' -f4)
    cwd=$(readlink "/proc/$sup/cwd")
    if [ "$sid" != "$mysid" ] && [ "$cwd" = / ]; then
        ok "daemon: own session ($sid), working directory /"
    else
        not_ok "daemon: session $sid (ours $mysid), working directory $cwd"
    fi
    check_children daemon "$uid" "$gid" /var/empty/pktvisord
    kids=$(pgrep -P "$sup")
    kill -TERM "$sup"
    i=0
    while kill -0 "$sup" 2>/dev/null && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if kill -0 "$sup" 2>/dev/null; then
        not_ok "daemon: still running 10 s after SIGTERM"
    elif grep -q "exit with success" "$tmp/daemon.log"; then
        ok "daemon: SIGTERM: \"exit with success\""
    else
        not_ok "daemon: SIGTERM: no \"exit with success\" in the log"
        sed 's/^/#   /' "$tmp/daemon.log"
    fi
    if [ -e "$tmp/daemon.pid" ]; then
        not_ok "daemon: pid file left after SIGTERM"
    else
        ok "daemon: pid file removed after SIGTERM"
    fi
    left=""
    for k in $kids; do
        kill -0 "$k" 2>/dev/null && left="$left $k"
    done
    if [ -z "$left" ]; then
        ok "daemon: no child left"
    else
        not_ok "daemon: children left:$left"
    fi
else
    not_ok "daemon: pid file holds '$sup', not a running supervisor"
    sed 's/^/#   /' "$tmp/daemon.log" 2>/dev/null
fi
# cleanup stops it (by pid) if it still runs

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
