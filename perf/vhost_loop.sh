#!/usr/bin/env bash
# The vhost-user loop of DESIGN.md: a dpdk-testpmd generator with two virtio_user ports on one
# core, the switch under test with two vhost-user ports on the other, 64-byte UDP frames that
# circulate (testpmd `mac` forwarding rewrites MACs so a learning bridge sees stable hosts).
#
#   perf/vhost_loop.sh CASE [SECONDS]      CASE: testpmd | vswitchd | ovs
# QUEUES=N (default 1): queue pairs per port, on both sides; still one core each side.
# MODE=routed: the switch routes between two subnets instead (vswitchd: two networks of one VRF
# with static neighbors for the two hosts and stateless allow policies both ways; OVS-DPDK:
# OpenFlow rules that rewrite the MACs and dec_ttl; testpmd: io-forward as before). The
# generator is then perf's `loop-gen`, which sends fresh frames (a circulating frame's TTL
# would run out) and counts what comes back.
# MODE=firewall: routed, and stateful: FLOWS (default 10000) connections opened from port 0,
# their replies from port 1 (vswitchd: one stateful allow policy a -> b, replies by conntrack;
# OVS-DPDK: ct(commit) for new connections from port 0, +est both ways, the OVS conntrack
# firewall).
# MODE=vxlan: the tunnel gateway. Port 0 is an access port of a network with VNI 5000, port 1
# the underlay: loop-gen sends 64-byte frames into port 0 to a host behind a remote VTEP (the
# switch encapsulates them) and that host's replies as VXLAN into port 1 (the switch
# decapsulates them). vswitchd: a VTEP on port 1; OVS-DPDK: the userspace tunnel port
# (tnl_push/tnl_pop) of its userspace-tunneling guide, br-int with vhu0 and vxlan0, br-phy with
# vhu1 and the VTEP address; testpmd: io-forward of the same frames.
# MODE=snat: the firewall loop into an external network, with source NAT: connections from port
# 0 leave from SNAT_IP (their ports kept), their replies come to it (loop-gen --nat). vswitchd:
# network b external, a stateful policy a -> b and a SNAT rule a -> SNAT_IP; OVS-DPDK:
# ct(nat) both ways, ct(commit,nat(src=SNAT_IP)) for new connections from port 0.
# MODE=vip: the firewall loop to a service VIP: port 0's connections go to VIP (UDP 5001), the
# switch sends them on to host 1, its backend, and host 1's replies come back from the VIP
# (loop-gen --vip). vswitchd: a stateful policy a -> VIP and a service VIP -> host 1 (health
# checks off); OVS-DPDK: ct(nat) both ways, ct(commit,nat(dst=host 1)) for new connections.
# PROFILE=server: the other generator profile of real guests: the generator serves the
# vhost-user sockets (virtio_user server=1, mrg_rxbuf=0, in_order=1; testpmd's is one flow) and
# the switch connects to them (vswitchd vhost-user-client ports, testpmd net_vhost client=1,
# OVS dpdkvhostuserclient).
# VSWITCHD_EXTRA: more vswitchd arguments (e.g. `--metrics 127.0.0.1:9464`).
# OBSERVE=metrics (vswitchd): it also serves --metrics on loopback, scraped once a second.
# OBSERVE=ipfix (vswitchd): it exports IPFIX to nfcapd on loopback (nfcapd on the generator's
# core), every connection's counts every IPFIX_ACTIVE seconds (default 60); the result line
# adds the records sent and lost.
# Prints one line: `CASE mpps=X` (median of the per-second samples after warm-up).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=perf/ovs_bridge.sh
. "$here/ovs_bridge.sh"
case_name=${1:?usage: vhost_loop.sh testpmd|vswitchd [seconds]}
secs=${2:-10}
queues=${QUEUES:-1}
mode=${MODE:-l2}
flows=${FLOWS:-10000}
profile=${PROFILE:-client}
observe=${OBSERVE:-}
if [ "$mode" != l2 ] && [ "$queues" != 1 ]; then
  echo "vhost_loop: MODE=$mode runs one queue pair per port (loop-gen has one)" >&2; exit 2
