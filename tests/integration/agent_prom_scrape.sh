#!/bin/sh
# A real Prometheus server scrapes pktvisord's /metrics (SPEC 2, 3.1, 3.2).
#
# Prometheus (Debian's `prometheus`, scrape_interval 1s) is started first;
# then the agent, whose pcap_file tap replays dns_udp_tcp_random.pcap at
# 1600 packets/s (16147 frames: about 10 s) into a "default" policy (net,
# dns).  The capture's packet times run from 16:10:31 to 16:11:02, so
# while it plays bucket 0 (the live minute) grows and /metrics shows it,
# and once the packet clock passes 16:11:00 the window holds two buckets
# and /metrics shows bucket 1, the closed minute (SPEC 3.1): that is the
# bucket Prometheus ends up with, not bucket 0 (which then holds only the
# last two seconds).  Checks:
# - the target is up (GET /api/v1/targets of Prometheus);
# - once every aggregator has finished and Prometheus scraped after that,
#   dns_wire_packets_total{policy="default"} (and packets_total) queried
#   through Prometheus (GET /api/v1/query) equal dns.wire_packets.total
#   (and packets.total) of GET /api/v1/policies/default/metrics/bucket/B,
#   B being the bucket /metrics renders (1 when bucket 1 exists, else 0);
# - Prometheus saw the value change during the replay (changes() > 0), so
#   it scraped the live data, not only the end;
# - a scrape of /metrics passes `promtool check metrics` (exit 0, or 3 with
#   only the lint findings SPEC 3.6b's names cause, as agent_prometheus.sh).
#
# Runs as root only (the agent's children drop privileges); exit 77 (skip)
# otherwise, or without curl, python3, prometheus, promtool or timeout.
# Ports 11940 (agent) and 11941 (Prometheus).  Both run under timeout(1).
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
AGENT="$top_builddir/pktvisord"
FILE="$top_srcdir/tests/fixtures/dns_udp_tcp_random.pcap"
PORT=11940
PROM_PORT=11941
URL="http://127.0.0.1:$PORT"
PROM="http://127.0.0.1:$PROM_PORT"

if [ "$(id -u)" -ne 0 ]; then
    echo "# skipped: pktvisord's privilege separation needs root"
    exit 77
fi
for tool in curl python3 prometheus promtool timeout; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "# skipped: $tool not found (Debian: apt-get install prometheus curl)"
        exit 77
    }
done

tmp=$(mktemp -d)
: >"$tmp/log"
agent_pid=""
prom_pid=""
cleanup() {
    for p in $agent_pid $prom_pid; do
        kill -TERM "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
pass=0 fail=0
ok() {
    echo "ok - $*"
    pass=$((pass + 1))
}
not_ok() {
    echo "not ok - $*"
    fail=$((fail + 1))
}
finish() {
    if [ $fail -ne 0 ]; then
        echo "# agent log:"
        sed 's/^/#   /' "$tmp/log" | tail -n 20
        echo "# prometheus log:"
        sed 's/^/#   /' "$tmp/prom.log" | tail -n 10
    fi
    echo "$pass passed, $fail failed"
    [ $fail -eq 0 ] && exit 0
    exit 1
}

# jget URL PY: GET URL (5 s at most) and print the python3 expression PY of
# the JSON document d; prints nothing when either fails.
jget() {
    curl -s -m 5 "$1" 2>/dev/null | python3 -c "
import json, sys
try:
    d = json.load(sys.stdin)
    print($2)
except Exception:
    pass" 2>/dev/null
}
# prom_query EXPR: the value of the single series EXPR selects, else empty.
prom_query() {
    curl -s -m 5 -G "$PROM/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
        python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    if len(r) == 1:
        print(r[0]["value"][1])
    else:
        print("series:%d" % len(r))
except Exception:
    pass' 2>/dev/null
}
# target FIELD: FIELD of the pktvisord target in Prometheus's active targets.
target() {
    jget "$PROM/api/v1/targets" "[t for t in d['data']['activeTargets'] if t['labels'].get('job') == 'pktvisord'][0]['$1']"
}

cat >"$tmp/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: pktvisord
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOC
timeout -k 5 120 prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
    --web.listen-address=127.0.0.1:$PROM_PORT >"$tmp/prom.log" 2>&1 &
prom_pid=$!
i=0
until [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$PROM/-/ready")" = 200 ]; do
    i=$((i + 1))
    if [ $i -ge 300 ] || ! kill -0 "$prom_pid" 2>/dev/null; then
        not_ok "prometheus ready on port $PROM_PORT"
        finish
    fi
    sleep 0.1
done
ok "prometheus ready on port $PROM_PORT"

cat >"$tmp/c.yaml" <<EOC
version: "1.0"
visor:
  taps:
    t:
      input_type: pcap
      config: { pcap_file: "$FILE", host_spec: "192.168.0.0/24", replay_pps: 1600 }
  policies:
    default:
      kind: collection
      input: { tap: t, input_type: pcap }
      handlers:
        modules: { net: { type: net }, dns: { type: dns } }
EOC
timeout -k 5 120 "$AGENT" --config "$tmp/c.yaml" -l 127.0.0.1 -p $PORT --ring-size 16M \
    >"$tmp/log" 2>&1 &
agent_pid=$!

# The target is up while the file plays (scrapes every second).
i=0
until [ "$(target health)" = up ]; do
    i=$((i + 1))
    if [ $i -ge 150 ]; then
        not_ok "target 127.0.0.1:$PORT up in Prometheus (health '$(target health)', error '$(target lastError)')"
        finish
    fi
    sleep 0.1
done
ok "target 127.0.0.1:$PORT up in Prometheus"

# Until every aggregator finished: 10 s of replay, 60 s at most.
i=0
while :; do
    grep -qF "aggregator default-net: finished" "$tmp/log" &&
        grep -qF "aggregator default-dns: finished" "$tmp/log" && break
    i=$((i + 1))
    if [ $i -ge 600 ] || ! kill -0 "$agent_pid" 2>/dev/null; then
        not_ok "every aggregator finished"
        finish
    fi
    sleep 0.1
done
t_end=$(date +%s.%N)
ok "every aggregator finished"

# A scrape that started after the end (lastScrape is its start time).
i=0
while :; do
    last=$(target lastScrape)
    after=$(python3 -c '
import datetime, re, sys
m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", sys.argv[1])
if m:
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    frac = ((m.group(2) or "") + "000000")[:6]
    ts = datetime.datetime.fromisoformat(m.group(1) + "." + frac + tz).timestamp()
    print(1 if ts > float(sys.argv[2]) else 0)
else:
    print(0)' "$last" "$t_end")
    [ "$after" = 1 ] && [ "$(target health)" = up ] && break
    i=$((i + 1))
    if [ $i -ge 100 ]; then
        not_ok "Prometheus scraped after the end of the file (last scrape '$last', health '$(target health)')"
        finish
    fi
    sleep 0.1
done
ok "Prometheus scraped after the end of the file ($last)"

# Which bucket /metrics renders (SPEC 3.1): 1 when it exists, else 0.
code=$(curl -s -m 5 -o "$tmp/b1.json" -w '%{http_code}' "$URL/api/v1/policies/default/metrics/bucket/1")
if [ "$code" = 200 ]; then
    bucket=1
else
    bucket=0
fi
curl -s -m 5 -o "$tmp/b.json" "$URL/api/v1/policies/default/metrics/bucket/$bucket"
curl -s -m 5 -o "$tmp/b0.json" "$URL/api/v1/policies/default/metrics/bucket/0"
jdns() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["default"]["default-dns"]["dns"]["wire_packets"]["total"])' "$1" 2>/dev/null
}
jnet() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["default"]["default-net"]["packets"]["total"])' "$1" 2>/dev/null
}
want_dns=$(jdns "$tmp/b.json")
want_net=$(jnet "$tmp/b.json")
echo "# /metrics renders bucket $bucket; dns.wire_packets.total: bucket $bucket $want_dns, bucket 0 $(jdns "$tmp/b0.json")"
if [ $bucket = 1 ]; then
    ok "two buckets after the file (packet times cross 16:11:00): Prometheus sees bucket 1"
