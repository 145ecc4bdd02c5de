#!/usr/bin/env bash
# Guest-to-guest TCP throughput through a switch: two QEMU guests (vm-images/) on two
# vhost-user ports of one L2 segment, iperf3 from g1 (198.51.100.11) to g2 (198.51.100.12).
#
#   perf/guest_iperf.sh CASE [SECONDS]      CASE: vswitchd | ovs; SECONDS of iperf3 (default 10)
#
# Prints one line on stdout: `CASE gbps=X`, the receiver's throughput (iperf3 -J
# end.sum_received.bits_per_second: what reached g2's socket); progress, boot times and the
# sender's figure go to stderr. On failure: `CASE gbps=0 error=...` and a non-zero exit.
#
#   vswitchd: target/release/vswitchd --lcores 1, network n1, `vhost-user` ports v1 and v2
#             (vswitchd serves the sockets).
#   ovs:      OVS-DPDK 3.1 started by hand as perf/vhost_loop.sh does (own ovsdb-server,
#             dpdk-lcore-mask CPU 0, pmd-cpu-mask CPU 1, socket-mem 1024, --no-pci --in-memory),
#             bridge br0 (netdev datapath, NORMAL), `dpdkvhostuser` ports vhu1 and vhu2 (OVS
#             serves the sockets, in its rundir).
# In both the switch forwards on CPU 1 and the guests are QEMU clients of its sockets, TCG,
# unpinned. Guest TCP under TCG runs at tens of Mbit/s: compare the cases, not the figure.
# Needs root, hugepages and the guest image (vm-images/build.sh, run here). The EXIT trap stops
# the guests and the switch and removes the temp dir (KEEP=1 keeps it).
# Environment: VSWITCHD, VSCTL (default target/release), BOOT_TIMEOUT (s per guest, 180).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=perf/ovs_bridge.sh
. "$here/ovs_bridge.sh"
vm=$root/vm-images
usage="usage: perf/guest_iperf.sh vswitchd|ovs [SECONDS]"
case_name=${1:?$usage}
secs=${2:-10}
case "$case_name" in vswitchd|ovs) ;; *) echo "guest_iperf: unknown case '$case_name'; $usage" >&2; exit 2 ;; esac
[[ $secs =~ ^[1-9][0-9]*$ ]] || { echo "guest_iperf: SECONDS '$secs' must be a positive number" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "guest_iperf: needs root (DPDK, QEMU)" >&2; exit 2; }
VSWITCHD=${VSWITCHD:-$root/target/release/vswitchd}
VSCTL=${VSCTL:-$root/target/release/vsctl}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-180}
main_cpu=0
sw_cpu=1
G1_IP=198.51.100.11
G2_IP=198.51.100.12

t0=$(date +%s.%N)
log() { echo "guest_iperf $case_name: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%5.1f", b - a}') s: $*" >&2; }
fail() { # REASON (one word) MESSAGE
  log "FAIL: $2"
  echo "$case_name gbps=0 error=$1"
  exit 1
}

work=$(mktemp -d /tmp/vs-iperf.XXXXXX)
wait_gone() { # PID: up to 10 s, then SIGKILL
  local pid=$1
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$? p pid
  trap - EXIT INT TERM
  for g in g1 g2; do "$vm/guest-stop.sh" "$work" "$g" >/dev/null 2>&1 & done
  wait
  if [ -d "$work/ovs" ]; then
    for p in "$work"/ovs/ovs-vswitchd.pid "$work"/ovs/ovsdb-server.pid; do
      [ -f "$p" ] || continue
      pid=$(cat "$p")
      kill "$pid" 2>/dev/null && wait_gone "$pid"
    done
  fi
  if [ -f "$work/state/vswitchd.pid" ]; then
    pid=$(cat "$work/state/vswitchd.pid")
    kill "$pid" 2>/dev/null && wait_gone "$pid"
  fi
  if [ "$rc" != 0 ]; then
    for f in "$work"/g*.console.log "$work"/g*.qemu.log "$work/state/vswitchd.log" "$work/ovs/vswitchd.log"; do
      [ -s "$f" ] && { echo "--- last lines of $f" >&2; tail -n 10 "$f" >&2; }
    done
  fi
  if [ -n "${KEEP:-}" ]; then echo "guest_iperf: kept $work" >&2; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$vm/build.sh" >/dev/null || fail image "vm-images/build.sh failed"

# ---- the switch: two vhost-user sockets in one L2 segment, forwarding on CPU 1 -------------
case "$case_name" in
  vswitchd)
    [ -x "$VSWITCHD" ] && [ -x "$VSCTL" ] || fail setup "no $VSWITCHD or $VSCTL: run make build"
    "$VSWITCHD" --socket "$work/vs.sock" --state-dir "$work/state" --lcores "$sw_cpu" ||
      fail switch "vswitchd did not start"
    vs() { "$VSCTL" --socket "$work/vs.sock" "$@" >/dev/null; }
    { vs network add n1 &&
      vs port add v1 --type vhost-user --path "$work/v1.sock" --network n1 &&
      vs port add v2 --type vhost-user --path "$work/v2.sock" --network n1; } ||
      fail switch "vsctl could not add the network and the ports"
    S1=$work/v1.sock
    S2=$work/v2.sock
    ;;
  ovs)
    if [ ! -x /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk ]; then
      log "installing OVS-DPDK (scripts/deps.sh --bench)"
      bash "$root/scripts/deps.sh" --bench >&2 || fail setup "scripts/deps.sh --bench failed"
    fi
    start_ovs_bridge "$work/ovs" "$main_cpu" "$sw_cpu" vhu1 vhu2 ||
      fail switch "OVS-DPDK did not start with br0 and its ports; see $work/ovs/*.log"
    S1=$work/ovs/vhu1
    S2=$work/ovs/vhu2
    ;;
