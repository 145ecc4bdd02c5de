//! IPv6 fixed header view (RFC 8200). Extension headers are left to the caller: they start
//! at [`Packet::payload`] when [`Packet::next_header`] names one.

use core::net::Ipv6Addr;

use super::{clamp, clamp_mut, get_u16, get_u32, set_u16, set_u32, Error, Result};

/// Length of the fixed header.
pub const HEADER_LEN: usize = 40;

mod field {
    use crate::packet::Field;

    pub const VER_TC_FLOW: Field = 0..4;
    pub const LENGTH: Field = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Field = 8..24;
    pub const DST_ADDR: Field = 24..40;
}

const FLOW_MASK: u32 = 0x000f_ffff;

/// A read/write view of an IPv6 packet.
///
/// After [`Packet::new_checked`] the buffer holds at least `40 + payload_len` bytes; it may be
/// longer (link padding), and [`Packet::payload`] stops at `payload_len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking it; getters panic if it is shorter than [`HEADER_LEN`].
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wrap a buffer after checking the version and that the declared payload fits.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// `Truncated` if the fixed header or the declared payload is cut short,
    /// `Malformed` if the version is not 6.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 6 {
            return Err(Error::Malformed);
        }
        if len < HEADER_LEN + usize::from(self.payload_len()) {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn first_word(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::VER_TC_FLOW)
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0] >> 4
    }

    /// Traffic class (DSCP in the upper six bits, ECN in the lower two).
    pub fn traffic_class(&self) -> u8 {
        (self.first_word() >> 20) as u8
    }

    /// The 20-bit flow label.
    pub fn flow_label(&self) -> u32 {
        self.first_word() & FLOW_MASK
    }

    /// Length of everything after the fixed header, extension headers included.
    pub fn payload_len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::LENGTH)
    }

    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NXT_HDR]
    }

    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    pub fn src_addr(&self) -> Ipv6Addr {
        addr_at(self.buffer.as_ref(), field::SRC_ADDR.start)
    }

    pub fn dst_addr(&self) -> Ipv6Addr {
        addr_at(self.buffer.as_ref(), field::DST_ADDR.start)
    }

    /// The `payload_len` bytes after the fixed header.
    pub fn payload(&self) -> &[u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        clamp(self.buffer.as_ref(), HEADER_LEN, end)
    }
}

fn addr_at(d: &[u8], at: usize) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    octets.copy_from_slice(&d[at..at + 16]);
    Ipv6Addr::from(octets)
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload with the lifetime of the underlying buffer rather than of the view.
    pub fn into_payload(self) -> &'a [u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        clamp(self.buffer.as_ref(), HEADER_LEN, end)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_first_word(&mut self, value: u32) {
        set_u32(self.buffer.as_mut(), field::VER_TC_FLOW, value);
    }

    pub fn set_version(&mut self, value: u8) {
        let w = (self.first_word() & 0x0fff_ffff) | (u32::from(value & 0x0f) << 28);
        self.set_first_word(w);
    }

    pub fn set_traffic_class(&mut self, value: u8) {
        let w = (self.first_word() & 0xf00f_ffff) | (u32::from(value) << 20);
        self.set_first_word(w);
    }

    /// Set the flow label; bits above 20 are ignored.
    pub fn set_flow_label(&mut self, value: u32) {
        let w = (self.first_word() & !FLOW_MASK) | (value & FLOW_MASK);
        self.set_first_word(w);
    }

    pub fn set_payload_len(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::LENGTH, value);
    }

    pub fn set_next_header(&mut self, value: u8) {
        self.buffer.as_mut()[field::NXT_HDR] = value;
    }

    pub fn set_hop_limit(&mut self, value: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = value;
    }

    pub fn set_src_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    pub fn set_dst_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        clamp_mut(self.buffer.as_mut(), HEADER_LEN, end)
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The IPv6 fixed header as plain values, for building packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    pub src_addr: Ipv6Addr,
    pub dst_addr: Ipv6Addr,
    pub next_header: u8,
    pub payload_len: usize,
    pub hop_limit: u8,
}

