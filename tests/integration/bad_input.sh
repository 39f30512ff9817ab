#!/bin/sh
# Bad input to pktvisor-pcap: each case must give a clear message on stderr
# (one line, naming the problem), a non-zero exit and nothing on stdout;
# never a crash or a hang.  A capture cut inside a record is summarized up
# to the last complete record, with a warning.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
PCAP="$top_builddir/pktvisor-pcap"
FIX="$top_srcdir/tests/fixtures"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

run() { # run ARGS...: sets rc, out, err (10 s limit: a hang fails)
    timeout 10 "$PCAP" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}

expect_fail() { # expect_fail NAME SUBSTRING ARGS...
    name=$1 want=$2
    shift 2
    run "$@"
    lines=$(wc -l <"$tmp/err")
    # 255 is our error status; 124 a timeout (a hang), 128+N a signal (a crash).
    if [ $rc -ne 0 ] && { [ $rc -lt 124 ] || [ $rc -eq 255 ]; } && [ ! -s "$tmp/out" ] &&
        [ "$lines" -eq 1 ] && grep -qF -- "$want" "$tmp/err"; then
        pass=$((pass + 1))
        echo "ok - $name: $(cat "$tmp/err")"
    else
        fail=$((fail + 1))
        echo "not ok - $name (exit $rc, $lines stderr lines, stdout $(wc -c <"$tmp/out") bytes)"
        sed 's/^/#   /' "$tmp/err"
    fi
}

expect_ok() { # expect_ok NAME STDERR_SUBSTRING JSON_SUBSTRING ARGS...
    name=$1 want_err=$2 want_out=$3
    shift 3
    run "$@"
    if [ $rc -eq 0 ] && grep -qF -- "$want_err" "$tmp/err" && grep -qF -- "$want_out" "$tmp/out"; then
        pass=$((pass + 1))
        echo "ok - $name"
    else
        fail=$((fail + 1))
        echo "not ok - $name (exit $rc)"
        sed 's/^/#   /' "$tmp/err" "$tmp/out"
    fi
}

good="$FIX/dns_ipv4_udp.pcap"

expect_fail "missing file" "$tmp/nope.pcap" "$tmp/nope.pcap"
printf 'this is not a capture file at all\n' >"$tmp/text.pcap"
expect_fail "not a capture" "$tmp/text.pcap" "$tmp/text.pcap"
: >"$tmp/empty.pcap"
expect_fail "empty file" "$tmp/empty.pcap" "$tmp/empty.pcap"

# The first record's caplen field (bytes 32..35) set to 0xffffffff.
cp "$good" "$tmp/badlen.pcap"
printf '\377\377\377\377' | dd of="$tmp/badlen.pcap" bs=1 seek=32 conv=notrunc 2>/dev/null
expect_fail "corrupt record length" "capture length" "$tmp/badlen.pcap"
# The same in the middle of the file: record 2 starts after record 1's
# 16-byte header and caplen bytes (caplen read from the file itself).
cap1=$(od -An -tu4 -j32 -N4 "$good" | tr -d ' ')
cp "$good" "$tmp/badlen2.pcap"
printf '\377\377\377\177' | dd of="$tmp/badlen2.pcap" bs=1 seek=$((24 + 16 + cap1 + 8)) conv=notrunc 2>/dev/null
expect_fail "corrupt record length mid-file" "capture length" "$tmp/badlen2.pcap"

# pcap global header with link type 147 (USER0), which we do not decode.
printf '\324\303\262\241\002\000\004\000\000\000\000\000\000\000\000\000\377\377\000\000\223\000\000\000' >"$tmp/user0.pcap"
expect_fail "unsupported link type" "link type 147" "$tmp/user0.pcap"

expect_fail "invalid BPF" "Cannot set BPF filter" -b "port nonsense" "$good"
expect_fail "invalid -H address" "invalid IPv4 address: 300.1.1.1" -H 300.1.1.1/24 "$good"
expect_fail "invalid -H IPv6" "invalid IPv6 address: 2001:::1" -H 2001:::1/64 "$good"
expect_fail "-H without prefix" "10.0.0.1" -H 10.0.0.1 "$good"
expect_fail "missing geo db" "$tmp/none.mmdb" --geo-city "$tmp/none.mmdb" "$good"
expect_fail "geo db not an mmdb" "$tmp/text.pcap" --geo-asn "$tmp/text.pcap" "$good"
expect_fail "wrong geo db type" "GeoLite2-ASN-Test.mmdb" --geo-city "$FIX/GeoLite2-ASN-Test.mmdb" "$good"
expect_fail "wrong geo db type (asn)" "GeoIP2-City-Test.mmdb" --geo-asn "$FIX/GeoIP2-City-Test.mmdb" "$good"
chmod 000 "$tmp/text.pcap"
if [ "$(id -u)" -ne 0 ]; then
    expect_fail "unreadable file" "$tmp/text.pcap" "$tmp/text.pcap"
fi
expect_fail "periods 0" "invalid metrics period, specify [2, 10]" --periods 0 "$good"
expect_fail "periods 11" "invalid metrics period, specify [2, 10]" --periods 11 "$good"
expect_fail "periods not a number" "--periods" --periods five "$good"
expect_fail "deep sample not a number" "--max-deep-sample" --max-deep-sample x "$good"

# docopt-style usage errors: message and usage on stderr, exit 255.
run --no-such-option "$good"
if [ $rc -eq 255 ] && [ ! -s "$tmp/out" ] && grep -q "Usage:" "$tmp/err"; then
    pass=$((pass + 1)) && echo "ok - unknown option"
else
    fail=$((fail + 1)) && echo "not ok - unknown option (exit $rc)"
fi
run
if [ $rc -eq 255 ] && grep -q "Usage:" "$tmp/err"; then
    pass=$((pass + 1)) && echo "ok - missing PCAP"
else
    fail=$((fail + 1)) && echo "not ok - missing PCAP (exit $rc)"
fi

# Cut inside the last record: the 139 complete records are summarized.
size=$(wc -c <"$good")
head -c $((size - 10)) "$good" >"$tmp/cut.pcap"
expect_ok "capture cut inside a record" "truncated" '"total":139' -H 127.0.0.1/32 "$tmp/cut.pcap"
# Cut inside a record header (16-byte header, 5 bytes of it present).
last=$(od -An -tu4 -j32 -N4 "$good" | tr -d ' ')
head -c $((24 + 16 + last + 5)) "$good" >"$tmp/cut2.pcap"
expect_ok "capture cut inside a record header" "truncated" '"total":1,' "$tmp/cut2.pcap"
# pcapng cut short.
ng="$FIX/dns_ipv4_udp.pcapng"
head -c $(($(wc -c <"$ng") - 10)) "$ng" >"$tmp/cut.pcapng"
expect_ok "pcapng cut inside a block" "truncated" '"total":139' "$tmp/cut.pcapng"
# A global header and no record: a valid, empty summary.
head -c 24 "$good" >"$tmp/header-only.pcap"
expect_ok "no records" "processed 0 packets" '"total":0' "$tmp/header-only.pcap"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
