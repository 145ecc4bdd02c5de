#!/usr/bin/env bash
# The distributed gateway, against Linux hosts in namespaces:
#   VRF t1: web 198.51.100.0/25 + 2001:db8:1::/64 (h1), db 203.0.113.0/25 + 2001:db8:2::/64
#           (h2, port MTU 1280), uplink
#           203.0.113.128/25 with an upstream router rt (.254) that holds 198.51.100.200, and a
#           default route via rt (resolved by ARP)
#   VRF t2: other 198.51.100.0/24 (h3 with h1's very address, h4)
# h1 and h2 ping and iperf3 each other through the anycast gateway (same gateway MAC in both
# networks), over IPv4 and IPv6 (neighbor discovery); traceroute shows the gateway hop; a DF
# ping over db's MTU gets fragmentation needed (IPv6: packet too big) from the gateway; h3 cannot reach t1 (net unreachable) but talks to h4 and its own
# gateway. h1 reaches 198.51.100.200 through rt by the default route, and no more once the
# route is deleted. `vsctl route show` / `arp show` list the routes and the learned hosts.
# Bad gateway, overlapping subnets and an unknown VRF are refused with one line.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init routing
need_cmd traceroute

H1=198.51.100.10 H2=203.0.113.20 H3=198.51.100.10 H4=198.51.100.11
GW1=198.51.100.1 GW2=203.0.113.1 GWU=203.0.113.129 RT=203.0.113.254 REMOTE=198.51.100.200

start_daemon
vs network add web --subnet 198.51.100.0/25 --gateway "$GW1" \
    --subnet 2001:db8:1::/64 --gateway 2001:db8:1::1 --vrf t1 >/dev/null
vs network add db --subnet 203.0.113.0/25 --gateway "$GW2" \
    --subnet 2001:db8:2::/64 --gateway 2001:db8:2::1 --vrf t1 >/dev/null
vs network add uplink --subnet 203.0.113.128/25 --gateway "$GWU" --vrf t1 >/dev/null
vs network add other --subnet 198.51.100.0/24 --gateway "$GW1" --vrf t2 >/dev/null
# Between networks only what a policy allows passes (tests/e2e/firewall.sh tests that).
vs policy add web-db --from web --to db --action allow >/dev/null
vs policy add db-web --from db --to web --action allow >/dev/null
vs policy add web-out --from web --to uplink --action allow >/dev/null
make_host h1 "$H1/25" 2001:db8:1::10/64
make_host h2 "$H2/25" 2001:db8:2::20/64
make_host h3 "$H3/24"
make_host h4 "$H4/24"
make_host rt "$RT/25"
inns rt ip addr add "$REMOTE/32" dev lo
inns rt ip route add 198.51.100.0/25 via "$GWU"
inns rt ip route add 203.0.113.0/25 via "$GWU"
inns h1 ip route add default via "$GW1"
inns h2 ip route add default via "$GW2"
inns h1 ip -6 route add default via 2001:db8:1::1
inns h2 ip -6 route add default via 2001:db8:2::1
inns h3 ip route add default via "$GW1"
inns h4 ip route add default via "$GW1"
vs port add p1 --type af-packet --iface "$(rif h1)" --network web >/dev/null
vs port add p2 --type af-packet --iface "$(rif h2)" --network db --mtu 1280 >/dev/null
vs port add p3 --type af-packet --iface "$(rif h3)" --network other >/dev/null
vs port add p4 --type af-packet --iface "$(rif h4)" --network other >/dev/null
vs port add pu --type af-packet --iface "$(rif rt)" --network uplink >/dev/null

step "h1 (web) <-> h2 (db) through the anycast gateway"
assert_ping h1 "$GW1"
assert_ping h1 "$H2"
assert_ping h2 "$H1"
gwmac1=$(inns h1 ip neigh show "$GW1" | awk '{print $5}')
gwmac2=$(inns h2 ip neigh show "$GW2" | awk '{print $5}')
assert_eq "$gwmac1" "$gwmac2" "the gateway MAC in web and in db"
log "gateway MAC $gwmac1 in both networks"

