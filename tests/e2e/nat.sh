#!/usr/bin/env bash
# NAT at the edge of an external network, against Linux hosts in namespaces:
#   inside 198.51.100.0/24 (h1 .10, h2 .11); outside 203.0.113.0/24, external, with host ext
#   (.10), a Linux router to far (192.0.2.10) over a link of MTU 1280; a static route to
#   192.0.2.0/24 via ext. ext has no route back to 198.51.100.0/24: only translated traffic
#   can be answered.
# SNAT inside -> 203.0.113.100: h1 pings ext, talks TCP and UDP to it, and a capture on ext
# sees only the SNAT address; 5000 concurrent TCP connections from h1 get 5000 distinct
# outside ports. A floating IP 203.0.113.50 for h2: ext pings it and opens TCP to it, and
# h2's own connections leave from it; the same over IPv6 (2001:db8:e::50 for h2's
# 2001:db8:1::11, answered by ND). traceroute (time exceeded) and a PMTU error from beyond
# ext reach h1 translated back. To the SNAT address without a binding: dropped and counted.
# Bad NAT input: one line, model unchanged.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init nat
need_cmd nc traceroute

H1=198.51.100.10 H2=198.51.100.11 EXT=203.0.113.10 FAR=192.0.2.10
SNAT=203.0.113.100 FIP=203.0.113.50
H2_6=2001:db8:1::11 EXT6=2001:db8:e::10 FIP6=2001:db8:e::50

start_daemon
vs network add inside --subnet 198.51.100.0/24 --subnet 2001:db8:1::/64 \
    --gateway 198.51.100.1 --gateway 2001:db8:1::1 >/dev/null
vs network add outside --subnet 203.0.113.0/24 --subnet 2001:db8:e::/64 \
    --gateway 203.0.113.1 --gateway 2001:db8:e::1 --external >/dev/null
vs policy add in-out --from inside --to outside --action allow >/dev/null
vs route add 192.0.2.0/24 --via "$EXT" >/dev/null
vs snat add out --from inside --to "$SNAT" >/dev/null
make_host h1 "$H1/24"
make_host h2 "$H2/24" "$H2_6/64"
make_host ext "$EXT/24" "$EXT6/64"
inns h1 ip route add default via 198.51.100.1
inns h2 ip route add default via 198.51.100.1
inns h2 ip -6 route add default via 2001:db8:1::1
# far, one hop beyond ext, over a link with a smaller MTU.
_add_ns far
ip -n "$(hns ext)" link add "${PFX}xf" type veth peer name "${PFX}fx" netns "$(hns far)"
inns ext ip addr add 192.0.2.1/24 dev "${PFX}xf"
inns ext ip link set "${PFX}xf" mtu 1280 up
inns far ip addr add "$FAR/24" dev "${PFX}fx"
inns far ip link set "${PFX}fx" mtu 1280 up
inns far ip route add default via 192.0.2.1
inns ext sysctl -qw net.ipv4.ip_forward=1
vs port add p1 --type af-packet --iface "$(rif h1)" --network inside >/dev/null
vs port add p2 --type af-packet --iface "$(rif h2)" --network inside >/dev/null
vs port add pe --type af-packet --iface "$(rif ext)" --network outside >/dev/null

step "SNAT: h1 reaches ext by ping, TCP and UDP; ext sees only $SNAT"
capture_start ext "$WORK/ext.pcap"
assert_ping h1 "$EXT"
bg ip netns exec "$(hns ext)" sh -c "echo 'hello from ext' | timeout 20 nc -l -N 8080 >$WORK/tcp.got"
wait_for 10 "nc to listen on ext:8080" sh -c "ip netns exec $(hns ext) ss -ltn | grep -q ':8080 '"
got=$(echo "hi from h1" | inns h1 timeout 5 nc -N -w 3 "$EXT" 8080 2>&1 || true)
assert_eq "$got" "hello from ext" "h1 -> ext:8080 over TCP"
wait_for 5 "ext to get h1's line" grep -q "hi from h1" "$WORK/tcp.got"
bg ip netns exec "$(hns ext)" sh -c "timeout 10 nc -u -l -W 1 5353 >$WORK/udp.got"
wait_for 10 "nc to listen on ext:5353/udp" sh -c "ip netns exec $(hns ext) ss -lun | grep -q ':5353 '"
echo "udp from h1" | inns h1 timeout 3 nc -u -w 1 "$EXT" 5353 || true
wait_for 5 "ext to get h1's datagram" grep -q "udp from h1" "$WORK/udp.got"
capture_stop "$CAPPID"
seen=$(capture_read "$WORK/ext.pcap" ip)
assert_contains "$seen" "$SNAT" "ext's capture"
assert_not_contains "$seen" "198.51.100." "ext's capture (no inside address)"
log "ext saw $(printf '%s\n' "$seen" | grep -c "$SNAT") packets from/to $SNAT, none from 198.51.100.0/24"
vs snat list

step "5000 concurrent TCP connections from h1 get 5000 distinct outside ports"
bg ip netns exec "$(hns ext)" "$PYTHON" "$E2E_DIR/tools/many_conns.py" serve 9000 60
wait_for 10 "the server on ext:9000" sh -c "ip netns exec $(hns ext) ss -ltn | grep -q ':9000 '"
bg ip netns exec "$(hns h1)" "$PYTHON" "$E2E_DIR/tools/many_conns.py" open "$EXT" 9000 5000 20
CLIENT=$BGPID
count_ports() {
    vs --json snat bindings | json_get "len({b['outside'] for b in d.get('bindings', []) if b['proto'] == 'tcp' and b['remote'] == '$EXT:9000'})"
}
ports=0
for _ in $(seq 40); do
    ports=$(count_ports)
    [ "$ports" = 5000 ] && break
    sleep 1
