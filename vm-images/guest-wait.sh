#!/usr/bin/env bash
# Waits until a guest started by run-guest.sh prints READY on its console, or fails.
#   vm-images/guest-wait.sh DIR NAME [TIMEOUT-SECS, default 180]
# Prints "guest NAME ready after S s (...)" (S counted from QEMU's start). Exits 1 with the
# last console lines when QEMU dies or TIMEOUT passes.
set -euo pipefail

die() { echo "guest-wait.sh: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: guest-wait.sh DIR NAME [TIMEOUT-SECS]"
DIR=$1 NAME=$2 TIMEOUT=${3:-180}
LOG=$DIR/$NAME.console.log PIDF=$DIR/$NAME.pid
[ -f "$PIDF" ] || die "no $PIDF: start the guest with vm-images/run-guest.sh --dir $DIR --name $NAME"
pid=$(cat "$PIDF")
start=$(cat "$DIR/$NAME.start" 2>/dev/null || date +%s.%N)
end=$((SECONDS + TIMEOUT))
tail_of() { tail -n "$1" "$LOG" 2>/dev/null | sed 's/^/  | /' >&2; tail -n 5 "$DIR/$NAME.qemu.log" 2>/dev/null | sed 's/^/  qemu| /' >&2; }
while :; do
  line=$(grep -a -m1 'VS-GUEST-READY' "$LOG" 2>/dev/null || true)
  if [ -n "$line" ]; then
    now=$(date +%s.%N)
    echo "guest $NAME ready after $(awk -v a="$start" -v b="$now" 'BEGIN {printf "%.1f", b - a}') s (${line#*VS-GUEST-READY })"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    tail_of 20
    die "QEMU of guest $NAME (pid $pid) exited before the guest was ready; see $DIR/$NAME.qemu.log"
  fi
  if [ "$SECONDS" -ge "$end" ]; then
    tail_of 20
    die "guest $NAME not ready after $TIMEOUT s; see $LOG (raise the timeout under TCG)"
  fi
  sleep 0.5
done
