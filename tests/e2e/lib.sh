# shellcheck shell=bash
# Helpers for the end-to-end cases. A case does:
#
#   . "$(dirname "$0")/lib.sh"
#   e2e_init l2_basic             # root check, work dir, unique name prefix, cleanup trap
#   start_daemon
#   vs network add n1
#   make_host a 198.51.100.1/24   # netns + veth (offloads off, root side quiet)
#   vs port add pa --type af-packet --iface "$(rif a)" --network n1
#   assert_ping a 198.51.100.2
#   pass                          # prints "ok: <case>" and exits 0
#
# Every helper that fails prints one "FAIL: <case>: <what>" line on stderr and exits non-zero;
# the EXIT trap stops the daemon, kills what the case started in its namespaces, and deletes
# every namespace and interface it made. Test hosts only use 198.51.100.0/24, 203.0.113.0/24
# and 2001:db8::/32, and live in namespaces of their own.
#
# Environment: VSWITCHD, VSCTL (binaries; default target/release of this repo), VSWITCHD_ARGS
# (extra daemon options, e.g. --no-huge), E2E_WORKDIR (work dir, made by run.sh), E2E_PREFIX
# (name prefix), E2E_KEEP=1 (keep the work dir), E2E_VERBOSE=1 (trace every command).

set -eEuo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$E2E_DIR/../.." && pwd)
VSWITCHD=${VSWITCHD:-$REPO/target/release/vswitchd}
VSCTL=${VSCTL:-$REPO/target/release/vsctl}
# shellcheck disable=SC2034 # used by the cases
SENDRAW=$E2E_DIR/tools/sendraw.py
# The distribution's python3 (a pyenv shim in PATH can take 0.25 s per start).
if [ -z "${PYTHON:-}" ]; then
    if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi

E2E_NAME=unnamed
PFX=
WORK=
SOCK=
STATE=
_NETNS=()
_LINKS=()
_BGPIDS=()
_DAEMON_PIDS=()
_CLEANED=0

# ---- reporting -------------------------------------------------------------------------------

log() { printf '%s\n' "$*"; }
step() { printf -- '--- %s\n' "$*"; }
fail() {
    printf 'FAIL: %s: %s\n' "$E2E_NAME" "$*" >&2
    exit 1
}
pass() {
    printf 'ok: %s\n' "$E2E_NAME"
    exit 0
}

