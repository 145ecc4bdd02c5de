#!/usr/bin/env bash
# The hardware_vtep agent against a real ovsdb-server with the vtep schema, programmed with
# vtep-ctl (the way a controller programs a top-of-rack VTEP), and the Linux kernel's VXLAN
# device as the remote VTEP.
#
#   t: VLAN 100 sub-interface (198.51.100.3) -- pt [vswitchd, physical switch gw1] pu -- k
#   a (198.51.100.1) -- pa (untagged)                      k: 203.0.113.2, vx0 (VNI 5000)
#   vswitchd's VTEP: 203.0.113.1/24 on pu                  bridged (br0) with r (198.51.100.2)
#
# The agent registers gw1 and its ports; vtep-ctl makes logical switch ls0 (tunnel key 5000),
# binds VLAN 100 of pt and VLAN 0 of pa to it, and adds the kernel VTEP as its unknown-dst
# locator and r's MAC as a remote MAC: a and t reach r (ping, a file with matching sha256);
# the MACs vswitchd learns appear as local MACs; unbinding and deleting take effect within a
# second; ovsdb-server killed and restarted: forwarding never stops, the agent resynchronises
# without duplicates; a port whose binding cannot be instantiated reports invalid_vlan_map in
# its port_fault_status; the same database over ssl: with certificates of a test CA (and a
# server certificate of another CA refused). Bad input (a logical switch without a tunnel key, a binding to a port
# vswitchd does not have, a database without the schema) is reported by name and counted.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init vtep_agent
need_cmd ovsdb-server ovsdb-tool vtep-ctl nc sha256sum ss openssl

A=198.51.100.1 R=198.51.100.2 T=198.51.100.3
VTEP=203.0.113.1 KVTEP=203.0.113.2
SCHEMA=/usr/share/openvswitch/vtep.ovsschema
[ -f "$SCHEMA" ] || fail "no vtep schema at $SCHEMA (package openvswitch-vtep)"
DB=$WORK/vtep.db DBSOCK=$WORK/vtep.sock
# The database's TLS port, on loopback.
SSLPORT=$((20000 + $$ % 20000))

# certs: a test CA and certificates it signs for the server and the agent, one of another CA.
certs() {
    local n ca
    for ca in ca other; do
        openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/$ca.key" -out "$WORK/$ca.pem" \
            -days 2 -subj "/CN=vtep-test-$ca" 2>/dev/null
    done
    for n in server client; do
        openssl req -newkey rsa:2048 -nodes -keyout "$WORK/$n.key" -out "$WORK/$n.csr" \
            -subj "/CN=$n" 2>/dev/null
        printf 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:%s\n' "$n" >"$WORK/$n.ext"
        openssl x509 -req -in "$WORK/$n.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
            -CAcreateserial -out "$WORK/$n.pem" -days 2 -extfile "$WORK/$n.ext" 2>/dev/null
    done
}

# ovsdb_start: serves $DB on $DBSOCK and on TLS port $SSLPORT of loopback (in the foreground
# of a background job; killed on exit).
ovsdb_start() {
    bg ovsdb-server --remote="punix:$DBSOCK" --remote="pssl:$SSLPORT:127.0.0.1" \
        --private-key="$WORK/server.key" --certificate="$WORK/server.pem" \
        --ca-cert="$WORK/ca.pem" --unixctl="$WORK/ovsdb.ctl" \
        --log-file="$WORK/ovsdb.log" "$DB" 2>>"$WORK/ovsdb.err"
    OVSDB_PID=$BGPID
    wait_for 10 "ovsdb-server on $DBSOCK" test -S "$DBSOCK"
}