fi
# The switch's side of the vhost-user sockets: server (default) or client.
vhost_client=
[ "$profile" = server ] && vhost_client=1
warmup=3
gen_cpu=0
sw_cpu=1
work=$(mktemp -d /tmp/vs-perf.XXXXXX)
MAC0=02:00:00:00:01:00
MAC1=02:00:00:00:01:01
# Routed mode: the hosts behind the two generator ports, and the gateway MAC they send to.
IP0=198.51.100.10
IP1=203.0.113.10
GW_MAC=02:76:73:00:00:01
# VXLAN mode: the VTEP under test, the remote one (loop-gen), the VNI, the inner hosts.
VTEP_LOCAL=203.0.113.1
VTEP_REMOTE=203.0.113.2
VTEP_MAC=02:00:cb:00:71:01
VNI=5000
INNER_IP1=198.51.100.20
# SNAT mode: the address port 0's connections leave from.
SNAT_IP=203.0.113.100
# VIP mode: the service address port 0's connections go to (outside both subnets).
VIP=192.0.2.80
S0=$work/v0.sock
S1=$work/v1.sock

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -d "$work/ovs" ]; then
    for p in "$work"/ovs/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true; done
    sleep 1
    # OVS's bridge-local ports are TAP devices that outlive it.
    if [ "$mode" = vxlan ]; then ip link del br-phy 2>/dev/null || true; fi
  fi
  if [ -f "$work/state/vswitchd.pid" ]; then kill "$(cat "$work/state/vswitchd.pid")" 2>/dev/null || true; sleep 1; fi
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

