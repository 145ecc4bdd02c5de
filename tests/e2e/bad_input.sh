#!/usr/bin/env bash
# Bad input is refused cleanly: for each bad command, exactly one line on stderr (starting
# "vsctl: "), nothing on stdout, a non-zero exit, and `vsctl config show` byte-identical before
# and after (the transaction was rejected as a whole). The daemon still serves afterwards.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init bad_input

start_daemon
vs network add n1
vs network add v100 --vlan 100
make_host a
make_host b
vs port add p1 --type af-packet --iface "$(rif a)" --network n1
: >"$WORK/vhost-exists.sock" # a regular file where a vhost-user socket would go
"$PYTHON" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$WORK/dead.sock"

config=$(vs config show)
printf '%s\n' "$config" >"$WORK/config.json"
# apply files: the current model plus one unknown field, at the top and inside a network.
"$PYTHON" - "$WORK" <<'EOF'
import json, sys
work = sys.argv[1]
model = json.load(open(work + "/config.json"))
top = dict(model, colour="red")
json.dump(top, open(work + "/unknown-top.json", "w"))
nested = json.loads(json.dumps(model))
nested["networks"][0]["colour"] = "red"
json.dump(nested, open(work + "/unknown-nested.json", "w"))
EOF
printf '[[networks]]\nname = "n1"\ncolour = "red"\n' >"$WORK/unknown.toml"

checked=0
# refused WHAT VSCTL-ARGS...: the command is refused cleanly and changes nothing.
# ONE_LINE=0 before it: only the exit status and the unchanged model are checked.
refused() {
    local what=$1 rc=0 now nlines
    shift
    timeout 20 "$VSCTL" "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
    [ "$rc" -ne 124 ] || fail "$what: vsctl $* hung (killed after 20 s)"
    [ "$rc" -ne 0 ] || fail "$what: vsctl $* succeeded (stdout: $(cat "$WORK/out"))"
    if [ "${ONE_LINE:-1}" = 1 ]; then
        nlines=$(wc -l <"$WORK/err")
        [ "$nlines" -eq 1 ] || fail "$what: expected exactly 1 line on stderr, got $nlines: $(cat "$WORK/err")"
        head -c 7 "$WORK/err" | grep -q '^vsctl: ' || fail "$what: stderr does not start with 'vsctl: ': $(cat "$WORK/err")"
    fi
    [ ! -s "$WORK/out" ] || fail "$what: unexpected stdout: $(cat "$WORK/out")"
    now=$(vs config show) || fail "$what: 'vsctl config show' fails afterwards (daemon gone?)"
    [ "$now" = "$config" ] || fail "$what: the model changed: $(printf '%s\n' "$now" | diff "$WORK/config.json" - | tr '\n' ' ')"
    printf '  %-40s -> %s\n' "$what" "$(head -n 1 "$WORK/err")"
    checked=$((checked + 1))
}

S=(--socket "$SOCK")
step "each of these is refused with one line and leaves the model alone"
refused "port in an unknown network" "${S[@]}" port add p2 --type af-packet --iface "$(rif b)" --network nosuch
refused "duplicate network name" "${S[@]}" network add n1
refused "duplicate network name (other settings)" "${S[@]}" network add v100 --vlan 200
refused "duplicate port name" "${S[@]}" port add p1 --type af-packet --iface "$(rif b)" --network n1
refused "bad PCI address" "${S[@]}" port add p2 --type pci --pci zz:00.0 --network n1
refused "PCI address with no device" "${S[@]}" port add p2 --type pci --pci 0000:ff:1f.7 --network n1
refused "bad devargs (no such driver)" "${S[@]}" port add p2 --type vdev --devargs net_nosuchdriver0 --network n1
refused "vhost-user socket path exists" "${S[@]}" port add p2 --type vhost-user --path "$WORK/vhost-exists.sock" --network n1
refused "af-packet on a missing interface" "${S[@]}" port add p2 --type af-packet --iface "${PFX}nosuch" --network n1
refused "trunk VLAN with no network" "${S[@]}" port add p2 --type af-packet --iface "$(rif b)" --trunk 100,999
refused "access VLAN with no network" "${S[@]}" port add p2 --type af-packet --iface "$(rif b)" --vlan 999
refused "apply: unknown top-level field" "${S[@]}" apply -f "$WORK/unknown-top.json"
refused "apply: unknown field in a network" "${S[@]}" apply -f "$WORK/unknown-nested.json"
refused "apply: unknown field (TOML)" "${S[@]}" apply -f "$WORK/unknown.toml"
refused "apply: missing file" "${S[@]}" apply -f "$WORK/no-such-file.json"
refused "no daemon (no socket file)" --socket "$WORK/nothing.sock" status
refused "no daemon (stale socket file)" --socket "$WORK/dead.sock" config show

step "argument errors (rejected by vsctl's parser) are refused and change nothing"
# The operator contract: every error is one line, parser errors included.
u=1
ONE_LINE=$u refused "VLAN id out of range" "${S[@]}" network add bad --vlan 5000
ONE_LINE=$u refused "trunk list not numbers" "${S[@]}" port add p2 --type af-packet --iface "$(rif b)" --trunk abc
ONE_LINE=$u refused "--network with --vlan" "${S[@]}" port add p2 --type af-packet --iface "$(rif b)" --network n1 --vlan 100
ONE_LINE=$u refused "malformed MAC" "${S[@]}" fdb add zz --network n1 --port p1
ONE_LINE=$u refused "malformed subnet" "${S[@]}" network add n3 --subnet 300.1.1.0/24
ONE_LINE=$u refused "unknown subcommand" "${S[@]}" frobnicate

step "the daemon still works: the refused names are free, b can be added"
[ -f "$WORK/vhost-exists.sock" ] ||
    fail "the regular file at the vhost-user path was replaced or removed"
vs port add p2 --type af-packet --iface "$(rif b)" --network n1
assert_contains "$(vs port list)" "p2 " "port list after adding p2"
log "$checked bad inputs refused"
pass
