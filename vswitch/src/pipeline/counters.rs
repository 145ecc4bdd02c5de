//! Per-worker counters. Each worker is the only writer of its own counters (a relaxed load and
//! store, no locked instruction); the control thread sums them across workers.

use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;

/// Most DPDK ports (`RTE_MAX_ETHPORTS` of the system DPDK).
pub const MAX_PORTS: usize = 32;

/// Why the datapath dropped a packet. The names are the operator-facing counter names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DropReason {
    /// Shorter than an Ethernet header (or a VLAN header it announces).
    Runt,
    /// Larger than the ingress port's MTU allows.
    Oversize,
    /// Source MAC is multicast/broadcast or zero.
    BadSrcMac,
    /// Tagged frame on an access port, or a VLAN the trunk does not carry.
    BadVlan,
    /// The port belongs to no network.
    UnknownNetwork,
    /// The network's MAC limit is reached and the source MAC is new.
    MacLimit,
    /// The destination was learned on the port the frame came in on.
    Hairpin,
    /// Broadcast/unknown frame in a network with no other port.
    NoEgressPort,
    /// Larger than the egress port's MTU.
    Mtu,
    /// The egress queue refused the packet.
    TxFull,
    /// No mbuf for a flood copy or a pushed header.
    NoBuffer,
    /// Malformed IPv4/IPv6 header to the gateway (version, lengths, header checksum).
    BadIp,
    /// Malformed ARP in a routed network.
    BadArp,
    /// Malformed IPv6 neighbor discovery (hop limit not 255, checksum, options).
    BadNd,
    /// To the gateway MAC but not something it routes (not IP, broadcast/multicast IP).
    NotRoutable,
    /// To a gateway address and not a ping (the gateway runs no services).
    ForGateway,
    /// No route in the network's VRF (ICMP net unreachable sent).
    NoRoute,
    /// TTL/hop limit ran out (ICMP time exceeded sent).
    TtlExceeded,
    /// Next hop not resolved yet (an ARP request for it went out instead).
    NeighborMiss,
    /// Over the next hop's MTU with don't-fragment set (ICMP fragmentation needed sent).
    FragNeeded,
    /// Malformed DHCP to the network's server.
    BadDhcp,
    /// The DHCP lease table was busy (the client retries).
    DhcpBusy,
    /// No free address left in the DHCP range.
    DhcpPoolFull,
    /// Between networks, and no policy allows it (or a deny rule matched).
    PolicyDeny,
    /// A reject rule matched (a TCP reset or ICMP prohibited went back).
    PolicyReject,
    /// Its connection was cut by a policy change that no longer allows it.
    PolicyCut,
    /// Not part of a tracked connection where one is needed (TCP that does not open with a
    /// SYN, a SYN inside a connection).
    CtInvalid,
    /// TCP flags no stack sends together (SYN+FIN, null, FIN without ACK, ...).
    TcpFlags,
    /// TCP sequence or acknowledgement outside the connection's window.
    TcpWindow,
    /// The connection table is at its limit; the new connection was refused.
    CtFull,
    /// A port's security groups have no rule that allows it.
    SecurityGroup,
    /// The network that opens the connection is at its connection limit.
    CtNetworkFull,
    /// Underlay traffic the VTEP does not take: not ARP or VXLAN to its address and UDP port
    /// (or a fragment, which a VTEP never reassembles).
    NotForVtep,
    /// VXLAN with flags other than I, or the reserved bits set.
    VxlanBadHeader,
    /// VXLAN whose VNI no network has.
    VxlanUnknownVni,
    /// VXLAN from a VTEP not in the VNI's flood list, with learning off (or from an address no
    /// VTEP can have).
    VxlanUnknownVtep,
    /// VXLAN whose UDP length disagrees with its IP length, or whose inner frame is cut short.
    VxlanTruncated,
    /// A bridged frame larger than the overlay MTU (the underlay MTU less the VXLAN headers).
    TunnelMtu,
    /// The underlay next hop of a remote VTEP is not resolved yet (an ARP request went out).
    VtepUnresolved,
}

