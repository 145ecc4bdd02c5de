//! ICMPv4 (RFC 792) and ICMPv6 (RFC 4443) common header view.
//!
//! Both share the layout type, code, checksum, four "rest of header" bytes, then data; they
//! differ in type numbers and in the checksum (ICMPv6 covers a pseudo-header). The view spans
//! the whole message: pass exactly the IP payload.

use core::net::Ipv6Addr;

use super::{checksum, get_u16, get_u32, ipproto, set_u16, set_u32, Error, Result};

/// Length of the common header: type, code, checksum, rest of header.
pub const HEADER_LEN: usize = 8;

/// ICMPv4 message types and codes the switch emits or inspects.
pub mod v4 {
    pub const ECHO_REPLY: u8 = 0;
    pub const DEST_UNREACHABLE: u8 = 3;
    pub const REDIRECT: u8 = 5;
    pub const ECHO_REQUEST: u8 = 8;
    pub const TIME_EXCEEDED: u8 = 11;
    pub const PARAM_PROBLEM: u8 = 12;

    /// Destination unreachable codes.
    pub const CODE_NET_UNREACHABLE: u8 = 0;
    pub const CODE_HOST_UNREACHABLE: u8 = 1;
    pub const CODE_PROTO_UNREACHABLE: u8 = 2;
    pub const CODE_PORT_UNREACHABLE: u8 = 3;
    pub const CODE_FRAG_NEEDED: u8 = 4;
    pub const CODE_ADMIN_PROHIBITED: u8 = 13;
    /// Time exceeded code: TTL reached zero in transit.
    pub const CODE_TTL_EXCEEDED: u8 = 0;
}

/// ICMPv6 message types and codes the switch emits or inspects.
pub mod v6 {
    pub const DEST_UNREACHABLE: u8 = 1;
    pub const PACKET_TOO_BIG: u8 = 2;
    pub const TIME_EXCEEDED: u8 = 3;
    pub const PARAM_PROBLEM: u8 = 4;
    pub const ECHO_REQUEST: u8 = 128;
    pub const ECHO_REPLY: u8 = 129;
    pub const ROUTER_SOLICIT: u8 = 133;
    pub const ROUTER_ADVERT: u8 = 134;
    pub const NEIGHBOR_SOLICIT: u8 = 135;
    pub const NEIGHBOR_ADVERT: u8 = 136;

    /// Destination unreachable codes.
    pub const CODE_NO_ROUTE: u8 = 0;
    pub const CODE_ADMIN_PROHIBITED: u8 = 1;
    pub const CODE_ADDR_UNREACHABLE: u8 = 3;
    pub const CODE_PORT_UNREACHABLE: u8 = 4;
    /// Time exceeded code: hop limit reached zero in transit.
    pub const CODE_HOP_LIMIT_EXCEEDED: u8 = 0;
}

mod field {
    use crate::packet::Field;

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    pub const REST: Field = 4..8;
    pub const ECHO_IDENT: Field = 4..6;
    pub const ECHO_SEQ: Field = 6..8;
    pub const DATA: usize = 8;
}