step "DF over db's MTU 1280: fragmentation needed from the gateway"
before=$(port_counter p1 drops.frag_needed)
inns h1 ip route flush cache
out=$(inns h1 ping -n -M do -s 1400 -c 1 -W 2 "$H2" 2>&1 || true)
log "$(printf '%s\n' "$out" | grep -i 'frag\|mtu' | head -1)"
assert_contains "$out" "mtu = 1280" "ping -M do -s 1400 to h2"
assert_gt "$(port_counter p1 drops.frag_needed)" "$before" "p1 drops.frag_needed"
# h1's kernel took the next-hop MTU from the error (path MTU discovery).
assert_contains "$(inns h1 ip route get "$H2")" "mtu 1280" "h1's route to h2 after the error"
assert_ping h1 "$H2" 2 # smaller packets still pass

step "IPv6: h1 <-> h2 through the gateway (neighbor discovery), hop limit, packet too big"
assert_ping h1 2001:db8:1::1
assert_ping h1 2001:db8:2::20
assert_ping h2 2001:db8:1::10
out=$(inns h1 timeout 30 traceroute -6 -n -q 1 -w 2 -m 4 2001:db8:2::20) || fail "traceroute -6 failed: $out"
assert_eq "$(printf '%s\n' "$out" | awk '$1 == 1 {print $2}')" 2001:db8:1::1 "traceroute -6 hop 1"
assert_eq "$(printf '%s\n' "$out" | awk '$1 == 2 {print $2}')" 2001:db8:2::20 "traceroute -6 hop 2"
out=$(inns h1 ping -6 -n -M do -s 1400 -c 1 -W 2 2001:db8:2::20 2>&1 || true)
log "$(printf '%s\n' "$out" | grep -i 'big\|mtu' | head -1)"
assert_contains "$out" "mtu=1280" "ping -6 -M do -s 1400 to h2"

step "iperf3 h1 -> h2 (routed TCP)"
inns h2 iperf3 -s -1 -D -B "$H2" --logfile "$WORK/iperf-s.log"
wait_for 10 "iperf3 to listen in h2" sh -c "ip netns exec $(hns h2) ss -ltn | grep -q ':5201 '"
out=$(inns h1 timeout 30 iperf3 -c "$H2" -t 3 -J) || fail "iperf3 h1 -> h2 failed: $(tail -3 "$WORK/iperf-s.log")"
gbps=$(printf '%s' "$out" | json_get "round(d['end']['sum_received']['bits_per_second'] / 1e9, 3)")
assert_gt "${gbps%.*}${gbps#*.}" 0 "iperf3 throughput"
log "iperf3 h1 -> h2: $gbps Gbit/s"
wait_for 10 "the IPv4 iperf3 server to exit" sh -c "! ip netns exec $(hns h2) ss -ltn | grep -q ':5201 '"
inns h2 iperf3 -s -1 -D -B 2001:db8:2::20 --logfile "$WORK/iperf6-s.log"
wait_for 10 "iperf3 to listen on IPv6 in h2" sh -c "ip netns exec $(hns h2) ss -ltn | grep -q ':5201 '"
out=$(inns h1 timeout 30 iperf3 -6 -c 2001:db8:2::20 -t 2 -J) || fail "iperf3 -6 h1 -> h2 failed: $(tail -3 "$WORK/iperf6-s.log")"
gbps=$(printf '%s' "$out" | json_get "round(d['end']['sum_received']['bits_per_second'] / 1e9, 3)")
assert_gt "${gbps%.*}${gbps#*.}" 0 "iperf3 -6 throughput"
log "iperf3 -6 h1 -> h2: $gbps Gbit/s"

step "traceroute h1 -> h2 shows the gateway hop"
out=$(inns h1 timeout 30 traceroute -n -q 1 -w 2 -m 4 "$H2") || fail "traceroute failed: $out"
log "$out"
assert_eq "$(printf '%s\n' "$out" | awk '$1 == 1 {print $2}')" "$GW1" "traceroute hop 1"
assert_eq "$(printf '%s\n' "$out" | awk '$1 == 2 {print $2}')" "$H2" "traceroute hop 2"

step "VRF t2 (same subnet as web) cannot reach t1, keeps its own traffic"
out=$(inns h3 ping -n -c 2 -W 1 -w 3 "$H2" 2>&1 || true)
assert_contains "$out" " 0 received" "ping h3 -> h2"
assert_contains "$out" "Unreachable" "ping h3 -> h2"
assert_gt "$(port_counter p3 drops.no_route)" 0 "p3 drops.no_route"
assert_ping h3 "$GW1"
assert_ping h3 "$H4"

