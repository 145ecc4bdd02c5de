#!/usr/bin/env bash
# QEMU guests on vhost-user ports, plus a Linux host in a namespace. g1's port s1 is a
# `vhost-user` port (vswitchd serves the socket, QEMU reconnects); g2's port c2 is a
# `vhost-user-client` port (QEMU serves the socket, vswitchd reconnects) with two queue pairs.
#   - both ports have MTU 9000 and QEMU gives the guests that MTU (host_mtu): the port shows the
#     guest's MTU; two guests ping each other with 8000-byte echoes and move a file by TCP in
#     jumbo segments with matching sha256 (the guests use checksum offload: the switch must
#     finish their partial checksums, over chained mbufs);
#   - a guest that stops draining its RX ring (QEMU frozen by SIGSTOP) costs tx_full drops on its
#     own port only: the host and the other guest keep talking;
#   - QEMU killed and restarted (now with MTU 1500): the port comes back by itself, flags the
#     MTU mismatch, and the other guest never loses a packet;
#   - vswitchd killed (SIGKILL) and restarted under running guests: traffic resumes without
#     touching the guests; the blackout is measured and printed;
#   - bad socket paths: one-line errors, no port left behind.
# The guests come from vm-images/ (QEMU under TCG when there is no KVM).
. "$(dirname "$0")/lib.sh"
e2e_init vm_guests

VM=$REPO/vm-images
step "guest image"
"$VM/build.sh" >/dev/null || fail "vm-images/build.sh failed"

G1_IP=198.51.100.11 G2_IP=198.51.100.12 H_IP=198.51.100.3
G1_MAC=52:54:00:00:00:11 G2_MAC=52:54:00:00:00:12

guest_up() { # guest_up NAME IP MAC [run-guest.sh args]: boots a guest on WORK/NAME.sock
    local name=$1 ip=$2 mac=$3
    shift 3
    "$VM/run-guest.sh" --name "$name" --socket "$WORK/$name.sock" --dir "$WORK" \
        --ip "$ip/24" --mac "$mac" "$@" >/dev/null
}
guest_down() { "$VM/guest-stop.sh" "$WORK" "$1"; }
gx() { "$VM/guest-exec.sh" "$@"; }
qemu_pid() { cat "$WORK/$1.pid"; }
connected() { # connected PORT: the port's guest is connected
    vs --json port show "$1" | json_get "d['state']['vhost']['connected']" | grep -qx True
}
disconnected() { ! connected "$1"; }
vhost_field() { vs --json port show "$1" | json_get "d['state']['vhost'].get('$2', 0)"; }
stop_guests() { guest_down g1 || true; guest_down g2 || true; }
trap 'rc=$?; stop_guests; (exit $rc); cleanup' EXIT

step "ports first: a client port keeps retrying until its QEMU serves the socket"
# Two workers; g2 is a two-queue guest whose queues go to both.
MPORT=$((20000 + $$ % 20000))
start_daemon --lcores 0-1 --metrics "127.0.0.1:$MPORT"
vs network add n1 >/dev/null
vs port add s1 --type vhost-user --path "$WORK/g1.sock" --network n1 --mtu 9000 >/dev/null
vs port add c2 --type vhost-user-client --path "$WORK/g2.sock" --network n1 --queues 2 --mtu 9000 >/dev/null
assert_contains "$(vs port show c2)" "vhost: reconnecting" "c2 before its guest"
assert_contains "$(vs port show s1)" "vhost: waiting for a guest" "s1 before its guest"
make_host h "$H_IP/24"
vs port add ph --type af-packet --iface "$(rif h)" --network n1 >/dev/null

