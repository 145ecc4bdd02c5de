#!/usr/bin/env bash
# Malformed frames are dropped and counted by reason; good hosts keep talking.
#   n1: a, b (good hosts, veth + af-packet)
#       y: flooder on veth + af-packet (what a Linux peer behind a veth can send)
#       x: flooder on a TAP port (frames the kernel sends on a TAP reach the switch as written)
# tools/sendraw.py sends each kind of bad frame from y and from x. What reaches the switch is
# read from the port's hw.ipackets; every frame that arrived must be dropped with the kind's
# reason, and no other reason may move. Known kernel behaviour, asserted as such:
#   - frames < 14 bytes: AF_PACKET refuses to send them (EINVAL), so none reach the switch;
#   - 802.1Q header cut short: the receiving veth drops it (skb_vlan_untag), a TAP delivers it.
# Then both flood a mix of everything while a pings b, and a <-> b still work afterwards.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init malformed_flood

A=198.51.100.61 B=198.51.100.62
N=200 # frames per kind and flooder

start_daemon
vs network add n1
make_host a "$A/24"
make_host b "$B/24"
make_host y
# Oversize frames must get through the veth itself: raise its MTU (the port's stays 1500).
ip link set "$(rif y)" mtu 9000
inns y ip link set "$(hif y)" mtu 9000
vs port add pa --type af-packet --iface "$(rif a)" --network n1
vs port add pb --type af-packet --iface "$(rif b)" --network n1
vs port add py --type af-packet --iface "$(rif y)" --network n1
make_tap_host x px 198.51.100.63/24 --network n1
inns x ip addr flush dev "$(tif x)" # a flooder sends nothing of its own
inns x ip link set "$(tif x)" mtu 9000

step "good hosts talk before the flood"
assert_ping a "$B"
assert_ping b "$A"

# port_json PORT: the port's stats object.
port_json() { vs --json stats show --port "$1" | json_get "d['ports'][0]"; }

# settle PORT: waits until the port's hw.ipackets stops moving (the worker drained its queue).
settle() {
    local last=-1 now i
    for ((i = 0; i < 100; i++)); do
        now=$(port_counter "$1" hw.ipackets)
        [ "$now" = "$last" ] && return 0
        last=$now
        sleep 0.1
    done
    fail "$1: hw.ipackets still moving after 10 s"
}

