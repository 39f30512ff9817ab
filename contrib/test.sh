#!/bin/bash
# Install what is missing, build, and run the whole test suite:
#   1. make check (unit, golden, integration tests)
#   2. make check again in a build with ASan + UBSan
#   3. the golden tests under valgrind
#   4. make distcheck
# Ends with one line "N passed, N failed" totalling every step.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
jobs=$(nproc 2>/dev/null || echo 2)
passed=0 failed=0

count_suite() { # count_suite BUILDDIR: add automake's totals from test-suite.log
    local log=$1/test-suite.log p f e x
    [ -f "$log" ] || { failed=$((failed + 1)); return; }
    p=$(sed -n 's/^# PASS: *//p' "$log" | head -1)
    f=$(sed -n 's/^# FAIL: *//p' "$log" | head -1)
    e=$(sed -n 's/^# ERROR: *//p' "$log" | head -1)
    x=$(sed -n 's/^# XPASS: *//p' "$log" | head -1)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0} + ${e:-0} + ${x:-0}))
    # Show what failed, with its log.
    for t in $(sed -n 's/^\(FAIL\|ERROR\): //p' "$log"); do
        echo "=== $t"
        cat "$1/$t.log" 2>/dev/null | tail -60
    done
}

step() { # step NAME CMD...: a build step that must succeed
    echo "=== $1"
    shift
    if "$@"; then passed=$((passed + 1)); else echo "FAILED: $*"; failed=$((failed + 1)); return 1; fi
}

if [ "$(id -u)" = 0 ]; then
    contrib/install-deps.sh --test || { echo "0 passed, 1 failed"; exit 1; }
fi
step autoreconf autoreconf -fi || { echo "$passed passed, $failed failed"; exit 1; }

# 1. plain build
mkdir -p build/plain
(cd build/plain && "$top/configure" -q && make -s -j"$jobs") >build/plain.log 2>&1
if [ $? -eq 0 ]; then
    passed=$((passed + 1))
    (cd build/plain && make -s -j"$jobs" check >/dev/null 2>&1)
    count_suite build/plain/.
else
    echo "=== plain build failed"; tail -40 build/plain.log; failed=$((failed + 1))
fi

# 2. sanitizers
mkdir -p build/san
(cd build/san && "$top/configure" -q --enable-sanitizers && make -s -j"$jobs") >build/san.log 2>&1
if [ $? -eq 0 ]; then
    passed=$((passed + 1))
    (cd build/san && ASAN_OPTIONS=detect_leaks=1 make -s -j"$jobs" check >/dev/null 2>&1)
    count_suite build/san/.
else
    echo "=== sanitizer build failed"; tail -40 build/san.log; failed=$((failed + 1))
fi

# 3. golden tests under valgrind (plain build)
if [ -x build/plain/pktvisor-pcap ]; then
    golden=$(cd "$top" && ls tests/golden/*.golden | tr '\n' ' ')
    mkdir -p build/valgrind
    (cd build/plain && GOLDEN_VALGRIND=1 make -s check TESTS="$golden" TEST_SUITE_LOG=valgrind-suite.log >/dev/null 2>&1)
    cp build/plain/valgrind-suite.log build/valgrind/test-suite.log 2>/dev/null
    count_suite build/valgrind
fi

# 4. the release tarball builds and passes its own tests
step distcheck sh -c "cd build/plain && make -s -j$jobs distcheck >../distcheck.log 2>&1" ||
    tail -40 build/distcheck.log

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
