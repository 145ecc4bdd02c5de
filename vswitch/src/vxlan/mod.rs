//! The tunnel gateway: a VXLAN tunnel endpoint (RFC 7348) that joins the switch's networks to
//! an overlay of other VTEPs over an IPv4 underlay.
//!
//! - `validate`: the VTEP's part of a model check;
//! - `table`: what a snapshot holds of the VTEP, built from the model;
//! - `underlay`: the VTEP's own ARP on its underlay port, and its next hops;
//! - `decap`: frames arriving on the underlay port (ARP, VXLAN to the VTEP);
//! - `encap`: frames leaving for a remote VTEP, and head-end replication;
//! - `api`: the control handlers (`vsctl vtep`).

pub mod api;
pub mod decap;
pub mod encap;
pub mod table;
#[cfg(test)]
mod tests;
pub mod underlay;
pub mod validate;

/// The VTEP, as the config manager sees it: its model part, the underlay neighbors it learns
/// (kept across snapshots), the overlay MTU it gives the topology.
pub struct Vxlan;

impl crate::feature::Feature for Vxlan {
    type State = table::UnderlayNeighbors;
    type Tables = table::VxlanTables;

    fn validate(model: &crate::model::Model) -> Result<(), crate::model::error::ConfigError> {
        Ok(validate::validate(model)?)
    }

    fn build(
        state: &Self::State,
        model: &crate::model::Model,
        built: &crate::feature::Built<'_>,
    ) -> Self::Tables {
        table::build(model, built.topo, state)
    }

    /// Frames to remote VTEPs fit the underlay's MTU less the tunnel headers: the overlay's MTU,
    /// and the MTU of every network that reaches remote VTEPs.
    fn refine(tables: &Self::Tables, topo: &mut crate::pipeline::snapshot::Topology) {
        let Some(vtep) = &tables.vtep else { return };
        let overlay = u16::try_from(vtep.overlay_mtu()).unwrap_or(u16::MAX);
        topo.overlay_mtu = Some(overlay);
        for (i, n) in topo.networks.iter_mut().enumerate() {
            if !tables
                .flood_list(i as crate::pipeline::snapshot::NetIdx)
                .is_empty()
            {
                n.mtu = n.mtu.min(overlay);
            }
        }
    }

    fn housekeep(tables: &Self::Tables, now: u32) {
        if let Some(vtep) = &tables.vtep {
            vtep.neighbors
                .age(now, crate::forwarding::neighbor::NEIGHBOR_AGING_SECS);
        }
    }
}

crate::drop_reasons! {
    /// Why the VTEP drops a packet.
    pub enum VxlanDrop {
        /// Underlay traffic the VTEP does not take: not ARP or VXLAN to its address and UDP port
        /// (or a fragment, which a VTEP never reassembles).
        /// Check: the underlay peers' traffic (their own ARP, IPv6, routing protocols).
        NotForVtep => "not_for_vtep",
        /// VXLAN with flags other than I, or the reserved bits set.
        /// Check: the remote VTEP's VXLAN flavour (GPE, GBP need other flags).
        VxlanBadHeader => "vxlan_bad_header",
        /// VXLAN whose VNI no network has.
        /// Check: the network's --vni on both ends.
        VxlanUnknownVni => "vxlan_unknown_vni",
        /// VXLAN from a VTEP not in the VNI's flood list, with learning off (or from an address no
        /// VTEP can have).
        /// Check: `vsctl vtep remote add IP --vni N` for that VTEP.
        VxlanUnknownVtep => "vxlan_unknown_vtep",
        /// VXLAN whose UDP length disagrees with its IP length, or whose inner frame is cut short.
        /// Check: the underlay MTU and the remote VTEP.
        VxlanTruncated => "vxlan_truncated",
        /// A bridged frame larger than the overlay MTU (the underlay MTU less the VXLAN headers).
        /// Check: the hosts' MTU (1450 on a 1500 underlay) or a larger underlay MTU.
        TunnelMtu => "tunnel_mtu",
        /// The underlay next hop of a remote VTEP is not resolved yet (an ARP request went out).
        /// Check: beyond the first packets, the VTEP's --gateway or the remote answers ARP.
        VtepUnresolved => "vtep_unresolved",
    }
}