_on_err() {
    local rc=$? cmd=$1 i where=
    # A failing $(...) also fails the command around it, which is reported there.
    [ "$BASH_SUBSHELL" -gt 0 ] && return 0
    for ((i = 0; i + 1 < ${#BASH_SOURCE[@]}; i++)); do
        where+="${where:+ <- }${BASH_SOURCE[i + 1]##*/}:${BASH_LINENO[i]}"
    done
    printf 'FAIL: %s: command failed (exit %s) at %s: %s\n' "$E2E_NAME" "$rc" "$where" "$cmd" >&2
}

# ---- setup and cleanup -----------------------------------------------------------------------

need_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || fail "needs '$c' (run: make deps)"
    done
}

# e2e_init NAME: root check, tools check, work dir, name prefix, traps.
e2e_init() {
    E2E_NAME=$1
    [ "$(id -u)" -eq 0 ] || fail "needs root (network namespaces, veth pairs, DPDK); run as root"
    need_cmd ip ethtool sysctl "$PYTHON" timeout ping tcpdump
    [ -x "$VSWITCHD" ] || fail "no vswitchd at $VSWITCHD (run: make build)"
    [ -x "$VSCTL" ] || fail "no vsctl at $VSCTL (run: make build)"
    if [ -n "${E2E_WORKDIR:-}" ]; then
        WORK=$E2E_WORKDIR
        mkdir -p "$WORK"
    else
        WORK=$(mktemp -d "/tmp/vs-e2e-$E2E_NAME.XXXXXX")
    fi
    # Interface names have 15 characters at most: prefix (<= 8) + host name (<= 5) + 1.
    if [ -n "${E2E_PREFIX:-}" ]; then
        PFX=$E2E_PREFIX
    else
        PFX=$(printf 'v%s%04x' "${E2E_NAME:0:2}" $(($$ % 65536)))
    fi
    [ "${#PFX}" -le 8 ] || fail "name prefix '$PFX' longer than 8 characters"
    SOCK=$WORK/vswitchd.sock
    STATE=$WORK/state
    trap '_on_err "$BASH_COMMAND"' ERR
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap cleanup EXIT
    if [ "${E2E_VERBOSE:-0}" = 1 ]; then set -x; fi
    log "== $E2E_NAME (work dir $WORK, prefix $PFX)"
}

_pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# _wait_gone PID SECONDS: true once PID has exited.
_wait_gone() {
    local pid=$1 i
    for ((i = 0; i < $2 * 10; i++)); do
        _pid_alive "$pid" || return 0
        sleep 0.1
    done
    return 1
}

cleanup() {
    local rc=$? pid ns l
    [ "$_CLEANED" = 1 ] && return
    _CLEANED=1
    set +eE
    trap - ERR
    for pid in "${_BGPIDS[@]}"; do
        _pid_alive "$pid" && kill "$pid" 2>/dev/null
    done
    # Whatever still runs in our namespaces was started by this case (ping, nc, iperf3, ...).
    for ns in "${_NETNS[@]}"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
    done
    [ -f "$STATE/vswitchd.pid" ] && _DAEMON_PIDS+=("$(cat "$STATE/vswitchd.pid" 2>/dev/null)")
    for pid in "${_DAEMON_PIDS[@]}"; do
        if _pid_alive "$pid" && _is_vswitchd "$pid"; then
            kill -TERM "$pid" 2>/dev/null
            if ! _wait_gone "$pid" 15; then
                printf 'FAIL: %s: vswitchd %s still running 15 s after SIGTERM; SIGKILL\n' "$E2E_NAME" "$pid" >&2
                kill -KILL "$pid"
                [ "$rc" -ne 0 ] || rc=1
            fi
        fi
    done
    for l in "${_LINKS[@]}"; do
        ip link show "$l" >/dev/null 2>&1 && ip link del "$l" 2>/dev/null
    done
    for ns in "${_NETNS[@]}"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    if [ "$rc" -ne 0 ] && [ -f "$STATE/vswitchd.log" ]; then
        echo "--- last lines of vswitchd.log:" >&2
        tail -n 15 "$STATE/vswitchd.log" >&2
    fi
    if [ "${E2E_KEEP:-0}" != 1 ] && [ -z "${E2E_WORKDIR:-}" ]; then
        rm -rf "$WORK"
    fi
    exit "$rc"
}

# ---- daemon ----------------------------------------------------------------------------------

_is_vswitchd() { [ "$(cat "/proc/$1/comm" 2>/dev/null)" = vswitchd ]; }

daemon_pid() { cat "$STATE/vswitchd.pid"; }

# start_daemon [EXTRA-ARGS...]: starts vswitchd detached on $SOCK with state dir $STATE.
start_daemon() {
    local out rc=0
    mkdir -p "$STATE"
    # shellcheck disable=SC2086
    out=$(timeout 60 "$VSWITCHD" --socket "$SOCK" --state-dir "$STATE" ${VSWITCHD_ARGS:-} "$@" 2>&1) || rc=$?
    [ -f "$STATE/vswitchd.pid" ] && _DAEMON_PIDS+=("$(cat "$STATE/vswitchd.pid")")
    [ "$rc" -eq 0 ] || fail "vswitchd did not start (exit $rc): $out"
    [ -S "$SOCK" ] || fail "vswitchd returned 0 but $SOCK is not a socket"
    _pid_alive "$(daemon_pid)" || fail "vswitchd returned 0 but pid $(daemon_pid) is not running"
    vs status >/dev/null || fail "vswitchd started but 'vsctl status' fails"
}

# stop_daemon [SIGNAL]: default TERM (must exit cleanly within 15 s).
stop_daemon() {
    local sig=${1:-TERM} pid
    pid=$(daemon_pid)
    _pid_alive "$pid" || fail "stop_daemon: vswitchd (pid $pid) is not running"
    kill "-$sig" "$pid"
    _wait_gone "$pid" 15 || fail "vswitchd (pid $pid) still running 15 s after SIG$sig"
}

# vs ARGS...: vsctl against this case's daemon (20 s limit).
vs() { timeout 20 "$VSCTL" --socket "$SOCK" "$@"; }

# ---- hosts -----------------------------------------------------------------------------------

hns() { printf '%s-%s' "$PFX" "$1"; }  # netns of host H
rif() { printf '%s%sr' "$PFX" "$1"; }  # root-side veth of host H (attach it with af-packet)
hif() { printf '%s%sh' "$PFX" "$1"; }  # host-side veth of host H (inside its netns)
tif() { printf '%s%st' "$PFX" "$1"; }  # TAP interface of tap host H (inside its netns)
inns() {                               # inns H CMD...: run CMD in host H's netns
    local h=$1
    shift
    ip netns exec "$(hns "$h")" "$@"
}

_add_ns() {
    local ns
    ns=$(hns "$1")
    ip netns add "$ns"
    _NETNS+=("$ns")
    ip -n "$ns" link set lo up
}

# _host_addrs H IF ADDR...: addresses (IPv6 stays off unless one is given), link up.
_host_addrs() {
    local h=$1 ifc=$2 a v6=0
    shift 2
    for a in "$@"; do case $a in *:*) v6=1 ;; esac; done
    if [ "$v6" = 0 ]; then
        inns "$h" sysctl -qw "net.ipv6.conf.$ifc.disable_ipv6=1"
    fi
    for a in "$@"; do
        case $a in
            *:*) inns "$h" ip -6 addr add "$a" dev "$ifc" nodad ;;
            *) inns "$h" ip addr add "$a" dev "$ifc" ;;
        esac
    done
    inns "$h" ip link set "$ifc" up
}

