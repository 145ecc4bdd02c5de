#!/usr/bin/env bash
# The distributed firewall, against Linux hosts in namespaces. Three tiers in three networks
# of one VRF: web 198.51.100.0/25 (w), app 198.51.100.128/25 (a), db 203.0.113.0/24 (d).
# Policies: web -> app tcp/8080, app -> db tcp/5432, web -> db tcp/22 reject.
# web -> app and app -> db work with nc; web -> db is dropped silently, tcp/22 is refused at
# once (TCP reset); app -> web new connections are dropped while app's replies to web flow;
# counters name the policy and the drop reason; `conntrack show` lists the connections. A
# policy deleted mid-connection cuts it (and keeps it when the model says so). A SYN flood
# from spoofed sources fills the table only to its limit, is counted, and an established
# connection keeps working through it. An address group names hosts on a policy side, and a
# logging policy's decisions show in `policy log`. A security group on a port admits only
# what its rules allow, inside the network as on top of the policies.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init firewall
need_cmd nc

W=198.51.100.10 A=198.51.100.130 D=203.0.113.20

start_daemon
vs network add web --subnet 198.51.100.0/25 --gateway 198.51.100.1 >/dev/null
vs network add app --subnet 198.51.100.128/25 --gateway 198.51.100.129 >/dev/null
vs network add db --subnet 203.0.113.0/24 --gateway 203.0.113.1 >/dev/null
make_host w "$W/25"
make_host a "$A/25"
make_host d "$D/24"
inns w ip route add default via 198.51.100.1
inns a ip route add default via 198.51.100.129
inns d ip route add default via 203.0.113.1
vs port add pw --type af-packet --iface "$(rif w)" --network web >/dev/null
vs port add pa --type af-packet --iface "$(rif a)" --network app >/dev/null
vs port add pd --type af-packet --iface "$(rif d)" --network db >/dev/null
vs policy add web-app --from web --to app --proto tcp --port 8080 --action allow >/dev/null
vs policy add app-db --from app --to db --proto tcp --port 5432 --action allow >/dev/null
vs policy add web-db-ssh --from web --to db --proto tcp --port 22 --action reject >/dev/null

# serve H PORT: a one-shot nc server in H that answers "hello from H" and logs what it got.
serve() {
    bg ip netns exec "$(hns "$1")" sh -c "echo 'hello from $1' | timeout 20 nc -l -N $2 >$WORK/$1-$2.got"
    wait_for 10 "nc to listen on $1:$2" sh -c "ip netns exec $(hns "$1") ss -ltn | grep -q ':$2 '"
}
# ask H IP PORT: what H gets back from IP:PORT for "hi from H" (empty when nothing answers).
ask() {
    echo "hi from $1" | inns "$1" timeout 5 nc -N -w 3 "$2" "$3" 2>&1 || true
}

step "web -> app tcp/8080 and app -> db tcp/5432 with nc"
assert_ping w 198.51.100.1
serve a 8080
assert_eq "$(ask w "$A" 8080)" "hello from a" "w -> a:8080"
assert_eq "$(cat "$WORK/a-8080.got")" "hi from w" "what a got"
serve d 5432
assert_eq "$(ask a "$D" 5432)" "hello from d" "a -> d:5432"

step "web -> db dropped, tcp/22 rejected at once, app -> web dropped, web -> app:9090 dropped"
before=$(port_counter pw drops.policy_deny)
serve d 5432
out=$(inns w timeout 5 nc -v -z -w 2 "$D" 5432 2>&1) && fail "w -> d:5432 connected: $out"
assert_not_contains "$out" "refused" "w -> d:5432 (dropped silently)"
assert_gt "$(port_counter pw drops.policy_deny)" "$before" "pw drops.policy_deny"
t0=$(date +%s%N)
out=$(inns w timeout 5 nc -v -z -w 3 "$D" 22 2>&1) && fail "w -> d:22 connected: $out"
ms=$((($(date +%s%N) - t0) / 1000000))
assert_contains "$out" "refused" "w -> d:22 (a TCP reset)"
assert_le "$ms" 1500 "milliseconds until w -> d:22 was refused"
assert_gt "$(port_counter pw drops.policy_reject)" 0 "pw drops.policy_reject"
log "d:5432 timed out silently; d:22 refused after ${ms} ms"
serve w 9000
before=$(port_counter pa drops.policy_deny)
out=$(inns a timeout 5 nc -z -w 2 "$W" 9000 2>&1) && fail "a -> w:9000 connected: $out"
assert_gt "$(port_counter pa drops.policy_deny)" "$before" "pa drops.policy_deny"
serve a 9090
out=$(inns w timeout 5 nc -z -w 2 "$A" 9090 2>&1) && fail "w -> a:9090 connected: $out"
assert_no_ping w "$A"
hits=$(vs --json policy show web-app | json_get 'd["hits"]')
assert_ge "$hits" 1 "web-app hits"
log "$(vs policy list)"

