//! VXLAN header view (RFC 7348): 8 bytes between the outer UDP header and the inner frame.

use super::{get_u32, set_u32, Error, Result};

/// Length of the VXLAN header.
pub const HEADER_LEN: usize = 8;

/// IANA-assigned UDP destination port for VXLAN.
pub const DEFAULT_UDP_PORT: u16 = 4789;

/// The "I" flag: the VNI field is valid. RFC 7348 requires it set.
pub const FLAG_I: u8 = 0x08;

/// Largest VNI (24 bits).
pub const VNI_MAX: u32 = 0x00ff_ffff;

mod field {
    use crate::packet::Field;

    pub const FLAGS: usize = 0;
    pub const FLAGS_WORD: Field = 0..4;
    pub const VNI_WORD: Field = 4..8;
    pub const PAYLOAD: usize = 8;
}

/// A read/write view of a VXLAN header and the inner Ethernet frame after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking it; getters panic if it is shorter than [`HEADER_LEN`].
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wrap a buffer after checking it holds a header with the I flag set.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        if packet.flags() & FLAG_I == 0 {
            return Err(Error::Malformed);
        }
        Ok(packet)
    }

    /// `Err(Truncated)` unless the buffer holds the 8-byte header.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The flags byte (only [`FLAG_I`] is defined; receivers ignore the rest).
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// The 24-bit VXLAN network identifier.
    pub fn vni(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::VNI_WORD) >> 8
    }

    /// The inner Ethernet frame.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The inner frame with the lifetime of the underlying buffer rather than of the view.
    pub fn into_payload(self) -> &'a [u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_flags(&mut self, value: u8) {
        self.buffer.as_mut()[field::FLAGS] = value;
    }

    /// Set the VNI; bits above 24 are ignored and the reserved byte after it is kept.
    pub fn set_vni(&mut self, vni: u32) {
        let reserved = get_u32(self.buffer.as_ref(), field::VNI_WORD) & 0xff;
        set_u32(
            self.buffer.as_mut(),
            field::VNI_WORD,
            ((vni & VNI_MAX) << 8) | reserved,
        );
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A VXLAN header as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    pub vni: u32,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Self> {
        packet.check_len()?;
        if packet.flags() & FLAG_I == 0 {
            return Err(Error::Malformed);
        }
        Ok(Repr { vni: packet.vni() })
    }

    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write the header: I flag set, reserved fields zero as RFC 7348 requires of senders.
    /// The buffer must hold at least [`HEADER_LEN`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let data = packet.buffer.as_mut();
        set_u32(data, field::FLAGS_WORD, u32::from(FLAG_I) << 24);
        set_u32(data, field::VNI_WORD, (self.vni & VNI_MAX) << 8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{eth, ethertype, ipv4, udp, MacAddr};
    use proptest::prelude::*;

    // I flag, VNI 0x123456, then two bytes of inner frame.
    static HEADER: [u8; 10] = [0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0, 0xaa, 0xbb];

    #[test]
    fn deconstruct() {
        let p = Packet::new_checked(&HEADER[..]).unwrap();
        assert_eq!(p.flags(), FLAG_I);
        assert_eq!(p.vni(), 0x12_3456);
        assert_eq!(p.payload(), &[0xaa, 0xbb]);
        assert_eq!(Repr::parse(&p), Ok(Repr { vni: 0x12_3456 }));
        assert_eq!(p.into_payload(), &[0xaa, 0xbb]);
    }

    #[test]
    fn construct_and_emit() {
        let mut buf = [0xffu8; 10];
        Repr { vni: 0xff12_3456 }.emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..8], &HEADER[..8]);
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_vni(1);
        p.set_flags(FLAG_I | 0x80);
        p.payload_mut()[0] = 0;
        assert_eq!(buf, [0x88, 0, 0, 0, 0, 0, 1, 0, 0, 0xff]);
        assert_eq!(Repr { vni: 0 }.header_len(), 8);
    }

    #[test]
    fn set_vni_keeps_reserved_byte() {
        let mut buf = [0x08, 0, 0, 0, 0, 0, 0, 0x5a];
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.set_vni(VNI_MAX);
        assert_eq!(p.vni(), VNI_MAX);
        assert_eq!(buf[7], 0x5a);
    }

    #[test]
    fn errors() {
        assert_eq!(Packet::new_checked(&HEADER[..7]), Err(Error::Truncated));
        let mut b = HEADER;
        b[0] = 0;
        assert_eq!(Packet::new_checked(&b[..]), Err(Error::Malformed));
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&b[..])),
            Err(Error::Malformed)
        );
    }

    #[test]
    fn full_encapsulation_matches_etherparse() {
        let inner = etherparse::PacketBuilder::ethernet2([0xa; 6], [0xb; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .icmpv4_echo_request(1, 1);
        let mut inner_frame = Vec::new();
        inner.write(&mut inner_frame, b"x").unwrap();
        let mut vxlan = vec![0u8; HEADER_LEN];
        Repr { vni: 5001 }.emit(&mut Packet::new_unchecked(&mut vxlan[..]));
        vxlan.extend_from_slice(&inner_frame);
        let outer = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
            .udp(49152, DEFAULT_UDP_PORT);
        let mut frame = Vec::new();
        outer.write(&mut frame, &vxlan).unwrap();

        let f = eth::Frame::new_checked(&frame[..]).unwrap();
        let ip = ipv4::Packet::new_checked(f.payload()).unwrap();
        let u = udp::Packet::new_checked(ip.payload()).unwrap();
        assert_eq!(u.dst_port(), DEFAULT_UDP_PORT);
        let v = Packet::new_checked(u.payload()).unwrap();
        assert_eq!(v.vni(), 5001);
        let inner = eth::Frame::new_checked(v.payload()).unwrap();
        assert_eq!(inner.src_addr(), MacAddr([0xa; 6]));
        assert_eq!(inner.ethertype(), ethertype::IPV4);
        assert_eq!(v.payload(), &inner_frame[..]);
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..24)) {
            match Packet::new_checked(&data[..]) {
                Ok(p) => {
                    prop_assert!(p.vni() <= VNI_MAX);
                    prop_assert_eq!(p.payload().len(), data.len() - HEADER_LEN);
                    prop_assert_eq!(Repr::parse(&p), Ok(Repr { vni: p.vni() }));
                }
                Err(Error::Truncated) => prop_assert!(data.len() < HEADER_LEN),
                Err(Error::Malformed) => prop_assert_eq!(data[0] & FLAG_I, 0),
            }
        }

        #[test]
        fn vni_round_trip(vni in 0u32..=VNI_MAX) {
            let mut buf = [0u8; HEADER_LEN];
            Repr { vni }.emit(&mut Packet::new_unchecked(&mut buf[..]));
            prop_assert_eq!(Repr::parse(&Packet::new_checked(&buf[..]).unwrap()), Ok(Repr { vni }));
        }
    }
}
