#!/bin/sh
# The admin API against a running agent (SPEC 2 and 5): policies created and
# deleted at run time while a paced capture file flows; each error of a
# posted policy; the default policy's counts undisturbed by it all (equal to
# pktvisor-pcap's on the same file); DELETE /api/v1/server stops the agent.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
AGENT="$top_builddir/pktvisord"
PCAP="$top_builddir/pktvisor-pcap"
FILE="$top_srcdir/tests/fixtures/dns_udp_tcp_random.pcap"
HOSTS="192.168.0.0/24"
PORT=11930
URL="http://127.0.0.1:$PORT"
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root"; exit 77; }
for t in curl python3; do
    command -v $t >/dev/null || { echo "skip: needs $t"; exit 77; }
done
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fail=0 pass=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
notok() { echo "not ok - $*"; fail=$((fail + 1)); }

# post NAME FILE [CONTENT-TYPE]: POST a document; sets code and the body in $tmp/NAME.out
post() {
    ct=${3-application/x-yaml}
    if [ -n "$ct" ]; then
        code=$(curl -s -m 10 -o "$tmp/$1.out" -w '%{http_code}' -H "Content-Type: $ct" \
            --data-binary "@$2" "$URL/api/v1/policies")
    else
        code=$(curl -s -m 10 -o "$tmp/$1.out" -w '%{http_code}' -H "Content-Type:" \
            --data-binary "@$2" "$URL/api/v1/policies")
    fi
}
expect() { # expect NAME CODE SUBSTRING
    if [ "$code" = "$2" ] && grep -qF -- "$3" "$tmp/$1.out"; then
        ok "$1: $code $(head -c 200 "$tmp/$1.out")"
    else
        notok "$1: got $code $(head -c 300 "$tmp/$1.out"), want $2 with '$3'"
    fi
}

cat >"$tmp/c.yaml" <<EOC
version: "1.0"
visor:
  taps:
    t:
      input_type: pcap
      config: { pcap_file: "$FILE", host_spec: "$HOSTS", replay_pps: 4000 }
  policies:
    default:
      kind: collection
      input: { tap: t, input_type: pcap }
      handlers:
        modules: { net: { type: net }, dns: { type: dns } }
EOC
timeout -k 5 120 "$AGENT" --config "$tmp/c.yaml" --admin-api -l 127.0.0.1 -p $PORT \
    --ring-size 16M 2>"$tmp/log" &
pid=$!
i=0
until grep -qs "all 4 processes running" "$tmp/log" || [ $i -ge 100 ]; do
    sleep 0.1
    i=$((i + 1))
done

cat >"$tmp/p1.yaml" <<'EOC'
version: "1.0"
visor:
  policies:
    extra:
      kind: collection
      input: { tap: t, input_type: pcap }
      handlers:
        modules:
          dns_google: { type: dns, filter: { only_qname_suffix: [ ".google.com" ] } }
          net: { type: net }
EOC
post created "$tmp/p1.yaml"
expect created 200 '"extra"'
grep -q '"extra-dns_google"' "$tmp/created.out" && ok "created: policy info names its handlers" ||
    notok "created: no extra-dns_google in $(cat "$tmp/created.out")"
# The HTTP worker knows the created policy's configuration as the
# supervisor does: the input (its tap's config) and each module's filter.
python3 - "$tmp/created.out" <<'EOP' && ok "created: policy info shows its input and module config" ||
import json, sys
d = json.load(open(sys.argv[1]))["extra"]
assert d["input"]["t-extra"]["module"]["config"]["replay_pps"] > 0, d
assert d["modules"]["extra-dns_google"]["module"]["config"]["only_qname_suffix"] == [".google.com"], d
EOP
    notok "created: policy info without its configuration: $(cat "$tmp/created.out")"
sleep 0.5
code=$(curl -s -m 5 -o "$tmp/w.out" -w '%{http_code}' "$URL/api/v1/policies/extra/metrics/window/2")
expect w 200 '"extra-net"'
code=$(curl -s -m 5 -o "$tmp/list.out" -w '%{http_code}' "$URL/api/v1/policies")
expect list 200 '"extra"'
# SPEC 2's policy info: the input with its consumers, dns's periods and open transactions.
code=$(curl -s -m 5 -o "$tmp/info.out" -w '%{http_code}' "$URL/api/v1/policies/default")
expect info 200 '"consumers":2'
python3 - "$tmp/info.out" <<'EOP' && ok "info: dns metrics.periods and dns.xact.open" || notok "info: $(cat "$tmp/info.out")"
import json, sys
d = json.load(open(sys.argv[1]))["default"]["modules"]["default-dns"]
m = d["metrics"]
assert m["periods_configured"] == 5 and m["deep_sample_rate"] == 100
p = m["periods"][0]
assert p["read_only"] is False and isinstance(p["events"]["total"], int) and len(p["start_tstamp"]) == 19
assert isinstance(d["dns"]["xact"]["open"], int)
EOP

