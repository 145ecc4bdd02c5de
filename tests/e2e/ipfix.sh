#!/usr/bin/env bash
# IPFIX export of the connection table to nfdump's collector (nfcapd).
#
#   a (198.51.100.10, web) -- pa [vswitchd: router + firewall + SNAT] pb -- b (203.0.113.10,
#                                                                          app: external, VNI 5001)
#                                                                     pc -- c (203.0.113.20, app)
#
# A policy lets web reach app on TCP 5201; web's connections leave from SNAT address
# 203.0.113.99. a sends with iperf3 to b. vswitchd exports the connections' records to nfcapd
# on loopback; nfdump lists the data connection with the bytes iperf3 sent (plus their IP and
# TCP headers) within 1 %, in by pa and out by pb. tshark decodes the same messages: a's
# records carry the SNAT address as postNATSourceIPv4Address, b's answers app's VNI as
# layer2SegmentId. c sends to b with iperf3 within app (bridged, no connection tracked): its
# bridged-flow record carries c's and b's MACs and iperf3's bytes (with headers) within 1 %.
# Bad input: a collector that is not IP:PORT, sampling 0 — one line each, the model unchanged.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init ipfix
need_cmd iperf3 nfcapd nfdump

A=198.51.100.10 B=203.0.113.10 C=203.0.113.20 SNAT=203.0.113.99
NFPORT=$((20000 + $$ % 20000))

# ipfix_fields OUT FIELD...: the captured messages' records as tshark decodes them, a line per
# message, a column per field (comma-separated values, one per record).
ipfix_fields() {
    local out=$1 f args=()
    shift
    for f in "$@"; do args+=(-e "cflow.$f"); done
    tshark -r "$WORK/ipfix.pcap" -d "udp.port==$NFPORT,cflow" -T fields -E separator=/t \
        "${args[@]}" >"$out" 2>"$WORK/tshark.err" || fail "tshark: $(cat "$WORK/tshark.err")"
}

# within_1pct OCTETS SENT PACKETS WHAT: OCTETS is iperf3's SENT bytes plus 52 bytes of IPv4 and
# TCP (with timestamps) headers per packet, within 1 %.
within_1pct() {
    local expected=$(($2 + $3 * 52)) diff
    diff=$(($1 > expected ? $1 - expected : expected - $1))
    log "expected $expected octets, off by $diff"
    assert_le $((diff * 100)) "$expected" "$4 within 1 % of iperf3's bytes and headers"
}

start_daemon
vs network add web --subnet 198.51.100.0/24 --gateway 198.51.100.1 >/dev/null
vs network add app --subnet 203.0.113.0/24 --gateway 203.0.113.1 --external --vni 5001 >/dev/null
vs policy add iperf --from web --to app --proto tcp --port 5201 --action allow >/dev/null
vs snat add out --from web --to "$SNAT" >/dev/null
make_host a "$A/24"
make_host b "$B/24"
make_host c "$C/24"
inns a ip route add default via 198.51.100.1
inns b ip route add default via 203.0.113.1
vs port add pa --type af-packet --iface "$(rif a)" --network web >/dev/null
vs port add pb --type af-packet --iface "$(rif b)" --network app >/dev/null
vs port add pc --type af-packet --iface "$(rif c)" --network app >/dev/null

step "bad input: one line each, the model unchanged"
config=$(vs config show)
refused "a collector that is not IP:PORT" ipfix set --collector nowhere
refused "sampling 0" ipfix set --collector "127.0.0.1:$NFPORT" --sampling 0
refused "an idle timeout of 0" ipfix set --collector "127.0.0.1:$NFPORT" --idle-timeout 0

step "nfcapd on 127.0.0.1:$NFPORT; vswitchd exports to it"
mkdir -p "$WORK/flows"
bg nfcapd -w "$WORK/flows" -b 127.0.0.1 -p "$NFPORT" -t 60
NFCAPD=$BGPID
bg timeout 120 tcpdump -Z root -i lo -nn -U -s 0 -w "$WORK/ipfix.pcap" udp port "$NFPORT" 2>"$WORK/tcpdump.err"
TCPDUMP=$BGPID
wait_for 10 "tcpdump on lo to start" grep -q "listening on" "$WORK/tcpdump.err"
vs ipfix set --collector "127.0.0.1:$NFPORT" --idle-timeout 2 >/dev/null
show=$(vs ipfix show)
log "$show"
assert_contains "$show" "collector: 127.0.0.1:$NFPORT" "the export's collector"

step "a sends to b with iperf3 for 3 s"
bg ip netns exec "$(hns b)" iperf3 -s -1 -B "$B"
wait_for 10 "iperf3 listening" sh -c "ip netns exec $(hns b) ss -Hltn 'sport = :5201' | grep -q 5201"
inns a iperf3 -c "$B" -t 3 -J >"$WORK/iperf.json" || fail "iperf3 failed"
sent=$(json_get "d['end']['sum_sent']['bytes']" <"$WORK/iperf.json")
log "iperf3 sent $sent bytes"
records() { vs --json ipfix show | json_get "d.get('records', 0)"; }
# Both connections (control and data), both directions; then what their close adds.
wait_for 20 "the connections' records" eval '[ "$(records)" -ge 4 ]'

