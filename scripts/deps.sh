#!/usr/bin/env bash
# Installs what vswitch needs to build, test and demo, and sets up hugepages. Idempotent: it
# only calls apt when a package is missing.
set -euo pipefail

PACKAGES=(
  # build
  dpdk dpdk-dev libdpdk-dev pkg-config libclang-dev clang protobuf-compiler libpcap-dev
  # tests and demo: real Linux peers
  iproute2 iputils-ping iperf3 netcat-openbsd tcpdump tshark ethtool procps psmisc python3 traceroute busybox
  # the metrics endpoint's readers (curl, promtool, a Prometheus server), the IPFIX collector
  curl prometheus python3-prometheus-client nfdump
  # the hardware_vtep agent's peers: ovsdb-server, vtep-ctl, OVN (northd, controller-vtep, a
  # chassis: ovn-controller on ovs-vswitchd)
  openvswitch-vtep openssl ovn-central ovn-controller-vtep ovn-host openvswitch-switch
)
[ "${1:-}" = "--bench" ] && PACKAGES+=(openvswitch-switch-dpdk valgrind)

"$(dirname "$0")/apt-missing.sh" "${PACKAGES[@]}" | sed 's/^/deps: /'

if [ "${1:-}" = "--bench" ] && ! python3 -c "import matplotlib" 2>/dev/null; then
  echo "deps: installing matplotlib (bench charts)"
  python3 -m pip install -q --root-user-action=ignore matplotlib || echo "deps: no matplotlib; bench runs without its chart"
fi

if ! command -v cargo >/dev/null; then
  echo "deps: cargo not found; install a Rust toolchain (rustup) first" >&2
  exit 1
fi

# 2 MB hugepages for DPDK (vhost-user peers need shared hugepage memory); best effort: without
# them vswitchd falls back to --no-huge.
want=1024
have=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
if [ "$have" -lt "$want" ]; then
  echo "$want" > /proc/sys/vm/nr_hugepages 2>/dev/null || echo "deps: cannot reserve hugepages (continuing without)"
fi
if ! grep -qs "^[^ ]* /dev/hugepages hugetlbfs" /proc/mounts; then
  mkdir -p /dev/hugepages
  mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || echo "deps: cannot mount hugetlbfs (continuing without)"
fi
exit 0