step "two guests boot and connect"
guest_up g1 "$G1_IP" "$G1_MAC" --mtu 9000
guest_up g2 "$G2_IP" "$G2_MAC" --server --queues 2 --cpus 2 --mtu 9000
log "$("$VM/guest-wait.sh" "$WORK" g1 180)"
log "$("$VM/guest-wait.sh" "$WORK" g2 180)"
wait_for 20 "s1 to connect" connected s1
wait_for 20 "c2 to connect" connected c2
log "$(vs port show s1 | grep -E '^(vhost|guest-queues|connects)')"
metrics=$(curl -sf "http://127.0.0.1:$MPORT/metrics")
assert_contains "$metrics" 'vswitch_vhost_connected{port="s1"} 1' "s1's guest in the metrics"
assert_contains "$metrics" 'vswitch_vhost_connected{port="c2"} 1' "c2's guest in the metrics"
two_queues() { vs port show c2 | grep -qx 'guest-queues: 2 rx / 2 tx enabled'; }
wait_for 20 "g2 to enable both queue pairs" two_queues
workers=$(vs --json status | json_get "' | '.join(','.join(w.get('rxQueues', w.get('rx_queues', []))) for w in d['workers'])")
assert_contains "$workers" "c2:0" "worker queues"
assert_contains "$workers" "c2:1" "worker queues"
assert_ne "$(vs --json status | json_get "[i for i, w in enumerate(d['workers']) if 'c2:0' in w.get('rxQueues', w.get('rx_queues', []))]")" \
    "$(vs --json status | json_get "[i for i, w in enumerate(d['workers']) if 'c2:1' in w.get('rxQueues', w.get('rx_queues', []))]")" \
    "the workers of c2's two queues"
log "workers' RX queues: $workers"

step "guest MTU 9000: the guests take QEMU's, the ports show it"
assert_contains "$(vs port show s1)" "guest-mtu: 9000" "s1's guest MTU"
assert_contains "$(vs port show c2)" "guest-mtu: 9000" "c2's guest MTU"
assert_eq "$(gx "$WORK" g1 'cat /sys/class/net/eth0/mtu')" 9000 "g1's eth0 MTU"
assert_eq "$(gx "$WORK" g2 'cat /sys/class/net/eth0/mtu')" 9000 "g2's eth0 MTU"

step "guest to guest: ping, 8000-byte echoes and a 2 MB file by TCP in jumbo segments"
gx -t 30 "$WORK" g1 "ping -c 3 -W 5 $G2_IP" >/dev/null || fail "g1 cannot ping g2"
gx -t 30 "$WORK" g1 "ping -c 3 -W 5 -s 8000 $G2_IP" >/dev/null || fail "g1 cannot ping g2 with 8000-byte echoes"
sum1=$(gx -t 60 "$WORK" g1 'dd if=/dev/urandom of=/tmp/f bs=1M count=2 2>/dev/null && sha256sum /tmp/f' | cut -d' ' -f1)
gx "$WORK" g2 'rm -f /tmp/rx; sleep 600 | nc -l -p 5001 >/tmp/rx &' >/dev/null
gx "$WORK" g2 'for i in $(seq 50); do netstat -ltn | grep -q ":5001 " && exit 0; sleep 0.1; done; exit 1' ||
    fail "nc in g2 does not listen"
gx -t 120 "$WORK" g1 "nc -w 10 $G2_IP 5001 </tmp/f" || fail "nc g1 -> g2 failed"
gx -t 60 "$WORK" g2 'for i in $(seq 300); do pidof nc >/dev/null || exit 0; sleep 0.2; done; exit 1' ||
    fail "the transfer to g2 did not finish"
sum2=$(gx "$WORK" g2 'sha256sum /tmp/rx' | cut -d' ' -f1)
assert_eq "$sum2" "$sum1" "sha256 of the file g2 received"
assert_eq "${#sum1}" 64 "sha256 length"
gx "$WORK" g2 'cat /proc/net/snmp' | awk '/^Tcp:/ {if (!h) {split($0, k); h = 1} else split($0, v)}
    END {for (i in k) if (k[i] == "InCsumErrors") print v[i]}' >"$WORK/csum-errors"
assert_eq "$(cat "$WORK/csum-errors")" 0 "TCP checksum errors in g2"

step "a guest that stops draining its RX ring"
kill -STOP "$(qemu_pid g2)"
inns h ip neigh replace "$G2_IP" lladdr "$G2_MAC" dev "$(hif h)"
before=$(port_counter c2 drops.tx_full)
inns h ping -q -f -c 3000 -w 10 "$G2_IP" >/dev/null 2>&1 || true
out=$(inns h ping -c 5 -i 0.2 -W 5 "$G1_IP") || { kill -CONT "$(qemu_pid g2)"; fail "h cannot ping g1 while g2 is frozen: $out"; }
after=$(port_counter c2 drops.tx_full)
kill -CONT "$(qemu_pid g2)"
assert_gt "$after" "$before" "tx_full drops on c2 while g2 is frozen"
log "frozen g2: $((after - before)) frames dropped (tx_full on c2), h <-> g1 unaffected"