# make_host H [ADDR/LEN...]: netns $(hns H) with veth $(hif H) inside; the peer $(rif H) stays in
# the root namespace, up, quiet (no ARP replies, no IPv6), for an af-packet port.
make_host() {
    local h=$1 r i
    shift
    r=$(rif "$h")
    i=$(hif "$h")
    _add_ns "$h"
    ip link add "$r" type veth peer name "$i" netns "$(hns "$h")"
    _LINKS+=("$r")
    # GSO super-frames and partial checksums must not reach an af-packet port.
    ethtool -K "$r" tx off tso off gso off gro off >/dev/null 2>&1
    inns "$h" ethtool -K "$i" tx off tso off gso off gro off >/dev/null 2>&1
    sysctl -qw "net.ipv4.conf.$r.arp_ignore=8" "net.ipv6.conf.$r.disable_ipv6=1"
    ip link set "$r" up
    _host_addrs "$h" "$i" "$@"
}

# assert_file_copy FROM TO TO_IP MB: MB megabytes of random bytes from host FROM to host TO
# over nc (TCP port 5001 of TO_IP) arrive whole: the same size and sha256.
assert_file_copy() {
    local from=$1 to=$2 ip=$3 bytes=$(($4 * 1024 * 1024)) ncpid
    head -c "$bytes" /dev/urandom >"$WORK/send.bin"
    bg ip netns exec "$(hns "$to")" timeout 30 sh -c "nc -l $ip 5001 > '$WORK/recv.bin'"
    ncpid=$BGPID
    wait_for 10 "nc listening on $to" sh -c "ip netns exec $(hns "$to") ss -Hltn 'sport = :5001' | grep -q 5001"
    inns "$from" timeout 30 nc -N "$ip" 5001 <"$WORK/send.bin" || fail "nc sender $from -> $to failed"
    wait "$ncpid" || fail "nc receiver on $to exited with an error"
    assert_eq "$(stat -c %s "$WORK/recv.bin")" "$bytes" "bytes received by nc on $to"
    assert_eq "$(sha256sum <"$WORK/recv.bin" | cut -d' ' -f1)" "$(sha256sum <"$WORK/send.bin" | cut -d' ' -f1)" "sha256 of the $4 MB file $from -> $to"
    rm -f "$WORK/send.bin" "$WORK/recv.bin"
}

