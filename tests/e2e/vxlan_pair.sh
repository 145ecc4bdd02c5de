#!/usr/bin/env bash
# Two vswitchd instances joined only by an underlay veth pair bridge network blue (VNI 5000)
# across both:
#
#   a (198.51.100.1) -- [S1: VTEP 203.0.113.1] u1 ==== u2 [S2: VTEP 203.0.113.2] -- b (.2), c (.3)
#
# a pings b and c; each switch learns the other's hosts behind the other's VTEP; 20 broadcast
# pings from a cross the underlay exactly once each, reach b and c once each, and nothing of
# them comes back from S2 (split horizon).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init vxlan_pair

A=198.51.100.1 B=198.51.100.2 C=198.51.100.3
V1=203.0.113.1 V2=203.0.113.2
S1=$WORK/s1 S2=$WORK/s2
vs1() { timeout 20 "$VSCTL" --socket "$S1/vswitchd.sock" "$@"; }
vs2() { timeout 20 "$VSCTL" --socket "$S2/vswitchd.sock" "$@"; }

step "two switches, each with its own socket and state dir"
SOCK=$S1/vswitchd.sock STATE=$S1/state
mkdir -p "$S1"
start_daemon
SOCK=$S2/vswitchd.sock STATE=$S2/state
mkdir -p "$S2"
start_daemon

step "the underlay: one veth pair, u1 for S1 and u2 for S2"
underlay_pair

for n in 1 2; do
    v=vs$n
    $v network add blue --vni 5000
    $v port add pu --type af-packet --iface "${PFX}u$n"
done
vs1 vtep set --local-ip "$V1/24" --port pu
vs1 vtep remote add "$V2" --vni 5000
vs2 vtep set --local-ip "$V2/24" --port pu
vs2 vtep remote add "$V1" --vni 5000

for h in a b c; do
    make_host "$h"
    inns "$h" ip link set "$(hif "$h")" mtu 1450
done
_host_addrs a "$(hif a)" "$A/24"
_host_addrs b "$(hif b)" "$B/24"
_host_addrs c "$(hif c)" "$C/24"
vs1 port add pa --type af-packet --iface "$(rif a)" --network blue
vs2 port add pb --type af-packet --iface "$(rif b)" --network blue
vs2 port add pc --type af-packet --iface "$(rif c)" --network blue

step "a reaches b and c across the underlay"
assert_ping a "$B"
assert_ping a "$C"
assert_ping c "$A"

step "each switch learned the other's hosts behind the other's VTEP"
fdb1=$(vs1 fdb show --network blue)
fdb2=$(vs2 fdb show --network blue)
log "S1:"$'\n'"$fdb1"$'\n'"S2:"$'\n'"$fdb2"
for h in b c; do
    mac=$(host_mac "$h")
    line=$(printf '%s\n' "$fdb1" | grep "$mac") || fail "S1 has no FDB entry for $h ($mac)"
    assert_contains "$line" "vtep $V2" "S1: $h's MAC behind S2's VTEP"
done
line=$(printf '%s\n' "$fdb2" | grep "$(host_mac a)") || fail "S2 has no FDB entry for a"
assert_contains "$line" "vtep $V1" "S2: a's MAC behind S1's VTEP"

step "20 broadcasts from a: once across the underlay, once to b and to c, none back"
bg timeout 60 tcpdump -Z root -i "$u2" -nn -U -s 256 -w "$WORK/underlay.pcap" udp port 4789 2>"$WORK/underlay.err"
capu=$BGPID
wait_for 10 "tcpdump on the underlay" grep -q "listening on" "$WORK/underlay.err"
capture_start b "$WORK/b.pcap"
capb=$CAPPID
capture_start c "$WORK/c.pcap"
capc=$CAPPID
inns a timeout 15 ping -n -b -c 20 -i 0.05 -W 1 198.51.100.255 >/dev/null 2>&1 || true
sleep 0.5
for p in "$capu" "$capb" "$capc"; do capture_stop "$p"; done
count() { # FILE FILTER...: echo requests from a to the broadcast address in FILE
    local f=$1
    shift
    capture_read "$f" "$@" | grep -c "$A > 198.51.100.255: ICMP echo request" || true
}
across=$(count "$WORK/underlay.pcap" "src host $V1")
back=$(count "$WORK/underlay.pcap" "src host $V2")
log "underlay: $across copies from S1, $back from S2; b got $(count "$WORK/b.pcap"), c got $(count "$WORK/c.pcap")"
assert_eq "$across" 20 "broadcasts carried from S1 to S2"
assert_eq "$back" 0 "broadcasts S2 sent back into the overlay"
assert_eq "$(count "$WORK/b.pcap")" 20 "broadcasts that reached b"
assert_eq "$(count "$WORK/c.pcap")" 20 "broadcasts that reached c"

pass