impl Repr {
    /// Read the fixed header; traffic class and flow label are not represented.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Self> {
        packet.check_len()?;
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.payload_len()),
            hop_limit: packet.hop_limit(),
        })
    }

    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Write the 40-byte header with traffic class and flow label zero. The buffer must hold at
    /// least [`HEADER_LEN`] bytes; a payload length over 65535 saturates.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_first_word(6 << 28);
        packet.set_payload_len(u16::try_from(self.payload_len).unwrap_or(u16::MAX));
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{eth, ipproto};
    use proptest::prelude::*;

    // TC 0xb8, flow 0x12345, payload 4 bytes of ICMPv6, hop limit 255, fe80::1 -> ff02::1,
    // then the payload and one byte of padding.
    static PACKET: [u8; 45] = [
        0x6b, 0x81, 0x23, 0x45, 0x00, 0x04, 0x3a, 0xff, //
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, //
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, //
        0x80, 0x00, 0xaa, 0xbb, 0xee,
    ];

    fn repr() -> Repr {
        Repr {
            src_addr: "fe80::1".parse().unwrap(),
            dst_addr: "ff02::1".parse().unwrap(),
            next_header: ipproto::ICMPV6,
            payload_len: 4,
            hop_limit: 255,
        }
    }

    #[test]
    fn deconstruct() {
        let p = Packet::new_checked(&PACKET[..]).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!(p.traffic_class(), 0xb8);
        assert_eq!(p.flow_label(), 0x12345);
        assert_eq!(p.payload_len(), 4);
        assert_eq!(p.next_header(), ipproto::ICMPV6);
        assert_eq!(p.hop_limit(), 255);
        assert_eq!(p.src_addr(), "fe80::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.dst_addr(), "ff02::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.payload(), &[0x80, 0, 0xaa, 0xbb]);
        assert_eq!(Repr::parse(&p), Ok(repr()));
        assert_eq!(p.into_payload(), &[0x80, 0, 0xaa, 0xbb]);
    }

    #[test]
    fn construct() {
        let mut buf = [0u8; 45];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_version(6);
        p.set_flow_label(0xfff1_2345); // upper bits must be ignored
        p.set_traffic_class(0xb8);
        p.set_payload_len(4);
        p.set_next_header(ipproto::ICMPV6);
        p.set_hop_limit(255);
        p.set_src_addr("fe80::1".parse().unwrap());
        p.set_dst_addr("ff02::1".parse().unwrap());
        p.payload_mut().copy_from_slice(&[0x80, 0, 0xaa, 0xbb]);
        buf[44] = 0xee;
        assert_eq!(buf, PACKET);
    }

    #[test]
    fn errors() {
        assert_eq!(Packet::new_checked(&PACKET[..39]), Err(Error::Truncated));
        assert_eq!(Packet::new_checked(&PACKET[..43]), Err(Error::Truncated));
        assert!(Packet::new_checked(&PACKET[..44]).is_ok());
        let mut b = PACKET;
        b[0] = 0x4b;
        assert_eq!(Packet::new_checked(&b[..]), Err(Error::Malformed));
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&b[..])),
            Err(Error::Malformed)
        );
    }

    #[test]
    fn setters_that_break_lengths_do_not_panic() {
        let mut b = PACKET;
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.set_payload_len(u16::MAX);
        assert_eq!(p.payload().len(), 5);
        assert_eq!(p.payload_mut().len(), 5);
    }

    #[test]
    fn emit_matches_etherparse() {
        let r = Repr {
            payload_len: 1234,
            ..repr()
        };
        let ep = etherparse::Ipv6Header {
            traffic_class: 0,
            flow_label: Default::default(),
            payload_length: 1234,
            next_header: 58.into(),
            hop_limit: 255,
            source: r.src_addr.octets(),
            destination: r.dst_addr.octets(),
        };
        let mut buf = [0xffu8; 40];
        r.emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(buf, ep.to_bytes());
        assert_eq!((r.header_len(), r.buffer_len()), (40, 1274));
    }

    #[test]
    fn parse_matches_etherparse_frame() {
        let src: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let dst: Ipv6Addr = "2001:db8::2".parse().unwrap();
        let builder = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv6(src.octets(), dst.octets(), 9)
            .udp(53, 5353);
        let mut frame = Vec::new();
        builder.write(&mut frame, &[1, 2, 3]).unwrap();
        let f = eth::Frame::new_checked(&frame[..]).unwrap();
        let p = Packet::new_checked(f.payload()).unwrap();
        assert_eq!((p.src_addr(), p.dst_addr(), p.hop_limit()), (src, dst, 9));
        assert_eq!(p.next_header(), ipproto::UDP);
        assert_eq!(p.payload().len(), 11);
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(p) = Packet::new_checked(&data[..]) {
                let _ = (p.traffic_class(), p.flow_label(), p.next_header(), p.hop_limit());
                let _ = (p.src_addr(), p.dst_addr());
                prop_assert_eq!(p.payload().len(), usize::from(p.payload_len()));
                prop_assert_eq!(Repr::parse(&p).map(|r| r.payload_len), Ok(p.payload().len()));
            }
        }

        #[test]
        fn mostly_valid_never_panics(plen in 0u16..64, rest in proptest::collection::vec(any::<u8>(), 34..100)) {
            let mut data = vec![0x60, 0, 0, 0];
            data.extend_from_slice(&plen.to_be_bytes());
            data.extend(rest);
            match Packet::new_checked(&data[..]) {
                Ok(p) => prop_assert_eq!(p.payload().len(), usize::from(plen)),
                Err(e) => {
                    prop_assert_eq!(e, Error::Truncated);
                    prop_assert!(data.len() < 40 + usize::from(plen));
                }
            }
        }

        #[test]
        fn first_word_fields_are_independent(tc in any::<u8>(), flow in 0u32..(1 << 20)) {
            let mut buf = [0u8; 40];
            let mut p = Packet::new_unchecked(&mut buf[..]);
            p.set_version(6);
            p.set_traffic_class(tc);
            p.set_flow_label(flow);
            prop_assert_eq!((p.version(), p.traffic_class(), p.flow_label()), (6, tc, flow));
        }
    }
}
