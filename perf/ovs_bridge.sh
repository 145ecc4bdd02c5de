# shellcheck shell=bash
# Sourced by the benchmarks: OVS-DPDK 3.1 started by hand, as the same-box reference switch.
#
#   start_ovs_bridge DIR MAIN_CPU PMD_CPU PORT...
# Starts its own ovsdb-server and ovs-vswitchd-dpdk with state, logs and sockets in DIR (the
# EAL on MAIN_CPU, the one PMD thread on PMD_CPU), and a NORMAL (learning) bridge br0 in the
# userspace datapath with a `dpdkvhostuser` port per PORT (OVS serves DIR/PORT; with
# OVS_VHOST_CLIENT set, a `dpdkvhostuserclient` port that connects to DIR/PORT). The caller
# stops it by killing the pids in DIR/*.pid.
start_ovs_bridge() {
  local dir=$1 main_cpu=$2 pmd_cpu=$3 port
  shift 3
  export OVS_RUNDIR=$dir OVS_LOGDIR=$dir OVS_DBDIR=$dir
  mkdir -p "$dir"
  local db="--db=unix:$dir/db.sock"
  ovsdb-tool create "$dir/conf.db" /usr/share/openvswitch/vswitch.ovsschema
  ovsdb-server "$dir/conf.db" --remote="punix:$dir/db.sock" \
    --pidfile="$dir/ovsdb-server.pid" --detach --log-file="$dir/ovsdb.log" -vconsole:off
  ovs-vsctl "$db" --no-wait init
  ovs-vsctl "$db" --no-wait set Open_vSwitch . other_config:dpdk-init=true \
    other_config:dpdk-lcore-mask=0x$((1 << main_cpu)) \
    other_config:pmd-cpu-mask=0x$((1 << pmd_cpu)) \
    other_config:dpdk-socket-mem=1024 \
    other_config:dpdk-extra="--no-pci --in-memory --file-prefix ovs$$"
  /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk "unix:$dir/db.sock" \
    --pidfile="$dir/ovs-vswitchd.pid" --unixctl="$dir/ovs-vswitchd.ctl" \
    --detach --log-file="$dir/vswitchd.log" -vconsole:off || return 1
  ovs-vsctl "$db" add-br br0 -- set bridge br0 datapath_type=netdev || return 1
  for port in "$@"; do
    if [ "${OVS_VHOST_CLIENT:-}" ]; then
      # OVS connects (and reconnects) to DIR/PORT, which the generator serves.
      ovs-vsctl "$db" add-port br0 "$port" -- set Interface "$port" type=dpdkvhostuserclient \
        options:vhost-server-path="$dir/$port" || return 1
    else
      ovs-vsctl "$db" add-port br0 "$port" -- set Interface "$port" type=dpdkvhostuser || return 1
    fi
  done
}
