#!/usr/bin/env bash
# Instructions per packet of the whole pipeline (callgrind: repeatable, unlike cycles on a shared
# VM) for the L2, routed, firewall and VXLAN cases of stage-bench. Counts what runs inside
# process_burst; the packet counts are those of each case's warm-up and one measured round.
#   perf/instructions.sh [STAGE_BENCH]
set -euo pipefail
exe=${1:-target/release/stage-bench}
command -v valgrind >/dev/null || { echo "instructions: valgrind is missing (apt-get install valgrind)" >&2; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# case name, packets through process_burst, stage-bench arguments
run() {
  local name=$1 packets=$2; shift 2
  local ir
  ir=$(valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect='*process_burst*' --toggle-collect='*run_burst*' \
         "$exe" "$@" 2>&1 >/dev/null | sed -n 's/.*Collected *: *\([0-9]*\).*/\1/p')
  awk -v n="$name" -v ir="$ir" -v p="$packets" 'BEGIN { printf "%-9s %8.1f instructions/packet\n", n, ir / p }'
}
B=1000
run l2 $((2 * B * 32)) --pairs 1 --no-routed --no-firewall --bursts $B --rounds 1
run routed $((2 * B * 32)) --only routed --bursts $B --rounds 1
# 10 000 flows opened and answered (626 bursts), then B bursts over them
run firewall $(((626 + B) * 32)) --established 10000 --bursts $B
# the remote's ARP (1), 2 learning bursts, 16 checked, then a round of L2, encap and decap
run vxlan $(((18 + 3 * B) * 32 + 1)) --only vxlan --bursts $B --rounds 1
