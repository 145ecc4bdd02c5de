//! TCP header view (RFC 9293).
//!
//! The view spans exactly one segment (the IP payload): TCP has no length field of its own, so
//! the payload and the checksum run to the end of the buffer.

use core::net::{Ipv4Addr, Ipv6Addr};

use super::{checksum, clamp, clamp_mut, get_u16, get_u32, ipproto, set_u16, set_u32};
use super::{Error, Result};

/// Length of a header without options.
pub const HEADER_LEN: usize = 20;
/// Offset of the checksum field in the TCP header.
pub const CHECKSUM_AT: usize = field::CHECKSUM.start;

/// Flag bits of the flags byte (byte 13), as returned by [`Packet::flags`].
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

pub use flags::{ACK, CWR, ECE, FIN, PSH, RST, SYN, URG};

mod field {
    use crate::packet::Field;

    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const SEQ_NUM: Field = 4..8;
    pub const ACK_NUM: Field = 8..12;
    pub const DATA_OFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: Field = 14..16;
    pub const CHECKSUM: Field = 16..18;
    pub const URGENT: Field = 18..20;
}

/// A read/write view of a TCP segment.
///
/// After [`Packet::new_checked`], `20 <= header_len <= buffer length`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking it; getters panic if it is shorter than [`HEADER_LEN`].
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wrap a segment after checking its data offset against its length.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// `Truncated` below the 20-byte fixed header; `Malformed` if the data offset is under 5
    /// words or points past the segment (the caller passes the whole segment, so that cannot
    /// be a short capture).
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let header_len = self.header_len();
        if header_len < HEADER_LEN || header_len > len {
            return Err(Error::Malformed);
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

    pub fn seq_number(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::SEQ_NUM)
    }

    pub fn ack_number(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::ACK_NUM)
    }

    /// Header length in bytes (data offset * 4), options included.
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::DATA_OFF] >> 4) * 4
    }

    /// The eight flag bits; test them with the [`flags`] constants.
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    pub fn fin(&self) -> bool {
        self.flags() & FIN != 0
    }

    pub fn syn(&self) -> bool {
        self.flags() & SYN != 0
    }

    pub fn rst(&self) -> bool {
        self.flags() & RST != 0
    }

    pub fn psh(&self) -> bool {
        self.flags() & PSH != 0
    }

    /// The ACK flag (the acknowledgment number is [`Packet::ack_number`]).
    pub fn ack(&self) -> bool {
        self.flags() & ACK != 0
    }

    pub fn urg(&self) -> bool {
        self.flags() & URG != 0
    }

    pub fn ece(&self) -> bool {
        self.flags() & ECE != 0
    }

    pub fn cwr(&self) -> bool {
        self.flags() & CWR != 0
    }

    /// Receive window (unscaled).
    pub fn window(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::WINDOW)
    }

    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// Urgent pointer.
    pub fn urgent(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::URGENT)
    }

    /// The option bytes between the fixed header and `header_len`.
    pub fn options(&self) -> &[u8] {
        clamp(self.buffer.as_ref(), HEADER_LEN, self.header_len())
    }

    /// Everything after the header.
    pub fn payload(&self) -> &[u8] {
        let data = self.buffer.as_ref();
        clamp(data, self.header_len(), data.len())
    }

    fn segment_sum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> u32 {
        let data = self.buffer.as_ref();
        let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
        let pseudo = checksum::pseudo_header_v4(src, dst, ipproto::TCP, len);
        checksum::add(pseudo, checksum::sum(data))
    }

    fn segment_sum_v6(&self, src: Ipv6Addr, dst: Ipv6Addr) -> u32 {
        let data = self.buffer.as_ref();
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let pseudo = checksum::pseudo_header_v6(src, dst, ipproto::TCP, len);
        checksum::add(pseudo, checksum::sum(data))
    }

    /// The checksum over the IPv4 pseudo-header and the whole segment is right.
    pub fn verify_checksum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        checksum::fold(self.segment_sum_v4(src, dst)) == 0
    }

    /// The checksum over the IPv6 pseudo-header and the whole segment is right.
    pub fn verify_checksum_v6(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        checksum::fold(self.segment_sum_v6(src, dst)) == 0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload with the lifetime of the underlying buffer rather than of the view.
    pub fn into_payload(self) -> &'a [u8] {
        let start = self.header_len();
        let data = self.buffer.as_ref();
        clamp(data, start, data.len())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_src_port(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::SRC_PORT, value);
    }

    pub fn set_dst_port(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::DST_PORT, value);
    }

    pub fn set_seq_number(&mut self, value: u32) {
        set_u32(self.buffer.as_mut(), field::SEQ_NUM, value);
    }

    pub fn set_ack_number(&mut self, value: u32) {
        set_u32(self.buffer.as_mut(), field::ACK_NUM, value);
    }

    /// Set the data offset from a length in bytes (rounded down to 4, max 60); the reserved
    /// bits in the same byte are cleared.
    pub fn set_header_len(&mut self, len: usize) {
        self.buffer.as_mut()[field::DATA_OFF] = ((len / 4).min(15) as u8) << 4;
    }

    pub fn set_flags(&mut self, value: u8) {
        self.buffer.as_mut()[field::FLAGS] = value;
    }

    pub fn set_window(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::WINDOW, value);
    }

    pub fn set_checksum(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    pub fn set_urgent(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::URGENT, value);
    }

    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        clamp_mut(self.buffer.as_mut(), HEADER_LEN, end)
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        let data = self.buffer.as_mut();
        let end = data.len();
        clamp_mut(data, start, end)
    }

    /// Compute the checksum over the IPv4 pseudo-header and the whole segment.
    pub fn fill_checksum_v4(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let value = checksum::fold(self.segment_sum_v4(src, dst));
        self.set_checksum(value);
    }

    /// Compute the checksum over the IPv6 pseudo-header and the whole segment.
    pub fn fill_checksum_v6(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let value = checksum::fold(self.segment_sum_v6(src, dst));
        self.set_checksum(value);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A TCP header without options, as plain values (e.g. for a firewall's RST).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq_number: u32,
    pub ack_number: u32,
    pub flags: u8,
    pub window: u16,
}

impl Repr {
    /// Read the header; options, urgent pointer and checksum are not represented.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Self> {
        packet.check_len()?;
        Ok(Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq_number: packet.seq_number(),
            ack_number: packet.ack_number(),
            flags: packet.flags(),
            window: packet.window(),
        })
    }

    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write a 20-byte header with urgent pointer and checksum zero; write the payload, then
    /// call `fill_checksum_v4`/`_v6`. The buffer must hold at least [`HEADER_LEN`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq_number);
        packet.set_ack_number(self.ack_number);
        packet.set_header_len(HEADER_LEN);
        packet.set_flags(self.flags);
        packet.set_window(self.window);
        packet.set_checksum(0);
        packet.set_urgent(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{eth, ipv4, ipv6};
    use proptest::prelude::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 2);

    // 48896 -> 80, seq 0x01234567, ack 0x89abcdef, data offset 6 (options NOP NOP NOP EOL),
    // SYN|ACK, window 0x0123, urgent 0x0201, payload "abc"; checksum zero.
    static SEGMENT: [u8; 27] = [
        0xbf, 0x00, 0x00, 0x50, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x60, 0x12, 0x01,
        0x23, 0x00, 0x00, 0x02, 0x01, 0x01, 0x01, 0x01, 0x00, b'a', b'b', b'c',
    ];

    #[test]
    fn deconstruct() {
        let p = Packet::new_checked(&SEGMENT[..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port()), (48896, 80));
        assert_eq!((p.seq_number(), p.ack_number()), (0x0123_4567, 0x89ab_cdef));
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.flags(), SYN | ACK);
        assert!(p.syn() && p.ack() && !p.fin() && !p.rst());
        assert!(!p.psh() && !p.urg() && !p.ece() && !p.cwr());
        assert_eq!((p.window(), p.checksum(), p.urgent()), (0x0123, 0, 0x0201));
        assert_eq!(p.options(), &[1, 1, 1, 0]);
        assert_eq!(p.payload(), b"abc");
        assert_eq!(p.into_payload(), b"abc");
        assert_eq!(
            Repr::parse(&p),
            Ok(Repr {
                src_port: 48896,
                dst_port: 80,
                seq_number: 0x0123_4567,
                ack_number: 0x89ab_cdef,
                flags: flags::SYN | flags::ACK,
                window: 0x0123,
            })
        );
    }

    #[test]
    fn construct() {
        let mut buf = [0u8; 27];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_src_port(48896);
        p.set_dst_port(80);
        p.set_seq_number(0x0123_4567);
        p.set_ack_number(0x89ab_cdef);
        p.set_header_len(24);
        p.set_flags(SYN | ACK);
        p.set_window(0x0123);
        p.set_urgent(0x0201);
        p.options_mut().copy_from_slice(&[1, 1, 1, 0]);
        p.payload_mut().copy_from_slice(b"abc");
        assert_eq!(buf, SEGMENT);
    }

    #[test]
    fn checksum_round_trip() {
        let mut buf = SEGMENT;
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        assert!(!p.verify_checksum_v4(SRC, DST));
        p.fill_checksum_v4(SRC, DST);
        assert!(p.verify_checksum_v4(SRC, DST));
        // Swapping addresses keeps the sum (that is why replies verify); another address fails.
        assert!(p.verify_checksum_v4(DST, SRC));
        assert!(!p.verify_checksum_v4(SRC, Ipv4Addr::new(192, 168, 1, 3)));
        p.payload_mut()[0] = b'x';
        assert!(!p.verify_checksum_v4(SRC, DST));
    }

    #[test]
    fn errors() {
        assert_eq!(Packet::new_checked(&SEGMENT[..19]), Err(Error::Truncated));
        assert_eq!(Packet::new_checked(&SEGMENT[..23]), Err(Error::Malformed));
        assert!(Packet::new_checked(&SEGMENT[..24])
            .unwrap()
            .payload()
            .is_empty());
        let mut b = SEGMENT;
        b[12] = 0x40;
        assert_eq!(Packet::new_checked(&b[..]), Err(Error::Malformed));
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&b[..])),
            Err(Error::Malformed)
        );
    }

    #[test]
    fn setters_that_break_lengths_do_not_panic() {
        let mut b = SEGMENT;
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.set_header_len(60);
        assert_eq!(p.options().len(), 7);
        assert!(p.payload().is_empty() && p.payload_mut().is_empty());
        assert_eq!(p.options_mut().len(), 7);
        p.set_header_len(0);
        assert!(p.options().is_empty());
    }

    #[test]
    fn emit_rst() {
        let r = Repr {
            src_port: 80,
            dst_port: 48896,
            seq_number: 0,
            ack_number: 0x0123_4568,
            flags: RST | ACK,
            window: 0,
        };
        let mut buf = [0xffu8; 20];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        r.emit(&mut p);
        p.fill_checksum_v4(DST, SRC);
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert!(p.rst() && p.ack() && p.verify_checksum_v4(DST, SRC));
        assert_eq!(Repr::parse(&p), Ok(r));
        assert_eq!(r.header_len(), 20);
    }

    #[test]
    fn v4_matches_etherparse() {
        let builder = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4(SRC.octets(), DST.octets(), 64)
            .tcp(40000, 443, 0xdead_beef, 29200)
            .syn()
            .ack(7)
            .options(&[etherparse::TcpOptionElement::MaximumSegmentSize(1460)])
            .unwrap();
        let mut frame = Vec::new();
        builder.write(&mut frame, b"data").unwrap();
        let f = eth::Frame::new_checked(&frame[..]).unwrap();
        let ip = ipv4::Packet::new_checked(f.payload()).unwrap();
        let p = Packet::new_checked(ip.payload()).unwrap();
        assert_eq!(
            (p.src_port(), p.dst_port(), p.seq_number()),
            (40000, 443, 0xdead_beef)
        );
        assert_eq!(
            (p.ack_number(), p.window(), p.flags()),
            (7, 29200, SYN | ACK)
        );
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.options(), &[2, 4, 0x05, 0xb4]);
        assert_eq!(p.payload(), b"data");
        assert!(p.verify_checksum_v4(SRC, DST));
        let mut copy = ip.payload().to_vec();
        Packet::new_unchecked(&mut copy[..]).fill_checksum_v4(SRC, DST);
        assert_eq!(copy, ip.payload());
    }

    #[test]
    fn v6_matches_etherparse() {
        let src: Ipv6Addr = "2001:db8::a".parse().unwrap();
        let dst: Ipv6Addr = "2001:db8::b".parse().unwrap();
        let builder = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv6(src.octets(), dst.octets(), 64)
            .tcp(1, 2, 3, 4)
            .fin()
            .psh()
            .ece()
            .cwr();
        let mut frame = Vec::new();
        builder.write(&mut frame, b"bye").unwrap();
        let f = eth::Frame::new_checked(&frame[..]).unwrap();
        let ip = ipv6::Packet::new_checked(f.payload()).unwrap();
        let p = Packet::new_checked(ip.payload()).unwrap();
        assert!(p.fin() && p.psh() && p.ece() && p.cwr() && !p.syn());
        assert!(p.verify_checksum_v6(src, dst));
        let mut copy = ip.payload().to_vec();
        Packet::new_unchecked(&mut copy[..]).fill_checksum_v6(src, dst);
        assert_eq!(copy, ip.payload());
    }

    #[test]
    fn incremental_port_rewrite_matches_recompute() {
        // What NAT does: rewrite a port and patch the checksum without re-summing the segment.
        let mut buf = SEGMENT;
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.fill_checksum_v4(SRC, DST);
        let old = p.src_port();
        let patched = checksum::update16(p.checksum(), old, 61000);
        p.set_src_port(61000);
        p.set_checksum(patched);
        assert!(p.verify_checksum_v4(SRC, DST));
        let new_src = Ipv4Addr::new(203, 0, 113, 5);
        let patched = checksum::update32(p.checksum(), u32::from(SRC), u32::from(new_src));
        p.set_checksum(patched);
        assert!(p.verify_checksum_v4(new_src, DST));
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..80)) {
            match Packet::new_checked(&data[..]) {
                Ok(p) => {
                    let _ = (p.src_port(), p.dst_port(), p.seq_number(), p.ack_number());
                    let _ = (p.fin(), p.syn(), p.rst(), p.psh(), p.ack(), p.urg(), p.ece(), p.cwr());
                    let _ = (p.window(), p.checksum(), p.urgent());
                    let _ = p.verify_checksum_v4(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST);
                    let _ = p.verify_checksum_v6(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST);
                    prop_assert_eq!(p.options().len() + HEADER_LEN, p.header_len());
                    prop_assert_eq!(p.payload().len() + p.header_len(), data.len());
                    prop_assert!(Repr::parse(&p).is_ok());
                }
                Err(Error::Truncated) => prop_assert!(data.len() < HEADER_LEN),
                Err(Error::Malformed) => {
                    let hl = usize::from(data[12] >> 4) * 4;
                    prop_assert!(hl < HEADER_LEN || hl > data.len());
                }
            }
        }

        #[test]
        fn fill_then_verify(
            data in proptest::collection::vec(any::<u8>(), 20..100),
            src in any::<[u8; 4]>(),
            dst in any::<[u8; 4]>(),
        ) {
            let mut data = data;
            data[12] = 0x50;
            let (src, dst) = (Ipv4Addr::from(src), Ipv4Addr::from(dst));
            let mut p = Packet::new_checked(&mut data[..]).unwrap();
            p.fill_checksum_v4(src, dst);
            prop_assert!(p.verify_checksum_v4(src, dst));
        }
    }
}
