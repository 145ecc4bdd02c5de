//! IPv4 header view (RFC 791).

use core::net::Ipv4Addr;

use super::{checksum, clamp, clamp_mut, get_u16, set_u16, Error, Result};

/// Length of a header without options.
pub const HEADER_LEN: usize = 20;

mod field {
    use crate::packet::Field;

    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const FLG_OFF: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC_ADDR: Field = 12..16;
    pub const DST_ADDR: Field = 16..20;
}

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A read/write view of an IPv4 packet.
///
/// After [`Packet::new_checked`] the buffer holds at least `total_len` bytes, and
/// `20 <= header_len <= total_len`. The buffer may be longer (Ethernet padding):
/// [`Packet::payload`] ends at `total_len`, not at the end of the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking it; getters panic if it is shorter than [`HEADER_LEN`].
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wrap a buffer after checking the version and that every declared length fits.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Check the buffer against the header's version, IHL and total length, in that order,
    /// so that no field is read before the bytes holding it are known to exist.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 4 || self.header_len() < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if len < self.header_len() {
            return Err(Error::Truncated);
        }
        let total = usize::from(self.total_len());
        if total < self.header_len() {
            return Err(Error::Malformed);
        }
        if len < total {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL * 4), options included.
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// Differentiated services code point (upper six bits of the old TOS byte).
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] >> 2
    }

    /// Explicit congestion notification (lower two bits of the old TOS byte).
    #[inline]
    pub fn ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] & 0x03
    }

    /// Length of header plus payload in bytes.
    #[inline]
    pub fn total_len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::LENGTH)
    }

    #[inline]
    pub fn ident(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::IDENT)
    }

    #[inline]
    pub fn dont_frag(&self) -> bool {
        get_u16(self.buffer.as_ref(), field::FLG_OFF) & FLAG_DF != 0
    }

    #[inline]
    pub fn more_frags(&self) -> bool {
        get_u16(self.buffer.as_ref(), field::FLG_OFF) & FLAG_MF != 0
    }

    /// Fragment offset in bytes (the wire field counts 8-byte units).
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        (get_u16(self.buffer.as_ref(), field::FLG_OFF) & OFFSET_MASK) << 3
    }

    /// Part of a fragmented datagram: only the first fragment carries L4 ports.
    #[inline]
    pub fn is_fragment(&self) -> bool {
        self.more_frags() || self.frag_offset() != 0
    }

    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// The protocol field (see [`super::ipproto`]).
    #[inline]
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }

    /// Alias of [`Packet::next_header`] under the IPv4 name.
    #[inline]
    pub fn protocol(&self) -> u8 {
        self.next_header()
    }

    #[inline]
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        let d = &self.buffer.as_ref()[field::SRC_ADDR];
        Ipv4Addr::new(d[0], d[1], d[2], d[3])
    }

    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        let d = &self.buffer.as_ref()[field::DST_ADDR];
        Ipv4Addr::new(d[0], d[1], d[2], d[3])
    }

    /// The option bytes between the fixed header and `header_len`.
    pub fn options(&self) -> &[u8] {
        clamp(self.buffer.as_ref(), HEADER_LEN, self.header_len())
    }

    /// The bytes from `header_len` to `total_len`.
    pub fn payload(&self) -> &[u8] {
        clamp(
            self.buffer.as_ref(),
            self.header_len(),
            usize::from(self.total_len()),
        )
    }

    /// The header checksum is correct (options included).
    pub fn verify_checksum(&self) -> bool {
        let header = clamp(self.buffer.as_ref(), 0, self.header_len());
        checksum::fold(checksum::sum(header)) == 0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload with the lifetime of the underlying buffer rather than of the view.
    pub fn into_payload(self) -> &'a [u8] {
        let (start, end) = (self.header_len(), usize::from(self.total_len()));
        clamp(self.buffer.as_ref(), start, end)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_version(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0x0f) | (value << 4);
    }

    /// Set IHL from a length in bytes; it is rounded down to a multiple of 4, max 60.
    pub fn set_header_len(&mut self, len: usize) {
        let ihl = (len / 4).min(15) as u8;
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0xf0) | ihl;
    }

    pub fn set_dscp(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0x03) | (value << 2);
    }

    pub fn set_ecn(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0xfc) | (value & 0x03);
    }

    pub fn set_total_len(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::LENGTH, value);
    }

    pub fn set_ident(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::IDENT, value);
    }

    fn set_flag(&mut self, flag: u16, on: bool) {
        let raw = get_u16(self.buffer.as_ref(), field::FLG_OFF);
        let raw = if on { raw | flag } else { raw & !flag };
        set_u16(self.buffer.as_mut(), field::FLG_OFF, raw);
    }

    pub fn set_dont_frag(&mut self, value: bool) {
        self.set_flag(FLAG_DF, value);
    }

    pub fn set_more_frags(&mut self, value: bool) {
        self.set_flag(FLAG_MF, value);
    }

    /// Set the fragment offset from a byte count (rounded down to 8 bytes).
    pub fn set_frag_offset(&mut self, bytes: u16) {
        let raw = get_u16(self.buffer.as_ref(), field::FLG_OFF) & !OFFSET_MASK;
        set_u16(self.buffer.as_mut(), field::FLG_OFF, raw | (bytes >> 3));
    }

    pub fn set_ttl(&mut self, value: u8) {
        self.buffer.as_mut()[field::TTL] = value;
    }

    pub fn set_next_header(&mut self, value: u8) {
        self.buffer.as_mut()[field::PROTOCOL] = value;
    }

    /// Alias of [`Packet::set_next_header`] under the IPv4 name.
    pub fn set_protocol(&mut self, value: u8) {
        self.set_next_header(value);
    }

    pub fn set_checksum(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// Recompute the header checksum from scratch (after any field change).
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let header = clamp(self.buffer.as_ref(), 0, self.header_len());
        let value = checksum::fold(checksum::sum(header));
        self.set_checksum(value);
    }

    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        clamp_mut(self.buffer.as_mut(), HEADER_LEN, end)
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (start, end) = (self.header_len(), usize::from(self.total_len()));
        clamp_mut(self.buffer.as_mut(), start, end)
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// An IPv4 header without options, as plain values, for building packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    pub src_addr: Ipv4Addr,
    pub dst_addr: Ipv4Addr,
    /// Protocol of the payload (see [`super::ipproto`]).
    pub next_header: u8,
    /// Payload length in bytes (total length minus header length).
    pub payload_len: usize,
    pub ttl: u8,
}

