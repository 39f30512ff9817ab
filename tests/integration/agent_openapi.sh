#!/bin/sh
# The OpenAPI document against the running agent: the agent serves the same
# document as httpd/openapi.yaml; every documented route answers (with
# --admin-api) with one of the statuses documented for it, with the
# documented content type; paths next to documented ones (an extra or a
# missing segment, a trailing slash) are not routes (404).
set -u
top_srcdir=${top_srcdir:-.}
# file_tap_config (and ok), shared with the other agent scripts
. "$top_srcdir/tests/integration/lib.sh"
top_builddir=${top_builddir:-.}
AGENT="$top_builddir/pktvisord"
FILE="$top_srcdir/tests/fixtures/dns_udp_tcp_random.pcap"
PORT=11935
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root"; exit 77; }
command -v python3 >/dev/null && python3 -c 'import yaml' 2>/dev/null ||
    { echo "skip: needs python3 with yaml"; exit 77; }
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
file_tap_config "$tmp/c.yaml" "$FILE" "net: { type: net }, dns: { type: dns }, dhcp: { type: dhcp }"
timeout -k 5 120 "$AGENT" --config "$tmp/c.yaml" --admin-api -l 127.0.0.1 -p $PORT \
    --ring-size 16M 2>"$tmp/log" &
pid=$!
i=0
until grep -qs "aggregator default-dns: finished" "$tmp/log" || [ $i -ge 150 ]; do
    sleep 0.1
    i=$((i + 1))
done
python3 - "$top_srcdir/httpd/openapi.yaml" "http://127.0.0.1:$PORT" <<'EOP'
import sys, urllib.request, urllib.error, yaml

doc_path, base = sys.argv[1], sys.argv[2]
passed = failed = 0

def result(ok, what):
    global passed, failed
    print(("ok - " if ok else "not ok - ") + what)
    if ok:
        passed += 1
    else:
        failed += 1

def request(method, path, body=None, ctype=None):
    req = urllib.request.Request(base + path, data=body, method=method.upper())
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read()

source = open(doc_path, "rb").read()
st, ct, served = request("get", "/api/v1/openapi.yaml")
result(st == 200 and served == source, "the agent serves httpd/openapi.yaml as it is")
doc = yaml.safe_load(source)

POLICY = b"""version: "1.0"
visor:
  policies:
    extra:
      kind: collection
      input: { tap: t, input_type: pcap }
      handlers:
        modules: { n: { type: net } }
"""
values = {"name": "default", "period": "0", "periodCount": "2"}
last = []
for path, item in doc["paths"].items():
    for method, op in item.items():
        if method not in ("get", "post", "delete", "put", "head", "patch"):
            continue
        if path == "/api/v1/server":
            last.append((method, path, op))
            continue
        concrete = path
        for k, v in values.items():
            concrete = concrete.replace("{%s}" % k, v)
        body = ctype = None
        if method == "post":
            body, ctype = POLICY, "application/x-yaml"
        if method == "delete":
            concrete = concrete.replace("/default", "/extra")
        st, ct, data = request(method, concrete, body, ctype)
        documented = op.get("responses", {})
        ok = str(st) in documented
        want_ct = list(documented.get(str(st), {}).get("content", {}) or {})
        if ok and want_ct and data:
            ok = (ct or "").split(";")[0].strip() in [c.split(";")[0] for c in want_ct]
        result(ok, f"{method.upper()} {concrete}: {st} {ct} (documented: {sorted(documented)})")
        # Neighbours of a route are not routes.
        if method == "get" and "{" not in path:
            for odd in (concrete + "/", concrete + "/x"):
                st2, _, _ = request("get", odd)
                result(st2 == 404, f"GET {odd}: {st2}, not a route")
for method, path, op in last:
    st, ct, data = request(method, path)
    result(str(st) in op.get("responses", {}), f"{method.upper()} {path}: {st} (last)")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
EOP
rc=$?
[ $rc -eq 0 ] || sed 's/^/#   /' "$tmp/log"
exit $rc
