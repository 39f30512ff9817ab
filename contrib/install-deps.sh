#!/bin/sh
# Install what building and testing pktvisor-c needs on Debian 12 (as root).
# Usage: contrib/install-deps.sh [--test]   (--test adds the test tools)
set -eu
build="build-essential autoconf automake libtool pkg-config
       libpcap-dev libmaxminddb-dev libcjson-dev libyaml-dev libconfig-dev libevent-dev libssl-dev libncurses-dev"
test="libcmocka-dev tshark tcpdump valgrind clang libclang-rt-14-dev mmdb-bin iproute2 python3 curl util-linux procps openssl python3-yaml prometheus tmux unbound dnsperf"
pkgs=$build
[ "${1:-}" = "--test" ] && pkgs="$build $test"

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    # tshark asks whether non-root users may capture; answer no.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
fi