start_switch() {
  case "$case_name" in
    testpmd)
      # The ceiling: testpmd io-forwarding between the two vhost-user ports. Interactive on a
      # fifo, so that its busy cycles per packet can be read over the measured window.
      mkfifo "$work/switch.in"
      dpdk-testpmd -l "$gen_cpu,$sw_cpu" --main-lcore "$gen_cpu" --in-memory --no-pci --file-prefix "sw$$" \
        --vdev "net_vhost0,iface=$S0,queues=$queues${vhost_client:+,client=1}" \
        --vdev "net_vhost1,iface=$S1,queues=$queues${vhost_client:+,client=1}" \
        --log-level=lib.vhost.config:warning \
        -- -i --forward-mode=io --nb-cores=1 --rxq="$queues" --txq="$queues" --record-core-cycles \
        <"$work/switch.in" >"$work/switch.log" 2>&1 &
      pids+=($!)
      exec 3>"$work/switch.in"
      echo "start" >&3
      ;;
    vswitchd)
      local mport=$((20000 + $$ % 20000))
      local metrics=()
      [ "$observe" = metrics ] && metrics=(--metrics "127.0.0.1:$mport")
      # shellcheck disable=SC2086
      "$root/target/release/vswitchd" --socket "$work/vs.sock" --state-dir "$work/state" \
        --lcores "$sw_cpu" "${metrics[@]}" ${VSWITCHD_EXTRA:-}
      local vsctl="$root/target/release/vsctl --socket $work/vs.sock"
      if [ "$observe" = metrics ]; then
        while sleep 1; do curl -sf -o /dev/null "http://127.0.0.1:$mport/metrics"; done &
        pids+=($!)
      elif [ "$observe" = ipfix ]; then
        mkdir -p "$work/flows"
        taskset -c "$gen_cpu" nfcapd -w "$work/flows" -b 127.0.0.1 -p "$mport" -t 3600 >"$work/nfcapd.log" 2>&1 &
        pids+=($!)
        $vsctl ipfix set --collector "127.0.0.1:$mport" --active-timeout "${IPFIX_ACTIVE:-60}"
      fi
      local type=vhost-user
      [ "$vhost_client" ] && type=vhost-user-client
      if [ "$mode" = vxlan ]; then
        $vsctl network add blue --vni "$VNI"
        $vsctl port add v0 --type "$type" --path "$S0" --network blue
        $vsctl port add v1 --type "$type" --path "$S1"
        $vsctl vtep set --local-ip "$VTEP_LOCAL/24" --port v1
        $vsctl vtep remote add "$VTEP_REMOTE" --vni "$VNI"
      elif [ "$mode" != l2 ]; then
        $vsctl network add a --subnet 198.51.100.0/24 --gateway 198.51.100.1
        local external=
        if [ "$mode" = snat ]; then external=--external; fi
        $vsctl network add b --subnet 203.0.113.0/24 --gateway 203.0.113.1 $external
        $vsctl port add v0 --type "$type" --path "$S0" --network a --queues "$queues"
        $vsctl port add v1 --type "$type" --path "$S1" --network b --queues "$queues"
        $vsctl arp add "$IP0" --mac "$MAC0" --network a
        $vsctl arp add "$IP1" --mac "$MAC1" --network b
        if [ "$mode" = vip ]; then
          # Connections from a to the VIP (the policy names it); replies by connection tracking.
          $vsctl policy add ab --from a --to "$VIP/32" --proto udp --action allow
          $vsctl service add svc --vip "$VIP:5001" --proto udp --backend "$IP1:5001" \
            --health-check none
        elif [ "$mode" = firewall ] || [ "$mode" = snat ]; then
          # Connections from a to b; their replies pass by connection tracking.
          $vsctl policy add ab --from a --to b --proto udp --action allow
          if [ "$mode" = snat ]; then $vsctl snat add out --from a --to "$SNAT_IP"; fi
        else
          # Between networks only what a policy allows passes: both ways, packet by packet.
          $vsctl policy add ab --from a --to b --action allow --stateless
          $vsctl policy add ba --from b --to a --action allow --stateless
        fi
      else
        $vsctl network add bench
        $vsctl port add v0 --type "$type" --path "$S0" --network bench --queues "$queues"
        $vsctl port add v1 --type "$type" --path "$S1" --network bench --queues "$queues"
      fi
      ;;
    ovs)
      # OVS-DPDK's userspace datapath with a NORMAL (learning) bridge, PMD on the switch core.
      OVS_VHOST_CLIENT=$vhost_client start_ovs_bridge "$work/ovs" "$gen_cpu" "$sw_cpu" vhu0 vhu1
      S0=$work/ovs/vhu0
      S1=$work/ovs/vhu1
      local to1="mod_dl_src:$GW_MAC,mod_dl_dst:$MAC1,dec_ttl,output:vhu1"
      local to0="mod_dl_src:$GW_MAC,mod_dl_dst:$MAC0,dec_ttl,output:vhu0"
      case "$mode" in
        vxlan)
          # br0 (the integration bridge) holds vhu0 and the VXLAN port; br-phy holds vhu1 and
          # the VTEP address, whose MAC is the one loop-gen sends to; the remote VTEP's MAC is
          # a static tunnel neighbor.
          local db="--db=unix:$work/ovs/db.sock"
          ovs-vsctl "$db" del-port br0 vhu1
          ovs-vsctl "$db" add-br br-phy -- set bridge br-phy datapath_type=netdev \
            other-config:hwaddr="$VTEP_MAC"
          if [ "$vhost_client" ]; then
            ovs-vsctl "$db" add-port br-phy vhu1 -- set Interface vhu1 type=dpdkvhostuserclient \
              options:vhost-server-path="$S1"
          else
            ovs-vsctl "$db" add-port br-phy vhu1 -- set Interface vhu1 type=dpdkvhostuser
          fi
          ovs-vsctl "$db" add-port br0 vxlan0 -- set Interface vxlan0 type=vxlan \
            options:remote_ip="$VTEP_REMOTE" options:local_ip="$VTEP_LOCAL" options:key="$VNI"
          ip addr replace "$VTEP_LOCAL/24" dev br-phy
          ip link set br-phy up
          ovs-appctl -t "$work/ovs/ovs-vswitchd.ctl" tnl/neigh/set br-phy "$VTEP_REMOTE" \
            "02:00:cb:00:71:02" >/dev/null
          ;;
        routed)
          # A router in OpenFlow: to the gateway MAC, by destination subnet, MACs rewritten and
          # the TTL decremented.
          ovs-ofctl del-flows br0
          ovs-ofctl add-flow br0 "ip,dl_dst=$GW_MAC,nw_dst=203.0.113.0/24,actions=$to1"
          ovs-ofctl add-flow br0 "ip,dl_dst=$GW_MAC,nw_dst=198.51.100.0/24,actions=$to0"
          ;;
        firewall|snat|vip)
          # The same router behind OVS's conntrack firewall: untracked packets go through
          # ct(), new ones from port 0 are committed, established ones pass both ways. With
          # source NAT: ct(nat) (replies are translated back there), and new connections are
          # committed with nat(src=...).
          local track="ct(table=1)" commit="ct(commit)"
          local to_b=203.0.113.0/24
          if [ "$mode" = snat ]; then
            track="ct(nat,table=1)" commit="ct(commit,nat(src=$SNAT_IP))"
          fi
          if [ "$mode" = vip ]; then
            # New connections are to the VIP; ct(nat) has rewritten established ones already.
            track="ct(nat,table=1)" commit="ct(commit,nat(dst=$IP1:5001))" to_b=$VIP/32
          fi
          ovs-ofctl del-flows br0
          ovs-ofctl add-flow br0 "table=0,priority=10,udp,dl_dst=$GW_MAC,ct_state=-trk,actions=$track"
          ovs-ofctl add-flow br0 "table=1,priority=10,udp,in_port=vhu0,nw_dst=$to_b,ct_state=+trk+new,actions=$commit,$to1"
          ovs-ofctl add-flow br0 "table=1,priority=10,udp,in_port=vhu0,nw_dst=203.0.113.0/24,ct_state=+trk+est,actions=$to1"
          ovs-ofctl add-flow br0 "table=1,priority=10,udp,in_port=vhu1,nw_dst=198.51.100.0/24,ct_state=+trk+est,actions=$to0"
          ovs-ofctl add-flow br0 "table=1,priority=0,actions=drop"
          ;;
      esac
      ;;
    *) echo "vhost_loop: unknown case $case_name" >&2; exit 2 ;;
  esac
  # A client switch connects once the generator serves the sockets.
  [ "$vhost_client" ] && return
  for _ in $(seq 100); do [ -S "$S0" ] && [ -S "$S1" ] && return; sleep 0.1; done
  echo "vhost_loop: $case_name did not create its vhost-user sockets" >&2
  cat "$work/switch.log" 2>/dev/null >&2 || true
  exit 1
}

