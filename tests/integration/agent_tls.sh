#!/bin/sh
# pktvisord --tls (SPEC 1.1): HTTPS with a certificate made here (openssl
# req), on an agent replaying a fixture capture:
#  - curl --cacert fetches /api/v1/metrics/app and a policy's window; curl
#    without the CA refuses the certificate;
#  - plain HTTP on the port gets no HTTP answer, and HTTPS goes on;
#  - the key readable by root only (the HTTP worker loads it before its
#    privilege drop), given by relative paths to a daemon (-d, which
#    chdirs to /);
#  - --tls without --tls-cert/--tls-key, a missing file, a key not
#    matching the certificate, an encrypted key: the message and exit 1,
#    nothing listening.
# Root only (the children's privilege drop); needs curl, openssl, python3
# (exit 77 without them).  Ports 11920-11929.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
AGENT="$top_builddir/pktvisord"
FILE="$top_srcdir/tests/fixtures/dns_udp_tcp_random.pcap"
case $AGENT in /*) ;; *) AGENT="$(pwd)/$AGENT" ;; esac
case $FILE in /*) ;; *) FILE="$(pwd)/$FILE" ;; esac
PORT=11920      # the HTTPS agent
PORT_D=11921    # the daemon
PORT_FAIL=11922 # agents that must not start
. "$top_srcdir/tests/integration/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP not root"; exit 77; }
for tool in curl openssl python3; do
    command -v $tool >/dev/null 2>&1 || { echo "1..0 # SKIP $tool not found"; exit 77; }
done
tmp=$(mktemp -d /tmp/pv-tls.XXXXXX)
pid="" dpid=""
stop() { # stop PID: SIGTERM, then its exit status in $st
    st=""
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    st=$?
}
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "$dpid" ] && kill -TERM "$dpid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; fail=1; }

# Certificates: ours, another one (its key does not match ours), and our
# key encrypted.
mkcert() { # mkcert NAME
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$tmp/$1.key" -out "$tmp/$1.crt" >/dev/null 2>&1
}
mkcert ours && mkcert other &&
    openssl pkey -in "$tmp/ours.key" -aes128 -passout pass:secret -out "$tmp/enc.key" ||
    { echo "Bail out! openssl cannot make certificates"; exit 99; }
chmod 600 "$tmp/ours.key"

file_tap_config "$tmp/c.yaml" "$FILE" "net: { type: net }"
version: "1.0"
visor:
  taps:
    t:
      input_type: pcap
      config: { pcap_file: "$FILE", host_spec: "192.168.0.0/24" }
  policies:
    default:
      kind: collection
      input: { tap: t, input_type: pcap }
      handlers:
        modules: { net: { type: net } }
EOC

# https PORT PATH [curl options]: the body on stdout, curl's status.
https() {
    p=$1 path=$2
    shift 2
    curl -sS --max-time 5 --resolve "localhost:$p:127.0.0.1" "$@" "https://localhost:$p$path"
}
wait_https() { # wait_https PORT: until the agent answers (10 s)
    i=0
    while [ $i -lt 100 ]; do
        https "$1" /api/v1/metrics/app --cacert "$tmp/ours.crt" >/dev/null 2>&1 && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# --- an agent serving HTTPS ----------------------------------------------
timeout 60 "$AGENT" --tls --tls-cert "$tmp/ours.crt" --tls-key "$tmp/ours.key" \
    --config "$tmp/c.yaml" -l 127.0.0.1 -p $PORT --ring-size 16M 2>"$tmp/log" &
pid=$!
if wait_https $PORT; then ok "HTTPS answered"; else notok "no HTTPS answer"; fi
https $PORT /api/v1/metrics/app --cacert "$tmp/ours.crt" >"$tmp/app.json" 2>"$tmp/curl.err"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["app"]["version"]=="3.3.0" else 1)' \
    "$tmp/app.json" 2>/dev/null && ok "/api/v1/metrics/app over HTTPS" ||
    notok "/api/v1/metrics/app over HTTPS: $(cat "$tmp/app.json" "$tmp/curl.err")"
code=$(https $PORT /api/v1/policies/default/metrics/window/2 --cacert "$tmp/ours.crt" \
    -o "$tmp/w.json" -w '%{http_code}' 2>/dev/null)
[ "$code" = 200 ] && grep -q '"default-net"' "$tmp/w.json" && ok "a policy's window over HTTPS" ||
    notok "policy window over HTTPS: status $code"
ver=$(https $PORT /api/v1/metrics/app --cacert "$tmp/ours.crt" -o /dev/null -w '%{ssl_verify_result}' 2>/dev/null)
[ "$ver" = 0 ] && ok "certificate verified by curl" || notok "certificate verification: $ver"

https $PORT /api/v1/metrics/app >/dev/null 2>&1
rc=$?
[ $rc -eq 60 ] && ok "curl without the CA refuses the certificate" ||
    notok "curl without the CA: exit $rc, want 60"
https $PORT /api/v1/metrics/app --cacert "$tmp/other.crt" >/dev/null 2>&1
rc=$?
[ $rc -eq 60 ] && ok "curl trusting another certificate refuses it" ||
    notok "curl with another CA: exit $rc, want 60"
curl -s --max-time 5 --tls-max 1.1 --resolve "localhost:$PORT:127.0.0.1" --cacert "$tmp/ours.crt" \
    "https://localhost:$PORT/api/v1/metrics/app" >/dev/null 2>&1
rc=$?
[ $rc -ne 0 ] && ok "TLS 1.1 refused (curl exit $rc)" || notok "TLS 1.1 accepted"

# Plain HTTP: no HTTP answer, closed promptly.
t0=$(date +%s)
curl -s --max-time 8 -o "$tmp/plain.out" -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/metrics/app" \
    >"$tmp/plain.code" 2>/dev/null
rc=$?
t1=$(date +%s)
if [ $rc -ne 0 ] && [ "$(cat "$tmp/plain.code")" = 000 ] && [ $((t1 - t0)) -lt 5 ]; then
    ok "plain HTTP refused (curl exit $rc, $((t1 - t0)) s)"
else
    notok "plain HTTP: curl exit $rc, status $(cat "$tmp/plain.code"), $((t1 - t0)) s"
fi
! grep -q '"app"' "$tmp/plain.out" 2>/dev/null && ok "no metrics in clear text" ||
    notok "metrics served in clear text"
https $PORT /api/v1/metrics/app --cacert "$tmp/ours.crt" >/dev/null 2>&1 &&
    ok "HTTPS still served after plain HTTP" || notok "HTTPS not served after plain HTTP"
grep -q 'listening on 127.0.0.1:11920 (HTTPS)' "$tmp/log" && ok "start-up log says HTTPS" ||
    notok "start-up log: $(grep listening "$tmp/log")"
stop "$pid"
pid=""
[ "$st" = 0 ] && ok "SIGTERM: exit 0" || notok "SIGTERM: exit $st"

# --- a daemon given relative paths ----------------------------------------
(cd "$tmp" && "$AGENT" -d --pid-file "$tmp/d.pid" --log-file "$tmp/d.log" --tls \
    --tls-cert ours.crt --tls-key ours.key --config c.yaml -l 127.0.0.1 -p $PORT_D \
    --ring-size 16M >/dev/null 2>&1)
rc=$?
dpid=$(cat "$tmp/d.pid" 2>/dev/null)
if [ $rc -eq 0 ] && wait_https $PORT_D; then
    ok "daemon with relative certificate paths serves HTTPS"
else
    notok "daemon with relative paths: exit $rc; $(sed -n '1,20p' "$tmp/d.log" 2>/dev/null)"
fi
if [ -n "$dpid" ]; then
    kill -TERM "$dpid" 2>/dev/null
    i=0
    while kill -0 "$dpid" 2>/dev/null && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -0 "$dpid" 2>/dev/null && notok "daemon still running" && kill -KILL "$dpid"
    dpid=""
fi

# --- configurations that must not start -----------------------------------
expect_fail() { # expect_fail NAME MESSAGE ARGS...
    name=$1 msg=$2
    shift 2
    timeout 10 "$AGENT" "$@" --config "$tmp/c.yaml" -l 127.0.0.1 -p $PORT_FAIL \
        --ring-size 16M >"$tmp/out" 2>&1
    rc=$?
    if [ $rc -eq 1 ] && grep -qF "$msg" "$tmp/out"; then
        ok "$name: exit 1, \"$(grep -F "$msg" "$tmp/out" | head -1 | sed 's/^.*\]: *//')\""
    else
        notok "$name: exit $rc, want 1 and \"$msg\"; output: $(head -5 "$tmp/out")"
    fi
    curl -s --max-time 2 -k "https://127.0.0.1:$PORT_FAIL/" >/dev/null 2>&1
    [ $? -eq 7 ] || notok "$name: something listens on $PORT_FAIL"
}
need="you must specify --tls-key and --tls-cert to use --tls"
expect_fail "--tls alone" "$need" --tls
expect_fail "--tls without --tls-key" "$need" --tls --tls-cert "$tmp/ours.crt"
expect_fail "--tls without --tls-cert" "$need" --tls --tls-key "$tmp/ours.key"
bad="invalid TLS configuration"
expect_fail "missing certificate" "$bad: $tmp/none.crt: No such file or directory" \
    --tls --tls-cert "$tmp/none.crt" --tls-key "$tmp/ours.key"
expect_fail "missing key" "$bad: $tmp/none.key: No such file or directory" \
    --tls --tls-cert "$tmp/ours.crt" --tls-key "$tmp/none.key"
expect_fail "key of another certificate" "$bad: private key $tmp/other.key does not match" \
    --tls --tls-cert "$tmp/ours.crt" --tls-key "$tmp/other.key"
expect_fail "encrypted key" "$bad: $tmp/enc.key: the private key is encrypted" \
    --tls --tls-cert "$tmp/ours.crt" --tls-key "$tmp/enc.key"
expect_fail "key as certificate" "$bad: $tmp/ours.key: no PEM certificate" \
    --tls --tls-cert "$tmp/ours.key" --tls-key "$tmp/ours.key"

[ $fail -eq 0 ] || sed 's/^/#   /' "$tmp/log"
exit $fail