impl DropReason {
    pub const ALL: [DropReason; 39] = [
        DropReason::Runt,
        DropReason::Oversize,
        DropReason::BadSrcMac,
        DropReason::BadVlan,
        DropReason::UnknownNetwork,
        DropReason::MacLimit,
        DropReason::Hairpin,
        DropReason::NoEgressPort,
        DropReason::Mtu,
        DropReason::TxFull,
        DropReason::NoBuffer,
        DropReason::BadIp,
        DropReason::BadArp,
        DropReason::BadNd,
        DropReason::NotRoutable,
        DropReason::ForGateway,
        DropReason::NoRoute,
        DropReason::TtlExceeded,
        DropReason::NeighborMiss,
        DropReason::FragNeeded,
        DropReason::BadDhcp,
        DropReason::DhcpBusy,
        DropReason::DhcpPoolFull,
        DropReason::PolicyDeny,
        DropReason::PolicyReject,
        DropReason::PolicyCut,
        DropReason::CtInvalid,
        DropReason::TcpFlags,
        DropReason::TcpWindow,
        DropReason::CtFull,
        DropReason::SecurityGroup,
        DropReason::CtNetworkFull,
        DropReason::NotForVtep,
        DropReason::VxlanBadHeader,
        DropReason::VxlanUnknownVni,
        DropReason::VxlanUnknownVtep,
        DropReason::VxlanTruncated,
        DropReason::TunnelMtu,
        DropReason::VtepUnresolved,
    ];
    pub const COUNT: usize = Self::ALL.len();

    pub fn name(self) -> &'static str {
        match self {
            DropReason::Runt => "runt",
            DropReason::Oversize => "oversize",
            DropReason::BadSrcMac => "bad_src_mac",
            DropReason::BadVlan => "bad_vlan",
            DropReason::UnknownNetwork => "unknown_network",
            DropReason::MacLimit => "mac_limit",
            DropReason::Hairpin => "hairpin",
            DropReason::NoEgressPort => "no_egress_port",
            DropReason::Mtu => "mtu",
            DropReason::TxFull => "tx_full",
            DropReason::NoBuffer => "no_buffer",
            DropReason::BadIp => "bad_ip",
            DropReason::BadArp => "bad_arp",
            DropReason::BadNd => "bad_nd",
            DropReason::NotRoutable => "not_routable",
            DropReason::ForGateway => "for_gateway",
            DropReason::NoRoute => "no_route",
            DropReason::TtlExceeded => "ttl_exceeded",
            DropReason::NeighborMiss => "neighbor_miss",
            DropReason::FragNeeded => "frag_needed",
            DropReason::BadDhcp => "bad_dhcp",
            DropReason::DhcpBusy => "dhcp_busy",
            DropReason::DhcpPoolFull => "dhcp_pool_full",
            DropReason::PolicyDeny => "policy_deny",
            DropReason::PolicyReject => "policy_reject",
            DropReason::PolicyCut => "policy_cut",
            DropReason::CtInvalid => "ct_invalid",
            DropReason::TcpFlags => "tcp_flags",
            DropReason::TcpWindow => "tcp_window",
            DropReason::CtFull => "ct_full",
            DropReason::SecurityGroup => "security_group",
            DropReason::CtNetworkFull => "ct_network_full",
            DropReason::NotForVtep => "not_for_vtep",
            DropReason::VxlanBadHeader => "vxlan_bad_header",
            DropReason::VxlanUnknownVni => "vxlan_unknown_vni",
            DropReason::VxlanUnknownVtep => "vxlan_unknown_vtep",
            DropReason::VxlanTruncated => "vxlan_truncated",
            DropReason::TunnelMtu => "tunnel_mtu",
            DropReason::VtepUnresolved => "vtep_unresolved",
        }
    }
}

/// A single-writer counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`; only the owning worker calls this, so load+store is race-free and lock-free.
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.store(
            self.0.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }

    #[inline]
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// One port's counters as seen by one worker.
#[derive(Debug)]
pub struct PortCounters {
    pub rx_packets: Counter,
    pub rx_bytes: Counter,
    pub tx_packets: Counter,
    pub tx_bytes: Counter,
    pub drops: [Counter; DropReason::COUNT],
}