# switch_sample begin|end: what the switch itself says a packet costs (busy cycles per packet),
# read at the start and the end of the measured window.
switch_sample() {
  case "$case_name" in
    vswitchd)
      "$root/target/release/vsctl" --socket "$work/vs.sock" --json status >"$work/status.$1"
      "$root/target/release/vsctl" --socket "$work/vs.sock" stats show >"$work/stats.$1"
      ;;
    ovs)
      if [ "$1" = begin ]; then
        ovs-appctl -t "$work/ovs/ovs-vswitchd.ctl" dpif-netdev/pmd-stats-clear >/dev/null
      else
        ovs-appctl -t "$work/ovs/ovs-vswitchd.ctl" dpif-netdev/pmd-stats-show >"$work/pmd-stats"
      fi
      ;;
    testpmd)
      if [ "$1" = begin ]; then echo "clear fwd stats all" >&3; else echo "show fwd stats all" >&3; fi
      ;;
  esac
}

# The routed generator (loop-gen): one sample line per second; the switch's own counters
# bracket samples warmup+1 .. warmup+secs.
run_loop_gen() {
  local gen_flows=() peer=$GW_MAC ip1=$IP1
  if [ "$mode" = firewall ]; then gen_flows=(--flows "$flows" --replies); fi
  if [ "$mode" = snat ]; then gen_flows=(--flows "$flows" --replies --nat "$SNAT_IP"); fi
  if [ "$mode" = vip ]; then gen_flows=(--flows "$flows" --replies --vip "$VIP"); fi
  if [ "$mode" = vxlan ]; then
    gen_flows=(--vxlan "$VTEP_LOCAL,$VTEP_REMOTE,$VNI")
    peer=$VTEP_MAC
    ip1=$INNER_IP1
  fi
  "$root/target/release/loop-gen" --sock0 "$S0" --sock1 "$S1" --mac0 "$MAC0" --mac1 "$MAC1" \
    --peer "$peer" --ip0 "$IP0" --ip1 "$ip1" --seconds $((warmup + secs + 1)) "${gen_flows[@]}" \
    ${vhost_client:+--server} \
    -- -l "$gen_cpu" --in-memory --single-file-segments --no-pci --file-prefix "gen$$" \
    >"$work/gen.log" 2>"$work/gen.err" &
  local gen=$! mark want
  pids+=("$gen")
  for mark in begin end; do
    want=$warmup; [ "$mark" = end ] && want=$((warmup + secs))
    while [ "$(grep -c '^sample' "$work/gen.log" 2>/dev/null || true)" -lt "$want" ]; do
      kill -0 "$gen" 2>/dev/null || { cat "$work/gen.err" >&2; exit 1; }
      sleep 0.1
    done
    switch_sample "$mark"
  done
  wait "$gen" || { cat "$work/gen.err" >&2; exit 1; }
}