esac
for _ in $(seq 100); do [ -S "$S1" ] && [ -S "$S2" ] && break; sleep 0.1; done
[ -S "$S1" ] && [ -S "$S2" ] || fail switch "$case_name did not create its vhost-user sockets"
log "switch up"

# ---- two guests, booted at once, QEMU clients of the switch's sockets ---------------------
"$vm/run-guest.sh" --name g1 --socket "$S1" --dir "$work" --mac 52:54:00:00:00:11 \
  --ip "$G1_IP/24" >/dev/null
"$vm/run-guest.sh" --name g2 --socket "$S2" --dir "$work" --mac 52:54:00:00:00:12 \
  --ip "$G2_IP/24" >/dev/null
for g in g1 g2; do
  out=$("$vm/guest-wait.sh" "$work" "$g" "$BOOT_TIMEOUT") || fail boot "$g did not boot"
  log "$out"
done
gx() { "$vm/guest-exec.sh" "$@"; }

out=$(gx -t 30 "$work" g1 "ping -c 3 -i 0.2 -W 3 $G2_IP") || fail ping "g1 cannot ping g2: $out"
log "ping g1 -> g2: $(grep -E 'packet loss' <<<"$out")"

# What the switch offered the guest (virtio-net feature bits): checksum offload and TSO change
# how much work a TCG guest does per byte, so the figure depends on them.
feat=$(gx "$work" g1 'cat /sys/class/net/eth0/device/features' 2>/dev/null || true)
if [ ${#feat} -ge 16 ]; then
  log "g1 virtio-net features: csum=${feat:0:1} guest_csum=${feat:1:1} guest_tso4=${feat:7:1} host_tso4=${feat:11:1} mrg_rxbuf=${feat:15:1}"
fi

# One test, then the server exits (-1); its stdin is /dev/null, which iperf3 does not mind.
gx "$work" g2 "iperf3 -s -1 -B $G2_IP >/tmp/iperf-s.log 2>&1 &" >/dev/null
gx "$work" g2 'for i in $(seq 100); do netstat -ltn | grep -q ":5201 " && exit 0; sleep 0.1; done; exit 1' \
  >/dev/null || fail server "iperf3 -s in g2 is not listening on 5201: $(gx "$work" g2 'cat /tmp/iperf-s.log')"
log "iperf3 -c $G2_IP -t $secs"
gx -t $((secs + 60)) "$work" g1 "iperf3 -c $G2_IP -t $secs -J" >"$work/iperf.json" ||
  log "iperf3 -c exited non-zero (its JSON error follows if any)"
sender=$(python3 "$here/harness.py" iperf-gbps --label sender --side sender <"$work/iperf.json" 2>/dev/null |
  sed -n 's/^sender gbps=\([0-9.]*\)$/\1/p')
if ! line=$(python3 "$here/harness.py" iperf-gbps --label "$case_name" <"$work/iperf.json" 2>/dev/null); then
  log "FAIL: no throughput in iperf3's output: $(head -c 300 "$work/iperf.json")"
  echo "$line"
  exit 1
fi
retr=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_sent"].get("retransmits", "?"))' \
  <"$work/iperf.json" 2>/dev/null || echo '?')
log "receiver ${line#* gbps=} Gbit/s, sender ${sender:-?} Gbit/s, retransmits $retr"
# Frames the switch could not put in a guest's RX ring (the guest under TCG drains it slowly)
# are what TCP retransmits; both switches count them.
case "$case_name" in
  vswitchd) drops=$("$VSCTL" --socket "$work/vs.sock" --json stats show | python3 -c '
import json, sys
for p in json.load(sys.stdin).get("ports", []):
    name, d = p["name"], {k: v for k, v in p.get("drops", {}).items() if v}
    print(f"{name}: {d or 0}", end=" ")' 2>/dev/null || echo '?') ;;
  ovs) drops=$(for p in vhu1 vhu2; do printf '%s: ' "$p"; ovs-vsctl --db="unix:$work/ovs/db.sock" get interface "$p" statistics:ovs_tx_failure_drops 2>/dev/null || echo '?'; done | tr '\n' ' ') ;;
esac
log "switch drops: $drops"
echo "$line"
