#!/usr/bin/env bash
# Service VIPs against Linux hosts in namespaces: clients in web 198.51.100.0/24 and
# 2001:db8:a::/64 (cl .10 with 150 more addresses), backends in app 192.0.2.0/24 and
# 2001:db8:b::/64 (b1 .11, b2 .12, b3 .13), each an HTTP server answering its name. Service
# www 203.0.113.80:80 over the three with weights 1,1,2; service sticky 203.0.113.81:80 with
# client-IP affinity; service www6 on [2001:db8:ff::80]:80, probed with HTTP GET /healthz every
# second (out after 2 failures, back after 1 success). The
# only policy lets web reach the VIPs on port 80: web cannot reach app's addresses directly.
# Shows: 3000 connections spread within +-10 % of the weights; removing a backend moves only
# its share (affinity clients of the others keep theirs) and long-lived connections to the
# others never break; adding one under load breaks nothing; a drained backend gets no new connection; a backend whose server is
# killed is out within interval x fall and no new connection fails after that, and it comes
# back when restarted; a backend whose /healthz answers 503 is out of www6 (HTTP check) and
# stays in www (TCP check); hairpin (a backend calling its own VIP); no backend left: reset and
# counted; a backend's ICMP error reaches the client's socket from the VIP; bad service input:
# one line, model unchanged; a malformed packet to a VIP counted.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init services
need_cmd curl traceroute

CL=198.51.100.10 B1=192.0.2.11 B2=192.0.2.12 B3=192.0.2.13
VIP=203.0.113.80 STICKY=203.0.113.81
VIPTOOL="$E2E_DIR/tools/vip.py"

start_daemon
vs network add web --subnet 198.51.100.0/24 --subnet 2001:db8:a::/64 \
    --gateway 198.51.100.1 --gateway 2001:db8:a::1 >/dev/null
vs network add app --subnet 192.0.2.0/24 --subnet 2001:db8:b::/64 \
    --gateway 192.0.2.1 --gateway 2001:db8:b::1 >/dev/null
