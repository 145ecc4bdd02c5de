#!/usr/bin/env bash
# Packet trace against Linux hosts in namespaces. Networks web 198.51.100.0/25 (w) and app
# 198.51.100.128/25 (a) in one VRF, a policy web -> app tcp/8080 and one web -> app tcp/22
# deny, a service VIP 192.0.2.80:80 with a as its backend, and network blue (VNI 5000)
# reaching the kernel's VXLAN device in namespace k (host r behind it).
# `vsctl trace` names the denying policy for a packet the firewall drops, the route and
# next hop of a routed packet, the remote VTEP of a packet into the overlay and the
# translation of a packet to the VIP; it sends nothing and changes nothing (no connection
# opened, no MAC learned). `vsctl trace --live` of a real ping, picked by a capture filter,
# shows the same path as the simulated one. Bad input gets one-line errors.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init trace
need_cmd nc

W=198.51.100.10 A=198.51.100.130 VTEP=203.0.113.1 KVTEP=203.0.113.2 R=192.0.2.20 B=192.0.2.30

start_daemon
vs network add web --subnet 198.51.100.0/25 --gateway 198.51.100.1 >/dev/null
vs network add app --subnet 198.51.100.128/25 --gateway 198.51.100.129 >/dev/null
vs network add blue --vni 5000 >/dev/null
make_host w "$W/25"
make_host a "$A/25"
inns w ip route add default via 198.51.100.1
inns a ip route add default via 198.51.100.129
vs port add pw --type af-packet --iface "$(rif w)" --network web >/dev/null
vs port add pa --type af-packet --iface "$(rif a)" --network app >/dev/null
vs policy add web-app --from web --to app --proto tcp --port 8080 --action allow >/dev/null
vs policy add web-app-ssh --from web --to app --proto tcp --port 22 --action deny >/dev/null
vs policy add web-app-ping --from web --to app --proto icmp --action allow >/dev/null
vs policy add to-vip --from web --to 192.0.2.80/32 --proto tcp --port 80 --action allow >/dev/null
vs service add www --vip 192.0.2.80:80 --proto tcp --backend "$A:8080" >/dev/null
kernel_vtep 5000
vs port add pu --type af-packet --iface "$(rif k)" >/dev/null
vs vtep set --local-ip "$VTEP/24" --port pu >/dev/null
vs vtep remote add "$KVTEP" --vni 5000 >/dev/null
make_host b "$B/24"
vs port add pb --type af-packet --iface "$(rif b)" --network blue >/dev/null
# The gateways and the remote VTEP learn where everyone is.
assert_ping w "$A"
assert_ping b "$R"
wmac=$(host_mac w) amac=$(host_mac a)

step "a routed packet: route, next hop, policy, output; nothing sent, nothing kept"
conns=$(vs --json conntrack stats | json_get "d['connections']")
out=$(vs trace --port pw --packet "eth(src=$wmac)/ipv4(src=$W,dst=$A)/tcp(sport=40000,dport=8080)")
log "$out"
assert_contains "$out" "ingress   port pw: network web" "the ingress"
assert_contains "$out" "router    $A: connected, network app" "the route"
assert_contains "$out" "router    neighbor $A is $amac" "the next hop"
assert_contains "$out" "firewall  policy web-app: allow" "the policy"
assert_contains "$out" "output    port pa" "the output"
assert_contains "$out" "sent: pa (" "where it goes"
assert_eq "$(vs --json conntrack stats | json_get "d['connections']")" "$conns" "connections after the trace"

step "a denied packet names the policy"
out=$(vs trace --port pw --packet "eth(src=$wmac)/ipv4(src=$W,dst=$A)/tcp(dport=22)")
assert_contains "$out" "firewall  policy web-app-ssh: deny" "the denying policy"
assert_contains "$out" "output    dropped (policy_deny)" "the drop"
assert_contains "$out" "sent: nothing" "nothing sent"
out=$(vs trace --port pw --packet "eth(src=$wmac)/ipv4(src=$W,dst=$A)/udp(dport=53)")
assert_contains "$out" "no policy matches: denied" "default isolation"

