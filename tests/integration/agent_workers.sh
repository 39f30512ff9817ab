#!/bin/sh
# A tap with `workers: 2` (issue 8): the same checks as agent_same_answer.sh
# (every fixture through a pcap_file tap whose reader spreads the frames
# over two rings by flow hash, against pktvisor-pcap: counters exact,
# sketches within their bounds; see its header) and agent_dns_real.sh (live
# on a veth with two capture processes in a PACKET_FANOUT group: unbound
# and dnsperf agree exactly with the merged counts, also while aggregators
# are killed; each capture received packets).  Both need root and skip
# otherwise; ports 12020-12027 and 12030.
set -u
top_srcdir=${top_srcdir:-.}
dir="$top_srcdir/tests/integration"
WORKERS=2 PORT0=12020 sh "$dir/agent_same_answer.sh"
a=$?
WORKERS=2 PORT=12030 bash "$dir/agent_dns_real.sh"
b=$?
# 77 (skipped) only when both skipped; otherwise the worse of the two.
[ $a -eq 77 ] && [ $b -eq 77 ] && exit 77
[ $a -eq 0 ] || [ $a -eq 77 ] || exit 1
[ $b -eq 0 ] || [ $b -eq 77 ] || exit 1
exit 0
