#!/usr/bin/env bash
# The tunnel gateway against the Linux kernel's VXLAN device.
#
#   a (198.51.100.1) -- pa [vswitchd: network blue, VNI 5000, VLAN 100] pu -- underlay veth -- k
#   t: VLAN 100 sub-interface (198.51.100.3) -- pt (trunk 100)                  |
#                                                            k: 203.0.113.2, vx0 (VNI 5000)
#   vswitchd's VTEP: 203.0.113.1/24 on pu                    bridged (br0) with r's veth
#                                                            r: 198.51.100.2
#
# a and r ping, run iperf3 and move a file with matching sha256 across the overlay; the
# underlay capture is VXLAN that tshark decodes without warnings about its headers (outer
# IPv4 and inner TCP checksums checked; the inner stream's sequence analysis and payload left
# out); t, tagged on VLAN 100, reaches r (VLAN <-> VXLAN); the FDB has r's MAC behind the
# kernel VTEP; a frame over the overlay MTU is dropped and counted; malformed VXLAN (unknown
# VNI, bad flags, truncated inner frame, lying UDP length, unknown VTEP with learning off) is
# dropped and counted, and nothing of it reaches a.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init vxlan
need_cmd iperf3 nc sha256sum ss tshark

A=198.51.100.1 R=198.51.100.2 T=198.51.100.3
VTEP=203.0.113.1 KVTEP=203.0.113.2

start_daemon
vs network add blue --vni 5000 --vlan 100

step "the kernel VTEP: namespace k, vx0 (VNI 5000) bridged with host r"
kernel_vtep 5000

step "vswitchd: VTEP on pu, host a on blue, trunk of VLAN 100 to t"
vs port add pu --type af-packet --iface "$(rif k)"
vs vtep set --local-ip "$VTEP/24" --port pu
vs vtep remote add "$KVTEP" --vni 5000
make_host a
inns a ip link set "$(hif a)" mtu 1450
_host_addrs a "$(hif a)" "$A/24"
vs port add pa --type af-packet --iface "$(rif a)" --network blue
make_host t
make_vlan_ifs t 100:t100
inns t ip link set t100 mtu 1450
_host_addrs t t100 "$T/24"
vs port add pt --type af-packet --iface "$(rif t)" --trunk 100
show=$(vs vtep show)
log "$show"
assert_contains "$show" "overlay mtu: 1450" "vtep show: the overlay MTU"
assert_contains "$show" "$KVTEP" "vtep show: the flood list"

# The underlay conversation (its first 4000 frames, whole), for tshark.
bg ip netns exec "$(hns k)" timeout 120 tcpdump -Z root -i "$kif" -nn -U -s 0 -c 4000 -w "$WORK/underlay.pcap" udp port 4789 2>"$WORK/underlay.err"
cap=$BGPID
wait_for 10 "tcpdump on the underlay" grep -q "listening on" "$WORK/underlay.err"

step "ping across the overlay, both ways"
assert_ping a "$R"
assert_ping r "$A"
fdb=$(vs fdb show --network blue)
log "$fdb"
assert_contains "$fdb" "vtep $KVTEP" "r's MAC learned behind the kernel VTEP"
assert_contains "$fdb" "$rmac" "r's MAC in the FDB"
kfdb=$(inns k bridge fdb show dev vx0)
assert_contains "$kfdb" "dst $VTEP" "the kernel VTEP learned a's MAC behind vswitchd"

step "VLAN 100 on the trunk reaches r through VNI 5000"
assert_ping t "$R"

step "iperf3 TCP a -> r and r -> a"
bg ip netns exec "$(hns r)" timeout 40 iperf3 -s -B "$R" -p 5201 >"$WORK/iperf3-server.log" 2>&1
wait_for 10 "iperf3 server on r" sh -c "ip netns exec $(hns r) ss -Hltn 'sport = :5201' | grep -q 5201"
for dir in "" -R; do
    what=$([ -z "$dir" ] && echo "a -> r" || echo "r -> a")
    json=$(inns a timeout 20 iperf3 -c "$R" -p 5201 -t 3 -J $dir) || fail "iperf3 $what failed: $(printf '%s' "$json" | json_get "d.get('error', '')" 2>/dev/null)"
    bps=$(printf '%s' "$json" | json_get "int(d['end']['sum_received']['bits_per_second'])")
    log "iperf3 $what: $((bps / 1000000)) Mbit/s"
    assert_gt "$bps" 1000000 "iperf3 $what throughput (bit/s)"
done

step "a 4 MB file a -> r over nc, sha256 equal"
assert_file_copy a r "$R" 4

