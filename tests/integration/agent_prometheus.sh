#!/bin/sh
# pktvisord's Prometheus routes (SPEC 2, 3.2; httpd/httpd_prom.h).  One
# pcap_file tap replays dns_udp_tcp_random.pcap (packet times 231..262
# past a minute, so every window ends with two buckets: Prometheus shows
# bucket 1, the closed minute) into a "default" policy (net, dns, dhcp,
# pcap) and an "other" policy with two dns handlers, the agent started
# with --prom-instance.  Once every aggregator has finished:
# - GET /metrics and GET /api/v1/policies/{default,other}/metrics/prometheus
#   answer 200 "text/plain; version=0.0.4" and pass `promtool check
#   metrics`: a parse error (exit 1) fails; lint findings (exit 3) are
#   accepted only for the names SPEC 3.6b keeps from pktvisor (gauges named
#   *_total, *_quantiles_us, top_geoLoc).
# - every counter, cardinality, quantile and top-N entry of
#   /api/v1/policies/P/metrics/bucket/1 equals its sample in P's
#   prometheus endpoint (labels instance, module, policy), with no other
#   sample but the summaries' _sum and _count, no duplicate series and
#   labels in key order; dns_wire_packets_total{instance,policy="default"}
#   (and packets_total) of /metrics equal 1m.dns.wire_packets.total (and
#   1m.packets.total) of /api/v1/metrics/bucket/1;
# - an unknown policy is a 404 "policy does not exists".
#
# Runs as root only (the agent's children drop privileges); exit 77 (skip)
# otherwise, or without curl, python3 or promtool (Debian: prometheus).
# Ports 11910-11919.  The agent runs under timeout(1).
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
AGENT="$top_builddir/pktvisord"
FILE="$top_srcdir/tests/fixtures/dns_udp_tcp_random.pcap"
PORT=11910
INSTANCE='node "7"'

. "$top_srcdir/tests/integration/lib.sh"
agent_tests_begin curl python3 promtool timeout

file_tap_config "$tmp/c.yaml" "$FILE" "net: { type: net }, dhcp: { type: dhcp }, dns: { type: dns }, pcap: { type: pcap }"
cat >>"$tmp/c.yaml" <<EOC
    other:
      kind: collection
      input: { tap: t, input_type: pcap }
      handlers:
        modules: { dns: { type: dns }, dns2: { type: dns } }
EOC
timeout -k 5 120 "$AGENT" --config "$tmp/c.yaml" -l 127.0.0.1 -p $PORT --ring-size 16M \
    --prom-instance "$INSTANCE" >"$tmp/log" 2>&1 &
agent_pid=$!

insts="default-net default-dhcp default-dns default-pcap other-dns other-dns2"
i=0
while [ $i -lt 600 ]; do
    missing=0
    for inst in $insts; do
        grep -qF "aggregator $inst: finished" "$tmp/log" || missing=1
    done
    [ $missing -eq 0 ] && break
    kill -0 "$agent_pid" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
done
if [ $missing -ne 0 ]; then
    not_ok "every aggregator finished"
    sed 's/^/#   /' "$tmp/log" | tail -n 40
    exit 1
fi
ok "every aggregator finished"

# get NAME PATH: body in $tmp/NAME, headers in $tmp/NAME.h; prints the status.
get() {
    curl -s -D "$tmp/$1.h" -o "$tmp/$1" "http://127.0.0.1:$PORT$2" -w '%{http_code}'
}

# promtool_ok NAME: a parse error (exit 1) fails.  Lint findings (exit 3,
# after a successful parse) pass only when they are about the names SPEC
# 3.6b imposes (pktvisor's): gauges named *_total (they reset every bucket,
# so they are not counters), *_quantiles_us, top_geoLoc.
promtool_ok() {
    promtool check metrics <"$tmp/$1" >"$tmp/$1.lint" 2>&1
    rc=$?
    bad=$(grep -vE -e '^[a-z0-9_]+_total non-counter metrics should not have "_total" suffix$' \
        -e '^dns_xact_(in|out)_quantiles_us metric names should not contain abbreviated units$' \
        -e "^packets_top_geoLoc metric names should be written in 'snake_case' not 'camelCase'\$" \
        "$tmp/$1.lint")
    if [ $rc -eq 0 ] || { [ $rc -eq 3 ] && [ -z "$bad" ]; }; then
        ok "$1: promtool check metrics (exit $rc)"
    else
        not_ok "$1: promtool check metrics exit $rc"
        sed 's/^/#   /' "$tmp/$1.lint" | head -n 20
    fi
}

