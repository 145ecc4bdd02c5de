//! UDP header view (RFC 768).

use core::net::{Ipv4Addr, Ipv6Addr};

use super::{checksum, clamp, clamp_mut, get_u16, ipproto, set_u16, Error, Result};

/// Length of the UDP header.
pub const HEADER_LEN: usize = 8;
/// Offset of the checksum field in the UDP header.
pub const CHECKSUM_AT: usize = field::CHECKSUM.start;

mod field {
    use crate::packet::Field;

    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const LENGTH: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
}

/// A read/write view of a UDP datagram.
///
/// After [`Packet::new_checked`], `8 <= len <= buffer length`; the datagram (and everything the
/// checksum covers) ends at `len`, whatever follows in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T> {
    buffer: T,
}

#[allow(clippy::len_without_is_empty)] // `len` is the header field, not a container size
impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking it; getters panic if it is shorter than [`HEADER_LEN`].
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wrap a buffer after checking the header and the declared length fit.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// `Truncated` if the buffer is shorter than the header or the length field,
    /// `Malformed` if the length field is shorter than the header.
    pub fn check_len(&self) -> Result<()> {
        let buf_len = self.buffer.as_ref().len();
        if buf_len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let len = usize::from(self.len());
        if len < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if buf_len < len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn src_port(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::SRC_PORT)
    }

    pub fn dst_port(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::DST_PORT)
    }

    /// The length field: header plus payload, in bytes.
    pub fn len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::LENGTH)
    }

    /// The checksum field; 0 means "not computed" (IPv4 only).
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The bytes between the header and `len`.
    pub fn payload(&self) -> &[u8] {
        clamp(self.buffer.as_ref(), HEADER_LEN, usize::from(self.len()))
    }

    fn datagram(&self) -> &[u8] {
        clamp(self.buffer.as_ref(), 0, usize::from(self.len()))
    }

    /// The checksum over the IPv4 pseudo-header is right, or absent (0).
    pub fn verify_checksum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        if self.checksum() == 0 {
            return true;
        }
        let pseudo = checksum::pseudo_header_v4(src, dst, ipproto::UDP, self.len());
        checksum::fold(checksum::add(pseudo, checksum::sum(self.datagram()))) == 0
    }

    /// The checksum over the IPv6 pseudo-header is right. A zero checksum is invalid over
    /// IPv6 (RFC 8200 §8.1); callers accepting RFC 6935 zero-checksum tunnels check for 0 first.
    pub fn verify_checksum_v6(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        if self.checksum() == 0 {
            return false;
        }
        let pseudo = checksum::pseudo_header_v6(src, dst, ipproto::UDP, u32::from(self.len()));
        checksum::fold(checksum::add(pseudo, checksum::sum(self.datagram()))) == 0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload with the lifetime of the underlying buffer rather than of the view.
    pub fn into_payload(self) -> &'a [u8] {
        let end = usize::from(self.len());
        clamp(self.buffer.as_ref(), HEADER_LEN, end)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_src_port(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::SRC_PORT, value);
    }

    pub fn set_dst_port(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::DST_PORT, value);
    }

    pub fn set_len(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::LENGTH, value);
    }

    pub fn set_checksum(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len());
        clamp_mut(self.buffer.as_mut(), HEADER_LEN, end)
    }

    /// Compute the checksum over the IPv4 pseudo-header and the datagram. A computed 0 is sent
    /// as 0xffff, because 0 would mean "no checksum".
    pub fn fill_checksum_v4(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let pseudo = checksum::pseudo_header_v4(src, dst, ipproto::UDP, self.len());
        let value = checksum::fold(checksum::add(pseudo, checksum::sum(self.datagram())));
        self.set_checksum(if value == 0 { 0xffff } else { value });
    }

    /// Compute the checksum over the IPv6 pseudo-header and the datagram (0 sent as 0xffff).
    pub fn fill_checksum_v6(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let pseudo = checksum::pseudo_header_v6(src, dst, ipproto::UDP, u32::from(self.len()));
        let value = checksum::fold(checksum::add(pseudo, checksum::sum(self.datagram())));
        self.set_checksum(if value == 0 { 0xffff } else { value });
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A UDP header as plain values, for building datagrams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload_len: usize,
}