step "QEMU of g2 killed and restarted; h keeps pinging g1"
bg ip netns exec "$(hns h)" sh -c "exec ping -i 0.2 -W 5 $G1_IP >$WORK/h-ping.log 2>&1"
pinger=$BGPID
sleep 1
kill -KILL "$(qemu_pid g2)"
guest_down g2
wait_for 10 "c2 to notice its guest is gone" disconnected c2
guest_up g2 "$G2_IP" "$G2_MAC" --server --queues 2 --cpus 2 --mtu 1500
log "$("$VM/guest-wait.sh" "$WORK" g2 180)"
wait_for 30 "c2 to reconnect to the new QEMU" connected c2
assert_contains "$(vs port show c2)" "guest-mtu: 1500 (port MTU is 9000" "c2's guest MTU after the restart"
gx -t 30 "$WORK" g2 "ping -c 3 -W 5 $G1_IP" >/dev/null || fail "g2 cannot reach g1 after its restart"
assert_eq "$(vhost_field c2 connects)" 2 "c2 connects"
sleep 1
kill -INT "$pinger"
wait "$pinger" 2>/dev/null || true
loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$WORK/h-ping.log")
assert_eq "$loss" 0 "h -> g1 packet loss (%) while g2's QEMU restarted"
log "h -> g1 while g2's QEMU restarted: $(grep 'packet loss' "$WORK/h-ping.log")"
assert_eq "$(vhost_field s1 disconnects)" 0 "s1 disconnects"

step "vswitchd killed and restarted under running guests (s1's stale socket is reclaimed)"
gx "$WORK" g1 "rm -f /tmp/p; ping -i 0.1 $G2_IP >/tmp/p 2>&1 &" >/dev/null
sleep 2
stop_daemon KILL
start_daemon
wait_for 30 "g1's QEMU to reconnect to s1 after the restart" connected s1
wait_for 30 "c2 to reconnect after the restart" connected c2
sleep 2
gx "$WORK" g1 'kill -INT $(pidof ping)' >/dev/null || true
sleep 0.5
# Requests the guest sent while no switch ran wait in its TX ring and are answered late, so the
# blackout is the longest echo round trip (plus the interval for each request lost).
gx "$WORK" g1 'cat /tmp/p' >"$WORK/g1-ping.log"
read -r replies lost maxrtt < <(awk -F'seq=' '/seq=/ {split($2, a, " "); s = a[1] + 0;
    if (n++ && s - last > 1) lost += s - last - 1; last = s;
    if (match($0, /time=[0-9.]+/)) { t = substr($0, RSTART + 5, RLENGTH - 5) + 0; if (t > m) m = t } }
    END {printf "%d %d %.0f\n", n, lost, m}' "$WORK/g1-ping.log")
[ "$replies" -gt 20 ] || fail "g1's ping to g2 got $replies replies around the restart"
blackout=$(awk -v m="$maxrtt" -v l="$lost" 'BEGIN {printf "%.1f", m / 1000 + l * 0.1}')
log "vswitchd SIGKILL + restart: blackout ${blackout} s (g1 -> g2 echo every 0.1 s: longest round trip ${maxrtt} ms, $lost lost, $replies answered)"
gx -t 30 "$WORK" g1 "ping -c 2 -W 5 $G2_IP" >/dev/null || fail "g1 cannot ping g2 after the restart"

step "bad socket paths: one-line errors, nothing half-made"
ports_before=$(vs port list)
touch "$WORK/plain-file"
for args in \
    "--type vhost-user-client --path $WORK/plain-file" \
    "--type vhost-user --path $WORK/g1.sock" \
    "--type vhost-user --path $SOCK" \
    "--type vhost-user --path $WORK/no-such-dir/s.sock" \
    "--type vhost-user --path $WORK/$(printf 'x%.0s' $(seq 120))"; do
    # shellcheck disable=SC2086
    if err=$(vs port add bad --network n1 $args 2>&1); then fail "port add $args succeeded"; fi
    assert_eq "$(printf '%s\n' "$err" | wc -l)" 1 "lines of the error for $args"
    assert_contains "$err" "port bad:" "the error names the port"
    log "  $err"
done
assert_eq "$(vs port list)" "$ports_before" "ports after the refused adds"

pass
