#!/usr/bin/env bash
# Pipeline-only benchmark: vswitchd forwards between net_pcap ports that replay a capture in a
# loop (infinite_rx=1) and drop what is sent to them, so no generator shares the cores and the
# rate is the switch's own cost. Each worker gets one network of two pcap ports (A->B and B->A
# frames over PAIRS MAC pairs).
#
#   perf/pipeline_only.sh WORKERS PAIRS SIZE [SECONDS [FRAMES]]
# FRAMES (default max(1024, PAIRS)) frames per capture; give every case of a sweep the same
# count so that they differ only in the MAC pairs, not in the capture's memory footprint.
# Prints one line: `pipeline workers=W pairs=P size=S mpps=X gbps=Y`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
workers=${1:?usage: pipeline_only.sh WORKERS PAIRS SIZE [SECONDS]}
pairs=${2:?}
size=${3:?}
secs=${4:-5}
frames=${5:-$(( pairs > 1024 ? pairs : 1024 ))}
work=$(mktemp -d /tmp/vs-pipe.XXXXXX)
cleanup() {
  if [ -f "$work/state/vswitchd.pid" ]; then
    kill "$(cat "$work/state/vswitchd.pid")" 2>/dev/null || true
    for _ in $(seq 50); do [ -f "$work/state/vswitchd.pid" ] || break; sleep 0.1; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

python3 "$here/gen_pcap.py" "$work/t" "$pairs" "$size" "$frames"
if [ "$workers" = 1 ]; then lcores=1; else lcores=0-$((workers - 1)); fi
# net_pcap holds the whole capture in mbufs: size the pool for both sides of every worker.
mbufs=$(( 65535 + 2 * workers * frames ))
"$root/target/release/vswitchd" --socket "$work/vs.sock" --state-dir "$work/state" --lcores "$lcores" \
  --mbufs "$mbufs"
vsctl="$root/target/release/vsctl --socket $work/vs.sock"
# Ports in queue order: worker w polls a$w and b$w.
for w in $(seq 0 $((workers - 1))); do
  $vsctl network add "n$w" --mac-limit $((pairs * 2 + 16))
done
for side in a b; do
  for w in $(seq 0 $((workers - 1))); do
    $vsctl port add "$side$w" --type vdev --network "n$w" \
      --devargs "net_pcap_${side}$w,rx_pcap=$work/t.$side.pcap,infinite_rx=1"
  done
done
tx_total() {
  $vsctl --json stats show | python3 -c 'import json,sys; print(sum(p["tx_packets"] for p in json.load(sys.stdin)["ports"]))'
}
sleep 2
t0=$(date +%s.%N); c0=$(tx_total)
sleep "$secs"
t1=$(date +%s.%N); c1=$(tx_total)
python3 - "$t0" "$t1" "$c0" "$c1" "$workers" "$pairs" "$size" <<'PY'
import sys
t0, t1, c0, c1 = map(float, sys.argv[1:5])
w, p, s = sys.argv[5:8]
pps = (c1 - c0) / (t1 - t0)
print(f"pipeline workers={w} pairs={p} size={s} mpps={pps / 1e6:.2f} gbps={pps * int(s) * 8 / 1e9:.2f}")
PY