step "a packet to the VIP shows its backend"
out=$(vs trace --port pw --packet "eth(src=$wmac)/ipv4(src=$W,dst=192.0.2.80)/tcp(sport=40001,dport=80)")
log "$out"
assert_contains "$out" "nat       VIP 192.0.2.80:80: new connection, backend $A:8080" "the translation"
assert_contains "$out" "firewall  policy to-vip: allow" "the policy of the VIP"
assert_contains "$out" "output    port pa" "to the backend"

step "a packet into the overlay names the remote VTEP"
out=$(vs trace --port pb --packet "eth(src=$(host_mac b),dst=$rmac)/ipv4(src=$B,dst=$R)/udp")
log "$out"
assert_contains "$out" "bridge    FDB: $rmac is behind remote VTEP $KVTEP" "the FDB"
assert_contains "$out" "vxlan     VNI 5000 to remote VTEP $KVTEP, from $VTEP out of port pu" "the tunnel"
assert_contains "$out" "sent: pu (" "out of the underlay"

step "a described frame teaches nothing; the pcap and hex forms"
out=$(vs trace --port pw --packet "eth(src=02:00:00:00:77:77,dst=ff:ff:ff:ff:ff:ff)/ipv4(src=$W,dst=198.51.100.127)/udp")
assert_contains "$out" "flood" "a broadcast floods"
assert_not_contains "$(vs fdb show --network web)" "02:00:00:00:77:77" "the FDB"
capture_start w "$WORK/w.pcap" "" icmp
inns w ping -c 1 -W 2 "$A" >/dev/null
capture_stop "$CAPPID"
out=$(vs trace --port pw --pcap "$WORK/w.pcap")
assert_contains "$out" "firewall  icmp $W -> $A: " "the captured ping"
assert_contains "$out" "output    port pa" "the captured ping's way"
port=$(vs --json trace --port pw --pcap "$WORK/w.pcap" | json_get "d['port']")
assert_eq "$port" "pw" "JSON output"

step "a live trace of a real ping shows the path of the simulated one"
sim=$(vs trace --port pw --packet "eth(src=$wmac)/ipv4(src=$W,dst=$A)/icmp")
bg sh -c "timeout 20 $VSCTL --socket $SOCK trace --live --port pw --filter 'icmp and dst host $A' >$WORK/live.txt 2>&1"
live=$BGPID
# The trace is armed when the daemon answers; a ping then is the first packet it keeps.
sleep 1
inns w ping -c 1 -W 2 "$A" >/dev/null
wait "$live" || fail "trace --live: $(cat "$WORK/live.txt")"
log "$(cat "$WORK/live.txt")"
assert_contains "$(head -1 "$WORK/live.txt")" "packet on port pw at " "the live trace's header"
path() { grep '^  ' | sed 's/would open a connection/connection opened/'; }
assert_eq "$(path <"$WORK/live.txt")" "$(printf '%s\n' "$sim" | path)" "the live path"
# One live trace a port at a time; a filter that does not compile is refused.
out=$(vs trace --live --port pw --filter "icmp and nonsense" 2>&1) && fail "a bad filter was accepted"
assert_contains "$out" "filter \`icmp and nonsense\`" "the bad filter's error"

step "bad input: one-line errors"
for bad in "--port nope --packet ipv4(src=$W,dst=$A)/tcp" \
           "--port pw --packet ipv4(src=$W)/tcp" \
           "--port pw --packet ipv4(src=$W,dst=$A)/tcp(flags=Q)" \
           "--port pw --pcap $WORK/none.pcap"; do
    # shellcheck disable=SC2086 # the cases are word lists
    if out=$(vs trace $bad 2>&1); then fail "trace $bad was accepted: $out"; fi
    assert_eq "$(printf '%s\n' "$out" | wc -l)" 1 "one line for $bad: $out"
done
pass
