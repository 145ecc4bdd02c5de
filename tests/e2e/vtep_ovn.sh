#!/usr/bin/env bash
# The hardware_vtep agent driven by OVN: ovn-northd and ovn-controller-vtep (Debian's OVN 23.03)
# program vswitchd through the vtep database, as they program a top-of-rack VTEP, and an OVN
# chassis (ovn-controller with Open vSwitch's userspace datapath) hosts the other end.
#
#   a (198.51.100.1) -- pa [vswitchd, physical switch gw1] pu -- hv: OVS br-phy 203.0.113.2
#                                                                    br-int -- r (198.51.100.2)
#
# Chassis hv1 is a network namespace running ovs-vswitchd (netdev datapath: no kernel module)
# and ovn-controller; its tunnel endpoint is br-phy's address (OVS's native tunnelling), and
# OVN's logical port lp-r is r's veth on br-int. OVN's logical switch ls0 has a vtep port bound
# to gw1's ls0. ovn-controller-vtep registers gw1 as a chassis, sets ls0's tunnel key and
# writes lp-r's MAC and hv1's locator into the vtep database; the agent mirrors them: a and r
# ping and move a file; a's MAC goes back as a local MAC; lp-r deleted in the northbound
# database leaves gw1's FDB.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init vtep_ovn
need_cmd ovsdb-server ovsdb-tool vtep-ctl ovn-northd ovn-nbctl ovn-sbctl ovn-controller-vtep \
    ovs-vswitchd ovs-vsctl ovn-controller nc sha256sum ss

A=198.51.100.1 R=198.51.100.2
VTEP=203.0.113.1 KVTEP=203.0.113.2
RMAC=02:00:00:00:53:0a
# The OVN and OVS daemons' control sockets and pid files (ovn-controller finds br-int's
# OpenFlow socket there).
export OVN_RUNDIR=$WORK OVS_RUNDIR=$WORK
ovs() { timeout 10 ovs-vsctl --db="unix:$WORK/ovs.sock" "$@"; }

# static_in_ls0 MAC: MAC is a static FDB entry of ls0 (mirrored from the vtep database).
static_in_ls0() { vs fdb show --network ls0 | grep "$1" | grep -q static; }
# local_mac MAC: gw1 wrote MAC as a local MAC of ls0.
local_mac() { vc list-local-macs ls0 | grep -q "$1"; }

step "OVN: northbound, southbound and vtep databases, ovn-northd, ovn-controller-vtep"
ovn_start

step "chassis hv1: ovs-vswitchd (userspace datapath) and ovn-controller in namespace hv"
ovsdb_serve ovs /usr/share/openvswitch/vswitch.ovsschema
ovs --no-wait init
make_host hv
bg ip netns exec "$(hns hv)" ovs-vswitchd "unix:$WORK/ovs.sock" --unixctl="$WORK/ovs-vswitchd.ctl" \
    --log-file="$WORK/ovs-vswitchd.log" 2>>"$WORK/ovn.err"
ovs add-br br-phy -- set Bridge br-phy datapath_type=netdev -- add-port br-phy "$(hif hv)"
inns hv ip addr add "$KVTEP/24" dev br-phy
inns hv ip link set br-phy up
ovs add-br br-int -- set Bridge br-int datapath_type=netdev fail-mode=secure \
    other-config:disable-in-band=true
ovs set Open_vSwitch . external_ids:system-id=hv1 external_ids:ovn-remote="unix:$WORK/sb.sock" \
    external_ids:ovn-encap-type=vxlan external_ids:ovn-encap-ip="$KVTEP" \
    external_ids:ovn-bridge-datapath-type=netdev
bg ip netns exec "$(hns hv)" ovn-controller "unix:$WORK/ovs.sock" \
    --log-file="$WORK/ovn-controller.log" 2>>"$WORK/ovn.err"
# r: a namespace whose veth is OVN's logical port lp-r on br-int.
_add_ns r
ip link add "${PFX}rk" netns "$(hns hv)" type veth peer name "${PFX}rh" netns "$(hns r)"
inns hv ethtool -K "${PFX}rk" tx off tso off gso off gro off >/dev/null 2>&1
inns r ethtool -K "${PFX}rh" tx off tso off gso off gro off >/dev/null 2>&1
inns hv ip link set "${PFX}rk" up
inns r ip link set "${PFX}rh" mtu 1450 address "$RMAC"
_host_addrs r "${PFX}rh" "$R/24"
ovs add-port br-int "${PFX}rk" -- set Interface "${PFX}rk" external_ids:iface-id=lp-r

step "OVN's ls0: a vtep port on gw1, lp-r on hv1"
nb ls-add ls0
nb lsp-add ls0 lp-r
nb lsp-set-addresses lp-r "$RMAC $R"
nb lsp-add ls0 gw1-ls0
nb lsp-set-type gw1-ls0 vtep
nb lsp-set-options gw1-ls0 vtep-physical-switch=gw1 vtep-logical-switch=ls0
# The bare-metal MACs behind the gateway are not in OVN: frames to them go to the vtep port.
nb lsp-set-addresses gw1-ls0 unknown
bound() { [ -n "$(sb --bare --columns chassis find Port_Binding logical_port=lp-r)" ]; }
wait_for 20 "ovn-controller to bind lp-r on hv1" bound
key=""
dp_key() { key=$(sb --bare --columns tunnel_key find Datapath_Binding external_ids:name=ls0); [ -n "$key" ]; }
wait_for 10 "ovn-northd to give ls0 a tunnel key" dp_key
log "ls0's tunnel key: $key"

step "vswitchd: VTEP $VTEP on pu, host a on pa, the agent as gw1; vtep-ctl binds pa to ls0"
start_daemon
vs port add pu --type af-packet --iface "$(rif hv)"
vs vtep set --local-ip "$VTEP/24" --port pu
make_host a
inns a ip link set "$(hif a)" mtu 1450
_host_addrs a "$(hif a)" "$A/24"
vs port add pa --type af-packet --iface "$(rif a)"
vs vtep agent set --db "unix:$WORK/vtep.sock" --name gw1 >/dev/null
wait_for 10 "gw1 in the vtep database" sh -c "vtep-ctl --db=unix:$WORK/vtep.sock list-ps | grep -qx gw1"
vc add-ls ls0
vc bind-ls gw1 pa 0 ls0

step "ovn-controller-vtep programs gw1: the tunnel key, lp-r's MAC behind hv1, the flood list"
wait_for 10 "lp-r's MAC mirrored behind hv1" static_in_ls0 "$RMAC"
assert_contains "$(sb show)" "Chassis gw1" "gw1 registered as an OVN chassis"
show=$(vs vtep show)
log "$show"
assert_contains "$show" "$KVTEP" "hv1 in ls0's flood list"
vni=$(vs --json vtep show | json_get "[n['vni'] for n in d['networks'] if n['network'] == 'ls0'][0]")
assert_eq "$vni" "$key" "ls0's VNI is OVN's tunnel key"

step "a (bare metal behind gw1) and r (lp-r on hv1) ping and move a file"
assert_ping a "$R"
assert_ping r "$A"
assert_file_copy a r "$R" 2

step "a's MAC goes back to the vtep database as a local MAC of gw1"
wait_for 5 "a's MAC in list-local-macs" local_mac "$(host_mac a)"

step "lp-r deleted in OVN's northbound database leaves gw1's FDB"
nb lsp-del lp-r
wait_for 5 "lp-r's MAC gone from gw1" eval '! static_in_ls0 "$RMAC"'
vs vtep agent del

pass
