#!/bin/sh
# Hostile HTTP clients against a running agent (httpd/httpd_server.h's
# limits; pktvisord(8), REST API).  The agent (--admin-api) replays
# dns_udp_tcp_random.pcap from a pcap_file tap into a "default" policy and
# keeps serving once the file has ended.  Then:
# - request line + headers over 8 KiB (one big header, 1500 small ones, a
#   100 KiB path) get a 4xx and the connection closed (a 4 KiB method
#   name: 4xx or 501);
# - bodies over 64 KiB on POST /api/v1/policies (plain, chunked, announced
#   by Content-Length or a chunk size but never sent, with Expect:
#   100-continue): 413 at once; a 60 KiB body is read (the admin API's
#   own answer, not 413);
# - methods: PUT, PATCH, OPTIONS, TRACE get 404 with an empty body (the
#   documented answer to any other method); unknown tokens (FOO, PROPFIND,
#   get) get a 4xx/5xx (evhttp: 501), never 2xx;
# - malformed paths (%00, %2F, //, .., a 7 KiB name, a 4000-digit bucket,
#   bytes 0xff, "*"): 404 or another 4xx, never 200; a query string or a
#   fragment is ignored (200) and %30 may be taken for "0";
# - garbage bytes, HTTP/0.9, a NUL in the request line, HTTP/9.9,
#   Content-Length with Transfer-Encoding (the request smuggled after it is
#   not answered), bad chunk sizes: a 4xx or a close, never 200; 100
#   pipelined requests get 100 answers in order;
# - 1000 idle connections held open (python3 sockets, opened in batches of
#   100 so that the listen backlog drains) while a normal client gets 200
#   within 2 s; the deadline (10 s from accept) then closes every one;
# - a request dribbled one byte per 100 ms (which an inactivity timer alone
#   would never cut) is closed by the deadline between 9 and 12.5 s;
# - afterwards the HTTP worker is the same process (pid unchanged: no
#   crash), its VmRSS and VmHWM stayed under 64 MiB above its VmRSS at
#   start (taken once every read route was served: rendering maps the
#   snapshots), the agent logged no crash, and a request still gets 200.
#
# Runs as root only (the agent's children drop privileges); exit 77 (skip)
# otherwise, or without curl, python3, pgrep or timeout.  Port 11945.
# Every client has a timeout and the agent runs under timeout(1).
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
AGENT="$top_builddir/pktvisord"
FILE="$top_srcdir/tests/fixtures/dns_udp_tcp_random.pcap"
PORT=11945
URL="http://127.0.0.1:$PORT"
RSS_MAX_KB=65536

. "$top_srcdir/tests/integration/lib.sh"
agent_tests_begin curl python3 pgrep timeout
# tally FILE: print FILE (ok / not ok lines of a python3 part) and count them.
tally() {
    cat "$1"
    pass=$((pass + $(grep -c '^ok - ' "$1")))
    fail=$((fail + $(grep -c '^not ok - ' "$1")))
}
finish() {
    if [ $fail -ne 0 ]; then
        echo "# agent log:"
        grep -v 'REQUEST: ' "$tmp/log" | sed 's/^/#   /' | tail -n 20
    fi
    echo "$pass passed, $fail failed"
    [ $fail -eq 0 ] && exit 0
    exit 1
}
# status VALUE KEY: a line KEY of /proc/PID/status in kB ("" if none).
status() {
    sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status" 2>/dev/null
}

file_tap_config "$tmp/c.yaml" "$FILE" "net: { type: net }, dns: { type: dns }"
timeout -k 5 180 "$AGENT" --config "$tmp/c.yaml" --admin-api -l 127.0.0.1 -p $PORT \
    --ring-size 16M >"$tmp/log" 2>&1 &
agent_pid=$!
i=0
until grep -qs "all 4 processes running" "$tmp/log"; do
    i=$((i + 1))
    if [ $i -ge 100 ] || ! kill -0 "$agent_pid" 2>/dev/null; then
        not_ok "agent started"
        finish
    fi
    sleep 0.1
done
sup=$(pgrep -P "$agent_pid" -f 'pktvisord: supervisor')
httpd=$(pgrep -P "${sup:-0}" -f 'pktvisord: httpd')
if [ -n "$httpd" ]; then
    ok "agent started: supervisor $sup, httpd $httpd"
else
    not_ok "agent started, but no httpd child found (supervisor '$sup')"
    finish
fi
# The baseline once every route has been served once: rendering maps the
# aggregators' snapshots (shared memory, about 20 MiB here, counted in
# VmRSS as RssShmem), which is not what hostile clients may grow.
for path in /api/v1/metrics/app /api/v1/policies/default/metrics/bucket/0 \
    /api/v1/policies/default/metrics/window/5 /api/v1/metrics/window/5 /metrics; do
    code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$URL$path")
    [ "$code" = 200 ] && ok "GET $path: 200" || not_ok "GET $path: $code"
