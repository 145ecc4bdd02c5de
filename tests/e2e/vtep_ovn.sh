#!/usr/bin/env bash
# The hardware_vtep agent driven by OVN: ovn-northd and ovn-controller-vtep (Debian's OVN 23.03)
# program vswitchd through the vtep database, as they program a top-of-rack VTEP.
#
#   a (198.51.100.1) -- pa [vswitchd, physical switch gw1] pu -- k: 203.0.113.2, vx0
#                                                                bridged with r (198.51.100.2)
#
# OVN's logical switch ls0 has a vtep port bound to gw1's ls0 and a port lp-r (r's MAC and
# address) on chassis hv1, whose encapsulation is VXLAN to 203.0.113.2. hv1 is registered in
# the southbound database with ovn-sbctl and its data plane is the Linux kernel's VXLAN device
# (no ovn-controller runs: see README, Fleet control). ovn-controller-vtep registers gw1 as a
# chassis, sets ls0's tunnel key and writes lp-r's MAC and hv1's locator into the vtep
# database; the agent mirrors them: a and r ping and move a file; a's MAC goes back as a local
# MAC; lp-r deleted in the northbound database leaves gw1's FDB.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init vtep_ovn
need_cmd ovsdb-server ovsdb-tool vtep-ctl ovn-northd ovn-nbctl ovn-sbctl ovn-controller-vtep nc sha256sum ss

A=198.51.100.1 R=198.51.100.2
VTEP=203.0.113.1 KVTEP=203.0.113.2
RMAC=02:00:00:00:53:0a
# The OVN daemons' control sockets and pid files.
export OVN_RUNDIR=$WORK
nb() { timeout 10 ovn-nbctl --db="unix:$WORK/nb.sock" "$@"; }
sb() { timeout 10 ovn-sbctl --db="unix:$WORK/sb.sock" "$@"; }
vc() { timeout 10 vtep-ctl --db="unix:$WORK/vtep.sock" "$@"; }

# db_start NAME SCHEMA: a database of SCHEMA served on $WORK/NAME.sock.
db_start() {
    [ -f "$2" ] || fail "no schema at $2"
    ovsdb-tool create "$WORK/$1.db" "$2"
    bg ovsdb-server --remote="punix:$WORK/$1.sock" --unixctl="$WORK/$1.ctl" \
        --log-file="$WORK/$1.log" "$WORK/$1.db" 2>>"$WORK/ovn.err"
    wait_for 10 "ovsdb-server $1" test -S "$WORK/$1.sock"
}
# static_in_ls0 MAC: MAC is a static FDB entry of ls0 (mirrored from the vtep database).
static_in_ls0() { vs fdb show --network ls0 | grep "$1" | grep -q static; }
# local_mac MAC: gw1 wrote MAC as a local MAC of ls0.
local_mac() { vc list-local-macs ls0 | grep -q "$1"; }

step "OVN: northbound, southbound and vtep databases, ovn-northd, ovn-controller-vtep"
db_start nb /usr/share/ovn/ovn-nb.ovsschema
db_start sb /usr/share/ovn/ovn-sb.ovsschema
db_start vtep /usr/share/openvswitch/vtep.ovsschema
bg ovn-northd --ovnnb-db="unix:$WORK/nb.sock" --ovnsb-db="unix:$WORK/sb.sock" \
    --log-file="$WORK/northd.log" 2>>"$WORK/ovn.err"
bg ovn-controller-vtep --vtep-db="unix:$WORK/vtep.sock" --ovnsb-db="unix:$WORK/sb.sock" \
    --log-file="$WORK/controller-vtep.log" 2>>"$WORK/ovn.err"

step "OVN's ls0: a vtep port on gw1, lp-r on chassis hv1 (VXLAN to $KVTEP)"
nb ls-add ls0
nb lsp-add ls0 lp-r
nb lsp-set-addresses lp-r "$RMAC $R"
nb lsp-add ls0 gw1-ls0
nb lsp-set-type gw1-ls0 vtep
nb lsp-set-options gw1-ls0 vtep-physical-switch=gw1 vtep-logical-switch=ls0
sb chassis-add hv1 vxlan "$KVTEP"
sb lsp-bind lp-r hv1
key=""
dp_key() { key=$(sb --bare --columns tunnel_key find Datapath_Binding external_ids:name=ls0); [ -n "$key" ]; }
wait_for 10 "ovn-northd to give ls0 a tunnel key" dp_key
log "ls0's tunnel key: $key"

step "hv1's data plane: the kernel's VXLAN device (VNI $key) bridged with r ($RMAC)"
kernel_vtep "$key" "$RMAC"

step "vswitchd: VTEP $VTEP on pu, host a on pa, the agent as gw1; vtep-ctl binds pa to ls0"
start_daemon
vs port add pu --type af-packet --iface "$(rif k)"
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