# The circulating generator: interactive testpmd `mac` forwarding. `start tx_first 16` puts 16
# bursts (512 packets) per port in flight (half of what the 1024-entry virtio rings hold, so no
# case drops any and all circulate the same), then one stats sample per second (testpmd
# reports the rate since the previous call).
run_testpmd_gen() {
  local gen_server=
  [ "$vhost_client" ] && gen_server=",server=1,mrg_rxbuf=0,in_order=1"
  {
    sleep 2
    echo "start tx_first 16"
    for i in $(seq $((warmup + secs))); do
      sleep 1
      echo "show port stats all"
      [ "$i" = "$warmup" ] && switch_sample begin
    done
    switch_sample end
    echo "stop"
    echo "quit"
  } | dpdk-testpmd -l "$sw_cpu,$gen_cpu" --main-lcore "$sw_cpu" --in-memory --single-file-segments \
    --no-pci --file-prefix "gen$$" \
    --vdev "net_virtio_user0,path=$S0,queues=$queues,queue_size=1024,mac=$MAC0$gen_server" \
    --vdev "net_virtio_user1,path=$S1,queues=$queues,queue_size=1024,mac=$MAC1$gen_server" \
    -- -i --forward-mode=mac --eth-peer=0,$MAC1 --eth-peer=1,$MAC0 --nb-cores=1 \
       --rxq="$queues" --txq="$queues" \
       --txpkts=64 --burst=32 --txd=1024 --rxd=1024 \
    >"$work/gen.log" 2>&1
}

start_switch
if [ "$mode" != l2 ]; then
  run_loop_gen
  format=loopgen
else
  run_testpmd_gen
  format=testpmd
fi
# The switch's own cycles per packet over the window.
case "$case_name" in
  vswitchd) cpp=$(python3 "$here/harness.py" switch-cpp vswitchd "$work/status.begin" "$work/status.end") ;;
  ovs) cpp=$(python3 "$here/harness.py" switch-cpp ovs "$work/pmd-stats") ;;
  testpmd)
    sleep 0.5
    cpp=$(python3 "$here/harness.py" switch-cpp testpmd "$work/switch.log")
    echo "quit" >&3 ;;
esac
observed=
if [ "$observe" = ipfix ] && [ "$case_name" = vswitchd ]; then
  observed=$("$root/target/release/vsctl" --socket "$work/vs.sock" --json ipfix show |
    python3 -c 'import json, sys; d = json.load(sys.stdin)
print(" ipfix_records=%d ipfix_lost=%d" % (int(d.get("records", 0)), int(d.get("lost", 0))))')
fi
line=$(python3 "$here/harness.py" loop-rate --format "$format" --skip "$warmup" --label "$case_name" \
  --switch-cpp "${cpp:-}" <"$work/gen.log")
echo "$line$observed"
