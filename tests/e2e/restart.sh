#!/usr/bin/env bash
# The model survives a restart. Networks, ports (two af-packet hosts in n1, one access port by
# VLAN id), a static FDB entry are made with vsctl; vswitchd is stopped with SIGTERM (clean: the
# socket is removed) and, in a second round, with SIGKILL (nothing is cleaned up by hand: the
# stale socket stays), and restarted on the same state dir each time. After each restart:
# `vsctl config show` is byte-identical, `vsctl port list` has the ports, the static entry is
# back, and a <-> b ping again. A second daemon on a live socket is refused.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init restart

A=198.51.100.41 B=198.51.100.42 C=203.0.113.43

start_daemon
vs network add n1 --mac-limit 64 --fdb-aging 120
vs network add n2 --vlan 100 --subnet 203.0.113.0/24 --gateway 203.0.113.1
make_host a "$A/24"
make_host b "$B/24"
make_host c "$C/24"
vs port add pa --type af-packet --iface "$(rif a)" --network n1
vs port add pb --type af-packet --iface "$(rif b)" --network n1 --mtu 1400
vs port add pc --type af-packet --iface "$(rif c)" --vlan 100
vs fdb add 02:00:5e:00:53:99 --network n1 --port pb

step "before any restart: a <-> b"
assert_ping a "$B"
assert_ping b "$A"
config=$(vs config show)
printf '%s\n' "$config" >"$WORK/config.before"
assert_contains "$config" '"pc"' "config show before the restarts"

# check_restored ROUND: the daemon came back with the same model and forwards again.
check_restored() {
    local round=$1 now ports p
    now=$(vs config show)
    printf '%s\n' "$now" >"$WORK/config.$round"
    if [ "$now" != "$config" ]; then
        diff -u "$WORK/config.before" "$WORK/config.$round" >&2 || true
        fail "after $round: 'vsctl config show' differs from before (diff above)"
    fi
    ports=$(vs port list)
    for p in pa pb pc; do
        grep -q "^$p " <<<"$ports" || fail "after $round: port $p missing from 'vsctl port list': $ports"
    done
    up=$(vs --json port list | json_get "sorted(p['name'] for p in d['ports'] if p['state']['link_up'])")
    assert_eq "$up" '["pa", "pb", "pc"]' "after $round: ports with link up"
    assert_contains "$(vs fdb show --network n1)" "02:00:5e:00:53:99" "after $round: static FDB entry"
    assert_ping a "$B"
    assert_ping b "$A"
}

step "a second vswitchd on the live socket is refused, the first keeps serving"
pid1=$(daemon_pid)
rc=0
out=$(timeout 60 "$VSWITCHD" --socket "$SOCK" --state-dir "$WORK/state2" 2>&1) || rc=$?
[ -f "$WORK/state2/vswitchd.pid" ] && _DAEMON_PIDS+=("$(cat "$WORK/state2/vswitchd.pid")")
assert_ne "$rc" 0 "exit status of a second vswitchd on $SOCK"
assert_eq "$(printf '%s\n' "$out" | wc -l)" 1 "lines printed by the refused vswitchd ($out)"
_pid_alive "$pid1" || fail "the first vswitchd died when a second one tried its socket"
assert_eq "$(vs config show)" "$config" "config show after the refused second daemon"

step "SIGTERM: clean stop removes the socket; restart restores the model"
stop_daemon TERM
[ ! -e "$SOCK" ] || fail "socket $SOCK still there after a clean SIGTERM stop"
ip link show "$(rif a)" >/dev/null || fail "veth $(rif a) vanished with the daemon"
start_daemon
check_restored sigterm

step "SIGKILL: stale socket left behind; restart copes with it"
stop_daemon KILL
[ -S "$SOCK" ] || log "note: no stale socket after SIGKILL (nothing to cope with)"
timeout 5 "$VSCTL" --socket "$SOCK" status >/dev/null 2>&1 && fail "vsctl status succeeds with vswitchd killed"
start_daemon
check_restored sigkill

step "restart once more with traffic learned, then change the model: the change persists"
vs port del pc
vs network del n2
config=$(vs config show)
printf '%s\n' "$config" >"$WORK/config.before"
stop_daemon TERM
start_daemon
now=$(vs config show)
assert_eq "$now" "$config" "config show after deleting pc/n2 and restarting"
assert_not_contains "$(vs port list)" "pc " "port list after deleting pc and restarting"
assert_ping a "$B"
pass
