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
pub mod underlay;
pub mod validate;

crate::drop_reasons! {
    /// Why the VTEP drops a packet.
    pub enum VxlanDrop {
        /// Underlay traffic the VTEP does not take: not ARP or VXLAN to its address and UDP port
        /// (or a fragment, which a VTEP never reassembles).
        NotForVtep => "not_for_vtep",
        /// VXLAN with flags other than I, or the reserved bits set.
        VxlanBadHeader => "vxlan_bad_header",
        /// VXLAN whose VNI no network has.
        VxlanUnknownVni => "vxlan_unknown_vni",
        /// VXLAN from a VTEP not in the VNI's flood list, with learning off (or from an address no
        /// VTEP can have).
        VxlanUnknownVtep => "vxlan_unknown_vtep",
        /// VXLAN whose UDP length disagrees with its IP length, or whose inner frame is cut short.
        VxlanTruncated => "vxlan_truncated",
        /// A bridged frame larger than the overlay MTU (the underlay MTU less the VXLAN headers).
        TunnelMtu => "tunnel_mtu",
        /// The underlay next hop of a remote VTEP is not resolved yet (an ARP request went out).
        VtepUnresolved => "vtep_unresolved",
    }
}