step "an address group and a logging policy: w as an admin reaches d:5432, logged; a group edit applies at once"
vs group add admins --cidr "$W/32,2001:db8::10/128" >/dev/null
vs policy add admins-db --from admins --to db --proto tcp --port 5432 --action allow --log --priority 10 >/dev/null
serve d 5432
assert_eq "$(ask w "$D" 5432)" "hello from d" "w (in admins) -> d:5432"
out=$(vs policy log)
assert_contains "$out" "admins-db" "policy log"
assert_contains "$out" "$W:" "policy log names the source"
log "$out"
vs group set admins --cidr 198.51.100.11/32 >/dev/null
out=$(inns w timeout 5 nc -z -w 2 "$D" 5432 2>&1) && fail "w -> d:5432 connected after w left admins: $out"
out=$(vs group del admins 2>&1) && fail "deleting a group a policy names was accepted"
assert_contains "$out" "admins-db" "group del names the policy"
vs policy del admins-db >/dev/null
vs group del admins >/dev/null
assert_eq "$(vs --json group list | json_get 'len(d.get("groups", []))')" 0 "groups left"

step "security groups: w's port admits only tcp/8080 from w2, on top of the policies; off again"
make_host w2 198.51.100.11/25
vs port add pw2 --type af-packet --iface "$(rif w2)" --network web >/dev/null
vs security-group add web-in >/dev/null
vs security-group rule add web-in --direction ingress --proto tcp --port 8080 --remote 198.51.100.11/32 >/dev/null
vs security-group rule add web-in --direction egress >/dev/null
vs port set pw --security-groups web-in >/dev/null
assert_contains "$(vs port show pw)" "security-groups: web-in" "port show"
serve w 8080
assert_eq "$(ask w2 "$W" 8080)" "hello from w" "w2 -> w:8080 (allowed in)"
assert_no_ping w2 "$W"
assert_gt "$(port_counter pw2 drops.security_group)" 0 "pw2 drops.security_group"
serve a 8080
assert_eq "$(ask w "$A" 8080)" "hello from a" "w -> a:8080 (w may send; the policy allows)"
vs group add w2-only --cidr 198.51.100.11/32 >/dev/null
vs security-group rule add web-in --direction ingress --proto tcp --port 9 --remote w2-only >/dev/null
out=$(vs group del w2-only 2>&1) && fail "deleting a group a security group rule names was accepted"
assert_contains "$out" "security group web-in rule 3" "group del names the rule"
vs security-group rule del web-in 3 >/dev/null
vs group del w2-only >/dev/null
out=$(vs security-group del web-in 2>&1) && fail "deleting a security group a port uses was accepted"
assert_contains "$out" "port pw" "security-group del names the port"
vs port set pw --security-groups "" >/dev/null
assert_ping w2 "$W"
vs security-group del web-in >/dev/null
log "$(vs port show pw | grep -i security)"

step "a connection: listed by conntrack; its policy deleted mid-connection cuts it"
# stream H IP PORT FILE: a client in H that sends a numbered line every 0.2 s for 20 s.
stream() {
    bg ip netns exec "$(hns "$1")" sh -c "for i in \$(seq 100); do echo line\$i; sleep 0.2; done | timeout 25 nc -w 30 $2 $3 >/dev/null"
}
lines() { wc -l <"$1" | tr -d ' '; }
bg ip netns exec "$(hns a)" sh -c "timeout 25 nc -l 8080 >$WORK/stream1"
wait_for 10 "nc to listen on a:8080" sh -c "ip netns exec $(hns a) ss -ltn | grep -q ':8080 '"
stream w "$A" 8080
wait_for 10 "lines to arrive in a" sh -c "[ \$(wc -l <$WORK/stream1) -ge 3 ]"
ct=$(vs conntrack show)
log "$ct"
assert_contains "$ct" "ESTABLISHED" "conntrack show"
assert_contains "$ct" "web-app" "conntrack show (the admitting policy)"
vs policy del web-app >/dev/null
sleep 1
n1=$(lines "$WORK/stream1")
sleep 1.5
n2=$(lines "$WORK/stream1")
assert_eq "$n2" "$n1" "lines after the policy was deleted"
assert_gt "$(port_counter pw drops.policy_cut)" 0 "pw drops.policy_cut"
log "cut after $n1 lines"