done
rss0=$(status "$httpd" VmRSS)
anon0=$(status "$httpd" RssAnon)
echo "# httpd at start: VmRSS $rss0 kB, RssAnon $anon0 kB, RssShmem $(status "$httpd" RssShmem) kB"

# The raw-socket cases: one python3 program, ok / not ok lines.
cat >"$tmp/raw.py" <<'EOF'
import os, re, socket, sys, time

PORT = int(sys.argv[1])
STATUS = re.compile(rb"^HTTP/1\.[01] (\d{3})")

def report(good, what):
    print(("ok - " if good else "not ok - ") + what)

def exchange(data, timeout=5.0, shut=False):
    """Send data, read until the server closes (or timeout).  Returns
    (statuses of every response, body of the first, seconds, closed)."""
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    out, closed, t0 = b"", False, time.time()
    try:
        try:
            s.sendall(data)
            if shut:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        while time.time() - t0 < timeout:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not b:
                closed = True
                break
            out += b
    finally:
        s.close()
    # (A JSON body ends without a newline: the next status line follows it.)
    codes = [int(m) for m in re.findall(rb"HTTP/1\.[01] (\d{3}) ", out)]
    body = out.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in out else b""
    return codes, body, time.time() - t0, closed

def req(method, path, headers=(), body=b"", close=True):
    h = b"%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % (method, path)
    for k, v in headers:
        h += b"%s: %s\r\n" % (k, v)
    if close:
        h += b"Connection: close\r\n"
    return h + b"\r\n" + body

APP = b"/api/v1/metrics/app"
YAML = (b"Content-Type", b"application/x-yaml")

# Oversized request line and headers: a 4xx and the connection closed.
for what, data in (
    ("one 9000-byte header", req(b"GET", APP, [(b"X-Big", b"a" * 9000)])),
    ("1500 small headers (> 8 KiB)", req(b"GET", APP, [(b"H%d" % i, b"v") for i in range(1500)])),
    ("a 100 KiB path", req(b"GET", b"/api/v1/policies/" + b"a" * 100000)),
    ("a 4 KiB method name", req(b"X" * 4096, APP)),
):
    codes, _, t, closed = exchange(data)
    report(len(codes) == 1 and (400 <= codes[0] < 500 or codes[0] == 501) and closed and t < 3,
           "%s: %s, closed %s after %.2f s" % (what, codes, closed, t))

# Bodies over 64 KiB: 413 at once; a 60 KiB body is read.
big = b"#" + b"x" * 70000 + b"\n"
chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(big), big)
for what, data in (
    ("a 70 KiB body", req(b"POST", b"/api/v1/policies", [YAML, (b"Content-Length", b"%d" % len(big))], big)),
    ("a 70 KiB chunked body", req(b"POST", b"/api/v1/policies", [YAML, (b"Transfer-Encoding", b"chunked")], chunked)),
    ("Content-Length 100000, no body sent", req(b"POST", b"/api/v1/policies", [YAML, (b"Content-Length", b"100000")])),
    ("Expect: 100-continue, Content-Length 1000000", req(b"POST", b"/api/v1/policies", [YAML, (b"Expect", b"100-continue"), (b"Content-Length", b"1000000")])),
    ("a chunk size of 2^64-1", req(b"POST", b"/api/v1/policies", [YAML, (b"Transfer-Encoding", b"chunked")], b"FFFFFFFFFFFFFFFF\r\n")),
    ("Content-Length 99999999999999999999", req(b"POST", b"/api/v1/policies", [YAML, (b"Content-Length", b"99999999999999999999")])),
):
    codes, _, t, closed = exchange(data)
    report(codes == [413] and t < 3, "%s: %s after %.2f s" % (what, codes, t))
small = b"".join(b"# %s\n" % (b"c" * 76) for _ in range(780)) + b'version: "1.0"\nvisor:\n  taps: {}\n'
codes, body, t, _ = exchange(req(b"POST", b"/api/v1/policies", [YAML, (b"Content-Length", b"%d" % len(small))], small))
report(codes == [500] and b"no policies found in schema" in body,
       "a %d-byte body is read: %s %r" % (len(small), codes, body[:60]))

# Methods: evhttp's known ones reach the router (404, empty body); unknown
# tokens are evhttp's to refuse (4xx/5xx), never 2xx.
for m in (b"PUT", b"PATCH", b"OPTIONS", b"TRACE"):
    codes, body, _, _ = exchange(req(m, APP))
    report(codes == [404] and body == b"", "%s %s: %s, body %r" % (m.decode(), APP.decode(), codes, body[:40]))
