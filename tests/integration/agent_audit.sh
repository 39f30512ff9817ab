#!/bin/bash
# The least privilege of pktvisord's children (HACKING.md, Processes), seen
# through contrib/privilege-audit and /proc: every child of the supervisor
# runs with non-root ids, no capability in any set, no_new_privs, its
# role's seccomp filter (Seccomp 2, exactly one filter more than the
# supervisor, which runs none of its own), the empty chroot as its root,
# and holds only the descriptors its role needs:
#   capture:    its capture file, the log pipe, its control socket,
#               /dev/null, stderr;
#   aggregator: the log pipe, its control socket, /dev/null, stderr, no file
#               at all; its segments are mapped (memfd), not open;
#   httpd:      its listening socket, connections, its event loop's pipe and
#               epoll, its metric segments (memfd), mapped read-only (r--s)
#               and nothing else (no ring);
# and none holds a directory or a file under /etc.  The audit is printed.
# A pcap_file tap (paced) with --admin-api.  Root only (exit 77 otherwise).
# Ports 12000-12001.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
AGENT="$top_builddir/pktvisord"
AUDIT="$top_srcdir/contrib/privilege-audit"
FILE="$top_srcdir/tests/fixtures/dns_udp_tcp_random.pcap"
PORT=12000
CHROOT=/var/empty/pktvisord
[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP not root"; exit 77; }
for t in curl timeout; do
    command -v $t >/dev/null || { echo "1..0 # SKIP needs $t"; exit 77; }
done
case $FILE in /*) ;; *) FILE="$(pwd)/$FILE" ;; esac
tmp=$(mktemp -d /tmp/pv-audit.XXXXXX)
pid=
cleanup() {
    if [ -n "$pid" ]; then
        kids=$(pgrep -P "$pid" 2>/dev/null)
        kill -TERM "$pid" 2>/dev/null
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        # shellcheck disable=SC2086
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" $kids 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE
pass=0 fail=0 todo=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
notok() { echo "not ok - $*"; fail=$((fail + 1)); }
# A known agent defect: reported, not counted as a failure.
known() { echo "not ok - $* # TODO known agent defect"; todo=$((todo + 1)); }

cat >"$tmp/c.yaml" <<EOC
version: "1.0"
visor:
  taps:
    t:
      input_type: pcap
      config: { pcap_file: "$FILE", replay_pps: 200 }
  policies:
    default:
      kind: collection
      input: { tap: t, input_type: pcap }
      handlers:
        modules: { net: { type: net }, dns: { type: dns } }
EOC
timeout -k 5 55 "$AGENT" --config "$tmp/c.yaml" --admin-api -l 127.0.0.1 -p $PORT \
    --ring-size 16M --pid-file "$tmp/agent.pid" >"$tmp/out" 2>"$tmp/log" &
pid=$!
i=0
until grep -qs "all 4 processes running" "$tmp/log" || [ $i -ge 100 ]; do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
done
if ! grep -qs "all 4 processes running" "$tmp/log"; then
    notok "agent did not start"
    sed 's/^/#   /' "$tmp/log"
    echo "$pass passed, $fail failed"
    exit 1
fi
# timeout(1) is the parent: the supervisor is the pid in the pid file.
sup=$(cat "$tmp/agent.pid")
ok "agent running (supervisor $sup)"
# Every child past its drop (the supervisor checks it before "all running",
# but wait for NoNewPrivs anyway), and an HTTP connection open while auditing.
i=0
while [ $i -lt 20 ]; do
    n=0
    for k in $(pgrep -P "$sup"); do
        grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$k/status" || n=$((n + 1))
    done
    [ $n -eq 0 ] && break
    sleep 0.1
    i=$((i + 1))
done
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/policies/default/metrics/bucket/0")
[ "$code" = 200 ] && ok "GET bucket/0: 200" || notok "GET bucket/0: $code"
# a connection left open (idle keep-alive) while the audit runs
exec 3<>"/dev/tcp/127.0.0.1/$PORT"

echo "# ---- contrib/privilege-audit $sup"
timeout 20 bash "$AUDIT" "$sup" >"$tmp/audit" 2>&1
arc=$?
sed 's/^/# /' "$tmp/audit"
echo "# ----"
if [ $arc -eq 0 ] && grep -q "role: pktvisord: supervisor" "$tmp/audit" &&
    [ "$(grep -c '^== pid' "$tmp/audit")" -eq 5 ]; then
    ok "privilege-audit: supervisor and 4 children"
else
    notok "privilege-audit exit $arc"
fi

field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null | tr -s ' \t' '  ' | sed 's/ *$//'; }
title() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | sed 's/ *$//'; }
sup_err=$(readlink "/proc/$sup/fd/2")
# the log pipe: the one pipe the supervisor holds both ends of
logpipe=$(for f in /proc/"$sup"/fd/*; do readlink "$f"; done | grep '^pipe:' | sort | uniq -d | head -1)

# The supervisor installs no filter: it has what this script has (0 here,
# unless the test itself runs confined, e.g. in a container).
sup_secc=$(field "$sup" Seccomp) sup_filters=$(field "$sup" Seccomp_filters)
if [ "$sup_secc" = "$(field $$ Seccomp)" ] && [ "$sup_filters" = "$(field $$ Seccomp_filters)" ]; then
    ok "supervisor: Seccomp $sup_secc, $sup_filters filters (as this shell: none of its own)"
else
    notok "supervisor: Seccomp $sup_secc, filters $sup_filters; this shell: $(field $$ Seccomp), $(field $$ Seccomp_filters)"
fi
kids=$(pgrep -P "$sup")
nk=$(echo "$kids" | grep -c .)
[ "$nk" -eq 4 ] && ok "4 children" || notok "$nk children, expected 4"
roles=""
for k in $kids; do
    t=$(title "$k")
    role=${t#pktvisord: }
    roles="$roles|$role"
    # ---- credentials, capabilities, no_new_privs, root
    errs=""
    for id in $(field "$k" Uid) $(field "$k" Gid); do
        [ "$id" != 0 ] || errs="$errs id-0"
    done
    [ "$(field "$k" Uid | wc -w)" -eq 4 ] || errs="$errs Uid?"
    for c in CapInh CapPrm CapEff CapBnd CapAmb; do
        v=$(field "$k" $c)
        [ "$v" = 0000000000000000 ] || errs="$errs $c=$v"
    done
    [ "$(field "$k" NoNewPrivs)" = 1 ] || errs="$errs NoNewPrivs=$(field "$k" NoNewPrivs)"
    # its role's filter (src/seccomp.h): one more than the supervisor's
    [ "$(field "$k" Seccomp)" = 2 ] || errs="$errs Seccomp=$(field "$k" Seccomp)"
    [ "$(field "$k" Seccomp_filters)" = $((${sup_filters:-0} + 1)) ] ||
        errs="$errs Seccomp_filters=$(field "$k" Seccomp_filters)"
    r=$(readlink "/proc/$k/root")
    [ "$r" = "$CHROOT" ] || errs="$errs root=$r"
    if [ -z "$errs" ]; then
        ok "$role: ids $(field "$k" Uid | cut -d' ' -f1)/$(field "$k" Gid | cut -d' ' -f1) x4, capabilities 0, NoNewPrivs 1, Seccomp 2 (1 filter), root $CHROOT"
    else
        notok "$role:$errs"
    fi
    # ---- descriptors
    errs="" files="" memfds="" nsock=0 npipe=0 nother=0
    for f in /proc/"$k"/fd/*; do
        fd=${f##*/}
        tg=$(readlink "$f") || continue
        [ -d "$f" ] && errs="$errs dir-fd($fd->$tg)"
        case $tg in /etc/*) errs="$errs etc($fd->$tg)" ;; esac
        if [ "$fd" = 2 ]; then
            [ "$tg" = "$sup_err" ] || errs="$errs stderr($tg)"
            continue
        fi
        case $tg in
        /dev/null) ;;
        socket:*) nsock=$((nsock + 1)) ;;
        "$logpipe") ;;
        pipe:*) npipe=$((npipe + 1)) ;;
        /memfd:pktvisord-*) memfds="$memfds $fd" ;;
        anon_inode:\[eventpoll\]) [ "$role" = httpd ] || nother=$((nother + 1)) ;;
        /*) files="$files $tg" ;;
        *) nother=$((nother + 1)); errs="$errs other($fd->$tg)" ;;
        esac
    done
    maps=$(grep 'pktvisord-' "/proc/$k/maps" | awk '{print $2, $6}' | sort -u)
    case $role in
    capture*)
        # The kernel shows the canonical path (a VPATH build passes ../..).
        [ "$files" = " $(readlink -f "$FILE")" ] || errs="$errs files=($files)"
        [ $nsock -eq 1 ] || errs="$errs sockets=$nsock"
        [ $npipe -eq 0 ] || errs="$errs extra-pipes=$npipe"
        [ -z "$memfds" ] || errs="$errs memfd-fds=($memfds)"
        echo "$maps" | grep -q '^rw-s /memfd:pktvisord-ring-' || errs="$errs no-ring-mapping"
        [ -z "$errs" ] && ok "$role: fds = capture file, log pipe, 1 control socket, /dev/null, stderr" ||
            notok "$role:$errs"
        ;;
    aggregator*)
        pol=${role#aggregator }
        [ -z "$files" ] || errs="$errs files=($files)"
        [ $nsock -eq 1 ] || errs="$errs sockets=$nsock"
        [ $npipe -eq 0 ] || errs="$errs extra-pipes=$npipe"
        [ -z "$memfds" ] || errs="$errs memfd-fds=($memfds)"
        [ -z "$errs" ] && ok "$role: fds = log pipe, 1 control socket, /dev/null, stderr; no file" ||
            notok "$role:$errs"
        if echo "$maps" | grep -qx "rw-s /memfd:pktvisord-$pol" &&
            echo "$maps" | grep -q '^rw-s /memfd:pktvisord-ring-' &&
            [ "$(echo "$maps" | grep -c .)" -eq 2 ]; then
            ok "$role: maps its metric segment and its ring (memfd, shared), no other segment"
        else
            notok "$role: pktvisord-* mappings: $(echo "$maps" | tr '\n' ';')"
        fi
        ;;
    httpd)
        [ -z "$files" ] || errs="$errs files=($files)"
        # listening socket + control socket + the open connection
        [ $nsock -ge 3 ] || errs="$errs sockets=$nsock"
        [ $npipe -le 2 ] || errs="$errs pipes=$npipe"
        [ -z "$errs" ] && ok "httpd: fds = $nsock sockets (listening, control, connections), event loop ($npipe pipe ends, epoll), $(echo $memfds | wc -w) metric memfds, /dev/null, stderr; no file" ||
            notok "httpd:$errs"
        lst=$(for f in /proc/"$k"/fd/*; do readlink "$f"; done | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p')
        lport=$(printf '%04X' $PORT)
        linode=$(awk -v p=":$lport" '$2 ~ p"$" && $4 == "0A" {print $10}' /proc/net/tcp)
        if [ -n "$linode" ] && echo "$lst" | grep -qx "$linode"; then
            ok "httpd: holds the listening socket 127.0.0.1:$PORT"
        else
            notok "httpd: listening socket (inode '$linode') not among its sockets"
        fi
        bad=$(echo "$maps" | grep -v '^r--s /memfd:pktvisord-default-' | grep .)
        if [ -z "$bad" ] && [ "$(echo "$maps" | grep -c .)" -eq 2 ]; then
            ok "httpd: metric segments mapped read-only (r--s), no ring"
        else
            notok "httpd: pktvisord-* mappings: $(echo "$maps" | tr '\n' ';')"
        fi
        # The memfd descriptors themselves: opened read-write means the
        # mapping's read-only protection can be undone (mmap PROT_WRITE on
        # the fd, or mprotect of the MAP_SHARED mapping: VM_MAYWRITE).
        rw=""
        for fd in $memfds; do
            fl=$(sed -n 's/^flags:[[:space:]]*//p' "/proc/$k/fdinfo/$fd")
            [ $((8#$fl & 3)) -eq 0 ] || rw="$rw $fd($(readlink "/proc/$k/fd/$fd"),flags=$fl)"
        done
        if [ -z "$rw" ]; then
            ok "httpd: metric segment fds are read-only"
        else
            known "httpd: metric segment fds open read-write:$rw"
        fi
        ;;
    *) notok "unexpected child: $t" ;;
    esac
done
case "$(echo "$roles" | tr '|' '\n' | grep . | sort | tr '\n' '|')" in
"aggregator default-dns|aggregator default-net|capture t|httpd|") ok "roles: capture, 2 aggregators, httpd" ;;
*) notok "roles:$roles" ;;
esac
exec 3>&-

echo "$pass passed, $fail failed ($todo known defect(s), TODO)"
[ $fail -eq 0 ]