# kernel_vtep VNI [RMAC]: the Linux kernel as a remote VTEP: host k ($KVTEP/24) with VXLAN
# device vx0 (VNI, default destination $VTEP), bridged with host r ($R/24, MTU 1450, MAC RMAC
# if given). Sets $kif (k's underlay interface) and $rmac.
kernel_vtep() {
    local vni=$1 mac=${2:-} rk="${PFX}rk" rh="${PFX}rh" l
    make_host k "$KVTEP/24"
    kif=$(hif k)
    _add_ns r
    ip link add "$rk" netns "$(hns k)" type veth peer name "$rh" netns "$(hns r)"
    inns k ethtool -K "$rk" tx off tso off gso off gro off >/dev/null 2>&1
    inns r ethtool -K "$rh" tx off tso off gso off gro off >/dev/null 2>&1
    inns k ip link add vx0 type vxlan id "$vni" dstport 4789 local "$KVTEP" remote "$VTEP" dev "$kif"
    inns k ip link add br0 type bridge
    inns k ip link set vx0 master br0
    inns k ip link set "$rk" master br0
    for l in vx0 "$rk" br0; do inns k ip link set "$l" up; done
    inns r ip link set "$rh" mtu 1450
    [ -z "$mac" ] || inns r ip link set "$rh" address "$mac"
    _host_addrs r "$rh" "$R/24"
    rmac=$(host_mac r "$rh")
}

# underlay_pair: veth pair $u1 / $u2 (${PFX}u1, ${PFX}u2) joining two switches' underlay
# ports, up and quiet (no offloads, no ARP replies, no IPv6 from the root namespace).
underlay_pair() {
    local u
    u1="${PFX}u1" u2="${PFX}u2"
    ip link add "$u1" type veth peer name "$u2"
    _LINKS+=("$u1")
    for u in "$u1" "$u2"; do
        ethtool -K "$u" tx off tso off gso off gro off >/dev/null 2>&1
        sysctl -qw "net.ipv4.conf.$u.arp_ignore=8" "net.ipv6.conf.$u.disable_ipv6=1"
        ip link set "$u" up
    done
}

# ---- OVSDB and OVN ---------------------------------------------------------------------------

# ovsdb_serve NAME SCHEMA: a database of SCHEMA served on $WORK/NAME.sock.
ovsdb_serve() {
    [ -f "$2" ] || fail "no schema at $2"
    ovsdb-tool create "$WORK/$1.db" "$2"
    bg ovsdb-server --remote="punix:$WORK/$1.sock" --unixctl="$WORK/$1.ctl" \
        --log-file="$WORK/$1.log" "$WORK/$1.db" 2>>"$WORK/ovn.err"
    wait_for 10 "ovsdb-server $1" test -S "$WORK/$1.sock"
}

# OVN's databases and the vtep database on $WORK/{nb,sb,vtep}.sock, ovn-northd and
# ovn-controller-vtep (set OVN_RUNDIR first); nb, sb and vc are their command lines.
nb() { timeout 10 ovn-nbctl --db="unix:$WORK/nb.sock" "$@"; }
sb() { timeout 10 ovn-sbctl --db="unix:$WORK/sb.sock" "$@"; }
vc() { timeout 10 vtep-ctl --db="unix:$WORK/vtep.sock" "$@"; }
ovn_start() {
    ovsdb_serve nb /usr/share/ovn/ovn-nb.ovsschema
    ovsdb_serve sb /usr/share/ovn/ovn-sb.ovsschema
    ovsdb_serve vtep /usr/share/openvswitch/vtep.ovsschema
    bg ovn-northd --ovnnb-db="unix:$WORK/nb.sock" --ovnsb-db="unix:$WORK/sb.sock" \
        --log-file="$WORK/northd.log" 2>>"$WORK/ovn.err"
    bg ovn-controller-vtep --vtep-db="unix:$WORK/vtep.sock" --ovnsb-db="unix:$WORK/sb.sock" \
        --log-file="$WORK/controller-vtep.log" 2>>"$WORK/ovn.err"
}