# agent_field KEY: a field of `vtep agent show --json`.
agent_field() { vs --json vtep agent show | json_get "d.get('$1', 0)"; }
# agent_says TEXT: `vtep agent show` contains TEXT.
agent_says() { vs vtep agent show | grep -q -- "$1"; }
# reconnected: the agent is connected again, after a second connection.
reconnected() { [ "$(agent_field state)" = connected ] && [ "$(agent_field connects)" -ge 2 ]; }
# local_macs_have MAC...: ls0's local MACs list every MAC.
local_macs_have() {
    local macs m
    macs=$(vc list-local-macs ls0)
    for m in "$@"; do grep -q "$m" <<<"$macs" || return 1; done
}
# one_logical_switch: the agent mirrors one logical switch.
one_logical_switch() { [ "$(agent_field logical_switches)" = 1 ]; }
# port_fault PORT FAULT: the database's port_fault_status of PORT is [FAULT] ([] for "").
port_fault() { [ "$(vc get Physical_Port "$1" port_fault_status)" = "[$2]" ]; }
# static_in_ls0 MAC: MAC is a static FDB entry of ls0.
static_in_ls0() { vs fdb show --network ls0 | grep "$1" | grep -q static; }

step "ovsdb-server with the hardware_vtep schema, on a Unix socket and TLS"
certs
ovsdb-tool create "$DB" "$SCHEMA"
ovsdb_start

step "the kernel VTEP: namespace k, vx0 (VNI 5000) bridged with host r"
kernel_vtep 5000

step "vswitchd: a VTEP on pu, ports pa and pt in no network, the agent as gw1"
start_daemon
vs port add pu --type af-packet --iface "$(rif k)"
vs vtep set --local-ip "$VTEP/24" --port pu
make_host a
inns a ip link set "$(hif a)" mtu 1450
_host_addrs a "$(hif a)" "$A/24"
vs port add pa --type af-packet --iface "$(rif a)"
make_host t
make_vlan_ifs t 100:t100
inns t ip link set t100 mtu 1450
_host_addrs t t100 "$T/24"
vs port add pt --type af-packet --iface "$(rif t)"

step "bad input: a database without the hardware_vtep schema is reported"
ovsdb-tool create "$WORK/other.db" /usr/share/openvswitch/vswitch.ovsschema
bg ovsdb-server --remote="punix:$WORK/other.sock" --unixctl="$WORK/other.ctl" "$WORK/other.db" 2>>"$WORK/ovsdb.err"
wait_for 10 "the second ovsdb-server" test -S "$WORK/other.sock"
vs vtep agent set --db "unix:$WORK/other.sock" --name gw1 >/dev/null
wait_for 10 "the agent to report the missing schema" agent_says "unknown database"
config=$(vs config show)
refused "a database target without a port" vtep agent set --db tcp:192.0.2.1 --name gw1
refused "an empty switch name" vtep agent set --db "unix:$DBSOCK" --name ""
refused "ssl: without TLS files" vtep agent set --db ssl:192.0.2.1:6640 --name gw1

step "the agent registers gw1 with its tunnel IP and ports (the underlay left out)"
vs vtep agent set --db "unix:$DBSOCK" --name gw1 >/dev/null
wait_for 10 "gw1 in vtep-ctl list-ps" sh -c "vtep-ctl --db=unix:$DBSOCK list-ps | grep -qx gw1"
ports=$(vc list-ports gw1 | tr '\n' ' ')
log "gw1's ports: $ports"
assert_eq "$ports" "pa pt " "vtep-ctl list-ports gw1"
assert_contains "$(vc get Physical_Switch gw1 tunnel_ips)" "$VTEP" "gw1's tunnel_ips"

step "bad input: a logical switch without a tunnel key is reported by name"
vc add-ls ls0
vc bind-ls gw1 pt 100 ls0
wait_for 5 "the agent to report ls0's missing tunnel key" agent_says "logical switch ls0: has no tunnel_key"
wait_for 5 "pt's fault in the database" port_fault pt invalid_vlan_map
assert_not_contains "$(vs network list)" "ls0" "no network for a logical switch without a key"