// Arrays longer than 32 have no derived `Default`.
impl Default for PortCounters {
    fn default() -> Self {
        PortCounters {
            rx_packets: Counter::default(),
            rx_bytes: Counter::default(),
            tx_packets: Counter::default(),
            tx_bytes: Counter::default(),
            drops: std::array::from_fn(|_| Counter::default()),
        }
    }
}

impl PortCounters {
    #[inline]
    pub fn drop(&self, reason: DropReason) {
        self.drops[reason as usize].add(1);
    }
}

/// A plain copy of port counters for reporting and arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortTotals {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub drops: [u64; DropReason::COUNT],
}

impl Default for PortTotals {
    fn default() -> Self {
        PortTotals {
            rx_packets: 0,
            rx_bytes: 0,
            tx_packets: 0,
            tx_bytes: 0,
            drops: [0; DropReason::COUNT],
        }
    }
}

impl PortTotals {
    pub fn accumulate(&mut self, c: &PortCounters) {
        self.rx_packets += c.rx_packets.get();
        self.rx_bytes += c.rx_bytes.get();
        self.tx_packets += c.tx_packets.get();
        self.tx_bytes += c.tx_bytes.get();
        for (t, d) in self.drops.iter_mut().zip(c.drops.iter()) {
            *t += d.get();
        }
    }

    /// `self - base`, for counters of a port id that an earlier port also used.
    pub fn since(&self, base: &PortTotals) -> PortTotals {
        let mut out = PortTotals {
            rx_packets: self.rx_packets.wrapping_sub(base.rx_packets),
            rx_bytes: self.rx_bytes.wrapping_sub(base.rx_bytes),
            tx_packets: self.tx_packets.wrapping_sub(base.tx_packets),
            tx_bytes: self.tx_bytes.wrapping_sub(base.tx_bytes),
            drops: [0; DropReason::COUNT],
        };
        for (i, d) in out.drops.iter_mut().enumerate() {
            *d = self.drops[i].wrapping_sub(base.drops[i]);
        }
        out
    }
}

/// Everything one worker counts; shared read-only with the control thread.
#[derive(Debug)]
pub struct WorkerCounters {
    pub ports: Box<[CachePadded<PortCounters>]>,
    pub busy_polls: CachePadded<Counter>,
    pub idle_polls: Counter,
    /// TSC cycles in busy / idle polls, and packets received.
    pub busy_cycles: Counter,
    pub idle_cycles: Counter,
    pub rx_packets: Counter,
    /// The snapshot generation this worker last finished a burst with (its quiescent point).
    pub seen_generation: CachePadded<AtomicU64>,
}

impl Default for WorkerCounters {
    fn default() -> Self {
        WorkerCounters {
            ports: (0..MAX_PORTS).map(|_| CachePadded::default()).collect(),
            busy_polls: CachePadded::default(),
            idle_polls: Counter::default(),
            busy_cycles: Counter::default(),
            idle_cycles: Counter::default(),
            rx_packets: Counter::default(),
            seen_generation: CachePadded::new(AtomicU64::new(0)),
        }
    }
}

impl WorkerCounters {
    /// Counters of `port`; ids come from DPDK and are always below `MAX_PORTS`.
    #[inline]
    pub fn port(&self, port: u16) -> &PortCounters {
        &self.ports[usize::from(port) % MAX_PORTS]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), DropReason::COUNT);
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
    }

    #[test]
    fn totals_accumulate_and_subtract() {
        let c = PortCounters::default();
        c.rx_packets.add(5);
        c.drop(DropReason::Mtu);
        let mut t = PortTotals::default();
        t.accumulate(&c);
        t.accumulate(&c);
        assert_eq!(t.rx_packets, 10);
        assert_eq!(t.drops[DropReason::Mtu as usize], 2);
        let base = PortTotals {
            rx_packets: 4,
            ..Default::default()
        };
        assert_eq!(t.since(&base).rx_packets, 6);
    }
}
