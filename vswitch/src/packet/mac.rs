//! Ethernet MAC addresses.

use core::fmt;
use core::str::FromStr;

/// A 48-bit IEEE 802 MAC address, stored in wire order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// `ff:ff:ff:ff:ff:ff`, the address every station on the segment receives.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// `00:00:00:00:00:00`, never a valid source; used as "unset".
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// The first six bytes of `data`, or `None` when there are fewer.
    pub fn from_bytes(data: &[u8]) -> Option<Self> {
        match data {
            [a, b, c, d, e, f, ..] => Some(MacAddr([*a, *b, *c, *d, *e, *f])),
            _ => None,
        }
    }

    /// The address bytes in wire order.
    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }

    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// The group bit (least significant bit of the first octet) is set; includes broadcast.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Neither multicast nor broadcast: the only kind of address an FDB may learn.
    pub fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// The locally-administered bit is set (addresses we may invent, e.g. gateway MACs).
    pub fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    pub fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }

    /// The address as a 48-bit big-endian integer, handy as a compact hash key.
    pub fn to_u64(&self) -> u64 {
        let [a, b, c, d, e, f] = self.0;
        u64::from_be_bytes([0, 0, a, b, c, d, e, f])
    }

    /// Inverse of [`MacAddr::to_u64`]; bits above 48 are ignored.
    pub fn from_u64(value: u64) -> Self {
        let [_, _, a, b, c, d, e, f] = value.to_be_bytes();
        MacAddr([a, b, c, d, e, f])
    }
}

impl From<[u8; 6]> for MacAddr {
    fn from(bytes: [u8; 6]) -> Self {
        MacAddr(bytes)
    }
}

impl From<MacAddr> for [u8; 6] {
    fn from(mac: MacAddr) -> Self {
        mac.0
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// As its text form (state files).
impl serde::Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for MacAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A string that is not six hex pairs separated by `:` or `-`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid MAC address {0:?}: expected six hex byte pairs such as aa:bb:cc:dd:ee:ff")]
pub struct ParseMacError(pub String);

impl FromStr for MacAddr {
    type Err = ParseMacError;

    /// Accepts `aa:bb:cc:dd:ee:ff` or `aa-bb-cc-dd-ee-ff`, any case, one separator style.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseMacError(s.to_owned());
        let bytes = s.as_bytes();
        if bytes.len() != 17 {
            return Err(err());
        }
        let sep = bytes[2];
        if sep != b':' && sep != b'-' {
            return Err(err());
        }
        let mut out = [0u8; 6];
        for (i, byte) in out.iter_mut().enumerate() {
            let at = i * 3;
            if i > 0 && bytes[at - 1] != sep {
                return Err(err());
            }
            let hi = hex_digit(bytes[at]).ok_or_else(err)?;
            let lo = hex_digit(bytes[at + 1]).ok_or_else(err)?;
            *byte = (hi << 4) | lo;
        }
        Ok(MacAddr(out))
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAC: MacAddr = MacAddr([0x02, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e]);

    #[test]
    fn display_and_debug_are_lowercase_colon_separated() {
        assert_eq!(MAC.to_string(), "02:1a:2b:3c:4d:5e");
        assert_eq!(format!("{MAC:?}"), "02:1a:2b:3c:4d:5e");
        assert_eq!(MacAddr::BROADCAST.to_string(), "ff:ff:ff:ff:ff:ff");
    }

    #[test]
    fn parses_colons_dashes_and_any_case() {
        assert_eq!("02:1a:2b:3c:4d:5e".parse::<MacAddr>(), Ok(MAC));
        assert_eq!("02-1A-2B-3C-4D-5E".parse::<MacAddr>(), Ok(MAC));
        assert_eq!("02:1A:2b:3C:4d:5E".parse::<MacAddr>(), Ok(MAC));
    }

    #[test]
    fn rejects_bad_text_and_names_it() {
        for bad in [
            "",
            "02:1a:2b:3c:4d",
            "02:1a:2b:3c:4d:5e:6f",
            "02:1a:2b-3c:4d:5e",
            "02:1a:2b:3c:4d:5g",
            "021a2b3c4d5e",
            "2:1a:2b:3c:4d:5e0",
            "02.1a.2b.3c.4d.5e",
            "02:1a:2b:3c:4d:é",
        ] {
            let err = bad.parse::<MacAddr>().unwrap_err();
            assert_eq!(err, ParseMacError(bad.to_owned()));
            assert!(err.to_string().contains(&format!("{bad:?}")));
        }
    }

    #[test]
    fn classification() {
        assert!(MacAddr::BROADCAST.is_broadcast());
        assert!(MacAddr::BROADCAST.is_multicast());
        assert!(!MacAddr::BROADCAST.is_unicast());
        let mcast = MacAddr([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]);
        assert!(mcast.is_multicast() && !mcast.is_broadcast() && !mcast.is_unicast());
        assert!(MAC.is_unicast() && !MAC.is_multicast() && MAC.is_local());
        assert!(MacAddr::default().is_zero() && MacAddr::ZERO.is_zero());
        assert!(!MAC.is_zero());
    }

    #[test]
    fn from_bytes_needs_six() {
        assert_eq!(MacAddr::from_bytes(&[1, 2, 3, 4, 5]), None);
        assert_eq!(
            MacAddr::from_bytes(&[1, 2, 3, 4, 5, 6, 7]),
            Some(MacAddr([1, 2, 3, 4, 5, 6]))
        );
    }

    #[test]
    fn u64_round_trip_is_big_endian() {
        assert_eq!(MAC.to_u64(), 0x021a_2b3c_4d5e);
        assert_eq!(MacAddr::from_u64(0xffff_021a_2b3c_4d5e), MAC);
        assert_eq!(MacAddr::BROADCAST.to_u64(), 0xffff_ffff_ffff);
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(bytes in any::<[u8; 6]>()) {
            let mac = MacAddr(bytes);
            prop_assert_eq!(mac.to_string().parse::<MacAddr>(), Ok(mac));
            prop_assert_eq!(MacAddr::from_u64(mac.to_u64()), mac);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,20}") {
            let _ = s.parse::<MacAddr>();
        }

        #[test]
        fn near_miss_text_parses_only_when_well_formed(s in "[0-9a-fA-FgG:\\-é]{15,18}") {
            let ok = s.len() == 17
                && s.bytes().enumerate().all(|(i, c)| {
                    if i % 3 == 2 { c == s.as_bytes()[2] && (c == b':' || c == b'-') } else { c.is_ascii_hexdigit() }
                });
            prop_assert_eq!(s.parse::<MacAddr>().is_ok(), ok, "{}", s);
        }

        #[test]
        fn u64_order_matches_byte_order(a in any::<[u8; 6]>(), b in any::<[u8; 6]>()) {
            prop_assert_eq!(MacAddr(a).cmp(&MacAddr(b)), MacAddr(a).to_u64().cmp(&MacAddr(b).to_u64()));
        }
    }
}