impl Repr {
    /// Read the header. Options, DSCP, identification and fragmentation are not represented
    /// and the checksum is not verified (call [`Packet::verify_checksum`] when no NIC did).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Self> {
        packet.check_len()?;
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
            ttl: packet.ttl(),
        })
    }

    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Write a 20-byte header with a valid checksum: DSCP/ECN 0, identification 0 and DF set
    /// (RFC 6864: an atomic datagram may use any identification). The buffer must hold at least
    /// [`HEADER_LEN`] bytes; a payload length over 65515 saturates the total length.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let total = u16::try_from(HEADER_LEN + self.payload_len).unwrap_or(u16::MAX);
        packet.set_version(4);
        packet.set_header_len(HEADER_LEN);
        packet.set_dscp(0);
        packet.set_ecn(0);
        packet.set_total_len(total);
        packet.set_ident(0);
        set_u16(packet.buffer.as_mut(), field::FLG_OFF, FLAG_DF);
        packet.set_ttl(self.ttl);
        packet.set_next_header(self.next_header);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{eth, ipproto};
    use proptest::prelude::*;

    // 192.168.0.1 -> 192.168.0.199, UDP, TTL 64, DSCP EF + ECT(1), total length 24 (four
    // payload bytes) followed by one byte of link padding; checksum left zero.
    static PACKET: [u8; 25] = [
        0x45, 0xb9, 0x00, 0x18, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00,
        0x01, 0xc0, 0xa8, 0x00, 0xc7, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
    ];

    fn with_checksum() -> [u8; 25] {
        let mut buf = PACKET;
        Packet::new_unchecked(&mut buf[..]).fill_checksum();
        buf
    }

    #[test]
    fn deconstruct() {
        let buf = with_checksum();
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!((p.dscp(), p.ecn()), (0x2e, 1));
        assert_eq!(p.total_len(), 24);
        assert_eq!(p.ident(), 0x1234);
        assert!(p.dont_frag() && !p.more_frags() && !p.is_fragment());
        assert_eq!(p.frag_offset(), 0);
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.next_header(), ipproto::UDP);
        assert_eq!(p.protocol(), ipproto::UDP);
        assert_eq!(p.src_addr(), Ipv4Addr::new(192, 168, 0, 1));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(192, 168, 0, 199));
        assert_eq!(p.options(), &[] as &[u8]);
        assert_eq!(p.payload(), &[0xaa, 0xbb, 0xcc, 0xdd]);
        assert!(p.verify_checksum());
        assert_eq!(p.into_payload(), &[0xaa, 0xbb, 0xcc, 0xdd]);
    }

    #[test]
    fn checksum_detects_change() {
        let mut buf = with_checksum();
        assert_eq!(&buf[10..12], &[0xa5, 0xcf]);
        buf[8] = 63;
        assert!(!Packet::new_checked(&buf[..]).unwrap().verify_checksum());
    }

    #[test]
    fn known_checksum() {
        // The classic worked example: 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7.
        let mut hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        let mut p = Packet::new_unchecked(&mut hdr[..]);
        p.fill_checksum();
        assert_eq!(p.checksum(), 0xb861);
        assert!(p.verify_checksum());
    }

    #[test]
    fn options_and_fragments() {
        let mut buf = [0u8; 28];
        buf[0] = 0x46; // IHL 6: four option bytes
        buf[2..4].copy_from_slice(&28u16.to_be_bytes());
        buf[6..8].copy_from_slice(&(FLAG_MF | 185).to_be_bytes());
        buf[20..24].copy_from_slice(&[0x01, 0x01, 0x01, 0x00]); // NOP NOP NOP EOL
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.options(), &[1, 1, 1, 0]);
        assert_eq!(p.payload().len(), 4);
        assert!(p.more_frags() && !p.dont_frag() && p.is_fragment());
        assert_eq!(p.frag_offset(), 1480);
    }

    #[test]
    fn setters() {
        let mut buf = [0u8; 24];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_version(4);
        p.set_header_len(20);
        p.set_dscp(46);
        p.set_ecn(2);
        p.set_total_len(24);
        p.set_ident(7);
        p.set_dont_frag(true);
        p.set_more_frags(true);
        p.set_frag_offset(16);
        p.set_more_frags(false);
        p.set_ttl(3);
        p.set_protocol(ipproto::TCP);
        p.set_src_addr(Ipv4Addr::new(1, 2, 3, 4));
        p.set_dst_addr(Ipv4Addr::new(5, 6, 7, 8));
        p.payload_mut().copy_from_slice(&[9, 9, 9, 9]);
        p.fill_checksum();
        assert_eq!(
            &buf[..20],
            &[0x45, 0xba, 0, 24, 0, 7, 0x40, 2, 3, 6, 0x67, 0x0a, 1, 2, 3, 4, 5, 6, 7, 8]
        );
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!((p.dscp(), p.ecn(), p.frag_offset()), (46, 2, 16));
    }

    #[test]
    fn setters_that_break_lengths_do_not_panic() {
        let mut buf = with_checksum();
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.set_total_len(9000);
        assert_eq!(p.payload().len(), 5);
        p.set_header_len(60);
        assert_eq!(p.options().len(), 5);
        assert_eq!(p.payload_mut().len(), 0);
        assert_eq!(p.options_mut().len(), 5);
        let _ = p.verify_checksum();
        p.fill_checksum();
        p.set_total_len(2);
        assert!(p.payload().is_empty());
    }

    #[test]
    fn check_order_and_errors() {
        let good = with_checksum();
        assert_eq!(Packet::new_checked(&good[..19]), Err(Error::Truncated));
        assert_eq!(Packet::new_checked(&good[..23]), Err(Error::Truncated)); // < total_len
        let mut b = good;
        b[0] = 0x65;
        assert_eq!(Packet::new_checked(&b[..]), Err(Error::Malformed)); // version 6
        let mut b = good;
        b[0] = 0x44;
        assert_eq!(Packet::new_checked(&b[..]), Err(Error::Malformed)); // IHL 4
        let mut b = good;
        b[0] = 0x47;
        assert_eq!(Packet::new_checked(&b[..]), Err(Error::Truncated)); // IHL 7 > 25 bytes
        let mut b = good;
        b[3] = 19;
        assert_eq!(Packet::new_checked(&b[..]), Err(Error::Malformed)); // total < header
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&b[..])),
            Err(Error::Malformed)
        );
    }

    #[test]
    fn emit_matches_etherparse() {
        let repr = Repr {
            src_addr: Ipv4Addr::new(10, 1, 2, 3),
            dst_addr: Ipv4Addr::new(172, 16, 0, 9),
            next_header: ipproto::UDP,
            payload_len: 30,
            ttl: 17,
        };
        let mut ep =
            etherparse::Ipv4Header::new(30, 17, 17.into(), [10, 1, 2, 3], [172, 16, 0, 9]).unwrap();
        ep.header_checksum = ep.calc_header_checksum();
        let mut buf = [0xffu8; 50];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..20], &ep.to_bytes()[..]);
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(Repr::parse(&p), Ok(repr));
        assert_eq!((repr.header_len(), repr.buffer_len()), (20, 50));
    }

    #[test]
    fn parse_matches_etherparse_frame() {
        let builder = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([192, 0, 2, 1], [198, 51, 100, 7], 5)
            .tcp(1234, 80, 1000, 512);
        let mut frame = Vec::new();
        builder.write(&mut frame, b"GET /").unwrap();
        let f = eth::Frame::new_checked(&frame[..]).unwrap();
        let p = Packet::new_checked(f.payload()).unwrap();
        assert!(p.verify_checksum());
        assert_eq!(p.src_addr(), Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(198, 51, 100, 7));
        assert_eq!(p.ttl(), 5);
        assert_eq!(p.next_header(), ipproto::TCP);
        assert_eq!(p.payload().len(), 20 + 5);
        let sliced = etherparse::Ipv4HeaderSlice::from_slice(f.payload()).unwrap();
        assert_eq!(p.checksum(), sliced.header_checksum());
        assert_eq!(p.total_len(), sliced.total_len());
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(p) = Packet::new_checked(&data[..]) {
                let _ = (p.version(), p.dscp(), p.ecn(), p.ident(), p.dont_frag(), p.more_frags());
                let _ = (p.frag_offset(), p.ttl(), p.protocol(), p.checksum(), p.src_addr());
                let _ = (p.dst_addr(), p.options(), p.verify_checksum(), p.is_fragment());
                prop_assert_eq!(p.payload().len(), usize::from(p.total_len()) - p.header_len());
                prop_assert_eq!(p.options().len(), p.header_len() - HEADER_LEN);
                let r = Repr::parse(&p).unwrap();
                prop_assert_eq!(r.payload_len, p.payload().len());
            }
        }

        #[test]
        fn mostly_valid_never_panics(
            ihl in 0u8..16,
            total in 0u16..80,
            rest in proptest::collection::vec(any::<u8>(), 0..80),
        ) {
            let mut data = vec![0x40 | ihl, 0];
            data.extend_from_slice(&total.to_be_bytes());
            data.extend(rest);
            match Packet::new_checked(&data[..]) {
                Ok(p) => {
                    prop_assert!(p.header_len() >= 20 && usize::from(total) >= p.header_len());
                    prop_assert!(data.len() >= usize::from(total));
                    let _ = (p.payload(), p.options(), p.verify_checksum());
                }
                Err(Error::Malformed) => prop_assert!(ihl < 5 || usize::from(total) < usize::from(ihl) * 4),
                Err(Error::Truncated) => prop_assert!(
                    data.len() < 20 || data.len() < usize::from(ihl) * 4 || data.len() < usize::from(total)
                ),
            }
        }

        #[test]
        fn fill_then_verify(data in proptest::collection::vec(any::<u8>(), 20..80), ihl in 5u8..16) {
            let mut data = data;
            data[0] = 0x40 | ihl;
            let len = data.len() as u16;
            data[2..4].copy_from_slice(&len.to_be_bytes());
            if let Ok(mut p) = Packet::new_checked(&mut data[..]) {
                p.fill_checksum();
                prop_assert!(p.verify_checksum());
            }
        }
    }
}
