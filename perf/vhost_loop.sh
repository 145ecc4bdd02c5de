#!/usr/bin/env bash
# The vhost-user loop of DESIGN.md: a dpdk-testpmd generator with two virtio_user ports on one
# core, the switch under test with two vhost-user ports on the other, 64-byte UDP frames that
# circulate (testpmd `mac` forwarding rewrites MACs so a learning bridge sees stable hosts).
#
#   perf/vhost_loop.sh CASE [SECONDS]      CASE: testpmd | vswitchd
# Prints one line: `CASE mpps=X` (median of the per-second samples after warm-up).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
case_name=${1:?usage: vhost_loop.sh testpmd|vswitchd [seconds]}
secs=${2:-10}
warmup=3
gen_cpu=0
sw_cpu=1
work=$(mktemp -d /tmp/vs-perf.XXXXXX)
MAC0=02:00:00:00:01:00
MAC1=02:00:00:00:01:01

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -f "$work/state/vswitchd.pid" ]; then kill "$(cat "$work/state/vswitchd.pid")" 2>/dev/null || true; sleep 1; fi
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

start_switch() {
  case "$case_name" in
    testpmd)
      # The ceiling: testpmd io-forwarding between the two vhost-user ports.
      dpdk-testpmd -l "$gen_cpu,$sw_cpu" --main-lcore "$gen_cpu" --in-memory --no-pci --file-prefix "sw$$" \
        --vdev "net_vhost0,iface=$work/v0.sock,queues=1" \
        --vdev "net_vhost1,iface=$work/v1.sock,queues=1" \
        --log-level=lib.vhost.config:warning \
        -- --forward-mode=io --nb-cores=1 --auto-start --stats-period 100 \
        >"$work/switch.log" 2>&1 &
      pids+=($!)
      ;;
    vswitchd)
      "$root/target/release/vswitchd" --socket "$work/vs.sock" --state-dir "$work/state" \
        --lcores "$sw_cpu"
      local vsctl="$root/target/release/vsctl --socket $work/vs.sock"
      $vsctl network add bench
      $vsctl port add v0 --type vhost-user --path "$work/v0.sock" --network bench
      $vsctl port add v1 --type vhost-user --path "$work/v1.sock" --network bench
      ;;
    *) echo "vhost_loop: unknown case $case_name" >&2; exit 2 ;;
  esac
  for _ in $(seq 50); do [ -S "$work/v0.sock" ] && [ -S "$work/v1.sock" ] && return; sleep 0.1; done
  echo "vhost_loop: $case_name did not create its vhost-user sockets" >&2
  cat "$work/switch.log" 2>/dev/null >&2 || true
  exit 1
}

start_switch
# Interactive testpmd: `start tx_first 32` puts 32 bursts per port in flight, then one stats
# sample per second (testpmd reports the rate since the previous `show port stats`).
{
  sleep 2
  echo "start tx_first 32"
  for _ in $(seq $((warmup + secs))); do sleep 1; echo "show port stats all"; done
  echo "stop"
  echo "quit"
} | dpdk-testpmd -l "$sw_cpu,$gen_cpu" --main-lcore "$sw_cpu" --in-memory --single-file-segments \
  --no-pci --file-prefix "gen$$" \
  --vdev "net_virtio_user0,path=$work/v0.sock,queues=1,mac=$MAC0" \
  --vdev "net_virtio_user1,path=$work/v1.sock,queues=1,mac=$MAC1" \
  -- -i --forward-mode=mac --eth-peer=0,$MAC1 --eth-peer=1,$MAC0 --nb-cores=1 \
     --txpkts=64 --burst=32 --txd=1024 --rxd=1024 \
  >"$work/gen.log" 2>&1
python3 "$here/parse_testpmd.py" --skip "$warmup" --label "$case_name" <"$work/gen.log"
