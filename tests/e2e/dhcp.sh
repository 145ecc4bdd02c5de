#!/usr/bin/env bash
# The built-in DHCP server, against busybox udhcpc in namespaces:
#   web 198.51.100.0/24, gateway .1, --dhcp --dhcp-range .100-.149 --dns .53, h2 fixed at .42,
#   and 2001:db8:7::/64 (gateway 2001:db8:7::1), which router advertisements offer for SLAAC
# h1 gets an address of the range, the gateway as router and the DNS server; h2 gets its fixed
# address; both reach each other and the gateway. h3's kernel configures itself by SLAAC from
# the gateway's router advertisement and pings the gateway over IPv6. `vsctl dhcp show` lists the leases; after a
# restart of vswitchd they are still there and h1 gets the same address again. Bad DHCP
# settings are refused with one line.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init dhcp
need_cmd busybox

GW=198.51.100.1 DNS=198.51.100.53 H2_FIXED=198.51.100.42 H2_MAC=02:00:00:00:00:42

start_daemon
vs network add web --subnet 198.51.100.0/24 --gateway "$GW" \
    --subnet 2001:db8:7::/64 --gateway 2001:db8:7::1 --dhcp \
    --dhcp-range 198.51.100.100-198.51.100.149 --dns "$DNS" --dhcp-host "$H2_MAC=$H2_FIXED" >/dev/null
make_host h1
make_host h2
inns h2 ip link set "$(hif h2)" address "$H2_MAC"
vs port add p1 --type af-packet --iface "$(rif h1)" --network web >/dev/null
vs port add p2 --type af-packet --iface "$(rif h2)" --network web >/dev/null

# The udhcpc event script: configure the interface and record what the server said.
cat >"$WORK/udhcpc.sh" <<'EOF'
#!/bin/sh
case "$1" in
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/$subnet" dev "$interface"
        ip route replace default via "$router"
        echo "ip=$ip subnet=$subnet router=$router dns=$dns lease=$lease" >"$LEASE_OUT"
        ;;
esac
EOF
chmod +x "$WORK/udhcpc.sh"
dhcp() { # dhcp H: one lease for host H (udhcpc exits once bound), recorded in WORK/H.lease
    inns "$1" env LEASE_OUT="$WORK/$1.lease" timeout 30 busybox udhcpc -i "$(hif "$1")" \
        -n -q -t 5 -T 1 -s "$WORK/udhcpc.sh" >"$WORK/$1.udhcpc.log" 2>&1 ||
        fail "udhcpc in $1 got no lease: $(tail -3 "$WORK/$1.udhcpc.log")"
    log "$1: $(cat "$WORK/$1.lease")"
}
field() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" "$WORK/$1.lease"; }

step "udhcpc in h1 and h2 get their leases"
dhcp h1
dhcp h2
h1_ip=$(field h1 ip)
last=${h1_ip##*.}
[ "${h1_ip%.*}" = 198.51.100 ] && [ "$last" -ge 100 ] && [ "$last" -le 149 ] ||
    fail "h1's address $h1_ip is outside the range 198.51.100.100-149"
assert_eq "$(field h1 router)" "$GW" "h1's router"
assert_eq "$(field h1 dns)" "$DNS" "h1's DNS server"
assert_eq "$(field h1 subnet)" 255.255.255.0 "h1's subnet mask"
assert_eq "$(field h2 ip)" "$H2_FIXED" "h2's fixed address"

step "the leased hosts talk to each other and to the gateway"
assert_ping h1 "$GW"
assert_ping h1 "$H2_FIXED"
assert_ping h2 "$h1_ip"
leases=$(vs dhcp show)
log "$leases"
assert_contains "$leases" "$h1_ip" "vsctl dhcp show"
assert_contains "$leases" "$H2_FIXED" "vsctl dhcp show"

step "SLAAC: h3 takes an address and the default router from the gateway's advertisement"
make_host h3
vs port add p3 --type af-packet --iface "$(rif h3)" --network web >/dev/null
i3=$(hif h3)
inns h3 sysctl -qw "net.ipv6.conf.$i3.disable_ipv6=0" "net.ipv6.conf.$i3.accept_ra=1" \
    "net.ipv6.conf.$i3.autoconf=1" "net.ipv6.conf.$i3.accept_dad=0"
inns h3 ip link set "$i3" down
inns h3 ip link set "$i3" up
slaac_addr() { inns h3 ip -6 addr show dev "$i3" scope global | grep -q 'inet6 2001:db8:7:'; }
wait_for 20 "h3 to configure an address of 2001:db8:7::/64" slaac_addr
log "h3: $(inns h3 ip -6 addr show dev "$i3" scope global | awk '/inet6/ {print $2}') via $(inns h3 ip -6 route show default)"
assert_contains "$(inns h3 ip -6 route show default)" "fe80::76:73ff:fe00:1" "h3's default router"
assert_ping h3 2001:db8:7::1

step "vswitchd restarted: the leases are still there, h1 gets the same address"
stop_daemon TERM
start_daemon
assert_contains "$(vs dhcp show --network web)" "$h1_ip" "leases after the restart"
inns h1 ip addr flush dev "$(hif h1)"
dhcp h1
assert_eq "$(field h1 ip)" "$h1_ip" "h1's address after the restart"
assert_ping h1 "$H2_FIXED"

step "bad DHCP settings: one-line errors, model unchanged"
model=$(vs config show)
for args in \
    "--subnet 203.0.113.0/24 --dhcp" \
    "--subnet 203.0.113.0/24 --gateway 203.0.113.1 --dhcp --dhcp-range 203.0.113.200-203.0.114.10" \
    "--subnet 203.0.113.0/24 --gateway 203.0.113.1 --dhcp --dhcp-host 02:00:00:00:00:01=198.51.100.9" \
    "--subnet 203.0.113.0/24 --gateway 203.0.113.1 --dns 203.0.113.53"; do
    # shellcheck disable=SC2086
    if err=$(vs network add bad --vrf other $args 2>&1); then fail "network add $args succeeded"; fi
    assert_eq "$(printf '%s\n' "$err" | wc -l)" 1 "lines of the error for $args"
    log "  $err"
done
assert_eq "$(vs config show)" "$model" "the model after the refused changes"

pass