/// A read/write view of an ICMPv4 or ICMPv6 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking it; getters panic if it is shorter than [`HEADER_LEN`].
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wrap a buffer after checking it holds the common header.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// `Err(Truncated)` unless the buffer holds the 8-byte common header.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Message type (see [`v4`] and [`v6`]).
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// Alias of [`Packet::msg_type`].
    pub fn icmp_type(&self) -> u8 {
        self.msg_type()
    }

    /// Alias of [`Packet::msg_code`].
    pub fn code(&self) -> u8 {
        self.msg_code()
    }

    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The four type-specific bytes after the checksum, as one big-endian word.
    pub fn rest_of_header(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::REST)
    }

    /// Identifier of an echo request/reply (the "port" conntrack and NAT use for ICMP).
    pub fn echo_ident(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::ECHO_IDENT)
    }

    /// Sequence number of an echo request/reply.
    pub fn echo_seq_no(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::ECHO_SEQ)
    }

    /// Everything after the 8-byte header: echo data, or the invoking packet of an error.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::DATA..]
    }

    /// Alias of [`Packet::data`], named like every other view's payload.
    pub fn payload(&self) -> &[u8] {
        self.data()
    }

    /// An ICMPv4 error message, which quotes the packet that caused it.
    pub fn is_error_v4(&self) -> bool {
        matches!(
            self.msg_type(),
            v4::DEST_UNREACHABLE | 4 | v4::REDIRECT | v4::TIME_EXCEEDED | v4::PARAM_PROBLEM
        )
    }

    /// An ICMPv6 error message (types 0-127), which quotes the packet that caused it.
    pub fn is_error_v6(&self) -> bool {
        self.msg_type() < 128
    }

    pub fn verify_checksum_v4(&self) -> bool {
        checksum::fold(checksum::sum(self.buffer.as_ref())) == 0
    }

    /// Verify the checksum over the IPv6 pseudo-header and the whole message.
    pub fn verify_checksum_v6(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        checksum::fold(self.sum_v6(src, dst)) == 0
    }

    fn sum_v6(&self, src: Ipv6Addr, dst: Ipv6Addr) -> u32 {
        let data = self.buffer.as_ref();
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let pseudo = checksum::pseudo_header_v6(src, dst, ipproto::ICMPV6, len);
        checksum::add(pseudo, checksum::sum(data))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The data with the lifetime of the underlying buffer rather than of the view.
    pub fn into_data(self) -> &'a [u8] {
        &self.buffer.as_ref()[field::DATA..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_msg_type(&mut self, value: u8) {
        self.buffer.as_mut()[field::TYPE] = value;
    }

    pub fn set_msg_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::CODE] = value;
    }

    /// Alias of [`Packet::set_msg_type`].
    pub fn set_icmp_type(&mut self, value: u8) {
        self.set_msg_type(value);
    }

    /// Alias of [`Packet::set_msg_code`].
    pub fn set_code(&mut self, value: u8) {
        self.set_msg_code(value);
    }

    pub fn set_checksum(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    pub fn set_rest_of_header(&mut self, value: u32) {
        set_u32(self.buffer.as_mut(), field::REST, value);
    }

    pub fn set_echo_ident(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::ECHO_IDENT, value);
    }

    pub fn set_echo_seq_no(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::ECHO_SEQ, value);
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::DATA..]
    }

    /// Alias of [`Packet::data_mut`].
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.data_mut()
    }

    /// Compute the ICMPv4 checksum over the whole message.
    pub fn fill_checksum_v4(&mut self) {
        self.set_checksum(0);
        let value = checksum::fold(checksum::sum(self.buffer.as_ref()));
        self.set_checksum(value);
    }

    /// Compute the ICMPv6 checksum over the pseudo-header and the whole message.
    pub fn fill_checksum_v6(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let value = checksum::fold(self.sum_v6(src, dst));
        self.set_checksum(value);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The common ICMP header as plain values. The checksum is not represented: emit the header,
/// write the data, then call `fill_checksum_v4` or `fill_checksum_v6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    pub msg_type: u8,
    pub msg_code: u8,
    pub rest_of_header: u32,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Self> {
        packet.check_len()?;
        Ok(Repr {
            msg_type: packet.msg_type(),
            msg_code: packet.msg_code(),
            rest_of_header: packet.rest_of_header(),
        })
    }

    /// An echo request or reply header with the given identifier and sequence number.
    pub const fn echo(msg_type: u8, ident: u16, seq_no: u16) -> Self {
        Repr {
            msg_type,
            msg_code: 0,
            rest_of_header: ((ident as u32) << 16) | seq_no as u32,
        }
    }

    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write type, code and rest of header, and zero the checksum. The buffer must hold at
    /// least [`HEADER_LEN`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_msg_type(self.msg_type);
        packet.set_msg_code(self.msg_code);
        packet.set_checksum(0);
        packet.set_rest_of_header(self.rest_of_header);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{eth, ipv4, ipv6};
    use proptest::prelude::*;

    // Echo request, id 0x1234, seq 1, data "abcd", checksum left zero.
    static ECHO_V4: [u8; 12] = [
        0x08, 0x00, 0x00, 0x00, 0x12, 0x34, 0x00, 0x01, b'a', b'b', b'c', b'd',
    ];

    fn echo_v4() -> [u8; 12] {
        let mut buf = ECHO_V4;
        Packet::new_unchecked(&mut buf[..]).fill_checksum_v4();
        buf
    }

    #[test]
    fn deconstruct() {
        let buf = echo_v4();
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!((p.msg_type(), p.msg_code()), (v4::ECHO_REQUEST, 0));
        assert_eq!((p.icmp_type(), p.code()), (v4::ECHO_REQUEST, 0));
        // !(0x0800 + 0x1234 + 0x0001 + 0x6162 + 0x6364) = !0xdefb
        assert_eq!(p.checksum(), 0x2104);
        assert_eq!(p.rest_of_header(), 0x1234_0001);
        assert_eq!((p.echo_ident(), p.echo_seq_no()), (0x1234, 1));
        assert_eq!(p.data(), b"abcd");
        assert_eq!(p.payload(), b"abcd");
        assert!(p.verify_checksum_v4());
        assert!(!p.is_error_v4());
        assert_eq!(Repr::parse(&p), Ok(Repr::echo(v4::ECHO_REQUEST, 0x1234, 1)));
        assert_eq!(p.into_data(), b"abcd");
    }

    #[test]
    fn construct_reply_in_place() {
        let mut buf = echo_v4();
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.set_msg_type(v4::ECHO_REPLY);
        p.fill_checksum_v4();
        assert!(p.verify_checksum_v4());
        p.data_mut()[0] = b'z';
        assert!(!p.verify_checksum_v4());
        p.payload_mut()[0] = b'a';
        assert!(p.verify_checksum_v4());
        p.set_icmp_type(v4::ECHO_REQUEST);
        p.set_code(1);
        assert!(!p.verify_checksum_v4());
        assert_eq!((p.msg_type(), p.msg_code()), (v4::ECHO_REQUEST, 1));
        p.set_echo_ident(0x4321);
        p.set_echo_seq_no(9);
        assert_eq!(&buf[4..8], &[0x43, 0x21, 0, 9]);
    }

    #[test]
    fn errors_and_classification() {
        assert_eq!(Packet::new_checked(&ECHO_V4[..7]), Err(Error::Truncated));
        let unreach = [
            v4::DEST_UNREACHABLE,
            v4::CODE_PORT_UNREACHABLE,
            0,
            0,
            0,
            0,
            0,
            0,
        ];
        let p = Packet::new_checked(&unreach[..]).unwrap();
        assert!(p.is_error_v4() && p.data().is_empty());
        let too_big = [v6::PACKET_TOO_BIG, 0, 0, 0, 0, 0, 0x05, 0xdc];
        let p = Packet::new_checked(&too_big[..]).unwrap();
        assert!(p.is_error_v6() && p.rest_of_header() == 1500);
        let ns = [v6::NEIGHBOR_SOLICIT, 0, 0, 0, 0, 0, 0, 0];
        assert!(!Packet::new_checked(&ns[..]).unwrap().is_error_v6());
    }

    #[test]
    fn emit() {
        let mut buf = [0xffu8; 12];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        Repr::echo(v4::ECHO_REQUEST, 0x1234, 1).emit(&mut p);
        p.data_mut().copy_from_slice(b"abcd");
        p.fill_checksum_v4();
        assert_eq!(buf, echo_v4());
        assert_eq!(Repr::echo(0, 0, 0).header_len(), 8);
    }

    #[test]
    fn v4_matches_etherparse() {
        let builder = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .icmpv4_echo_request(77, 5);
        let mut frame = Vec::new();
        builder.write(&mut frame, b"ping!").unwrap();
        let f = eth::Frame::new_checked(&frame[..]).unwrap();
        let ip = ipv4::Packet::new_checked(f.payload()).unwrap();
        let p = Packet::new_checked(ip.payload()).unwrap();
        assert_eq!(
            (p.msg_type(), p.echo_ident(), p.echo_seq_no()),
            (v4::ECHO_REQUEST, 77, 5)
        );
        assert!(p.verify_checksum_v4());
        assert_eq!(p.data(), b"ping!");
        let mut copy = ip.payload().to_vec();
        let mut q = Packet::new_unchecked(&mut copy[..]);
        q.fill_checksum_v4();
        assert_eq!(q.checksum(), p.checksum());
    }

    #[test]
    fn v6_matches_etherparse() {
        let src: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let dst: Ipv6Addr = "2001:db8::2".parse().unwrap();
        let builder = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv6(src.octets(), dst.octets(), 64)
            .icmpv6_echo_request(99, 3);
        let mut frame = Vec::new();
        builder.write(&mut frame, b"ping6").unwrap();
        let f = eth::Frame::new_checked(&frame[..]).unwrap();
        let ip = ipv6::Packet::new_checked(f.payload()).unwrap();
        let p = Packet::new_checked(ip.payload()).unwrap();
        assert_eq!(
            (p.msg_type(), p.echo_ident(), p.echo_seq_no()),
            (v6::ECHO_REQUEST, 99, 3)
        );
        assert!(p.verify_checksum_v6(src, dst));
        assert!(!p.verify_checksum_v6(dst, "2001:db8::3".parse().unwrap()));
        let mut copy = ip.payload().to_vec();
        let mut q = Packet::new_unchecked(&mut copy[..]);
        q.set_checksum(0xdead);
        q.fill_checksum_v6(src, dst);
        assert_eq!(q.checksum(), p.checksum());
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(p) = Packet::new_checked(&data[..]) {
                let _ = (p.msg_type(), p.msg_code(), p.checksum(), p.rest_of_header());
                let _ = (p.echo_ident(), p.echo_seq_no(), p.is_error_v4(), p.is_error_v6());
                let _ = (p.verify_checksum_v4(), p.verify_checksum_v6(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST));
                prop_assert_eq!(p.data().len(), data.len() - HEADER_LEN);
                prop_assert!(Repr::parse(&p).is_ok());
            } else {
                prop_assert!(data.len() < HEADER_LEN);
            }
        }

        #[test]
        fn fill_then_verify(
            data in proptest::collection::vec(any::<u8>(), 8..64),
            src in any::<[u8; 16]>(),
            dst in any::<[u8; 16]>(),
        ) {
            let (src, dst) = (Ipv6Addr::from(src), Ipv6Addr::from(dst));
            let mut data = data;
            let mut p = Packet::new_checked(&mut data[..]).unwrap();
            p.fill_checksum_v4();
            prop_assert!(p.verify_checksum_v4());
            p.fill_checksum_v6(src, dst);
            prop_assert!(p.verify_checksum_v6(src, dst));
        }
    }
}
