//! IEEE 802.1Q VLAN tag view.
//!
//! The view covers the four bytes that follow the outer EtherType (TPID `0x8100` or `0x88a8`):
//! the tag control information and the inner EtherType. Taking the TPID as the outer frame's
//! EtherType means [`super::eth::Frame::payload`] can be handed straight to [`Tag::new_checked`].

use super::{get_u16, set_u16, Error, Result};

/// Length of the tag as seen from after the TPID: TCI and inner EtherType.
pub const HEADER_LEN: usize = 4;

/// Largest usable VLAN id; 0 means "priority tag only" and 4095 is reserved.
pub const VID_MAX: u16 = 4094;

mod field {
    use crate::packet::Field;

    pub const TCI: Field = 0..2;
    pub const ETHERTYPE: Field = 2..4;
    pub const PAYLOAD: usize = 4;
}

const VID_MASK: u16 = 0x0fff;
const DEI_BIT: u16 = 0x1000;
const PCP_SHIFT: u16 = 13;

/// Build a TCI from a priority code point (3 bits) and a VLAN id (12 bits), DEI clear.
/// Out-of-range bits are masked off rather than spilling into neighbouring fields.
pub const fn tci(pcp: u8, vid: u16) -> u16 {
    (((pcp & 0x7) as u16) << PCP_SHIFT) | (vid & VID_MASK)
}