done
assert_eq "$ports" 5000 "distinct outside endpoints of h1's connections to ext:9000"
kill "$CLIENT" 2>/dev/null || true

step "a floating IP: ext reaches h2 at $FIP, and h2 leaves from it"
vs floating-ip add "$FIP" --endpoint "$H2" >/dev/null
vs policy add fip-in --from outside --to inside --proto tcp --port 2222 --action allow >/dev/null
vs policy add fip-ping --from outside --to inside --proto icmp --action allow >/dev/null
assert_ping ext "$FIP"
bg ip netns exec "$(hns h2)" sh -c "echo 'hello from h2' | timeout 20 nc -l -N 2222 >$WORK/fip.got"
wait_for 10 "nc to listen on h2:2222" sh -c "ip netns exec $(hns h2) ss -ltn | grep -q ':2222 '"
got=$(echo "hi from ext" | inns ext timeout 5 nc -N -w 3 "$FIP" 2222 2>&1 || true)
assert_eq "$got" "hello from h2" "ext -> $FIP:2222"
capture_start ext "$WORK/fip.pcap" "" icmp
assert_ping h2 "$EXT"
capture_stop "$CAPPID"
seen=$(capture_read "$WORK/fip.pcap")
assert_contains "$seen" "$FIP > $EXT: ICMP echo request" "ext's capture of h2's pings"

step "an IPv6 floating IP: ext reaches h2 at $FIP6 (ND answered), and h2 leaves from it"
vs floating-ip add "$FIP6" --endpoint "$H2_6" >/dev/null
vs policy add fip6-in --from outside --to inside --proto tcp --port 2223 --action allow >/dev/null
bg ip netns exec "$(hns h2)" sh -c "echo 'hello over IPv6' | timeout 20 nc -6 -l -N 2223 >$WORK/fip6.got"
wait_for 10 "nc to listen on h2:2223" sh -c "ip netns exec $(hns h2) ss -ltn | grep -q ':2223 '"
got=$(echo "hi from ext" | inns ext timeout 5 nc -6 -N -w 3 "$FIP6" 2223 2>&1 || true)
assert_eq "$got" "hello over IPv6" "ext -> [$FIP6]:2223"
wait_for 5 "h2 to get ext's line" grep -q "hi from ext" "$WORK/fip6.got"
assert_contains "$(inns ext ip -6 neigh show "$FIP6")" "02:76:73:00:00:01" "ext's neighbor entry for $FIP6"
capture_start ext "$WORK/fip6.pcap" "" icmp6
inns h2 ping -6 -c 2 -W 2 "$EXT6" >/dev/null || fail "h2 cannot ping $EXT6"
capture_stop "$CAPPID"
seen=$(capture_read "$WORK/fip6.pcap")
assert_contains "$seen" "$FIP6 > $EXT6: ICMP6, echo request" "ext's capture of h2's pings"
vs floating-ip list

step "ICMP errors from beyond ext reach h1 translated back"
out=$(inns h1 timeout 30 traceroute -n -q 1 -w 2 -m 4 "$FAR") || fail "traceroute failed: $out"
log "$out"
assert_eq "$(printf '%s\n' "$out" | awk '$1 == 2 {print $2}')" "$EXT" "traceroute hop 2 (time exceeded from ext)"
assert_eq "$(printf '%s\n' "$out" | awk '$1 == 3 {print $2}')" "$FAR" "traceroute hop 3 (port unreachable from far)"
inns h1 ip route flush cache
out=$(inns h1 ping -n -M do -s 1400 -c 2 -W 2 "$FAR" 2>&1 || true)
log "$(printf '%s\n' "$out" | grep -i 'frag\|mtu' | head -1)"
assert_contains "$out" "mtu = 1280" "ping -M do -s 1400 to far, through ext's 1280 link"

step "to $SNAT without a binding: dropped and counted"
before=$(port_counter pe drops.nat_no_binding)
echo "stray" | inns ext timeout 3 nc -u -w 1 "$SNAT" 40999 || true
for _ in $(seq 10); do
    [ "$(port_counter pe drops.nat_no_binding)" -gt "$before" ] && break
    sleep 0.5
done
assert_gt "$(port_counter pe drops.nat_no_binding)" "$before" "pe drops.nat_no_binding"

step "bad NAT input: one line each, the model unchanged"
config=$(vs config show)
refused "inverted port range" snat add two --from 198.51.100.128/25 --to 203.0.113.101 --port-range 3000-2000
refused "overlapping SNAT pools" snat add two --from 198.51.100.128/25 --to 203.0.113.99-203.0.113.100
refused "floating IP already used" floating-ip add "$FIP" --endpoint "$H1"
refused "floating IP in a SNAT pool" floating-ip add "$SNAT" --endpoint "$H1"
refused "SNAT to the gateway" snat add two --from 198.51.100.128/25 --to 203.0.113.1
refused "SNAT outside every external net" snat add two --from 198.51.100.128/25 --to 192.0.2.99
pass
