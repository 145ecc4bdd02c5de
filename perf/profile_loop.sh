#!/usr/bin/env bash
# Where the switch core's cycles go in one vhost-user loop: runs `perf/vhost_loop.sh CASE` with
# `perf record -e cpu-clock` on the switch core over the measured window and prints the loop's
# line, then cycles/packet per part (the vhost library, mbuf/mempool, the switch's own code and
# its top symbols). MODE, QUEUES and PROFILE as for vhost_loop.sh.
#
#   perf/profile_loop.sh CASE [SECONDS]      CASE: testpmd | vswitchd | ovs
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
case_name=${1:?usage: profile_loop.sh testpmd|vswitchd|ovs [seconds]}
secs=${2:-8}
command -v perf >/dev/null || { echo "profile_loop: perf is missing (bash scripts/deps.sh --bench)" >&2; exit 1; }
data=$(mktemp /tmp/vs-profile.XXXXXX)
trap 'rm -f "$data"' EXIT
# vhost_loop warms up for 3 s (plus the switch's start); sample the middle of the window.
( sleep 5; perf record -q -e cpu-clock -C 1 -o "$data" -- sleep $((secs - 3)) >/dev/null 2>&1 ) &
line=$("$here/vhost_loop.sh" "$case_name" "$secs" | tail -1)
wait
echo "$line"
mpps=$(sed -n 's/.*mpps=\([0-9.]*\).*/\1/p' <<<"$line")
hz=$(awk -F: '/cpu MHz/ {print $2 * 1e6; exit}' /proc/cpuinfo)
perf report -i "$data" --stdio --no-children --sort dso,sym -g none -t '|' 2>/dev/null |
  python3 "$here/cycle_split.py" --mpps "${mpps:-0}" --hz "$hz"