# make_tap_host H PORT ADDR/LEN [vsctl port add args...]: vswitchd creates TAP $(tif H), which is
# then moved into netns $(hns H). The TAP dies with the daemon: not for restart cases.
make_tap_host() {
    local h=$1 port=$2 addr=$3 t
    shift 3
    t=$(tif "$h")
    _add_ns "$h"
    vs port add "$port" --type tap --iface "$t" "$@"
    wait_for 10 "TAP $t to appear" test -e "/sys/class/net/$t"
    ip link set "$t" netns "$(hns "$h")"
    _host_addrs "$h" "$t" "$addr"
}

# make_vlan_ifs H VID:NAME...: 802.1Q sub-interfaces NAME (VLAN VID) of host H's veth, in H's
# namespace, down and without addresses. Kernel VLAN devices when the kernel has 8021q, else
# TAPs bridged by tools/vlanhost.py (the same frames on the wire). Sets VLAN_IMPL.
make_vlan_ifs() {
    local h=$1 parent spec
    shift
    parent=$(hif "$h")
    if inns "$h" ip link add link "$parent" name vlprobe type vlan id 4000 2>/dev/null; then
        inns "$h" ip link del vlprobe
        VLAN_IMPL=kernel
        for spec in "$@"; do
            inns "$h" ip link add link "$parent" name "${spec#*:}" type vlan id "${spec%%:*}"
        done
    else
        # shellcheck disable=SC2034 # used by the cases
        VLAN_IMPL=vlanhost.py
        log "note: this kernel has no 802.1Q devices (CONFIG_VLAN_8021Q); VLAN sub-interfaces are TAPs bridged by tools/vlanhost.py"
        local args=() out=$WORK/vlanhost-$h.log
        for spec in "$@"; do args+=(--vlan "$spec"); done
        bg ip netns exec "$(hns "$h")" timeout 600 "$PYTHON" -u "$E2E_DIR/tools/vlanhost.py" \
            --parent "$parent" "${args[@]}" >"$out" 2>&1
        wait_for 10 "vlanhost.py on $h ($(cat "$out" 2>/dev/null))" grep -q ready "$out"
    fi
    for spec in "$@"; do
        inns "$h" ethtool -K "${spec#*:}" tx off tso off gso off gro off >/dev/null 2>&1 || true
    done
}

# host_mac H [IF]: MAC of host H's interface (default its veth).
host_mac() { inns "$1" cat "/sys/class/net/${2:-$(hif "$1")}/address"; }

# ---- waiting and background jobs ---------------------------------------------------------------