/// A read/write view of an 802.1Q tag (TCI + inner EtherType) and what follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Tag<T> {
    /// Wrap a buffer without checking it; getters panic if it is shorter than [`HEADER_LEN`].
    pub const fn new_unchecked(buffer: T) -> Self {
        Tag { buffer }
    }

    /// Wrap a buffer after checking it holds a whole tag.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let tag = Self::new_unchecked(buffer);
        tag.check_len()?;
        Ok(tag)
    }

    /// `Err(Truncated)` unless the buffer holds a whole tag.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The raw tag control information: PCP (3 bits), DEI (1 bit), VID (12 bits).
    pub fn tci(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::TCI)
    }

    /// Priority code point (802.1p class of service).
    pub fn pcp(&self) -> u8 {
        (self.tci() >> PCP_SHIFT) as u8
    }

    /// Drop eligible indicator.
    pub fn dei(&self) -> bool {
        self.tci() & DEI_BIT != 0
    }

    pub fn vid(&self) -> u16 {
        self.tci() & VID_MASK
    }

    /// EtherType of what the tag carries (another TPID for stacked tags).
    pub fn ethertype(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::ETHERTYPE)
    }

    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Tag<&'a T> {
    /// The payload with the lifetime of the underlying buffer rather than of the view.
    pub fn into_payload(self) -> &'a [u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Tag<T> {
    pub fn set_tci(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::TCI, value);
    }

    /// Set the VLAN id, keeping PCP and DEI; bits above 12 are ignored.
    pub fn set_vid(&mut self, vid: u16) {
        self.set_tci((self.tci() & !VID_MASK) | (vid & VID_MASK));
    }

    /// Set the priority, keeping DEI and VID; bits above 3 are ignored.
    pub fn set_pcp(&mut self, pcp: u8) {
        let keep = self.tci() & (DEI_BIT | VID_MASK);
        self.set_tci(keep | (u16::from(pcp & 0x7) << PCP_SHIFT));
    }

    pub fn set_dei(&mut self, dei: bool) {
        let keep = self.tci() & !DEI_BIT;
        self.set_tci(if dei { keep | DEI_BIT } else { keep });
    }

    pub fn set_ethertype(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::ETHERTYPE, value);
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Tag<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A VLAN tag as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    pub pcp: u8,
    pub dei: bool,
    pub vid: u16,
    /// Inner EtherType.
    pub ethertype: u16,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(tag: &Tag<T>) -> Result<Self> {
        tag.check_len()?;
        Ok(Repr {
            pcp: tag.pcp(),
            dei: tag.dei(),
            vid: tag.vid(),
            ethertype: tag.ethertype(),
        })
    }

    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write the tag; the buffer must hold at least [`HEADER_LEN`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, tag: &mut Tag<T>) {
        let dei = if self.dei { DEI_BIT } else { 0 };
        tag.set_tci(tci(self.pcp, self.vid) | dei);
        tag.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{eth, ethertype};
    use proptest::prelude::*;

    // PCP 5, DEI 1, VID 0x123, inner IPv4, then one payload byte.
    static TAG: [u8; 5] = [0xb1, 0x23, 0x08, 0x00, 0x45];

    #[test]
    fn deconstruct() {
        let t = Tag::new_checked(&TAG[..]).unwrap();
        assert_eq!(t.tci(), 0xb123);
        assert_eq!(t.pcp(), 5);
        assert!(t.dei());
        assert_eq!(t.vid(), 0x123);
        assert_eq!(t.ethertype(), ethertype::IPV4);
        assert_eq!(t.payload(), &[0x45]);
        assert_eq!(
            Repr::parse(&t).unwrap(),
            Repr {
                pcp: 5,
                dei: true,
                vid: 0x123,
                ethertype: ethertype::IPV4
            }
        );
    }

    #[test]
    fn setters_touch_only_their_bits() {
        let mut buf = TAG;
        let mut t = Tag::new_unchecked(&mut buf[..]);
        t.set_vid(0xfff7);
        assert_eq!((t.pcp(), t.dei(), t.vid()), (5, true, 0xff7));
        t.set_pcp(0xfa);
        assert_eq!((t.pcp(), t.dei(), t.vid()), (2, true, 0xff7));
        t.set_dei(false);
        assert_eq!((t.pcp(), t.dei(), t.vid()), (2, false, 0xff7));
        t.set_ethertype(ethertype::IPV6);
        t.payload_mut()[0] = 0x60;
        assert_eq!(buf, [0x4f, 0xf7, 0x86, 0xdd, 0x60]);
    }

    #[test]
    fn tci_masks() {
        assert_eq!(tci(7, 4095), 0xefff);
        assert_eq!(tci(0xff, 0xffff), 0xefff);
        assert_eq!(tci(1, 100), 0x2064);
    }

    #[test]
    fn emit_round_trip() {
        let r = Repr {
            pcp: 3,
            dei: false,
            vid: 42,
            ethertype: ethertype::ARP,
        };
        let mut buf = [0u8; 4];
        r.emit(&mut Tag::new_unchecked(&mut buf[..]));
        assert_eq!(buf, [0x60, 0x2a, 0x08, 0x06]);
        assert_eq!(Repr::parse(&Tag::new_checked(&buf[..]).unwrap()), Ok(r));
    }

    #[test]
    fn truncated() {
        assert_eq!(Tag::new_checked(&TAG[..3]), Err(Error::Truncated));
    }

    #[test]
    fn matches_etherparse() {
        let vid = etherparse::VlanId::try_new(3001).unwrap();
        let builder =
            etherparse::PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12])
                .single_vlan(vid)
                .ipv6([1; 16], [2; 16], 64)
                .udp(1, 2);
        let mut buf = Vec::new();
        builder.write(&mut buf, &[9, 9]).unwrap();
        let f = eth::Frame::new_checked(&buf[..]).unwrap();
        assert_eq!(f.ethertype(), ethertype::VLAN);
        let t = Tag::new_checked(f.payload()).unwrap();
        assert_eq!(t.vid(), 3001);
        assert_eq!(t.pcp(), 0);
        assert_eq!(t.ethertype(), ethertype::IPV6);
        assert_eq!(t.payload().len(), 40 + 8 + 2);
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..16)) {
            match Tag::new_checked(&data[..]) {
                Ok(t) => {
                    let r = Repr::parse(&t).unwrap();
                    prop_assert_eq!(tci(r.pcp, r.vid) | if r.dei { DEI_BIT } else { 0 }, t.tci());
                    let _ = t.payload();
                }
                Err(e) => prop_assert_eq!((e, data.len() < HEADER_LEN), (Error::Truncated, true)),
            }
        }

        #[test]
        fn tci_round_trip(pcp in 0u8..8, vid in 0u16..4096, dei in any::<bool>()) {
            let r = Repr { pcp, dei, vid, ethertype: 0x0800 };
            let mut buf = [0u8; 4];
            r.emit(&mut Tag::new_unchecked(&mut buf[..]));
            prop_assert_eq!(Repr::parse(&Tag::new_unchecked(&buf[..])), Ok(r));
        }
    }
}
