#!/bin/sh
# Install what is missing, build, and summarize a bundled DNS capture.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ "$(id -u)" = 0 ]; then contrib/install-deps.sh; fi
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure -q
make -s -j"$(nproc 2>/dev/null || echo 2)"
./pktvisor-pcap -H 192.168.0.0/24 tests/fixtures/dns_udp_tcp_random.pcap
