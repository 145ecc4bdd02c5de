//! An IP prefix (CIDR): parsing, containment, and its bits as the LPM tables key them.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An IPv4 or IPv6 prefix with its host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

/// The bits of an address, right-aligned in a `u128` (IPv4 in the low 32).
#[inline]
pub fn bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Address width in bits.
pub const fn width(ip: &IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// The mask of a `len`-bit prefix of a `width`-bit address, right-aligned.
#[inline]
pub fn mask(width: u8, len: u8) -> u128 {
    let all = if width == 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    };
    match u32::from(width - len.min(width)) {
        128 => 0,
        host => all & !((1u128 << host) - 1),
    }
}

fn from_bits(v4: bool, b: u128) -> IpAddr {
    if v4 {
        IpAddr::from((b as u32).to_be_bytes())
    } else {
        IpAddr::from(b.to_be_bytes())
    }
}

impl Prefix {
    /// The prefix of `addr` of length `len` (host bits cleared); `None` when `len` is too long.
    pub fn new(addr: IpAddr, len: u8) -> Option<Prefix> {
        let w = width(&addr);
        (len <= w).then(|| Prefix {
            addr: from_bits(addr.is_ipv4(), bits(addr) & mask(w, len)),
            len,
        })
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// True for the default route (length 0).
    pub fn is_default(&self) -> bool {
        self.len == 0
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.is_ipv4() && bits(ip) & mask(width(&ip), self.len) == bits(self.addr)
    }

    /// True when the two prefixes share any address.
    pub fn overlaps(&self, other: &Prefix) -> bool {
        self.contains(other.addr) || other.contains(self.addr)
    }
}

impl FromStr for Prefix {
    type Err = ();

    /// `ADDR/LEN`; host bits may be set (`192.0.2.1/24` is `192.0.2.0/24`).
    fn from_str(s: &str) -> Result<Prefix, ()> {
        let (addr, len) = s.split_once('/').ok_or(())?;
        let addr: IpAddr = addr.parse().map_err(|_| ())?;
        let len: u8 = len.parse().map_err(|_| ())?;
        Prefix::new(addr, len).ok_or(())
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn parses_clears_host_bits_and_prints() {
        assert_eq!(p("198.51.100.7/24").to_string(), "198.51.100.0/24");
        assert_eq!(p("2001:db8::1/32").to_string(), "2001:db8::/32");
        assert_eq!(p("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(p("203.0.113.9/32").to_string(), "203.0.113.9/32");
        for bad in [
            "198.51.100.0",
            "198.51.100.0/33",
            "2001:db8::/129",
            "x/1",
            "1.2.3.4/-1",
        ] {
            assert!(bad.parse::<Prefix>().is_err(), "{bad}");
        }
    }

    #[test]
    fn contains_and_overlaps() {
        let net = p("198.51.100.0/24");
        assert!(net.contains("198.51.100.255".parse().unwrap()));
        assert!(!net.contains("198.51.101.1".parse().unwrap()));
        assert!(!net.contains("::ffff:198.51.100.1".parse().unwrap()));
        assert!(p("0.0.0.0/0").contains("203.0.113.1".parse().unwrap()));
        assert!(p("2001:db8::/64").contains("2001:db8::5".parse().unwrap()));
        assert!(net.overlaps(&p("198.51.100.128/25")));
        assert!(p("198.51.0.0/16").overlaps(&net));
        assert!(!net.overlaps(&p("203.0.113.0/24")));
    }
}