vs policy add to-vips --from web --to 203.0.113.80/31 --proto tcp --port 80 --action allow >/dev/null
vs policy add to-vip6 --from web --to 2001:db8:ff::80/128 --proto tcp --port 80 --action allow >/dev/null
make_host cl "$CL/24" 2001:db8:a::10/64
inns cl ip route add default via 198.51.100.1
inns cl ip -6 route add default via 2001:db8:a::1
for i in $(seq 100 249); do inns cl ip addr add "198.51.100.$i/24" dev "$(hif cl)"; done
vs port add pc --type af-packet --iface "$(rif cl)" --network web >/dev/null
declare -A SERVER
start_backend() { # NAME
    bg ip netns exec "$(hns "$1")" "$PYTHON" "$VIPTOOL" serve "$1" 8080 "$WORK/$1.sick"
    SERVER[$1]=$BGPID
    wait_for 10 "$1's server" sh -c "ip netns exec $(hns "$1") ss -ltn | grep -q ':8080 '"
}
for b in b1:$B1 b2:$B2 b3:$B3; do
    name=${b%%:*} ip=${b#*:}
    make_host "$name" "$ip/24" "2001:db8:b::${ip##*.}/64"
    inns "$name" ip route add default via 192.0.2.1
    inns "$name" ip -6 route add default via 2001:db8:b::1
    vs port add "p$name" --type af-packet --iface "$(rif "$name")" --network app >/dev/null
    start_backend "$name"
done
vs service add www --vip "$VIP:80" --proto tcp --backend "$B1:8080,$B2:8080,$B3:8080" --weight 1,1,2 >/dev/null
vs service add sticky --vip "$STICKY:80" --proto tcp --backend "$B1:8080,$B2:8080,$B3:8080" --affinity >/dev/null
vs service add www6 --vip "[2001:db8:ff::80]:80" --proto tcp \
    --backend "[2001:db8:b::11]:8080,[2001:db8:b::12]:8080,[2001:db8:b::13]:8080" \
    --health-check http:/healthz --health-interval 1 --health-rise 1 --health-fall 2 >/dev/null
assert_contains "$(vs service show www6)" "health check http:/healthz every 1s, timeout 1s, rise 1, fall 2" "www6's probes"

health_of() { # SERVICE BACKEND
    vs --json service show "$1" | json_get "[b.get('health', '') for b in d['services'][0]['backends'] if b['addr'] == '$2'][0]"
}
health_is() { [ "$(health_of "$1" "$2")" = "$3" ]; }
all_up() { # SERVICE
    vs --json service show "$1" | json_get "all(b.get('health') == 'up' for b in d['services'][0]['backends'])" | grep -q True
}
wait_for 15 "the first probes to find b1..b3 up" all_up www
vs service show www

step "web cannot reach the backends directly, only through the VIP"
out=$(inns cl curl -s -m 3 "http://$B1:8080/" || true)
assert_eq "$out" "" "cl -> b1:8080 directly"
assert_eq "$(inns cl curl -s -m 3 "http://$VIP/" | tr -d 'b123')" "" "cl -> VIP answers with a backend's name"

step "3000 connections spread within +-10 % of the weights 1,1,2"
res=$(inns cl "$PYTHON" "$VIPTOOL" spread "$VIP" 80 3000)
log "$res"
assert_eq "$(json_get "d['failed']" <<<"$res")" 0 "failed connections"
for want in b1:750 b2:750 b3:1500; do
    name=${want%%:*} n=${want#*:}
    got=$(json_get "d['counts'].get('$name', 0)" <<<"$res")
    assert_ge "$got" $((n * 90 / 100)) "$name's connections"
    assert_le "$got" $((n * 110 / 100)) "$name's connections"
done

step "an IPv6 VIP: 300 connections spread over its three backends, probed over IPv6 with HTTP"
wait_for 15 "the IPv6 probes to find b1..b3 up" all_up www6
res=$(inns cl "$PYTHON" "$VIPTOOL" spread 2001:db8:ff::80 80 300)
log "$res"
assert_eq "$(json_get "d['failed']" <<<"$res")" 0 "failed IPv6 connections"
for name in b1 b2 b3; do
    assert_gt "$(json_get "d['counts'].get('$name', 0)" <<<"$res")" 50 "$name's IPv6 connections"
done

step "removing b2 moves only its share; long-lived connections to b1 and b3 never break"
sources=$(for i in $(seq 100 249); do printf '198.51.100.%s ' "$i"; done)
# shellcheck disable=SC2086
before=$(inns cl "$PYTHON" "$VIPTOOL" sources "$STICKY" 80 $sources)
bg ip netns exec "$(hns cl)" sh -c "'$PYTHON' '$VIPTOOL' hold $VIP 80 24 14 >$WORK/hold.json"
HOLD=$BGPID
sleep 4
vs service backend del sticky "$B2:8080" >/dev/null
vs service backend del www "$B2:8080" >/dev/null
# shellcheck disable=SC2086
after=$(inns cl "$PYTHON" "$VIPTOOL" sources "$STICKY" 80 $sources)
moved=$(json_get "sum(1 for ip, n in json.loads('''$before''').items() if n != 'b2' and d[ip] != n)" <<<"$after")
kept=$(json_get "sum(1 for ip, n in json.loads('''$before''').items() if n != 'b2')" <<<"$after")
lost=$(json_get "sum(1 for ip, n in d.items() if n is None or n == 'b2')" <<<"$after")
log "affinity clients of b1/b3: $kept, moved after b2 left: $moved; b2's now elsewhere, none failed ($lost)"
assert_le $((moved * 100)) $((kept * 3)) "clients of b1/b3 that moved (at most 3 %)"
assert_eq "$lost" 0 "clients without an answer after b2 left"
wait "$HOLD" || true
held=$(cat "$WORK/hold.json")
others=$(json_get "len([c for c in d if c['first'] != 'b2'])" <<<"$held")
broken=$(json_get "len([c for c in d if c['first'] != 'b2' and (c['failures'] or c['names'] != [c['first']])])" <<<"$held")
log "long-lived connections on b1/b3: $others, broken or moved: $broken"
assert_gt "$others" 0 "long-lived connections on b1/b3"
assert_eq "$broken" 0 "long-lived connections on b1/b3 that broke or moved"

step "a drained backend takes no new connection"
vs service backend drain www "$B1:8080" >/dev/null
res=$(inns cl "$PYTHON" "$VIPTOOL" spread "$VIP" 80 200)
assert_eq "$(json_get "d['counts'].get('b1', 0)" <<<"$res")" 0 "new connections on drained b1"
assert_eq "$(json_get "d['failed']" <<<"$res")" 0 "failed connections"
vs service backend drain www "$B1:8080" --undo >/dev/null

step "b3's server killed: out within 2 s x 3, no new connection fails after; back when restarted"
kill "${SERVER[b3]}"
t0=$(date +%s)
wait_for 12 "b3 to be down" health_is www "$B3:8080" down
log "b3 out after $(($(date +%s) - t0)) s"
res=$(inns cl "$PYTHON" "$VIPTOOL" spread "$VIP" 80 300)
log "$res"
assert_eq "$(json_get "d['failed']" <<<"$res")" 0 "failed new connections with b3 down"
assert_eq "$(json_get "d['counts'].get('b3', 0)" <<<"$res")" 0 "connections on b3"
start_backend b3
wait_for 12 "b3 to be up again" health_is www "$B3:8080" up
res=$(inns cl "$PYTHON" "$VIPTOOL" spread "$VIP" 80 300)
assert_gt "$(json_get "d['counts'].get('b3', 0)" <<<"$res")" 0 "connections on b3 once it is back"
vs service show www

step "b1's /healthz answers 503: out of www6 (HTTP check), still in www (TCP check); back at 200"
touch "$WORK/b1.sick"
t0=$(date +%s)
wait_for 6 "b1 to be down in www6" health_is www6 "[2001:db8:b::11]:8080" down
log "b1 out of www6 after $(($(date +%s) - t0)) s"
last=$(vs --json service show www6 | json_get "[b.get('last_probe', '') for b in d['services'][0]['backends'] if b['addr'] == '[2001:db8:b::11]:8080'][0]")
assert_eq "$last" "http 503" "b1's last probe in www6"
assert_eq "$(health_of www "$B1:8080")" up "b1 in www"
res=$(inns cl "$PYTHON" "$VIPTOOL" spread 2001:db8:ff::80 80 100)
assert_eq "$(json_get "d['failed']" <<<"$res")" 0 "failed connections to www6 with b1 out"
assert_eq "$(json_get "d['counts'].get('b1', 0)" <<<"$res")" 0 "www6 connections on b1"
rm "$WORK/b1.sick"
wait_for 6 "b1 to be up again in www6" health_is www6 "[2001:db8:b::11]:8080" up

step "adding a backend under load: no connection fails, the new one takes its share"
bg ip netns exec "$(hns cl)" sh -c "'$PYTHON' '$VIPTOOL' hold $VIP 80 16 8 >$WORK/hold2.json"
HOLD=$BGPID
sleep 2
vs service backend add www "$B2:8080" >/dev/null
res=$(inns cl "$PYTHON" "$VIPTOOL" spread "$VIP" 80 400)
log "$res"
assert_eq "$(json_get "d['failed']" <<<"$res")" 0 "failed connections while b2 joined"
assert_gt "$(json_get "d['counts'].get('b2', 0)" <<<"$res")" 0 "new connections on b2"
wait "$HOLD" || true
broken=$(json_get "len([c for c in d if c['failures'] or len(c['names']) != 1])" <"$WORK/hold2.json")
assert_eq "$broken" 0 "long-lived connections that broke or moved while b2 joined"

step "hairpin: b1 reaches its own VIPs (IPv4 and IPv6)"
got=$(inns b1 curl -s -m 3 "http://$VIP/" || true)
log "b1 -> $VIP: $got"
assert_contains "b1 b2 b3" "${got:-none}" "b1's answer through its VIP"
got=$(inns b1 curl -s -m 3 "http://$STICKY/" || true)
assert_contains "b1 b3" "${got:-none}" "b1's answer through sticky"
got=$(inns b1 curl -s -m 3 "http://[2001:db8:ff::80]/" || true)
log "b1 -> [2001:db8:ff::80]: $got"
assert_contains "b1 b2 b3" "${got:-none}" "b1's answer through its IPv6 VIP"

step "traceroute -T to the VIP: hop 1 the gateway (its time exceeded quotes the VIP), hop 2 the VIP"
out=$(inns cl timeout 30 traceroute -n -T -p 80 -q 1 -w 2 -m 3 "$VIP") || fail "traceroute failed: $out"
log "$out"
assert_eq "$(printf '%s\n' "$out" | awk '$1 == 1 {print $2}')" 198.51.100.1 "traceroute hop 1"
assert_eq "$(printf '%s\n' "$out" | awk '$1 == 2 {print $2}')" "$VIP" "traceroute hop 2"

step "a UDP service whose backend's port is closed: the client's socket sees the ICMP error"
vs policy add to-dns --from web --to 203.0.113.82/32 --proto udp --port 53 --action allow >/dev/null
vs service add dns --vip 203.0.113.82:53 --proto udp --backend "$B1:5353" --health-check none >/dev/null
out=$(inns cl "$PYTHON" - <<'EOF'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect(("203.0.113.82", 53))
s.send(b"query")
try:
    s.recv(100)
    print("answer")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
EOF
)
assert_eq "$out" refused "the client's UDP socket (port unreachable from b1, translated to the VIP)"

step "no backend left: a new connection is reset and counted"
vs service backend drain sticky "$B1:8080" >/dev/null
vs service backend drain sticky "$B3:8080" >/dev/null
before=$(port_counter pc drops.nat_no_backend)
out=$(inns cl curl -sS -m 3 "http://$STICKY/" 2>&1 || true)
log "$out"
assert_not_contains "$out" "timed out" "curl to a service without backends (refused, not silent)"
assert_contains "$out" "Failed to connect" "curl to a service without backends"
assert_gt "$(port_counter pc drops.nat_no_backend)" "$before" "pc drops.nat_no_backend"

step "a malformed packet to the VIP: dropped and counted"
before=$(port_counter pc drops.nat_untranslatable)
inns cl "$PYTHON" - "$(hif cl)" "$(host_mac cl)" "$VIP" <<'EOF'
import socket, struct, sys
iface, mac, vip = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', '')), socket.inet_aton(sys.argv[3])
gw = bytes.fromhex('027673000001')
# IPv4 to the VIP, protocol TCP, the TCP header cut to 4 bytes.
ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 24, 1, 0, 64, 6, 0, socket.inet_aton('198.51.100.10'), vip)
s = sum(struct.unpack('!10H', ip))
s = (s & 0xffff) + (s >> 16)
ip = ip[:10] + struct.pack('!H', ~s & 0xffff) + ip[12:]
frame = gw + mac + b'\x08\x00' + ip + b'\x9c\x40\x00\x50'
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind((iface, 0))
sock.send(frame + b'\x00' * (60 - len(frame)))
EOF
counted() { [ "$(port_counter pc drops.nat_untranslatable)" -gt "$before" ]; }
wait_for 5 "the drop to be counted" counted
assert_gt "$(port_counter pc drops.nat_untranslatable)" "$before" "pc drops.nat_untranslatable"

step "bad service input: one line each, the model unchanged"
config=$(vs config show)
refused "VIP equal to a gateway" service add bad --vip 192.0.2.1:80 --proto tcp --backend "$B1:8080"
refused "VIP inside a subnet" service add bad --vip 198.51.100.77:80 --proto tcp --backend "$B1:8080"
refused "backend outside every network" service add bad --vip 203.0.113.90:80 --proto tcp --backend 203.0.113.9:80
refused "VIP of another service" service add bad --vip "$VIP:80" --proto tcp --backend "$B1:8080"
refused "weights not one per backend" service add bad --vip 203.0.113.90:80 --proto tcp --backend "$B1:8080" --weight 1,2
refused "unknown backend" service backend drain www 192.0.2.99:8080
pass