step "c sends to b with iperf3 for 2 s, bridged within app"
bg ip netns exec "$(hns b)" iperf3 -s -1 -B "$B" -p 5202
wait_for 10 "iperf3 listening on 5202" sh -c "ip netns exec $(hns b) ss -Hltn 'sport = :5202' | grep -q 5202"
inns c iperf3 -c "$B" -p 5202 -t 2 -J >"$WORK/iperf2.json" || fail "iperf3 c -> b failed"
bridged_sent=$(json_get "d['end']['sum_sent']['bytes']" <"$WORK/iperf2.json")
log "iperf3 sent $bridged_sent bytes from c to b"
# Idle after 2 s; the exporter's check comes each second.
sleep 5
kill "$NFCAPD"
wait "$NFCAPD" 2>/dev/null || true
capture_stop "$TCPDUMP"

step "nfdump lists the data connection with iperf3's bytes (and their headers) within 1 %"
nfdump -R "$WORK/flows" -o csv >"$WORK/flows.csv" 2>"$WORK/nfdump.err" || fail "nfdump: $(cat "$WORK/nfdump.err")"
log "$(head -5 "$WORK/flows.csv")"
read -r pkts octets ports < <("$PYTHON" - "$WORK/flows.csv" "$A" "$B" <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
head = rows[0]
col = {name: i for i, name in enumerate(head)}
best = {}
for r in rows[1:]:
    if not r or r[0].startswith("Summary"):
        break
    if len(r) < len(head) or r[col["sa"]] != sys.argv[2] or r[col["da"]] != sys.argv[3]:
        continue
    if r[col["dp"]] != "5201":
        continue
    k = r[col["sp"]]
    p, b, _ = best.get(k, (0, 0, ""))
    best[k] = (p + int(r[col["ipkt"]]), b + int(r[col["ibyt"]]), r[col["in"]] + "," + r[col["out"]])
p, b, ports = max(best.values(), key=lambda v: v[1], default=(0, 0, ""))
print(p, b, ports)
EOF
)
log "nfdump: $pkts packets, $octets octets from a to b:5201"
assert_gt "$pkts" 0 "packets of the data connection"
# Interfaces are the ports' DPDK ids + 1: in by pa, out by pb.
id() { vs --json port show "$1" | json_get "d['state'].get('dpdk_port_id', 0) + 1"; }
assert_eq "$ports" "$(id pa),$(id pb)" "ingress and egress interfaces"
within_1pct "$octets" "$sent" "$pkts" octets

step "tshark: c's bridged flow to b carries their MACs and iperf3's bytes within 1 %"
ipfix_fields "$WORK/l2.txt" srcmac dstmac octets packets
read -r l2pkts l2octets < <("$PYTHON" - "$WORK/l2.txt" "$(host_mac c)" "$(host_mac b)" <<'EOF'
import sys
pkts = octets = 0
for line in open(sys.argv[1]):
    cols = [c.split(",") for c in line.rstrip("\n").split("\t")]
    for src, dst, o, p in zip(*cols):
        if src.lower() == sys.argv[2] and dst.lower() == sys.argv[3]:
            pkts, octets = pkts + int(p), octets + int(o)
print(pkts, octets)
EOF
)
log "bridged records c -> b: $l2pkts frames, $l2octets octets"
assert_gt "$l2pkts" 0 "frames of the bridged flow"
within_1pct "$l2octets" "$bridged_sent" "$l2pkts" "bridged octets"

step "tshark: a's records leave from the SNAT address, b's answers come from VNI 5001"
ipfix_fields "$WORK/ipfix.txt" srcaddr srcport dstport post_natsource_ipv4_address \
    post_naptsource_transport_port layer2_segment_id
read -r out_from segment < <("$PYTHON" - "$WORK/ipfix.txt" "$A" "$B" <<'EOF'
import sys
sent = answered = "-"
for line in open(sys.argv[1]):
    cols = [c.split(",") for c in line.rstrip("\n").split("\t")]
    for src, sport, dport, post_src, post_sport, seg in zip(*cols):
        if src == sys.argv[2] and dport == "5201":
            sent = f"{post_src}:{post_sport}"
        if src == sys.argv[3] and sport == "5201":
            answered = str(int(seg, 0))
print(sent, answered)
EOF
)
log "a's data connection leaves from $out_from; b's answers are in segment $segment"
assert_contains "$out_from" "$SNAT:" "postNATSourceIPv4Address of a's records"
assert_eq "$segment" $(((1 << 56) | 5001)) "layer2SegmentId of b's records: VXLAN, VNI 5001"

step "vsctl ipfix del: the export stops"
vs ipfix del >/dev/null
refused "a second del" ipfix del

pass