sleep 0.3
capture_stop "$cap"
step "tshark decodes the underlay as VXLAN without warnings"
tsh() { timeout 60 tshark -n -r "$WORK/underlay.pcap" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE "$@" 2>/dev/null; }
# One line per frame from vswitchd's VTEP: VNI, UDP source port, inner TCP or not.
tsh -Y "ip.src == $VTEP" -T fields -E separator=, -e vxlan.vni -e udp.srcport -e tcp.srcport >"$WORK/from-vtep.csv"
summary=$("$PYTHON" - "$WORK/from-vtep.csv" <<'PY'
import sys
rows = [l.rstrip("\n").split(",") for l in open(sys.argv[1]) if l.strip()]
vni_ok = sum(1 for r in rows if r[0] == "5000")
tcp = sum(1 for r in rows if r[0] == "5000" and r[2])
print(len(rows), vni_ok, tcp, len({r[1] for r in rows}))
PY
)
read -r frames vni5000 inner_tcp sports <<<"$summary"
log "frames from vswitchd's VTEP: $frames, VNI 5000: $vni5000, inner TCP: $inner_tcp, UDP source ports: $sports"
assert_gt "$frames" 100 "VXLAN frames from vswitchd's VTEP in the capture"
assert_eq "$vni5000" "$frames" "frames from vswitchd's VTEP decoded as VXLAN VNI 5000"
assert_gt "$inner_tcp" 50 "inner TCP segments decoded"
assert_gt "$sports" 1 "distinct UDP source ports (flow entropy)"
# Warnings about the frames themselves: the headers the switch writes or forwards (Ethernet,
# IPv4, UDP, VXLAN, the inner IPv4/TCP/ICMP/ARP headers), not the inner TCP stream's sequence
# (a capture that starts or stops mid-stream has gaps, retransmissions and duplicate SACKs) nor
# what tshark's heuristics guess of the inner payload (random bytes of iperf3 and nc are at
# times taken for Thrift and the like).
expert=$(tsh -q -z expert,warn)
log "$expert"
about_frames=$(printf '%s\n' "$expert" | "$PYTHON" -c '
import re, sys
headers = {"ETH", "IP", "IPV4", "UDP", "VXLAN", "TCP", "ICMP", "ARP", "FRAME"}
bad = [l.strip() for l in sys.stdin
       if re.match(r"\s+\d+\s+\S+\s+\S+\s+", l)
       and l.split()[1] != "Sequence" and l.split()[2].upper() in headers]
print(len(bad)); print("\n".join(bad), file=sys.stderr)')
assert_eq "$about_frames" 0 "tshark expert warnings or errors about the frames"

step "a frame over the overlay MTU is dropped and counted"
inns a ip link set "$(hif a)" mtu 1500
before=$(port_counter pu drops.tunnel_mtu)
inns a timeout 5 ping -n -c 2 -i 0.2 -M do -s 1460 "$R" >/dev/null 2>&1 || true
after=$(port_counter pu drops.tunnel_mtu)
assert_ge "$((after - before))" 2 "pu drops.tunnel_mtu"
inns a ip link set "$(hif a)" mtu 1450
assert_ping a "$R"

step "malformed VXLAN is dropped and counted, never forwarded"
vmac=$(vs --json vtep show | json_get "d['mac']")
kmac=$(host_mac k)
capture_start a "$WORK/a.pcap"
capa=$CAPPID
bad() { # KIND COUNTER [ARGS...]: 10 frames of KIND must add 10 to pu's drops.COUNTER
    local kind=$1 counter=$2 b n i
    shift 2
    b=$(port_counter pu "drops.$counter")
    inns k "$PYTHON" "$E2E_DIR/tools/badvxlan.py" --iface "$kif" --dst-mac "$vmac" --src-mac "$kmac" \
        --src "$KVTEP" --dst "$VTEP" --kind "$kind" --count 10 "$@" >/dev/null
    for i in $(seq 50); do
        n=$(($(port_counter pu "drops.$counter") - b))
        [ "$n" -ge 10 ] && break
        sleep 0.1
    done
    log "$kind: drops.$counter +$n"
    assert_eq "$n" 10 "pu drops.$counter after 10 frames of $kind"
}
bad unknown_vni vxlan_unknown_vni --vni 7777
bad bad_flags vxlan_bad_header
bad no_i_flag vxlan_bad_header
bad truncated vxlan_truncated
bad udp_len_lie vxlan_truncated
vs vtep set --local-ip "$VTEP/24" --port pu --learning off
bad valid vxlan_unknown_vtep --src 203.0.113.77
assert_ping a "$R"
sleep 0.3
capture_stop "$capa"
leaked=$(capture_read "$WORK/a.pcap" "ether src 02:00:5e:00:53:99" | wc -l)
assert_eq "$leaked" 0 "frames of malformed VXLAN that reached a"

pass
