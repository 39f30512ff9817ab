# lib.sh - what the agent's integration scripts share (sourced, POSIX sh):
#   . "$top_srcdir/tests/integration/lib.sh"
#   agent_tests_begin TOOL...
# skips the script (exit 77) unless it runs as root (pktvisord's children
# drop privileges) and every TOOL is installed; then sets $tmp (a directory
# removed at exit, after the agent whose pid is in $agent_pid, if any, got
# SIGTERM), pass=0 fail=0, and defines ok, not_ok and check.

# The counters ok and not_ok keep, defined even for scripts that do not
# call agent_tests_begin (set -u).
pass=${pass:-0} fail=${fail:-0}

agent_tests_begin() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "# skipped: pktvisord's privilege separation needs root"
        exit 77
    fi
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || {
            echo "# skipped: $tool not found"
            exit 77
        }
    done
    tmp=$(mktemp -d)
    agent_pid=""
    pass=0 fail=0
    trap agent_tests_cleanup EXIT
    trap 'exit 130' INT TERM
}

agent_tests_cleanup() {
    if [ -n "$agent_pid" ]; then
        kill -TERM "$agent_pid" 2>/dev/null
        wait "$agent_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}

ok() {
    pass=$((pass + 1))
    echo "ok - $*"
}

not_ok() {
    fail=$((fail + 1))
    echo "not ok - $*"
}

check() { # check NAME CMD...: ok when CMD succeeds
    name=$1
    shift
    if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# file_tap_config OUT FILE MODULES: a configuration with tap t replaying
# FILE (host_spec 192.168.0.0/24, the fixtures' clients) and the policy
# "default" with MODULES (the inside of handlers.modules, e.g.
# "net: { type: net }"); more policies may be appended to OUT.
file_tap_config() {
    cat >"$1" <<EOC
version: "1.0"
visor:
  taps:
    t:
      input_type: pcap
      config: { pcap_file: "$2", host_spec: "192.168.0.0/24" }
  policies:
    default:
      kind: collection
      input: { tap: t, input_type: pcap }
      handlers:
        modules: { $3 }
EOC
}