step "the same with keep_on_policy_change: the connection survives, new ones do not start"
vs --json config show | "$PYTHON" -c 'import json, sys
m = json.load(sys.stdin)
m["conntrack"] = {"keep_on_policy_change": True, "limit": 20000}
json.dump(m, open(sys.argv[1], "w"))' "$WORK/keep.json"
vs apply -f "$WORK/keep.json" >/dev/null
# The first stream's server still holds its listening socket: stop what runs in w and a.
for h in w a; do ip netns pids "$(hns "$h")" | xargs -r kill 2>/dev/null || true; done
wait_for 10 "a:8080 to be free" sh -c "! ip netns exec $(hns a) ss -ltn | grep -q ':8080 '"
vs policy add web-app --from web --to app --proto tcp --port 8080 --action allow >/dev/null
bg ip netns exec "$(hns a)" sh -c "timeout 25 nc -l 8080 >$WORK/stream2"
wait_for 10 "nc to listen on a:8080" sh -c "ip netns exec $(hns a) ss -ltn | grep -q ':8080 '"
stream w "$A" 8080
wait_for 10 "lines to arrive in a" sh -c "[ \$(wc -l <$WORK/stream2) -ge 3 ]"
vs policy del web-app >/dev/null
n1=$(lines "$WORK/stream2")
sleep 1.5
assert_gt "$(lines "$WORK/stream2")" "$n1" "lines after the policy was deleted (kept)"
out=$(inns w timeout 5 nc -z -w 2 "$A" 8080 2>&1) && fail "a new w -> a:8080 connected: $out"

step "SYN flood of spoofed sources: the table stops at its limit, the kept connection goes on"
# a drops its answers to the spoofed sources itself (they do not exist).
inns a ip route add blackhole 198.51.100.64/26
vs policy add web-app --from web --to app --proto tcp --port 8080 --action allow >/dev/null
rss() { awk '/VmRSS/ {print $2}' "/proc/$(daemon_pid)/status"; }
rss0=$(rss)
n0=$(lines "$WORK/stream2")
out=$(inns w timeout 120 "$PYTHON" "$E2E_DIR/tools/synflood.py" --iface "$(hif w)" \
    --src-mac "$(host_mac w)" --dst-mac 02:76:73:00:00:01 --sources 198.51.100.64/26 \
    --dst "$A" --port 8080 --count 1000000)
log "synflood: $out"
stats=$(vs --json conntrack stats)
log "conntrack stats: $stats"
conns=$(printf '%s' "$stats" | json_get 'd["connections"]')
refused=$(printf '%s' "$stats" | json_get 'd.get("refused_full", 0)')
assert_le "$conns" 20000 "connections tracked"
assert_ge "$conns" 19000 "connections tracked (the flood filled the table)"
assert_gt "$refused" 100000 "new connections refused while full"
assert_gt "$(port_counter pw drops.ct_full)" 100000 "pw drops.ct_full"
grown=$((($(rss) - rss0) / 1024))
log "vswitchd RSS grew by $grown MB"
assert_le "$grown" 64 "vswitchd RSS growth (MB) under the flood"
sleep 0.5
assert_gt "$(lines "$WORK/stream2")" "$n0" "lines of the kept connection during the flood"
web=$(printf '%s' "$stats" | json_get '[n for n in d["networks"] if n["network"] == "web"][0].get("connections", 0)')
assert_ge "$web" 19000 "connections the web network opened (conntrack stats per network)"
log "$(vs conntrack stats)"

step "conntrack flush"
out=$(vs conntrack flush)
assert_contains "$out" "flushed" "conntrack flush"
out=$(vs conntrack show --ended --max 5)
assert_contains "$out" "(flush)" "flow records of the flushed connections"
log "$out"
assert_le "$(vs --json conntrack stats | json_get 'd.get("connections", 0)')" 5 "connections after flush"

step "a network's own connection limit: an isolated network of 50 stops at 50"
vs network add lab --isolated --conntrack-limit 50 >/dev/null
assert_contains "$(vs network show lab)" "conntrack-limit: 50" "network show"
make_host l1 203.0.113.141/24
make_host l2 203.0.113.142/24
inns l2 ip route add blackhole 203.0.113.192/26
vs port add pl1 --type af-packet --iface "$(rif l1)" --network lab >/dev/null
vs port add pl2 --type af-packet --iface "$(rif l2)" --network lab >/dev/null
vs policy add lab-web --from lab --to lab --proto tcp --port 8080 --action allow >/dev/null
# 2000 SYNs from 2000 sources at 20 000 a second (the veth and af-packet rings in front of
# the switch hold a few hundred frames; a flood any faster mostly measures them).
out=$(inns l1 timeout 60 "$PYTHON" "$E2E_DIR/tools/synflood.py" --iface "$(hif l1)" \
    --src-mac "$(host_mac l1)" --dst-mac "$(host_mac l2)" --sources 203.0.113.192/26 \
    --dst 203.0.113.142 --port 8080 --count 2000 --rate 20000)