post again "$tmp/p1.yaml"
expect again 500 "policy with name 'extra' already defined"
post no_ct "$tmp/p1.yaml" ""
expect no_ct 400 "must include Content-Type header"
post json_ct "$tmp/p1.yaml" application/json
expect json_ct 400 "Content-Type not supported"
printf 'version: "1.0"\nvisor:\n  taps: {}\n' >"$tmp/none.yaml"
post none "$tmp/none.yaml"
expect none 500 "no policies found in schema"
printf 'version: "1.0"\nvisor:\n  policies:\n    bad:\n      kind: collection\n      input: { tap: nosuch, input_type: pcap }\n      handlers:\n        modules: { n: { type: net } }\n' >"$tmp/notap.yaml"
post notap "$tmp/notap.yaml"
expect notap 500 "tap 'nosuch' does not exist"
printf 'version: "1.0"\nvisor:\n  policies:\n    bad2:\n      kind: collection\n      input: { tap: t, input_type: pcap }\n      handlers:\n        modules: { n: { type: nosuchtype } }\n' >"$tmp/notype.yaml"
post notype "$tmp/notype.yaml"
expect notype 500 "requires stream handler type 'nosuchtype' which is not available"
printf 'version: "1.0"\nvisor:\n  policies:\n    bad3:\n      kind: collection\n      input: { tap: t, input_type: pcap, filter: { bpf: "port port" } }\n      handlers:\n        modules: { n: { type: net } }\n' >"$tmp/badbpf.yaml"
post badbpf "$tmp/badbpf.yaml"
expect badbpf 500 "policy [bad3] failed to start"
printf 'version: "1.0"\nvisor: [ unclosed\n' >"$tmp/broken.yaml"
post broken "$tmp/broken.yaml"
expect broken 500 '"error"'
code=$(curl -s -m 5 -o "$tmp/bad3.out" -w '%{http_code}' "$URL/api/v1/policies/bad3")
expect bad3 404 "policy does not exists"

code=$(curl -s -m 10 -o "$tmp/del.out" -w '%{http_code}' -X DELETE "$URL/api/v1/policies/extra")
expect del 200 "{}"
code=$(curl -s -m 10 -o "$tmp/del2.out" -w '%{http_code}' -X DELETE "$URL/api/v1/policies/extra")
expect del2 404 "policy does not exists"
code=$(curl -s -m 5 -o "$tmp/gone.out" -w '%{http_code}' "$URL/api/v1/policies/extra/metrics/window/2")
expect gone 404 "policy does not exist"
sleep 0.3
if pgrep -P "$(pgrep -P $pid -f 'pktvisord: supervisor' || echo $pid)" -f 'aggregator extra-' >/dev/null ||
    pgrep -f "aggregator extra-" | grep -q .; then
    notok "deleted policy's aggregators still running"
else
    ok "deleted policy's aggregators are gone"
fi
post recreate "$tmp/p1.yaml"
expect recreate 200 '"extra"'

# The default policy, undisturbed: equal to pktvisor-pcap once the file ended.
i=0
until grep -qs "aggregator default-dns: finished" "$tmp/log" || [ $i -ge 300 ]; do
    sleep 0.1
    i=$((i + 1))
done
curl -s -m 5 "$URL/api/v1/policies/default/metrics/window/5" >"$tmp/def.json"
"$PCAP" -H "$HOSTS" "$FILE" >"$tmp/pcap.json" 2>/dev/null
if python3 - "$tmp/def.json" "$tmp/pcap.json" <<'EOP'; then
import json, sys
a = json.load(open(sys.argv[1]))["default"]
b = json.load(open(sys.argv[2]))["5m"]
ok = True
for inst, key in (("default-net", "packets"), ("default-dns", "dns")):
    x = a[inst][key]
    x.pop("agent", None)
    if x != b[key]:
        print(f"# {inst} differs from pktvisor-pcap's {key}")
        ok = False
sys.exit(0 if ok else 1)
EOP
    ok "default policy's counts equal pktvisor-pcap's"
else
    notok "default policy's counts differ from pktvisor-pcap's"
fi

code=$(curl -s -m 10 -o "$tmp/stop.out" -w '%{http_code}' -X DELETE "$URL/api/v1/server")
[ "$code" = 200 ] && ok "DELETE /api/v1/server: 200" || notok "DELETE /api/v1/server: $code"
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
if kill -0 "$pid" 2>/dev/null; then
    notok "agent still running after DELETE /api/v1/server"
else
    wait "$pid"
    rc=$?
    pid=
    [ $rc -eq 0 ] && ok "agent exited 0" || notok "agent exited $rc"
fi
[ $fail -eq 0 ] || sed 's/^/#   /' "$tmp/log"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
