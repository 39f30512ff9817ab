#!/bin/bash
# pktvisor-cli against a hostile "agent": a small python3 HTTP server on
# loopback answers the metrics request, in turn, with malformed JSON,
# truncated JSON, wrong types, empty objects, control characters and a 500
# with an error body.  The client must keep running (its pid alive), show an
# error status with the last good data marked stale, and show valid data
# again when it comes.
set -u
top_builddir=${top_builddir:-.}
CLI="$top_builddir/pktvisor-cli"
PORT=11971
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root"; exit 77; }
for t in tmux curl python3; do
    command -v $t >/dev/null || { echo "skip: needs $t"; exit 77; }
done
case "$CLI" in /*) ;; *) CLI="$PWD/$CLI" ;; esac
tmp=$(mktemp -d)
sock="pktvisor-cli-bad-$$" # our own tmux server, never the user's
spid=
cleanup() {
    [ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
    tmux -L "$sock" kill-server 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fail=0 pass=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
notok() { echo "not ok - $*"; fail=$((fail + 1)); }

# The server answers the metrics path with the case named in $tmp/mode.
cat >"$tmp/server.py" <<'EOF'
import http.server, json, sys
mode_file, port = sys.argv[1], int(sys.argv[2])

def valid(total, policy="default"):
    return json.dumps({policy: {"default-net": {"packets": {
        "total": total, "deep_samples": total, "udp": total, "tcp": 0, "other_l4": 0,
        "ipv4": total, "ipv6": 0, "in": 1, "out": total - 1,
        "top_ipv4": [{"name": "10.0.0.1", "estimate": 7}]}},
        "default-dns": {"dns": {"wire_packets": {"total": 10, "filtered": 0, "replies": 5},
                                "top_qname2": [{"name": ".good.example", "estimate": 4}]}}}})

CASES = {
    "valid42": (200, valid(42)),
    "valid43": (200, valid(43)),
    "malformed": (200, '{"default": {"default-net": {"packets": {"total": 42,,,}'),
    "truncated": (200, valid(44)[:57]),
    "notjson": (200, "<html>hello</html>"),
    "empty": (200, ""),
    "emptyobj": (200, "{}"),
    "emptypolicy": (200, '{"default": {}}'),
    "policyarray": (200, '{"default": [1, 2, 3]}'),
    "toplevelarray": (200, "[[[[[[]]]]]]"),
    "deep": (200, "[" * 5000 + "]" * 5000),
    "wrongtypes": (200, json.dumps({"default": {
        "a": 5, "b": "x", "c": None, "d": [],
        "e": {"packets": {"total": "many", "udp": [1], "in": -4, "out": 1e300,
                          "deep_samples": {"x": 1}, "rates": 5,
                          "top_ipv4": {"name": "x"}, "period": "now"}},
        "f": {"dns": {"wire_packets": "x", "xact": [1],
                      "top_qname2": [1, "x", None, {"name": 5, "estimate": "a"},
                                     {"name": "neg.example", "estimate": -3},
                                     {"name": "ctl\u001b[2J\u0007.example", "estimate": 9}]}}}})),
    "error500": (500, '{"error": "boom from the test"}'),
    "plain404": (404, "no such thing"),
}

class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        if self.path == "/api/v1/metrics/app":
            code, body = 200, '{"app":{"version":"3.3.0","up_time_min":1.5}}'
        elif self.path == "/api/v1/policies":
            code, body = 200, '{"default":{},"other":{}}'
        elif self.path.startswith("/api/v1/policies/other/"):
            code, body = 200, valid(77, "other")
        else:
            mode = open(mode_file).read().strip()
            code, body = CASES[mode]
        b = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
echo valid42 >"$tmp/mode"
python3 "$tmp/server.py" "$tmp/mode" $PORT 2>"$tmp/server.log" &
spid=$!
i=0
until curl -s -m 1 -o /dev/null "http://127.0.0.1:$PORT/api/v1/metrics/app" || [ $i -ge 50 ]; do
    sleep 0.1
    i=$((i + 1))
done

screen() { tmux -L "$sock" capture-pane -p -t cli 2>/dev/null; }
wait_for() { # SECONDS FIXED-STRING
    local end=$((SECONDS + $1))
    while [ $SECONDS -le $end ]; do
        screen | grep -qF -- "$2" && return 0
        sleep 0.2
    done
    return 1
}
alive() { [ -n "$cpid" ] && [ ! -e "$tmp/rc" ] && kill -0 "$cpid" 2>/dev/null; }

# The pane's shell records the client's exit status (tmux's pane_dead_status
# is not reliable when the pty closes before the process is reaped).
tmux -L "$sock" new-session -d -s cli -x 120 -y 40 "'$CLI' -H 127.0.0.1 -p $PORT; echo \$? >$tmp/rc"
sleep 0.3
cpid=$(pgrep -P "$(tmux -L "$sock" display -p -t cli '#{pane_pid}')")
if wait_for 4 "Pkts 42 |"; then
    ok "valid data shown (pid $cpid)"
else
    notok "valid data not shown: $(screen | tail -3)"
fi

# check MODE EXPECTED-STATUS: the client survives, says so, keeps the data
check() {
    echo "$1" >"$tmp/mode"
    if wait_for 4 "$2"; then
        if alive && screen | grep -qF "STALE" && screen | grep -qF "Pkts 42 |"; then
            ok "$1: '$2', old data kept and marked stale"
        else
            notok "$1: status shown but client dead or data lost: $(screen | tail -2)"
        fi
    else
        notok "$1: no '$2' status (alive: $(alive && echo yes || echo no)): $(screen | tail -2)"
    fi
    # back to valid data between cases, so each case is seen on its own
    echo valid42 >"$tmp/mode"
    wait_for 4 "ok http://" >/dev/null
}
check malformed "bad response: not JSON"
check truncated "bad response: not JSON"
check notjson "bad response: not JSON"
check empty "bad response: not JSON"
check deep "bad response: not JSON"
check emptyobj 'no object for policy "default"'
check toplevelarray 'no object for policy "default"'
check policyarray 'no object for policy "default"'
check emptypolicy 'no handler data'
check error500 "agent error: 500 boom from the test"
check plain404 "agent error: 404 no such thing"

# Wrong types inside handlers are not an error: every bad value shows "-".
echo wrongtypes >"$tmp/mode"
if wait_for 4 "Pkts - |" && alive; then
    ok "wrongtypes: shown as '-', client alive"
else
    notok "wrongtypes: $(screen | head -3)"
fi
if screen | grep -qF "ctl?[2J?.example" && alive; then
    ok "wrongtypes: control characters replaced, bad entries skipped"
else
    notok "wrongtypes: control characters not replaced: $(screen | grep -F example)"
fi

# Valid data again.
echo valid43 >"$tmp/mode"
if wait_for 4 "Pkts 43 |" && ! screen | grep -qF STALE && alive; then
    ok "valid data shown again, not stale"
else
    notok "no recovery: $(screen | tail -2)"
fi

# p cycles through the policies (in name order, wrapping around).
tmux -L "$sock" send-keys -t cli p
if wait_for 4 "Policy: other" && wait_for 3 "Pkts 77 |"; then
    ok "p: switched to policy other"
else
    notok "p: no switch: $(screen | head -2)"
fi
tmux -L "$sock" send-keys -t cli p
if wait_for 4 "Policy: default" && wait_for 3 "Pkts 43 |"; then
    ok "p: back to policy default"
else
    notok "p: no switch back: $(screen | head -2)"
fi

# Usage errors are reported before the terminal is touched.
"$CLI" -p 0 >/dev/null 2>&1
[ $? = 2 ] && ok "invalid port: exit 2" || notok "invalid port accepted"
"$CLI" -P 'a/b' >/dev/null 2>&1
[ $? = 2 ] && ok "invalid policy name: exit 2" || notok "invalid policy name accepted"
v=$("$CLI" -version 2>&1)
case "$v" in "pktvisor-cli "*) ok "-version: $v" ;; *) notok "-version: $v" ;; esac

tmux -L "$sock" send-keys -t cli q
i=0
until [ -s "$tmp/rc" ] || [ $i -ge 50 ]; do
    sleep 0.1
    i=$((i + 1))
done
if [ -s "$tmp/rc" ]; then
    ok "q quits"
else
    notok "q did not quit"
fi
# exit status 0 (under the sanitizers: no leak, no error at exit either)
st=$(cat "$tmp/rc" 2>/dev/null)
if [ "$st" = 0 ]; then
    ok "exit status 0"
else
    notok "exit status '$st': $(screen | tail -8)"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