step "vtep-ctl programs ls0: key 5000, VLAN 100 on pt and untagged on pa, the kernel VTEP"
vc set Logical_Switch ls0 tunnel_key=5000
vc bind-ls gw1 pa 0 ls0
vc add-mcast-remote ls0 unknown-dst "$KVTEP"
vc add-ucast-remote ls0 "$rmac" "$KVTEP"
wait_for 5 "ls0 mirrored as a network" static_in_ls0 "$rmac"
wait_for 5 "pt's fault cleared" port_fault pt ""
show=$(vs vtep agent show)
log "$show"
assert_contains "$show" "state: connected" "agent state"
assert_eq "$(agent_field logical_switches)" 1 "mirrored logical switches"
assert_eq "$(agent_field bindings)" 2 "mirrored VLAN bindings"
assert_eq "$(agent_field remote_macs)" 1 "mirrored remote MACs"
fdb=$(vs fdb show --network ls0)
assert_contains "$fdb" "$rmac" "r's MAC as a static entry behind the kernel VTEP"

step "a (untagged) and t (VLAN 100) reach r through VNI 5000"
assert_ping a "$R"
assert_ping t "$R"
assert_ping r "$A"
assert_file_copy a r "$R" 2

step "the MACs vswitchd learned are local MACs of ls0"
amac=$(host_mac a) tmac=$(host_mac t t100)
wait_for 5 "a's and t's MACs in list-local-macs" local_macs_have "$amac" "$tmac"
assert_contains "$(vc list-local-macs ls0)" "unknown-dst -> vxlan_over_ipv4/$VTEP" "gw1's flood locator for ls0"

step "bad input: a binding to a port vswitchd does not have is reported; the rest applies"
vc add-port gw1 ghost
vc bind-ls gw1 ghost 0 ls0
wait_for 5 "the agent to report port ghost" agent_says "physical port ghost: vswitchd has no port"
wait_for 5 "ghost's fault in the database" port_fault ghost invalid_vlan_map
assert_ping a "$R"
assert_ge "$(agent_field error_count)" 2 "errors counted (the missing key, the missing port)"

step "ovsdb-server killed: forwarding goes on; restarted: the agent resynchronises"
kill "$OVSDB_PID"
wait "$OVSDB_PID" 2>/dev/null || true
rm -f "$DBSOCK"
wait_for 5 "the agent to notice" agent_says "state: disconnected"
assert_ping a "$R"
assert_ping t "$R"
ovsdb_start
wait_for 10 "the agent to reconnect" reconnected
sleep 1.5
assert_eq "$(vc list-ps | wc -l)" 1 "one physical switch after the resync"
assert_eq "$(vc list-ports gw1 | tr '\n' ' ')" "ghost pa pt " "gw1's ports after the resync"
locals=$(vc list-local-macs ls0)
assert_eq "$(grep -c "$amac" <<<"$locals")" 1 "a's MAC once in the local MACs"
assert_eq "$(grep -c unknown-dst <<<"$locals")" 1 "one flood locator of gw1 for ls0"
assert_ping a "$R"

step "del-ucast-remote and unbind-ls take effect within a second"
vc del-ucast-remote ls0 "$rmac"
wait_for 1 "r's static MAC gone" eval '! static_in_ls0 "$rmac"'
vc unbind-ls gw1 pt 100
wait_for 1 "pt out of ls0" eval '! vs port show pt | grep -q "trunk: 100"'
assert_no_ping t "$R"
assert_ping a "$R"

step "the database over ssl:, its certificate checked against the CA"
vs vtep agent set --db "ssl:127.0.0.1:$SSLPORT" --name gw1 --tls-key "$WORK/client.key" \
    --tls-cert "$WORK/client.pem" --tls-ca "$WORK/ca.pem" >/dev/null
wait_for 10 "the agent connected over TLS" agent_says "state: connected"
wait_for 5 "ls0 mirrored over TLS" one_logical_switch
assert_ping a "$R"
vs vtep agent set --db "ssl:127.0.0.1:$SSLPORT" --name gw1 --tls-key "$WORK/client.key" \
    --tls-cert "$WORK/client.pem" --tls-ca "$WORK/other.pem" >/dev/null
wait_for 10 "a server certificate of another CA refused" agent_says "invalid peer certificate"

step "vtep agent del: the agent stops and what it mirrored goes"
vs vtep agent del
assert_not_contains "$(vs network list)" "ls0" "ls0 removed with the agent"
config=$(vs config show)
refused "vtep agent show without an agent" vtep agent show
vs vtep agent del --missing-ok

pass