for m in (b"FOO", b"PROPFIND", b"get", b"G\x01T"):
    codes, _, _, closed = exchange(req(m, APP))
    report(len(codes) <= 1 and all(400 <= c < 600 for c in codes) and (codes or closed),
           "method %r: %s" % (m, codes or "closed"))

# Malformed paths: 404, never 200.
for p in (b"/api/v1/metrics/app%00", b"/%00", b"/api/v1/metrics%2Fapp", b"//api/v1/metrics/app",
          b"/api/v1/../v1/metrics/app", b"/api/v1/metrics/bucket/0%00", b"/api/v1/metrics/bucket/../bucket/0",
          b"/api/v1/policies/..%2F..%2Fetc%2Fpasswd/metrics/bucket/0",
          b"/api/v1/policies/" + b"a" * 7000 + b"/metrics/bucket/0", b"/api/v1/metrics/bucket/" + b"9" * 4000,
          b"/api/v1/metrics/window/-1", b"/\xff\xfe", b"*"):
    codes, _, _, closed = exchange(req(b"GET", p))
    shown = p if len(p) < 60 else p[:40] + b"...(%d bytes)" % len(p)
    good = codes == [404] or (len(codes) == 1 and 400 <= codes[0] < 500) or (not codes and closed)
    report(good and 200 not in codes, "GET %r: %s" % (shown, codes or "closed"))

# Not malformed: a query or a fragment is ignored, %30 is "0" (RFC 3986
# 2.3: either answer is right for it).
for p, want in ((b"/api/v1/metrics/app?" + b"q=" * 2000, (200,)), (b"/api/v1/metrics/app#frag", (200,)),
                (b"/api/v1/policies/default/metrics/bucket/%30", (200, 404))):
    codes, _, _, _ = exchange(req(b"GET", p))
    shown = p if len(p) < 60 else p[:40] + b"...(%d bytes)" % len(p)
    report(len(codes) == 1 and codes[0] in want, "GET %r: %s" % (shown, codes))

# Garbage and smuggling: never a 200.
for what, data in (
    ("random bytes", os.urandom(4096)),
    ("HTTP/0.9 request line", b"GET /api/v1/metrics/app\r\n\r\n"),
    ("NUL in the request line", b"GET /api/v1/metrics/app\x00 HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("HTTP/9.9", b"GET /api/v1/metrics/app HTTP/9.9\r\nHost: x\r\n\r\n"),
    ("Content-Length and Transfer-Encoding, a request smuggled after",
     b"POST /api/v1/policies HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-yaml\r\n"
     b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + req(b"GET", APP)),
    ("negative Content-Length", req(b"POST", b"/api/v1/policies", [YAML, (b"Content-Length", b"-1")])),
    ("bad chunk size", req(b"POST", b"/api/v1/policies", [YAML, (b"Transfer-Encoding", b"chunked")], b"zz\r\n")),
    ("header without a colon", b"GET /api/v1/metrics/app HTTP/1.1\r\nHost x\r\n\r\n"),
    ("empty request line", b"\r\n\r\n\r\n"),
):
    codes, _, t, closed = exchange(data, shut=True)
    report(200 not in codes and all(400 <= c < 600 for c in codes) and (codes or closed) and t < 5,
           "%s: %s" % (what, codes or "closed"))

# Pipelining stays orderly: 100 requests on one connection, 100 answers.
codes, _, _, _ = exchange(b"".join(req(b"GET", APP, close=(i == 99)) for i in range(100)))
report(codes == [200] * 100, "100 pipelined requests: %d answers, all 200: %s"
       % (len(codes), codes == [200] * 100))
EOF
timeout 120 python3 "$tmp/raw.py" $PORT >"$tmp/raw.out" 2>&1 ||
    echo "not ok - raw.py exited $? $(tail -n 3 "$tmp/raw.out")" >>"$tmp/raw.out"
tally "$tmp/raw.out"

# Curl's view of two of them (a real client's error handling).
big=$(python3 -c 'print("a" * 9000)')
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$URL/api/v1/metrics/app")
case $code in 4??) ok "curl, 9000-byte header: $code" ;; *) not_ok "curl, 9000-byte header: $code" ;; esac
python3 -c 'print("a" * 70000)' >"$tmp/big.body"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/x-yaml' \
    --data-binary "@$tmp/big.body" "$URL/api/v1/policies")
[ "$code" = 413 ] && ok "curl, POST of 70 KiB: 413" || not_ok "curl, POST of 70 KiB: $code"

# 1000 idle connections, a normal client among them, a slow sender.
cat >"$tmp/conns.py" <<'EOF'
import resource, select, socket, subprocess, sys, threading, time

PORT, N = int(sys.argv[1]), int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < N + 100:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(N + 100, hard), hard))

def report(good, what):
    print(("ok - " if good else "not ok - ") + what, flush=True)

