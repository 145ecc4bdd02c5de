#!/usr/bin/env bash
# Two networks on one switch are isolated, even with addresses in the same subnet:
#   red:  a (alone)         blue: b, c
# a cannot reach b (ARP floods in red only: no_egress_port on a's port); with a static neighbour
# entry a's unicast frames to b's MAC are dropped the same way and b sees nothing of a; b <-> c
# works. Then d joins red with b's address: a reaches d, b still sees nothing.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init isolation

A=198.51.100.21 B=198.51.100.22 C=198.51.100.23

start_daemon
vs network add red
vs network add blue
make_host a "$A/24"
make_host b "$B/24"
make_host c "$C/24"
vs port add pa --type af-packet --iface "$(rif a)" --network red
vs port add pb --type af-packet --iface "$(rif b)" --network blue
vs port add pc --type af-packet --iface "$(rif c)" --network blue
amac=$(host_mac a)
bmac=$(host_mac b)

step "blue works: b <-> c"
assert_ping b "$C"
assert_ping c "$B"

capture_start b "$WORK/b.pcap" "" inbound
capb=$CAPPID
capture_start c "$WORK/c.pcap" "" inbound
capc=$CAPPID

step "red -> blue by ARP: no reply, flooded ARP dropped as no_egress_port on pa"
before=$(port_counter pa drops.no_egress_port)
assert_no_ping a "$B"
after=$(port_counter pa drops.no_egress_port)
assert_gt "$after" "$before" "pa drops.no_egress_port after a's ARP requests for $B"
log "pa no_egress_port: $before -> $after"
neigh=$(inns a ip neigh show "$B")
assert_not_contains "$neigh" "$bmac" "a's neighbour entry for $B"

step "red -> blue by unicast to b's MAC (static neighbour): dropped, no_egress_port"
inns a ip neigh replace "$B" lladdr "$bmac" dev "$(hif a)" nud permanent
sleep 0.5 # a permanent entry ends a's ARP retries; let the last ones pass before counting
before=$(port_counter pa drops.no_egress_port)
assert_no_ping a "$B"
after=$(port_counter pa drops.no_egress_port)
assert_ge "$((after - before))" 3 "pa drops.no_egress_port for 3 unicast echo requests to $bmac"
log "pa no_egress_port: $before -> $after"
assert_ge "$(drop_total no_egress_port)" "$after" "switch-wide drops.no_egress_port (>= pa's)"
fdb_blue=$(vs --json fdb show --network blue)
assert_not_contains "$fdb_blue" "$amac" "blue's FDB (a's MAC must be learned in red only)"
fdb_red=$(vs --json fdb show --network red)
assert_contains "$fdb_red" "$amac" "red's FDB"
assert_not_contains "$fdb_red" "$bmac" "red's FDB (b's MAC must be learned in blue only)"
for p in pb pc; do
    assert_eq "$(port_counter "$p" drops.no_egress_port)" 0 "$p drops.no_egress_port"
done

step "b and c saw nothing from a (c pings b meanwhile, to prove the captures work)"
assert_ping c "$B"
sleep 0.5
capture_stop "$capb"
capture_stop "$capc"
from_a_b=$(capture_read "$WORK/b.pcap" "ether src $amac or host $A" | wc -l)
from_a_c=$(capture_read "$WORK/c.pcap" "ether src $amac or host $A" | wc -l)
from_c=$(capture_read "$WORK/b.pcap" "icmp and src host $C" | wc -l)
assert_eq "$from_a_b" 0 "frames from a captured on b"
assert_eq "$from_a_c" 0 "frames from a captured on c"
assert_ge "$from_c" 3 "echo requests from c captured on b (capture sanity)"

step "overlapping addresses: d joins red with b's address $B; a reaches d, b sees nothing"
inns a ip neigh del "$B" dev "$(hif a)"
make_host d "$B/24"
vs port add pd --type af-packet --iface "$(rif d)" --network red
dmac=$(host_mac d)
capture_start b "$WORK/b2.pcap" "" inbound
assert_ping a "$B"
neigh=$(inns a ip neigh show "$B")
assert_contains "$neigh" "$dmac" "a's neighbour entry for $B (must be d's MAC)"
capture_stop "$CAPPID"
assert_eq "$(capture_read "$WORK/b2.pcap" "ether src $amac or host $A" | wc -l)" 0 \
    "frames from a captured on b while a pinged d"
pass
