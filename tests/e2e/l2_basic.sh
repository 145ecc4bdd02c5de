#!/usr/bin/env bash
# Two Linux hosts (namespaces, veth + af-packet) in one network: ping both ways (IPv4 and IPv6),
# the FDB learns each MAC on its port, iperf3 TCP has a real throughput, and a 10 MB file sent
# with nc arrives with the same sha256.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init l2_basic
need_cmd iperf3 nc sha256sum ss

A4=198.51.100.11 B4=198.51.100.12
A6=2001:db8:11::1 B6=2001:db8:11::2

start_daemon
vs network add n1
make_host a "$A4/24" "$A6/64"
make_host b "$B4/24" "$B6/64"
vs port add pa --type af-packet --iface "$(rif a)" --network n1
vs port add pb --type af-packet --iface "$(rif b)" --network n1
# Frames sent before pb existed (IPv6 MLD, router solicitations) may count as no_egress_port:
# the check at the end is over the traffic below only.
sleep 0.3
drops_before=$(vs --json stats show)

step "ping both ways"
assert_ping a "$B4"
assert_ping b "$A4"
assert_ping a "$B6"
assert_ping b "$A6"

step "the FDB learned each host on its port"
fdb=$(vs --json fdb show --network n1)
for h in a:pa b:pb; do
    mac=$(host_mac "${h%%:*}")
    port=$(printf '%s' "$fdb" | json_get "[e['port'] for e in d['entries'] if e['mac'].lower() == '$mac']")
    assert_eq "$port" "[\"${h#*:}\"]" "FDB entry of host ${h%%:*} ($mac)"
done
assert_gt "$(port_counter pa rx_packets)" 0 "pa rx_packets"
assert_gt "$(port_counter pb tx_packets)" 0 "pb tx_packets"

step "iperf3 TCP a -> b and b -> a"
bg ip netns exec "$(hns b)" timeout 30 iperf3 -s -B "$B4" -p 5201 >"$WORK/iperf3-server.log" 2>&1
wait_for 10 "iperf3 server on b" sh -c "ip netns exec $(hns b) ss -Hltn 'sport = :5201' | grep -q 5201"
for dir in "" -R; do
    what=$([ -z "$dir" ] && echo "a -> b" || echo "b -> a")
    json=$(inns a timeout 20 iperf3 -c "$B4" -p 5201 -t 3 -J $dir) || fail "iperf3 $what failed: $(printf '%s' "$json" | json_get "d.get('error', '')" 2>/dev/null)"
    bps=$(printf '%s' "$json" | json_get "int(d['end']['sum_received']['bits_per_second'])")
    bytes=$(printf '%s' "$json" | json_get "int(d['end']['sum_received']['bytes'])")
    log "iperf3 $what: $((bps / 1000000)) Mbit/s, $bytes bytes received"
    assert_gt "$bps" 1000000 "iperf3 $what throughput (bit/s)"
done

step "10 MB over nc, sha256 equal on both sides"
assert_file_copy a b "$B4" 10

step "no drops during the traffic (tx_full is load-dependent: shown, not failed)"
"$PYTHON" - "$drops_before" "$(vs --json stats show)" <<'EOF' || fail "the switch dropped frames of good traffic"
import json, sys
b, a = (json.loads(x) for x in sys.argv[1:3])
ok = True
for port in ("pa", "pb"):
    before = next(p for p in b["ports"] if p["name"] == port)["drops"]
    after = next(p for p in a["ports"] if p["name"] == port)["drops"]
    delta = {r: n - before.get(r, 0) for r, n in after.items() if n - before.get(r, 0)}
    print("  %s drops during the traffic: %s" % (port, delta or "none"))
    ok &= not {r: n for r, n in delta.items() if r != "tx_full"}
sys.exit(0 if ok else 1)
EOF
pass