impl Repr {
    /// Read the header; the checksum is not verified (it needs the IP addresses).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Self> {
        packet.check_len()?;
        Ok(Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: usize::from(packet.len()) - HEADER_LEN,
        })
    }

    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Write the header with a zero checksum (valid over IPv4, e.g. for VXLAN); write the
    /// payload, then call `fill_checksum_v4`/`_v6` if one is wanted. The buffer must hold at
    /// least [`HEADER_LEN`] bytes; a length over 65535 saturates.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(u16::try_from(HEADER_LEN + self.payload_len).unwrap_or(u16::MAX));
        packet.set_checksum(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{eth, ipv4, ipv6};
    use proptest::prelude::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 2);

    // 48896 -> 53, length 12, checksum 0x124d, payload aa 00 00 ff, then two padding bytes.
    static PACKET: [u8; 14] = [
        0xbf, 0x00, 0x00, 0x35, 0x00, 0x0c, 0x12, 0x4d, 0xaa, 0x00, 0x00, 0xff, 0xee, 0xee,
    ];

    #[test]
    fn deconstruct() {
        let p = Packet::new_checked(&PACKET[..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port()), (48896, 53));
        assert_eq!((p.len(), p.checksum()), (12, 0x124d));
        assert_eq!(p.payload(), &[0xaa, 0, 0, 0xff]);
        assert!(p.verify_checksum_v4(SRC, DST));
        assert!(!p.verify_checksum_v4(DST, DST));
        assert_eq!(
            Repr::parse(&p),
            Ok(Repr {
                src_port: 48896,
                dst_port: 53,
                payload_len: 4
            })
        );
        assert_eq!(p.into_payload(), &[0xaa, 0, 0, 0xff]);
    }

    #[test]
    fn construct() {
        let mut buf = [0xeeu8; 14];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_src_port(48896);
        p.set_dst_port(53);
        p.set_len(12);
        p.set_checksum(0xffff);
        p.payload_mut().copy_from_slice(&[0xaa, 0, 0, 0xff]);
        p.fill_checksum_v4(SRC, DST);
        assert_eq!(buf, PACKET);
    }

    #[test]
    fn emit_then_fill() {
        let r = Repr {
            src_port: 48896,
            dst_port: 53,
            payload_len: 4,
        };
        let mut buf = [0xeeu8; 14];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        r.emit(&mut p);
        assert_eq!(p.checksum(), 0);
        assert!(p.verify_checksum_v4(Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST));
        p.payload_mut().copy_from_slice(&[0xaa, 0, 0, 0xff]);
        p.fill_checksum_v4(SRC, DST);
        assert_eq!(buf, PACKET);
        assert_eq!((r.header_len(), r.buffer_len()), (8, 12));
    }

    #[test]
    fn zero_checksum_rules() {
        let mut buf = PACKET;
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.set_checksum(0);
        assert!(p.verify_checksum_v4(SRC, DST));
        assert!(!p.verify_checksum_v6(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST));
        // A datagram whose checksum computes to 0 is sent as 0xffff, which verifies.
        let mut buf = [0u8; 8];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_len(8);
        // Choose the source port so the one's complement sum of everything is 0xffff.
        let partial = checksum::add(
            checksum::pseudo_header_v4(SRC, DST, ipproto::UDP, 8),
            checksum::sum(&[0, 0, 0, 8]),
        );
        p.set_src_port(checksum::fold(partial));
        p.fill_checksum_v4(SRC, DST);
        assert_eq!(p.checksum(), 0xffff);
        assert!(p.verify_checksum_v4(SRC, DST));
    }

    #[test]
    fn length_errors() {
        assert_eq!(Packet::new_checked(&PACKET[..7]), Err(Error::Truncated));
        assert_eq!(Packet::new_checked(&PACKET[..11]), Err(Error::Truncated));
        let mut b = PACKET;
        b[5] = 7;
        assert_eq!(Packet::new_checked(&b[..]), Err(Error::Malformed));
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&b[..])),
            Err(Error::Malformed)
        );
        b[5] = 8;
        assert!(Packet::new_checked(&b[..]).unwrap().payload().is_empty());
    }

    #[test]
    fn setters_that_break_lengths_do_not_panic() {
        let mut b = PACKET;
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.set_len(u16::MAX);
        assert_eq!(p.payload().len(), 6);
        p.fill_checksum_v4(SRC, DST);
        p.set_len(3);
        assert!(p.payload_mut().is_empty());
        let _ = p.verify_checksum_v6(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST);
    }

    #[test]
    fn v4_matches_etherparse() {
        let builder = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4(SRC.octets(), DST.octets(), 64)
            .udp(4789, 4789);
        let mut frame = Vec::new();
        builder.write(&mut frame, b"hello, vxlan").unwrap();
        let f = eth::Frame::new_checked(&frame[..]).unwrap();
        let ip = ipv4::Packet::new_checked(f.payload()).unwrap();
        let p = Packet::new_checked(ip.payload()).unwrap();
        assert_eq!((p.src_port(), p.dst_port(), p.len()), (4789, 4789, 20));
        assert_eq!(p.payload(), b"hello, vxlan");
        assert_ne!(p.checksum(), 0);
        assert!(p.verify_checksum_v4(SRC, DST));
        let mut copy = ip.payload().to_vec();
        Packet::new_unchecked(&mut copy[..]).fill_checksum_v4(SRC, DST);
        assert_eq!(copy, ip.payload());
    }

    #[test]
    fn v6_matches_etherparse() {
        let src: Ipv6Addr = "fd00::1".parse().unwrap();
        let dst: Ipv6Addr = "fd00::2".parse().unwrap();
        let builder = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv6(src.octets(), dst.octets(), 64)
            .udp(546, 547);
        let mut frame = Vec::new();
        builder.write(&mut frame, b"dhcpv6").unwrap();
        let f = eth::Frame::new_checked(&frame[..]).unwrap();
        let ip = ipv6::Packet::new_checked(f.payload()).unwrap();
        let p = Packet::new_checked(ip.payload()).unwrap();
        assert!(p.verify_checksum_v6(src, dst));
        let mut copy = ip.payload().to_vec();
        Packet::new_unchecked(&mut copy[..]).fill_checksum_v6(src, dst);
        assert_eq!(copy, ip.payload());
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..48)) {
            if let Ok(p) = Packet::new_checked(&data[..]) {
                let _ = (p.src_port(), p.dst_port(), p.checksum());
                let _ = p.verify_checksum_v4(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST);
                let _ = p.verify_checksum_v6(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST);
                prop_assert_eq!(p.payload().len() + HEADER_LEN, usize::from(p.len()));
                prop_assert!(Repr::parse(&p).is_ok());
            }
        }

        #[test]
        fn mostly_valid_never_panics(len in 0u16..48, rest in proptest::collection::vec(any::<u8>(), 4..48)) {
            let mut data = vec![0, 1, 0, 2];
            data.extend_from_slice(&len.to_be_bytes());
            data.extend(rest);
            match Packet::new_checked(&data[..]) {
                Ok(p) => prop_assert_eq!(p.payload().len() + 8, usize::from(len)),
                Err(Error::Malformed) => prop_assert!(len < 8),
                Err(Error::Truncated) => prop_assert!(data.len() < usize::from(len) || data.len() < 8),
            }
        }

        #[test]
        fn fill_then_verify(
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            src4 in any::<[u8; 4]>(), dst4 in any::<[u8; 4]>(),
            src6 in any::<[u8; 16]>(), dst6 in any::<[u8; 16]>(),
        ) {
            let mut buf = vec![0u8; HEADER_LEN + payload.len()];
            let mut p = Packet::new_unchecked(&mut buf[..]);
            Repr { src_port: 1, dst_port: 2, payload_len: payload.len() }.emit(&mut p);
            p.payload_mut().copy_from_slice(&payload);
            let (s4, d4) = (Ipv4Addr::from(src4), Ipv4Addr::from(dst4));
            p.fill_checksum_v4(s4, d4);
            prop_assert!(p.checksum() != 0 && p.verify_checksum_v4(s4, d4));
            let (s6, d6) = (Ipv6Addr::from(src6), Ipv6Addr::from(dst6));
            p.fill_checksum_v6(s6, d6);
            prop_assert!(p.checksum() != 0 && p.verify_checksum_v6(s6, d6));
        }
    }
}