# wait_for SECONDS WHAT CMD...: polls CMD every 0.1 s; fails naming WHAT.
wait_for() {
    local secs=$1 what=$2 i
    shift 2
    for ((i = 0; i < secs * 10; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    fail "timed out after ${secs}s waiting for $what"
}

# bg CMD...: runs CMD (an executable, not a function, so that $BGPID is CMD itself) in the
# background; its pid is in $BGPID and it is killed on exit.
bg() {
    "$@" &
    BGPID=$!
    _BGPIDS+=("$BGPID")
}

# capture_start H FILE [IF] [FILTER...]: tcpdump on host H's interface into FILE (pcap).
capture_start() {
    local h=$1 file=$2 ifc=${3:-}
    shift 2
    [ $# -gt 0 ] && shift
    [ -n "$ifc" ] || ifc=$(hif "$h")
    bg ip netns exec "$(hns "$h")" timeout 120 tcpdump -Z root --immediate-mode -i "$ifc" -nn -U -s 256 -w "$file" "$@" 2>"$file.err"
    # shellcheck disable=SC2034 # used by the cases
    CAPPID=$BGPID
    wait_for 10 "tcpdump on $h/$ifc to start" grep -q "listening on" "$file.err"
}

# capture_stop PID: stops tcpdump (it flushes the file).
capture_stop() {
    kill -INT "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# capture_read FILE [FILTER...]: the capture as text, with link-level headers.
capture_read() {
    local file=$1
    shift
    timeout 20 tcpdump -nn -e -r "$file" "$@" 2>/dev/null
}

# ---- counters ----------------------------------------------------------------------------------

# json_get EXPR: reads JSON on stdin, prints the Python expression EXPR over it (as `d`).
json_get() {
    "$PYTHON" -c 'import json, sys
d = json.load(sys.stdin)
v = eval(sys.argv[1])
print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$1"
}

# port_counter PORT KEY: one counter of PORT from `vsctl --json stats show`. KEY is rx_packets,
# tx_packets, rx_bytes, tx_bytes, drops.REASON (0 when absent) or hw.NAME.
port_counter() {
    vs --json stats show | "$PYTHON" -c 'import json, sys
port, key = sys.argv[1], sys.argv[2]
d = json.load(sys.stdin)
ps = [p for p in d["ports"] if p["name"] == port]
if not ps:
    sys.exit("port %s not in stats" % port)
v = ps[0]
parts = key.split(".")
for i, k in enumerate(parts):
    if k not in v:
        if i > 0 and parts[0] == "drops":
            v = 0
            break
        sys.exit("no counter %s for port %s" % (key, port))
    v = v[k]
print(int(v))' "$1" "$2"
}

# drop_total REASON: the switch-wide drop counter for REASON (0 when absent).
drop_total() {
    vs --json stats show | json_get "d.get('drops', {}).get('$1', 0)"
}

# refused WHAT VSCTL-ARGS...: the command fails with one line on stderr and leaves the model as
# it was in $config (the caller's `vs config show`).
refused() {
    local what=$1 rc=0
    shift
    timeout 20 "$VSCTL" --socket "$SOCK" "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
    [ "$rc" -ne 0 ] || fail "$what: vsctl $* succeeded"
    [ "$(wc -l <"$WORK/err")" -eq 1 ] || fail "$what: expected one line: $(cat "$WORK/err")"
    [ "$(vs config show)" = "$config" ] || fail "$what: the model changed"
    printf '  %-34s -> %s\n' "$what" "$(cat "$WORK/err")"
}

# ---- assertions --------------------------------------------------------------------------------

_is_int() { [[ $1 =~ ^-?[0-9]+$ ]]; }

assert_eq() { # ACTUAL EXPECTED WHAT
    [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}
assert_ne() { # ACTUAL UNEXPECTED WHAT
    [ "$1" != "$2" ] || fail "$3: got '$1', which it must not be"
}
assert_gt() { # A B WHAT: A > B (integers)
    { _is_int "$1" && _is_int "$2"; } || fail "$3: not integers: '$1' '$2'"
    [ "$1" -gt "$2" ] || fail "$3: expected > $2, got $1"
}
assert_ge() { # A B WHAT: A >= B (integers)
    { _is_int "$1" && _is_int "$2"; } || fail "$3: not integers: '$1' '$2'"
    [ "$1" -ge "$2" ] || fail "$3: expected >= $2, got $1"
}
assert_le() { # A B WHAT: A <= B (integers)
    { _is_int "$1" && _is_int "$2"; } || fail "$3: not integers: '$1' '$2'"
    [ "$1" -le "$2" ] || fail "$3: expected <= $2, got $1"
}
assert_contains() { # HAYSTACK NEEDLE WHAT
    case $1 in *"$2"*) ;; *) fail "$3: '$2' not found in: $1" ;; esac
}
assert_not_contains() { # HAYSTACK NEEDLE WHAT
    case $1 in *"$2"*) fail "$3: '$2' found in: $1" ;; *) ;; esac
}

# assert_ping H DST [COUNT]: COUNT (default 3) echo replies from DST within 10 s.
assert_ping() {
    local h=$1 dst=$2 n=${3:-3} out
    out=$(inns "$h" timeout 15 ping -n -c "$n" -i 0.2 -w 10 "$dst" 2>&1) ||
        fail "ping $h -> $dst: $(printf '%s' "$out" | grep -E 'transmitted|unreachable|Unreachable' | head -1)"
}

# assert_no_ping H DST: no echo reply at all within 3 s.
assert_no_ping() {
    local h=$1 dst=$2 out
    if out=$(inns "$h" timeout 15 ping -n -c 3 -i 0.2 -W 1 -w 3 "$dst" 2>&1); then
        fail "ping $h -> $dst succeeded but must not: $(printf '%s' "$out" | grep transmitted)"
    fi
    assert_contains "$out" " 0 received" "ping $h -> $dst"
}
