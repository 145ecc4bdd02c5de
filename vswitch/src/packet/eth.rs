//! Ethernet II frame header view.

use super::{get_u16, set_u16, Error, MacAddr, Result};

/// Length of the Ethernet II header: destination, source, ethertype.
pub const HEADER_LEN: usize = 14;

mod field {
    use crate::packet::Field;

    pub const DST: Field = 0..6;
    pub const SRC: Field = 6..12;
    pub const ETHERTYPE: Field = 12..14;
    pub const PAYLOAD: usize = 14;
}

/// A read/write view of an Ethernet II frame (no FCS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wrap a buffer without checking it; getters panic if it is shorter than [`HEADER_LEN`].
    pub const fn new_unchecked(buffer: T) -> Self {
        Frame { buffer }
    }

    /// Wrap a buffer after checking it holds a whole header.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// `Err(Truncated)` unless the buffer holds a whole header.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Buffer length needed for a frame carrying `payload_len` bytes.
    pub const fn buffer_len(payload_len: usize) -> usize {
        HEADER_LEN + payload_len
    }

    pub fn dst_addr(&self) -> MacAddr {
        let d = &self.buffer.as_ref()[field::DST];
        MacAddr([d[0], d[1], d[2], d[3], d[4], d[5]])
    }

    pub fn src_addr(&self) -> MacAddr {
        let d = &self.buffer.as_ref()[field::SRC];
        MacAddr([d[0], d[1], d[2], d[3], d[4], d[5]])
    }

    /// The EtherType, or 802.1Q TPID when the frame is tagged (see [`super::vlan`]).
    pub fn ethertype(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::ETHERTYPE)
    }

    /// Everything after the header, including any padding up to the minimum frame size.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Frame<&'a T> {
    /// The payload with the lifetime of the underlying buffer rather than of the view.
    pub fn into_payload(self) -> &'a [u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    pub fn set_dst_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&addr.0);
    }

    pub fn set_src_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&addr.0);
    }

    pub fn set_ethertype(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::ETHERTYPE, value);
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Frame<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// Writes the Ethernet addresses of a frame the switch sends.
#[inline]
pub fn set_macs(frame: &mut [u8], dst: MacAddr, src: MacAddr) {
    if frame.len() >= HEADER_LEN {
        frame[0..6].copy_from_slice(&dst.0);
        frame[6..12].copy_from_slice(&src.0);
    }
}

/// The Ethernet header as plain values, for building frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    pub src: MacAddr,
    pub dst: MacAddr,
    pub ethertype: u16,
}

impl Repr {
    /// Read the header of a checked frame.
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Result<Self> {
        frame.check_len()?;
        Ok(Repr {
            src: frame.src_addr(),
            dst: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }

    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write the header; the frame's buffer must hold at least [`HEADER_LEN`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut Frame<T>) {
        frame.set_dst_addr(self.dst);
        frame.set_src_addr(self.src);
        frame.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::ethertype;
    use proptest::prelude::*;

    static FRAME: [u8; 18] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // dst
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // src
        0x08, 0x06, // ARP
        0xde, 0xad, 0xbe, 0xef,
    ];

    fn repr() -> Repr {
        Repr {
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            dst: MacAddr::BROADCAST,
            ethertype: ethertype::ARP,
        }
    }

    #[test]
    fn deconstruct() {
        let f = Frame::new_checked(&FRAME[..]).unwrap();
        assert_eq!(f.dst_addr(), MacAddr::BROADCAST);
        assert_eq!(f.src_addr(), MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(f.ethertype(), ethertype::ARP);
        assert_eq!(f.payload(), &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(f.into_payload(), &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(Repr::parse(&f).unwrap(), repr());
    }

    #[test]
    fn construct() {
        let mut buf = [0u8; 18];
        let mut f = Frame::new_unchecked(&mut buf[..]);
        f.set_dst_addr(MacAddr::BROADCAST);
        f.set_src_addr(MacAddr([2, 0, 0, 0, 0, 1]));
        f.set_ethertype(ethertype::ARP);
        f.payload_mut().copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(buf, FRAME);
    }

    #[test]
    fn emit_matches_literal() {
        let mut buf = [0u8; 18];
        buf[14..].copy_from_slice(&FRAME[14..]);
        repr().emit(&mut Frame::new_unchecked(&mut buf[..]));
        assert_eq!(buf, FRAME);
        assert_eq!(repr().header_len(), HEADER_LEN);
        assert_eq!(Frame::<&[u8]>::buffer_len(4), 18);
    }

    #[test]
    fn truncated() {
        assert_eq!(Frame::new_checked(&FRAME[..13]), Err(Error::Truncated));
        assert_eq!(
            Frame::new_checked(&FRAME[..14]).unwrap().payload(),
            &[] as &[u8]
        );
        assert_eq!(
            Repr::parse(&Frame::new_unchecked(&FRAME[..3])),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn matches_etherparse() {
        let builder =
            etherparse::PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12])
                .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
                .udp(1000, 2000);
        let mut buf = Vec::new();
        builder.write(&mut buf, b"hi").unwrap();
        let f = Frame::new_checked(&buf[..]).unwrap();
        assert_eq!(f.src_addr(), MacAddr([1, 2, 3, 4, 5, 6]));
        assert_eq!(f.dst_addr(), MacAddr([7, 8, 9, 10, 11, 12]));
        assert_eq!(f.ethertype(), ethertype::IPV4);
        assert_eq!(f.payload().len(), 20 + 8 + 2);
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(f) = Frame::new_checked(&data[..]) {
                let _ = (f.dst_addr(), f.src_addr(), f.ethertype(), f.payload());
                let r = Repr::parse(&f).unwrap();
                let mut copy = data.clone();
                r.emit(&mut Frame::new_unchecked(&mut copy[..]));
                prop_assert_eq!(copy, data);
            } else {
                prop_assert!(data.len() < HEADER_LEN);
            }
        }
    }
}
