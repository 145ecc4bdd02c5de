#!/usr/bin/env bash
# 802.1Q trunk. Networks v100 (--vlan 100) and v200 (--vlan 200); port pt is a trunk
# (--trunk 100,200) to the veth of namespace t, which carries Linux VLAN sub-interfaces:
#   t:  <veth>.100  198.51.100.31      (VLAN 100)        a: access --vlan 100     198.51.100.32
#   u:  <veth>.200  198.51.100.33      (VLAN 200, the    b: access --network v200 198.51.100.34
#                                       sub-interface moved into namespace u)
#   t:  <veth>.300  203.0.113.31       (VLAN 300, not carried by the trunk)
# (Kernel VLAN devices, or TAPs bridged by tools/vlanhost.py when the kernel has no 8021q.)
# t reaches a; u (same subnet, VLAN 200) does not reach a but reaches b. On a, frames arrive
# untagged; on t's veth, a's frames arrive tagged 100. VLAN 300 and untagged frames on the trunk
# count as bad_vlan.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init vlan_trunk

T100=198.51.100.31 A=198.51.100.32 U200=198.51.100.33 B=198.51.100.34 T300=203.0.113.31

start_daemon
vs network add v100 --vlan 100
vs network add v200 --vlan 200
make_host t
make_host a "$A/24"
make_host b "$B/24"
tv=$(hif t)
make_vlan_ifs t 100:t100 200:t200 300:t300
_add_ns u
inns t ip link set t200 netns "$(hns u)"
_host_addrs t t100 "$T100/24"
_host_addrs u t200 "$U200/24"
_host_addrs t t300 "$T300/24"
log "VLAN sub-interfaces: $VLAN_IMPL"
tmac=$(host_mac t t100)
amac=$(host_mac a)

vs port add pt --type af-packet --iface "$(rif t)" --trunk 100,200
vs port add pa --type af-packet --iface "$(rif a)" --vlan 100
vs port add pb --type af-packet --iface "$(rif b)" --network v200
log "$(vs port list)"

capture_start a "$WORK/a.pcap"
capa=$CAPPID
capture_start t "$WORK/t.pcap" "$tv"
capt=$CAPPID

step "VLAN 100 sub-interface (trunk) <-> access host of v100"
assert_ping t "$A"
assert_ping a "$T100"

step "VLAN 200 sub-interface reaches b (v200) but not a (v100)"
assert_ping u "$B"
assert_no_ping u "$A"

sleep 0.3
capture_stop "$capa"
capture_stop "$capt"

step "frames arrive untagged on the access host a"
on_a=$(capture_read "$WORK/a.pcap" "ether src $tmac")
n=$(printf '%s\n' "$on_a" | grep -c "ICMP echo request" || true)
assert_ge "$n" 3 "echo requests from t (VLAN 100) captured on a"
tagged=$(printf '%s\n' "$on_a" | grep -c -E "802\.1Q|vlan [0-9]" || true)
sample=$(printf '%s\n' "$on_a" | grep -m1 -E "802\.1Q|vlan [0-9]" || true)
assert_eq "$tagged" 0 "tagged frames from t captured on a (first: $sample)"
from_u=$(capture_read "$WORK/a.pcap" "host $U200" | wc -l)
assert_eq "$from_u" 0 "frames of u (VLAN 200, $U200) captured on a"

step "a's frames leave the trunk tagged 100"
on_t=$(capture_read "$WORK/t.pcap" "ether src $amac")
n100=$(printf '%s\n' "$on_t" | grep "vlan 100" | grep -c "ICMP echo reply" || true)
assert_ge "$n100" 3 "echo replies from a captured tagged 100 on the trunk host"
untagged=$(printf '%s\n' "$on_t" | grep -v -c "vlan 100" || true)
sample=$(printf '%s\n' "$on_t" | grep -m1 -v "vlan 100" || true)
assert_eq "$untagged" 0 "frames from a on the trunk without tag 100 (first: $sample)"

step "VLAN 300 (not carried) and untagged frames on the trunk: bad_vlan"
before=$(port_counter pt drops.bad_vlan)
assert_no_ping t 203.0.113.32
mid=$(port_counter pt drops.bad_vlan)
assert_ge "$((mid - before))" 1 "pt drops.bad_vlan after ARP on VLAN 300"
inns t ip addr add 203.0.113.41/24 dev "$tv" 2>/dev/null || true
inns t ip addr del "$T300/24" dev t300
inns t ip link set t300 down
assert_no_ping t 203.0.113.42
after=$(port_counter pt drops.bad_vlan)
assert_ge "$((after - mid))" 1 "pt drops.bad_vlan after untagged ARP on the trunk"
log "pt bad_vlan: $before -> $mid -> $after"
assert_eq "$(port_counter pa drops.bad_vlan)" 0 "pa drops.bad_vlan"
pass