else
    not_ok "bucket/1 answered $code: the capture crosses a minute, two buckets expected"
fi

got=$(prom_query 'dns_wire_packets_total{job="pktvisord",policy="default"}')
if [ -n "$want_dns" ] && [ "$want_dns" -gt 0 ] && [ "$got" = "$want_dns" ]; then
    ok "Prometheus dns_wire_packets_total $got == JSON bucket/$bucket dns.wire_packets.total $want_dns"
else
    not_ok "Prometheus dns_wire_packets_total '$got', JSON bucket/$bucket dns.wire_packets.total '$want_dns'"
fi
got=$(prom_query 'packets_total{job="pktvisord",policy="default"}')
if [ -n "$want_net" ] && [ "$want_net" -gt 0 ] && [ "$got" = "$want_net" ]; then
    ok "Prometheus packets_total $got == JSON bucket/$bucket packets.total $want_net"
else
    not_ok "Prometheus packets_total '$got', JSON bucket/$bucket packets.total '$want_net'"
fi
n=$(prom_query 'changes(dns_wire_packets_total{job="pktvisord",policy="default"}[5m])')
if [ -n "$n" ] && python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 1 else 1)' "$n" 2>/dev/null; then
    ok "Prometheus saw dns_wire_packets_total change during the replay ($n changes)"
else
    not_ok "Prometheus saw dns_wire_packets_total change during the replay (changes: '$n')"
fi
n=$(prom_query 'up{job="pktvisord"}')
[ "$n" = 1 ] && ok "up{job=\"pktvisord\"} 1" || not_ok "up{job=\"pktvisord\"} '$n'"

# promtool on a scrape: a parse error (exit 1) fails; lint findings (exit
# 3) pass only for the names SPEC 3.6b keeps from pktvisor.
code=$(curl -s -m 5 -o "$tmp/metrics" -w '%{http_code}' "$URL/metrics")
promtool check metrics <"$tmp/metrics" >"$tmp/lint" 2>&1
rc=$?
bad=$(grep -vE -e '^[a-z0-9_]+_total non-counter metrics should not have "_total" suffix$' \
    -e '^dns_xact_(in|out)_quantiles_us metric names should not contain abbreviated units$' \
    -e "^packets_top_geoLoc metric names should be written in 'snake_case' not 'camelCase'\$" \
    "$tmp/lint")
if [ "$code" = 200 ] && [ -s "$tmp/metrics" ] &&
    { [ $rc -eq 0 ] || { [ $rc -eq 3 ] && [ -z "$bad" ]; }; }; then
    ok "/metrics: 200, promtool check metrics (exit $rc)"
else
    not_ok "/metrics: status $code, promtool check metrics exit $rc"
    sed 's/^/#   /' "$tmp/lint" | head -n 20
fi

# Prometheus itself found nothing wrong with the exposition.
n=$(jget "$PROM/api/v1/targets" "[t for t in d['data']['activeTargets'] if t['labels'].get('job') == 'pktvisord'][0]['lastError'] or 'none'")
[ "$n" = none ] && ok "Prometheus: no scrape error" || not_ok "Prometheus scrape error: $n"

finish