# The slow sender: one byte per 100 ms of a request that never ends.
slow = {}
def dribble():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    s.settimeout(0.1)
    data = b"GET /api/v1/metrics/app HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 400
    t0, how, sent = time.time(), "never cut", 0
    try:
        for b in data:
            s.send(bytes([b]))
            sent += 1
            try:
                d = s.recv(4096)
                how = "closed" if not d else "answered %r" % d[:30]
                break
            except socket.timeout:
                pass
    except (BrokenPipeError, ConnectionResetError):
        how = "closed"
    slow.update(t=time.time() - t0, how=how, sent=sent)
    s.close()
th = threading.Thread(target=dribble)
th.start()

socks, t0 = [], time.time()
try:
    for i in range(N):
        s = socket.socket()
        s.settimeout(5)
        s.connect(("127.0.0.1", PORT))
        socks.append(s)
        if i % 100 == 99:
            time.sleep(0.02)  # let the server drain its listen backlog
except OSError as e:
    report(False, "opening %d connections: %s after %d" % (N, e, len(socks)))
opened = time.time() - t0
# All still open (the server has not closed any)?
for s in socks:
    s.setblocking(False)
early = 0
for s in socks:
    try:
        if s.recv(1) == b"":
            early += 1
    except BlockingIOError:
        pass
    except OSError:
        early += 1
report(len(socks) == N and early == 0,
       "%d idle connections open (in %.2f s), %d closed early" % (len(socks), opened, early))

t = time.time()
r = subprocess.run(["curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}",
                    "http://127.0.0.1:%d/api/v1/metrics/app" % PORT], capture_output=True, text=True)
dt = time.time() - t
report(r.stdout == "200" and dt < 2.0,
       "normal client among %d idle connections: %s in %.3f s" % (len(socks), r.stdout, dt))

# The deadline closes the idle ones: 10 s after their accept.
left, end = set(socks), t0 + 15
while left and time.time() < end:
    rl, _, _ = select.select(list(left)[:1000], [], [], 0.2)
    for s in rl:
        try:
            if s.recv(1) == b"":
                left.discard(s)
        except BlockingIOError:
            pass
        except OSError:
            left.discard(s)
last = time.time() - t0
report(not left, "the deadline closed %d of %d idle connections (%.1f s after the first opened)"
       % (len(socks) - len(left), len(socks), last))
for s in socks:
    s.close()

th.join(20)
report(not th.is_alive() and slow.get("how") == "closed" and 9.0 <= slow["t"] <= 12.5,
       "a request dribbled at 10 bytes/s: %s after %.2f s (%d bytes sent)"
       % (slow.get("how", "?"), slow.get("t", -1), slow.get("sent", 0)))
EOF
timeout 60 python3 "$tmp/conns.py" $PORT 1000 >"$tmp/conns.out" 2>&1 ||
    echo "not ok - conns.py exited $? $(tail -n 3 "$tmp/conns.out")" >>"$tmp/conns.out"
tally "$tmp/conns.out"

# Still the same worker, still serving, memory bounded, nothing crashed.
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$URL/api/v1/policies/default/metrics/bucket/0")
[ "$code" = 200 ] && ok "afterwards: GET .../bucket/0 200" || not_ok "afterwards: GET .../bucket/0 $code"
now=$(pgrep -P "${sup:-0}" -f 'pktvisord: httpd')
if [ "$now" = "$httpd" ] && kill -0 "$httpd" 2>/dev/null; then
    ok "httpd is still pid $httpd (no crash, no respawn)"
else
    not_ok "httpd was pid $httpd, now '$now'"
fi
rss=$(status "$httpd" VmRSS)
hwm=$(status "$httpd" VmHWM)
anon=$(status "$httpd" RssAnon)
if [ -n "$rss" ] && [ -n "$hwm" ] && [ -n "$anon" ] && [ $((hwm - rss0)) -lt $RSS_MAX_KB ] &&
    [ $((rss - rss0)) -lt $RSS_MAX_KB ]; then
    ok "httpd memory bounded: VmRSS $rss0 -> $rss kB, peak VmHWM $hwm kB, RssAnon $anon0 -> $anon kB (limit +$RSS_MAX_KB kB)"
else
    not_ok "httpd memory: VmRSS $rss0 -> '$rss' kB, VmHWM '$hwm' kB, RssAnon $anon0 -> '$anon' kB (limit +$RSS_MAX_KB kB)"
fi
crash='killed by signal|exited with status|respawning|killing it|restarting'
if grep -v 'REQUEST: ' "$tmp/log" | grep -qE "$crash"; then
    not_ok "the agent logged a crash: $(grep -v 'REQUEST: ' "$tmp/log" | grep -E "$crash" | head -n 3)"
else
    ok "no child crashed (agent log)"
fi
kill -0 "$agent_pid" 2>/dev/null && ok "agent still running" || not_ok "agent gone"

finish
