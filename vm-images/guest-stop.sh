#!/usr/bin/env bash
# Stops a guest started by run-guest.sh (SIGTERM, SIGKILL after 5 s) and removes its sockets.
#   vm-images/guest-stop.sh DIR NAME      (no error when it is not running)
set -euo pipefail

[ $# -eq 2 ] || { echo "guest-stop.sh: usage: guest-stop.sh DIR NAME" >&2; exit 1; }
DIR=$1 NAME=$2 PIDF=$1/$2.pid
if [ -f "$PIDF" ]; then
  pid=$(cat "$PIDF")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDF"
fi
rm -f "$DIR/$NAME.console" "$DIR/$NAME.agent"