# phase HOST PORT IFACE KIND REASON MIN_ARRIVED: sends N frames of KIND; every frame that arrived
# (hw.ipackets) is dropped with REASON ("-": none), no other drop reason moves, and at least
# MIN_ARRIVED arrived. Prints one summary line.
phase() {
    local h=$1 p=$2 ifc=$3 kind=$4 reason=$5 min=$6 before after res
    settle "$p"
    before=$(port_json "$p")
    res=$(inns "$h" timeout 60 "$PYTHON" "$SENDRAW" --iface "$ifc" --kind "$kind" --count "$N") ||
        fail "sendraw $kind on $h failed: $res"
    settle "$p"
    after=$(port_json "$p")
    "$PYTHON" - "$before" "$after" "$res" "$p" "$kind" "$reason" "$min" "$E2E_NAME" <<'EOF' || exit 1
import json, sys
before, after, res = (json.loads(a) for a in sys.argv[1:4])
port, kind, reason, minimum, name = sys.argv[4], sys.argv[5], sys.argv[6], int(sys.argv[7]), sys.argv[8]
arrived = after["hw"]["ipackets"] - before["hw"]["ipackets"]
missed = after["hw"]["imissed"] - before["hw"]["imissed"]
reasons = set(before["drops"]) | set(after["drops"])
delta = {r: after["drops"].get(r, 0) - before["drops"].get(r, 0) for r in reasons}
delta = {r: n for r, n in delta.items() if n}
print("  %-3s %-10s sent %4d refused %4d %-16s arrived %4d missed %d drops %s"
      % (port, kind, res["sent"], res["refused"], json.dumps(res["errors"]), arrived, missed, delta))
problems = []
if arrived + missed > res["sent"]:
    problems.append("more frames arrived (%d) than were sent (%d)" % (arrived + missed, res["sent"]))
if arrived < minimum:
    problems.append("only %d frames reached the switch, expected at least %d" % (arrived, minimum))
want = {reason: arrived} if reason != "-" and arrived else {}
if delta != want:
    problems.append("drop counters moved by %s, expected %s" % (delta, want))
for p in problems:
    print("FAIL: %s: %s on %s: %s" % (name, kind, port, p), file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
}

step "each kind of bad frame, one at a time (N=$N per kind)"
for f in "y py $(hif y)" "x px $(tif x)"; do
    read -r h p ifc <<<"$f"
    # Shorter than an Ethernet header: the kernel refuses them, nothing may arrive.
    phase "$h" "$p" "$ifc" runt runt 0
    if [ "$h" = x ]; then
        phase "$h" "$p" "$ifc" vlan_trunc runt "$N"      # TAP: all arrive, all runts
    else
        phase "$h" "$p" "$ifc" vlan_trunc runt 0         # veth: the kernel drops them
    fi
    phase "$h" "$p" "$ifc" mcast_src bad_src_mac "$N"
    phase "$h" "$p" "$ifc" bcast_src bad_src_mac "$N"
    phase "$h" "$p" "$ifc" zero_src bad_src_mac "$N"
    phase "$h" "$p" "$ifc" oversize oversize "$N"
    phase "$h" "$p" "$ifc" tagged bad_vlan "$N"
    phase "$h" "$p" "$ifc" vid4095 bad_vlan "$N"
    phase "$h" "$p" "$ifc" qinq bad_vlan "$N"
    # The boundary: 1500 bytes of payload fit the 1500 MTU and are switched (flooded to a, b).
    tx_a=$(port_counter pa tx_packets)
    phase "$h" "$p" "$ifc" fits_mtu - "$N"
    settle pa
    assert_ge "$(($(port_counter pa tx_packets) - tx_a))" "$N" "frames of exactly 1500 MTU from $h flooded to a"
done
sent_runts=$(port_counter px drops.runt)
assert_ge "$sent_runts" "$N" "px drops.runt (truncated 802.1Q headers through the TAP)"

step "flood a mix of everything from x and y while a pings b"
before=$(vs --json stats show)
bg ip netns exec "$(hns y)" timeout 60 "$PYTHON" "$SENDRAW" --iface "$(hif y)" --kind mixed --count 40000 --pps 10000 --seed 7
fy=$BGPID
bg ip netns exec "$(hns x)" timeout 60 "$PYTHON" "$SENDRAW" --iface "$(tif x)" --kind mixed --count 40000 --pps 10000 --seed 8
fx=$BGPID
sleep 0.5
assert_ping a "$B" 10
assert_ping b "$A" 5
if ! _pid_alive "$fy" || ! _pid_alive "$fx"; then log "note: a flooder finished before the pings did"; fi
wait "$fy" || fail "flooder y failed"
wait "$fx" || fail "flooder x failed"
settle px
settle py
after=$(vs --json stats show)
"$PYTHON" - "$before" "$after" <<'EOF' || fail "drop counters did not move as expected during the mixed flood"
import json, sys
b, a = (json.loads(x) for x in sys.argv[1:3])
def drops(d, port, r):
    return next(p for p in d["ports"] if p["name"] == port)["drops"].get(r, 0)
ok = True
for port, reasons in (("py", ["bad_src_mac", "oversize", "bad_vlan"]),
                      ("px", ["runt", "bad_src_mac", "oversize", "bad_vlan"])):
    got = {r: drops(a, port, r) - drops(b, port, r) for r in reasons}
    print("  %s during the flood: %s" % (port, got))
    # 40000 frames round-robin over 10 kinds: >= 2000 of each kind (some may be missed).
    ok &= all(n >= 2000 for n in got.values())
for port in ("pa", "pb"):
    ingress = {r: drops(a, port, r) for r in ("runt", "bad_src_mac", "oversize", "bad_vlan")}
    if any(ingress.values()):
        print("  good host port %s has ingress drops: %s" % (port, ingress))
        ok = False
sys.exit(0 if ok else 1)
EOF

step "after the flood: the daemon serves and a <-> b still work"
vs status >/dev/null || fail "vsctl status fails after the flood"
assert_ping a "$B"
assert_ping b "$A"
pass
