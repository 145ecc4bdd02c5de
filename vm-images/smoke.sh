#!/usr/bin/env bash
# End-to-end smoke test of vswitchd with real QEMU guests over vhost-user, runnable by hand:
#   bash vm-images/smoke.sh
# Builds the guest image if needed (vm-images/build.sh), starts vswitchd on a temp dir with one
# network and two vhost-user ports, boots two guests (198.51.100.11/24 and .12/24), pings g2
# from g1, sends a random file from g1 to g2 with nc and compares sha256 on both sides. Prints
# boot time per guest, ping RTT and transfer time; exits non-zero on the first failure. The EXIT
# trap stops both guests and vswitchd and removes the temp dir.
# Environment: VSWITCHD, VSCTL (binaries; default target/release), SIZE_MB (file size,
# default 4), BOOT_TIMEOUT (seconds per guest, default 180), KEEP=1 (keep the temp dir),
# VS_GUEST_ACCEL (tcg by default, see run-guest.sh).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
VSWITCHD=${VSWITCHD:-$REPO/target/release/vswitchd}
VSCTL=${VSCTL:-$REPO/target/release/vsctl}
SIZE_MB=${SIZE_MB:-4}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-180}

die() { echo "vm smoke: FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (DPDK, QEMU, apt)"
[ -x "$VSWITCHD" ] && [ -x "$VSCTL" ] || die "no $VSWITCHD or $VSCTL: run make build (or set VSWITCHD/VSCTL)"

W=$(mktemp -d /tmp/vm-smoke.XXXXXX)
cleanup() {
  local rc=$? pid
  for g in g1 g2; do "$HERE/guest-stop.sh" "$W" "$g" || true; done
  if [ -f "$W/state/vswitchd.pid" ]; then
    pid=$(cat "$W/state/vswitchd.pid")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  if [ "$rc" != 0 ] || [ "${KEEP:-0}" = 1 ]; then
    [ "$rc" != 0 ] && for f in "$W"/g*.console.log "$W"/g*.qemu.log "$W/state/vswitchd.log"; do
      [ -s "$f" ] && { echo "--- last lines of $f" >&2; tail -n 15 "$f" >&2; echo >&2; }
    done
  fi
  if [ "${KEEP:-0}" = 1 ]; then echo "vm smoke: kept $W"; else rm -rf "$W"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "vm smoke: interrupted" >&2; exit 130' INT TERM

vs() { "$VSCTL" --socket "$W/vs.sock" "$@"; }
gx() { "$HERE/guest-exec.sh" "$@"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", b - a}'; }

"$HERE/build.sh" >/dev/null
"$VSWITCHD" --socket "$W/vs.sock" --state-dir "$W/state" || die "vswitchd did not start; see $W/state/vswitchd.log"
vs network add n1 >/dev/null
vs port add v1 --type vhost-user --path "$W/v1.sock" --network n1 >/dev/null
vs port add v2 --type vhost-user --path "$W/v2.sock" --network n1 >/dev/null

# One guest at a time, so each boot time is that guest's alone.
for i in 1 2; do
  "$HERE/run-guest.sh" --name "g$i" --socket "$W/v$i.sock" --dir "$W" --mac "52:54:00:00:00:1$i" \
    --ip "198.51.100.1$i/24" >/dev/null
  echo "vm smoke: $("$HERE/guest-wait.sh" "$W" "g$i" "$BOOT_TIMEOUT")"
done

out=$(gx -t 30 "$W" g1 'ping -c 5 -i 0.2 -W 3 198.51.100.12') || { echo "$out" >&2; die "g1 cannot ping g2"; }
echo "vm smoke: ping g1 -> g2: $(grep -E 'packet loss' <<<"$out"), rtt min/avg/max $(sed -n 's/.*= \(.*\)/\1/p' <<<"$out")"

sum1=$(gx -t 60 "$W" g1 "dd if=/dev/urandom of=/tmp/f bs=1M count=$SIZE_MB 2>/dev/null && sha256sum /tmp/f" | cut -d' ' -f1)
[ ${#sum1} = 64 ] || die "g1 could not make a ${SIZE_MB} MB file"
# The listener's stdin must stay open: busybox nc closes the connection when its stdin ends.
gx "$W" g2 'rm -f /tmp/rx; sleep 600 | nc -l -p 5001 >/tmp/rx 2>/tmp/nc.err &' >/dev/null
gx "$W" g2 'for i in $(seq 50); do netstat -ltn | grep -q ":5001 " && exit 0; sleep 0.1; done; exit 1' ||
  die "nc in g2 is not listening on 5001"
# TCP checksum errors counted by g2's kernel: the sign of partial checksums (the guests'
# checksum offload) that the switch passed on unfinished.
csum_errors() { gx "$W" g2 "awk '/^Tcp:/ {n++} /^Tcp:/ && n == 2 {print \$NF}' /proc/net/snmp"; }
t=$(gx -t 300 "$W" g1 'a=$(cut -d" " -f1 /proc/uptime); nc -w 10 198.51.100.12 5001 </tmp/f || exit 1
  b=$(cut -d" " -f1 /proc/uptime); echo "$a $b"') ||
  die "nc from g1 to g2 failed (TCP checksum errors in g2: $(csum_errors))"
gx -t 60 "$W" g2 'for i in $(seq 300); do pidof nc >/dev/null || exit 0; sleep 0.2; done; exit 1' ||
  die "nc in g2 did not finish; received $(gx "$W" g2 'wc -c </tmp/rx') bytes, TCP checksum errors in g2: $(csum_errors)"
sum2=$(gx "$W" g2 'sha256sum /tmp/rx' | cut -d' ' -f1)
[ "$sum1" = "$sum2" ] || die "the file differs: g1 sha256 $sum1, g2 sha256 $sum2 ($(gx "$W" g2 'wc -c </tmp/rx') bytes)"
read -r a b <<<"$t"
echo "vm smoke: ${SIZE_MB} MB g1 -> g2 by nc in $(secs "$a" "$b") s ($(awk -v m="$SIZE_MB" -v a="$a" -v b="$b" 'BEGIN {d = b - a; if (d <= 0) d = 0.01; printf "%.1f", m * 8 / d}') Mbit/s), sha256 equal ($sum1)"
echo "vm smoke: vswitchd counted: $(vs --json stats show | python3 -c '
import json, sys
d = json.load(sys.stdin)
ports = d.get("ports", [])
print(", ".join("%s rx %s tx %s" % (p.get("name"), p.get("rxPackets", p.get("rx_packets")), p.get("txPackets", p.get("tx_packets"))) for p in ports) or "?")
' 2>/dev/null || echo '?')"
echo "vm smoke: PASS"