step "default route to an upstream router (resolved by ARP)"
assert_no_ping h1 "$REMOTE"
vs route add 0.0.0.0/0 --via "$RT" --vrf t1 >/dev/null
assert_ping h1 "$REMOTE"
assert_contains "$(vs arp show --vrf t1)" "$RT" "t1 neighbors after the default route"
out=$(inns h1 timeout 30 traceroute -n -q 1 -w 2 -m 4 "$REMOTE") || fail "traceroute to $REMOTE failed: $out"
assert_eq "$(printf '%s\n' "$out" | awk '$1 == 1 {print $2}')" "$GW1" "traceroute to $REMOTE, hop 1"
assert_eq "$(printf '%s\n' "$out" | awk '$1 == 2 {print $2}')" "$REMOTE" "traceroute to $REMOTE, hop 2"

step "vsctl route show / arp show"
routes=$(vs route show)
log "$routes"
assert_contains "$(vs route show --vrf t1)" "203.0.113.0/25" "routes of t1"
assert_contains "$(vs route show --vrf t1 | grep 0.0.0.0/0)" "static" "the default route of t1"
assert_contains "$(vs route show --vrf t2)" "198.51.100.0/24" "routes of t2"
arp=$(vs arp show --vrf t1)
log "$arp"
assert_contains "$arp" "$(host_mac h1)" "t1 neighbors"
assert_contains "$arp" "$H2" "t1 neighbors"
assert_contains "$(vs arp show --vrf t2)" "$(host_mac h3)" "t2 neighbors"
if printf '%s' "$(vs arp show --vrf t2)" | grep -q "$(host_mac h1)"; then
    fail "h1 (t1) appears among t2's neighbors"
fi

step "a static neighbor: listed, used without ARP, deleted"
vs arp add 203.0.113.77 --mac 02:00:00:00:07:77 --network db >/dev/null
assert_contains "$(vs arp show --vrf t1)" "02:00:00:00:07:77" "t1 neighbors with the static one"
before=$(port_counter p1 drops.neighbor_miss)
inns h1 ping -n -c 2 -W 1 203.0.113.77 >/dev/null 2>&1 || true
assert_eq "$(port_counter p1 drops.neighbor_miss)" "$before" "p1 neighbor_miss toward the static neighbor"
assert_gt "$(port_counter p2 tx_packets)" 0 "frames out of db's port"
vs arp del 203.0.113.77 --network db
if vs arp show --vrf t1 | grep -q 02:00:00:00:07:77; then fail "the static neighbor is still listed"; fi

step "bad input: one-line errors, model unchanged"
model=$(vs config show)
check_refused() { # WHAT ARGS...
    local what=$1 err
    shift
    if err=$(vs "$@" 2>&1); then fail "$what succeeded"; fi
    assert_eq "$(printf '%s\n' "$err" | wc -l)" 1 "lines of the error for $what"
    log "  $what: $err"
    err_last=$err
}
check_refused "gateway outside the subnet" network add bad --subnet 203.0.113.0/26 --gateway 198.51.100.1
check_refused "overlapping subnets in one VRF" network add bad --subnet 198.51.100.64/26 --vrf t1
check_refused "an unknown VRF" route show --vrf nope
check_refused "an MTU below IPv6's minimum" port add bad --type af-packet --iface "$(rif h4)" --network web --mtu 1000
check_refused "a route in an unknown VRF" route add 0.0.0.0/0 --via "$RT" --vrf nope
check_refused "a next hop outside the VRF's subnets" route add 198.51.100.192/26 --via 198.51.100.150 --vrf t1
check_refused "the same route twice" route add 0.0.0.0/0 --via "$RT" --vrf t1
check_refused "a static neighbor outside the network's subnets" arp add 198.51.100.99 --mac 02:00:00:00:00:99 --network db
assert_eq "$(vs config show)" "$model" "the model after the refused changes"
vs port del pu
check_refused "deleting a network a policy names" network del uplink
assert_contains "$err_last" "policies web-out name it" "the error for deleting uplink"
vs policy del web-out
check_refused "deleting the network the default route needs" network del uplink
assert_contains "$err_last" "next hop $RT is in no subnet of vrf t1" "the error for deleting uplink"

step "the default route deleted: the remote is unreachable again"
vs route del 0.0.0.0/0 --vrf t1
out=$(inns h1 ping -n -c 2 -W 1 -w 3 "$REMOTE" 2>&1 || true)
assert_contains "$out" "Unreachable" "ping h1 -> $REMOTE without the default route"

pass
