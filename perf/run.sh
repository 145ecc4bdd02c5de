#!/usr/bin/env bash
# make bench: every case of the vhost-user loop in one run, median of REPEATS runs each, as a
# table (Mpps, ratio to testpmd io-forward) and as JSON in perf/results/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
REPEATS=${REPEATS:-3}
SECS=${SECS:-10}
CASES=${CASES:-"testpmd vswitchd"}
mkdir -p "$here/results"

declare -A median
for c in $CASES; do
  runs=()
  for _ in $(seq "$REPEATS"); do
    line=$(bash "$here/vhost_loop.sh" "$c" "$SECS")
    runs+=("$(sed -n 's/.*mpps=\([0-9.]*\).*/\1/p' <<<"$line")")
  done
  median[$c]=$(printf '%s\n' "${runs[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
done

base=${median[testpmd]:-0}
out="$here/results/vhost_loop-$(date -u +%Y%m%dT%H%M%SZ).json"
printf '%-10s %8s %12s\n' CASE MPPS VS-TESTPMD
{
  echo "{"
  first=1
  for c in $CASES; do
    ratio=$(awk -v a="${median[$c]}" -v b="$base" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "null" }')
    printf '%-10s %8s %12s\n' "$c" "${median[$c]}" "$ratio" >&2
    [ $first -eq 1 ] || echo ","
    first=0
    printf '  "%s": {"mpps": %s, "ratio_testpmd": %s}' "$c" "${median[$c]}" "$ratio"
  done
  echo
  echo "}"
} > "$out" 2> >(cat)
sleep 0.2
echo "results: $out"