log "flood: $out"
# Read the counters once the port has stopped receiving.
last=-1
rx_settled() {
    local now
    now=$(port_counter pl1 rx_packets)
    [ "$now" = "$last" ] && return 0
    last=$now
    sleep 0.3
    return 1
}
wait_for 10 "pl1 to stop receiving" rx_settled
stats=$(vs --json conntrack stats)
lab=$(printf '%s' "$stats" | json_get '[n for n in d["networks"] if n["network"] == "lab"][0]')
log "lab: $lab, pl1 received $last"
assert_eq "$(printf '%s' "$lab" | json_get 'd.get("connections", 0)')" 50 "lab's connections"
# The SYNs past the 50th are refused and counted, on the port and in the network's stats
# alike (the port also received whatever else l1 sent: neighbor discovery, say).
refused=$(printf '%s' "$lab" | json_get 'd.get("refused_full", 0)')
assert_le "$refused" "$((last - 50))" "lab's refused connections (pl1 received $last frames)"
assert_gt "$refused" 1000 "lab's refused connections (1950 over the limit sent)"
assert_eq "$(port_counter pl1 drops.ct_network_full)" "$refused" "pl1 drops.ct_network_full"
vs policy del lab-web >/dev/null
vs port del pl1 >/dev/null
vs port del pl2 >/dev/null
vs network del lab >/dev/null

step "100 000 policies in one transaction; one more republishes while w's pings to its gateway go on"
vs config show >"$WORK/model.json"
"$PYTHON" - "$WORK/model.json" "$WORK/model-100k.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
m.setdefault("policies", []).extend(
    {"name": f"bulk{i}", "from": f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}/32", "to": "app",
     "proto": "tcp", "ports": str(1000 + i % 5000), "action": "deny", "priority": 2000}
    for i in range(100000))
json.dump(m, open(sys.argv[2], "w"))
EOF
before=$(vs --json policy list | json_get 'len(d.get("policies", []))')
t0=$(date +%s%N)
vs apply -f "$WORK/model-100k.json" >/dev/null
log "applied 100000 more policies in $((($(date +%s%N) - t0) / 1000000)) ms"
assert_eq "$(vs --json policy list | json_get 'len(d["policies"])')" $((before + 100000)) "policies"
bg sh -c "ip netns exec $(hns w) ping -n -i 0.01 -c 300 198.51.100.1 >$WORK/ping-republish.out 2>&1"
sleep 0.5
t0=$(date +%s%N)
vs policy add one-more --from 10.200.0.1/32 --to app --proto tcp --port 1 --action deny >/dev/null
log "one policy added beside 100000 in $((($(date +%s%N) - t0) / 1000000)) ms"
wait_for 15 "the pings to end" grep -q "packets transmitted" "$WORK/ping-republish.out"
summary=$(grep -E "packet loss|rtt" "$WORK/ping-republish.out")
log "$summary"
assert_contains "$summary" " 0% packet loss" "pings while republishing"
max=$(printf '%s' "$summary" | sed -nE 's|.*= [0-9.]+/[0-9.]+/([0-9]+)[.0-9]*/.*|\1|p')
assert_le "$max" 50 "slowest ping (ms) while republishing"
vs apply -f "$WORK/model.json" >/dev/null

step "bad policies are refused with one line, the model unchanged"
gen=$(vs --json status | json_get 'd["generation"]')
for args in "--from web --to nowhere --action allow" \
    "--from web --to app --proto icmp --port 80 --action allow" \
    "--from web --to app --proto tcp --port 90-80 --action allow" \
    "--from web --to app --action deny --stateless"; do
    # shellcheck disable=SC2086
    if out=$(vs policy add bad $args 2>&1); then fail "policy add bad $args was accepted"; fi
    assert_eq "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" 1 "one error line for: $args"
    assert_contains "$out" "policy bad" "the error names the policy ($args)"
done
vs network add spare >/dev/null
vs policy add spare-in --from spare --to app --action allow >/dev/null
gen=$(vs --json status | json_get 'd["generation"]')
out=$(vs network del spare 2>&1) && fail "deleting a network a policy names was accepted"
assert_contains "$out" "spare-in" "network del spare names the policy"
assert_eq "$(vs --json status | json_get 'd["generation"]')" "$gen" "generation after refused changes"
pass