for pair in "metrics /metrics" "prom_default /api/v1/policies/default/metrics/prometheus" \
    "prom_other /api/v1/policies/other/metrics/prometheus"; do
    name=${pair%% *} path=${pair#* }
    code=$(get "$name" "$path")
    ct=$(tr -d '\r' <"$tmp/$name.h" | sed -n 's/^[Cc]ontent-[Tt]ype: //p')
    if [ "$code" = 200 ] && [ "$ct" = "text/plain; version=0.0.4" ] && [ -s "$tmp/$name" ]; then
        ok "$path: 200, $ct"
    else
        not_ok "$path: status $code, Content-Type '$ct'"
    fi
    promtool_ok "$name"
done

for pair in "json_default /api/v1/policies/default/metrics/bucket/1" \
    "json_other /api/v1/policies/other/metrics/bucket/1" "json_legacy /api/v1/metrics/bucket/1"; do
    code=$(get "${pair%% *}" "${pair#* }")
    [ "$code" = 200 ] && ok "${pair#* }: 200" || not_ok "${pair#* }: status $code"
done

code=$(get nope /api/v1/policies/nope/metrics/prometheus)
if [ "$code" = 404 ] && [ "$(cat "$tmp/nope")" = "policy does not exists" ]; then
    ok "unknown policy: 404 policy does not exists"
else
    not_ok "unknown policy: $code $(cat "$tmp/nope")"
fi

python3 - "$tmp" "$INSTANCE" <<'EOF' || fail=1
import json, re, sys

tmp, instance = sys.argv[1], sys.argv[2]
fails = 0
def report(good, what, lines=()):
    global fails
    print(("ok - " if good else "not ok - ") + what)
    for l in ([] if good else list(lines)[:20]):
        print("#   " + l)
    fails += 0 if good else 1

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')
def unescape(v):
    return re.sub(r'\\(.)', lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), v)

def parse(path):
    samples, bad = {}, []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        if not m:
            bad.append(line)
            continue
        labels = tuple((k, unescape(v)) for k, v in LABEL.findall(m.group(2)))
        keys = [k for k, _ in labels]
        if keys != sorted(keys):
            bad.append("labels out of order: " + line)
        key = (m.group(1), labels)
        if key in samples:
            bad.append("duplicate series: " + line)
        samples[key] = int(m.group(3))
    return samples, bad

def expected(obj, prefix, base, out):
    """The samples a JSON handler object implies (SPEC 3.2)."""
    for k, v in obj.items():
        name = prefix + "_" + k
        if k == "period":
            continue
        if isinstance(v, dict) and set(v) >= {"p50", "p90", "p95", "p99"}:
            for q, f in (("p50", "0.5"), ("p90", "0.9"), ("p95", "0.95"), ("p99", "0.99")):
                out[(name, tuple(sorted(base + [("quantile", f)])))] = v[q]
        elif isinstance(v, dict):
            expected(v, name, base, out)
        elif isinstance(v, list):
            for e in v:
                out[(name, tuple(sorted(base + [("name", e["name"])])))] = e["estimate"]
        else:
            out[(name, tuple(sorted(base)))] = v

def compare(what, json_path, prom_path, policy):
    doc = json.load(open(json_path))[policy]
    prom, bad = parse(prom_path)
    report(not bad, what + ": well-formed samples, sorted labels, no duplicate series", bad)
    want = {}
    for inst, handler in doc.items():
        for key, obj in handler.items():
            expected(obj, key, [("instance", instance), ("module", inst), ("policy", policy)],
                     want)
    diffs = ["%s%s: prometheus %s, json %s" % (n, dict(l), prom.get((n, l)), v)
             for (n, l), v in sorted(want.items()) if prom.get((n, l)) != v]
    report(not diffs, "%s: %d JSON values of bucket 1 equal their samples" % (what, len(want)),
           diffs)
    extra = [k for k in prom if k not in want and not k[0].endswith(("_sum", "_count"))]
    report(not extra, what + ": no sample without a JSON value", ["%s%s" % (n, dict(l)) for n, l in extra])
    return doc, prom

doc, prom = compare("default", tmp + "/json_default", tmp + "/prom_default", "default")
n = doc["default-dns"]["dns"]["wire_packets"]["total"]
report(n > 0, "bucket 1 of default-dns counted packets (%d)" % n)
compare("other", tmp + "/json_other", tmp + "/prom_other", "other")

legacy = json.load(open(tmp + "/json_legacy"))["1m"]
metrics, bad = parse(tmp + "/metrics")
report(not bad, "/metrics: well-formed samples, sorted labels, no duplicate series", bad)
lab = (("instance", instance), ("policy", "default"))
got = metrics.get(("dns_wire_packets_total", lab))
want = legacy["dns"]["wire_packets"]["total"]
report(got == want, "/metrics dns_wire_packets_total %s == bucket/1 1m.dns.wire_packets.total %s"
       % (got, want))
got = metrics.get(("packets_total", lab))
want = legacy["packets"]["total"]
report(got == want, "/metrics packets_total %s == bucket/1 1m.packets.total %s" % (got, want))
report(not any(dict(l).get("module") for _, l in metrics), "/metrics: no module label")
sys.exit(1 if fails else 0)
EOF

[ $fail -eq 0 ] || sed 's/^/#   /' "$tmp/log" | tail -n 20
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
