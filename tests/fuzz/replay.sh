#!/bin/sh
# replay.sh - regression replay of the fuzz targets (make check).
#
# Every committed input of tests/fuzz/corpus/<target>/ and, when the folder
# exists, tests/fuzz/regress/<target>/ (inputs that once crashed) goes
# through its target, built by the normal compiler with
# tests/fuzz/replay_main.c as tests/fuzz/replay_<target> (so it also runs
# under ./configure --enable-sanitizers).  Fails when a replay program is
# missing, a corpus folder is missing or empty, or any input traps, aborts
# or crashes.
set -u
srcdir=${top_srcdir:-.}
builddir=${top_builddir:-.}
targets="decode dns tcp_stream config proc_msg httpd_api policy_post pcap_mmap handler_dns"
fail=0
total=0
for t in $targets; do
    prog="$builddir/tests/fuzz/replay_$t"
    corpus="$srcdir/tests/fuzz/corpus/$t"
    regress="$srcdir/tests/fuzz/regress/$t"
    if [ ! -x "$prog" ]; then
        echo "FAIL $t: $prog not built"
        fail=1
        continue
    fi
    if [ ! -d "$corpus" ] || [ -z "$(ls "$corpus")" ]; then
        echo "FAIL $t: no corpus in $corpus"
        fail=1
        continue
    fi
    set -- "$corpus"
    [ -d "$regress" ] && set -- "$@" "$regress"
    if out=$("$prog" "$@" 2>&1); then
        echo "ok $t: $(echo "$out" | tr '\n' ' ')"
        n=$(echo "$out" | sed -n 's/.*: \([0-9][0-9]*\) inputs$/\1/p' | awk '{s += $1} END {print s + 0}')
        total=$((total + n))
    else
        rc=$?
        echo "FAIL $t (exit $rc):"
        echo "$out" | tail -40
        fail=1
    fi
done
echo "$total inputs replayed"
exit $fail
