//! Zero-copy header views over byte slices.
//!
//! Each header has a `Packet`-style view (`Frame` for Ethernet, `Tag` for 802.1Q) that wraps any
//! `T: AsRef<[u8]>`: `new_checked` validates the buffer once so every getter can then index
//! directly, setters need `T: AsMut<[u8]>`, and a separate `Repr` builds headers from values.
//! Nothing here allocates, and no input bytes can make a checked view panic.

pub mod arp;
pub mod checksum;
pub mod eth;
pub mod icmp;
pub mod ipv4;
pub mod ipv6;
pub mod l4_checksum;
pub mod mac;
pub mod prefix;
pub mod tcp;
pub mod udp;
pub mod vlan;
pub mod vxlan;

pub use mac::MacAddr;

/// Why a buffer was refused by a checked constructor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The buffer ends before the header (or the length it declares) does.
    #[error("truncated header")]
    Truncated,
    /// The bytes are present but contradict the header's rules (version, lengths, flags).
    #[error("malformed header")]
    Malformed,
}

/// Result of parsing a header view.
pub type Result<T> = core::result::Result<T, Error>;

/// EtherType values the switch dispatches on.
pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const VLAN: u16 = 0x8100;
    pub const QINQ: u16 = 0x88a8;
    pub const IPV6: u16 = 0x86dd;
}

/// IP protocol numbers (IPv4 `protocol`, IPv6 `next_header`) the switch dispatches on.
pub mod ipproto {
    pub const ICMP: u8 = 1;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const ICMPV6: u8 = 58;
}

/// A byte range of a header field, as used by each view's private `field` module.
type Field = core::ops::Range<usize>;

/// Read a big-endian u16 at `field.start`; the caller has checked the length.
#[inline]
fn get_u16(data: &[u8], field: Field) -> u16 {
    u16::from_be_bytes([data[field.start], data[field.start + 1]])
}

/// Read a big-endian u32 at `field.start`; the caller has checked the length.
#[inline]
fn get_u32(data: &[u8], field: Field) -> u32 {
    let s = field.start;
    u32::from_be_bytes([data[s], data[s + 1], data[s + 2], data[s + 3]])
}

#[inline]
fn set_u16(data: &mut [u8], field: Field, value: u16) {
    data[field.start..field.start + 2].copy_from_slice(&value.to_be_bytes());
}

#[inline]
fn set_u32(data: &mut [u8], field: Field, value: u32) {
    data[field.start..field.start + 4].copy_from_slice(&value.to_be_bytes());
}

/// `data[start..end]`, clamped to the buffer, so that a length field rewritten by a setter
/// after the check can shorten a payload but never make a getter panic.
#[inline]
fn clamp(data: &[u8], start: usize, end: usize) -> &[u8] {
    let end = end.min(data.len());
    &data[start.min(end)..end]
}

/// Mutable twin of [`clamp`].
#[inline]
fn clamp_mut(data: &mut [u8], start: usize, end: usize) -> &mut [u8] {
    let end = end.min(data.len());
    &mut data[start.min(end)..end]
}
