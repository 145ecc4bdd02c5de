#!/usr/bin/env bash
# Runs the end-to-end cases: real Linux hosts in network namespaces against vswitchd.
#
#   tests/e2e/run.sh [CASE...]      (default: every case; CASE is a script name without .sh)
#
# Needs root. Each case runs with a time limit, in a work dir and name prefix of its own; after
# it, anything it left behind (daemon, namespaces, interfaces) is removed and counts as a
# failure. Prints "PASS name" / "FAIL name" per case (with the case's output after a failure),
# then one line "N passed, N failed"; exits non-zero if any failed.
set -uo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$E2E_DIR/../.." && pwd)
export VSWITCHD=${VSWITCHD:-$REPO/target/release/vswitchd}
export VSCTL=${VSCTL:-$REPO/target/release/vsctl}

# name:time-limit-seconds, in running order.
CASES=(
    bad_input:60
    l2_basic:120
    isolation:90
    vlan_trunk:90
    restart:120
    malformed_flood:150
    routing:120
    dhcp:90
    firewall:180
    nat:240
    services:240
    vxlan:150
    vxlan_pair:120
    vtep_agent:150
    vtep_ovn:150
    vtep_ovn_pair:150
    metrics:90
    ipfix:90
    trace:120
    capture:180
    vm_guests:420
)

if [ "$(id -u)" -ne 0 ]; then
    echo "e2e: needs root (it creates network namespaces, veth pairs and runs DPDK); run as root, e.g. sudo make e2e" >&2
    exit 1
fi
for b in "$VSWITCHD" "$VSCTL"; do
    if [ ! -x "$b" ]; then
        echo "e2e: $b not found; build first (make build)" >&2
        exit 1
    fi
done

selected=()
if [ $# -gt 0 ]; then
    for want in "$@"; do
        found=
        for c in "${CASES[@]}"; do [ "${c%%:*}" = "${want%.sh}" ] && found=$c; done
        [ -n "$found" ] || { echo "e2e: no case named $want (cases: ${CASES[*]%%:*})" >&2; exit 1; }
        selected+=("$found")
    done
else
    selected=("${CASES[@]}")
fi

LOGDIR=$(mktemp -d /tmp/vs-e2e-logs.XXXXXX)

# sweep PREFIX WORKDIR: removes what a case left behind; prints what it found.
sweep() {
    local pfx=$1 work=$2 found=() f pid ns l
    for f in "$work"/state*/vswitchd.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f" 2>/dev/null)
        if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = vswitchd ]; then
            found+=("vswitchd pid $pid")
            kill -TERM "$pid" 2>/dev/null
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            kill -KILL "$pid" 2>/dev/null
        fi
    done
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$pfx-"); do
        found+=("netns $ns")
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^$pfx"); do
        found+=("link $l")
        ip link del "$l" 2>/dev/null
    done
    printf '%s\n' "${found[@]}"
}

passed=0
failed=0
start_all=$SECONDS
i=0
for c in "${selected[@]}"; do
    name=${c%%:*}
    limit=${c#*:}
    i=$((i + 1))
    work=$(mktemp -d "/tmp/vs-e2e-$name.XXXXXX")
    pfx=$(printf 've%x%04x' "$((i % 16))" "$((RANDOM))")
    log=$LOGDIR/$name.log
    t0=$SECONDS
    rc=0
    E2E_WORKDIR=$work E2E_PREFIX=$pfx timeout -k 15 "$limit" bash "$E2E_DIR/$name.sh" >"$log" 2>&1 || rc=$?
    secs=$((SECONDS - t0))
    left=$(sweep "$pfx" "$work")
    rm -rf "$work"
    why=
    if [ "$rc" -eq 124 ] || { [ "$rc" -eq 137 ] && [ "$secs" -ge "$limit" ]; }; then
        why="timed out after ${limit}s"
    elif [ "$rc" -ne 0 ]; then
        why="exit $rc"
    fi
    if [ -n "$left" ]; then
        why="${why:+$why, }left behind: $(printf '%s' "$left" | tr '\n' ' ')"
    fi
    if [ -z "$why" ]; then
        echo "PASS $name (${secs}s)"
        passed=$((passed + 1))
    else
        echo "FAIL $name (${secs}s, $why)"
        sed 's/^/    /' "$log" | tail -n 40
        echo "    (full log: $log)"
        failed=$((failed + 1))
    fi
done
[ "$failed" -eq 0 ] && rm -rf "$LOGDIR"
echo "e2e: $((SECONDS - start_all))s" >&2
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
