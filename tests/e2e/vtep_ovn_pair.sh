#!/usr/bin/env bash
# Two vswitchd gateways under one OVN: both physical switches of one vtep database (as in
# OVN's own ovn-controller-vtep tests), programmed by ovn-northd and ovn-controller-vtep
# (Debian's OVN 23.03), joined by an underlay veth pair.
#
#   a (198.51.100.1) -- pa [S1: gw1, VTEP 203.0.113.1] pu ==== pu [S2: gw2, VTEP 203.0.113.2] pb -- b (.2)
#
# OVN's logical switch ls0 has one vtep port on each gateway. A MAC learned on one gateway
# reaches the other through the database: gw1 writes a's MAC as a local MAC at its locator,
# and gw2 forwards to it (a static FDB entry behind 203.0.113.1) before a single frame of a
# crossed the underlay; each gateway's unknown-dst locator is the other's flood list. a and b
# ping and move a file; a MAC aged out on gw1 leaves gw2; ls0 unbound on gw1 leaves gw2's
# flood list.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init vtep_ovn_pair
need_cmd ovsdb-server ovsdb-tool vtep-ctl ovn-northd ovn-nbctl ovn-sbctl ovn-controller-vtep nc sha256sum ss

A=198.51.100.1 B=198.51.100.2
V1=203.0.113.1 V2=203.0.113.2
S1=$WORK/s1 S2=$WORK/s2
vs1() { timeout 20 "$VSCTL" --socket "$S1/vswitchd.sock" "$@"; }
vs2() { timeout 20 "$VSCTL" --socket "$S2/vswitchd.sock" "$@"; }
export OVN_RUNDIR=$WORK
# fdb_entry N MAC: switch N's FDB line for MAC in ls0.
fdb_entry() { "vs$1" fdb show --network ls0 | grep "$2"; }
# remote_static N MAC IP: MAC is a static entry of switch N's ls0, behind the VTEP at IP.
remote_static() { fdb_entry "$1" "$2" | grep static | grep -q "$3"; }
local_mac() { vc list-local-macs ls0 | grep -q "$1"; }
# flood_of N: switch N's flood list of ls0, as JSON.
flood_of() { "vs$1" --json vtep show | json_get "[n.get('remotes', []) for n in d['networks'] if n['network'] == 'ls0'][0]"; }

step "OVN: northbound, southbound and one vtep database, ovn-northd, ovn-controller-vtep"
ovn_start
nb ls-add ls0
for gw in gw1 gw2; do
    nb lsp-add ls0 "$gw-ls0"
    nb lsp-set-type "$gw-ls0" vtep
    nb lsp-set-options "$gw-ls0" vtep-physical-switch="$gw" vtep-logical-switch=ls0
done

step "two switches joined by an underlay veth pair, agents gw1 and gw2 on the one database"
underlay_pair
make_host a
make_host b
_host_addrs a "$(hif a)" "$A/24"
_host_addrs b "$(hif b)" "$B/24"
for n in 1 2; do
    h=$([ "$n" = 1 ] && echo a || echo b)
    inns "$h" ip link set "$(hif "$h")" mtu 1450
    SOCK=$WORK/s$n/vswitchd.sock STATE=$WORK/s$n/state
    mkdir -p "$WORK/s$n"
    start_daemon
    vs port add pu --type af-packet --iface "${PFX}u$n"
    vs vtep set --local-ip "$([ "$n" = 1 ] && echo "$V1" || echo "$V2")/24" --port pu >/dev/null
    vs port add "p$h" --type af-packet --iface "$(rif "$h")"
    vs vtep agent set --db "unix:$WORK/vtep.sock" --name "gw$n" >/dev/null
done
wait_for 10 "gw1 and gw2 in the vtep database" sh -c "[ \"\$(vtep-ctl --db=unix:$WORK/vtep.sock list-ps | tr '\n' ' ')\" = 'gw1 gw2 ' ]"
vc add-ls ls0
wait_for 10 "gw1 and gw2 registered as OVN chassis" sh -c "ovn-sbctl --db=unix:$WORK/sb.sock show | grep -q 'Chassis gw2' && ovn-sbctl --db=unix:$WORK/sb.sock show | grep -q 'Chassis gw1'"
key=""
dp_key() { key=$(sb --bare --columns tunnel_key find Datapath_Binding external_ids:name=ls0); [ -n "$key" ]; }
wait_for 10 "ovn-northd to give ls0 a tunnel key" dp_key

step "ls0 bound on gw1 only: a's MAC learned on gw1 becomes a local MAC at gw1's locator"
vc bind-ls gw1 pa 0 ls0
wait_for 10 "ovn-controller-vtep to set ls0's tunnel key $key" \
    eval '[ "$(vc get Logical_Switch ls0 tunnel_key)" = "$key" ]'
wait_for 10 "ls0 mirrored on gw1" sh -c "'$VSCTL' --socket '$S1/vswitchd.sock' network show ls0 >/dev/null 2>&1"
assert_eq "$(vs1 --json vtep show | json_get "[n['vni'] for n in d['networks'] if n['network'] == 'ls0'][0]")" "$key" "ls0's VNI on gw1 is OVN's tunnel key"
amac=$(host_mac a) bmac=$(host_mac b)
# One frame from a (a static neighbour: no ARP retries follow it).
inns a ip neigh replace "$B" lladdr "$bmac" dev "$(hif a)"
inns a ping -c 1 -W 1 "$B" >/dev/null 2>&1 || true
inns a ip neigh del "$B" dev "$(hif a)"
wait_for 5 "a's MAC in list-local-macs" local_mac "$amac"
assert_eq "$(vs2 network list | grep -c ls0)" 0 "gw2 has no ls0 yet"

step "ls0 bound on gw2: a's MAC is static behind gw1 there, before a sent it anything"
SOCK=$S2/vswitchd.sock
before=$(port_counter pu rx_packets)
vc bind-ls gw2 pb 0 ls0
wait_for 5 "a's MAC static on gw2 behind $V1" remote_static 2 "$amac" "$V1"
wait_for 5 "gw1 floods ls0 to gw2's unknown-dst locator" eval '[ "$(flood_of 1)" = "[\"$V2\"]" ]'
assert_eq "$(flood_of 2)" "[\"$V1\"]" "gw2 floods ls0 to gw1's unknown-dst locator"
assert_eq "$(port_counter pu rx_packets)" "$before" "nothing crossed the underlay to gw2 meanwhile"

step "a (behind gw1) and b (behind gw2) ping and move a file; b's MAC reaches gw1 the same way"
assert_ping a "$B"
assert_ping b "$A"
assert_file_copy a b "$B" 2
wait_for 5 "b's MAC static on gw1 behind $V2" remote_static 1 "$bmac" "$V2"
show=$(vs2 vtep agent show)
log "$show"
assert_contains "$show" "connected" "gw2's agent is connected"

step "a's MAC aged out on gw1 leaves gw2"
vs1 fdb flush --network ls0 >/dev/null
wait_for 5 "a's MAC gone from gw2" eval '! fdb_entry 2 "$amac" | grep -q static'

step "ls0 unbound on gw1: gw1's locator leaves gw2's flood list"
vc unbind-ls gw1 pa 0
wait_for 5 "gw2's flood list empty" eval '[ "$(flood_of 2)" = "[]" ]'
for n in 1 2; do "vs$n" vtep agent del; done

pass
