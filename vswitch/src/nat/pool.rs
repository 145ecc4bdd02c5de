//! What a SNAT rule hands out: a range of external IPv4 addresses, and of source ports.

use std::net::Ipv4Addr;

/// Source ports (and ICMP echo identifiers) handed out when a rule names none: above the
/// well-known ones.
pub const DEFAULT_PORTS: (u16, u16) = (1024, 65535);
/// Most addresses one rule may hold (each is answered by ARP on its external network).
pub const MAX_ADDRESSES: u32 = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    first: u32,
    last: u32,
    /// First and last port, inclusive.
    pub ports: (u16, u16),
}

impl Pool {
    /// `to` is `IP` or `FIRST-LAST`, `ports` `A-B`; the error says what is wrong with which.
    pub fn parse(to: &str, ports: Option<&str>) -> Result<Pool, String> {
        let ip = |s: &str| {
            s.trim()
                .parse::<Ipv4Addr>()
                .map(u32::from)
                .map_err(|_| format!("--to {to:?} is not an IPv4 address or FIRST-LAST range"))
        };
        let (first, last) = match to.split_once('-') {
            Some((a, b)) => (ip(a)?, ip(b)?),
            None => (ip(to)?, ip(to)?),
        };
        if first > last {
            return Err(format!(
                "--to {to} is inverted; give FIRST-LAST with FIRST <= LAST"
            ));
        }
        if last - first >= MAX_ADDRESSES {
            return Err(format!(
                "--to {to} holds more than {MAX_ADDRESSES} addresses"
            ));
        }
        let ports = match ports {
            None => DEFAULT_PORTS,
            Some(r) => parse_ports(r)?,
        };
        Ok(Pool { first, last, ports })
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        (self.first..=self.last).contains(&u32::from(ip))
    }

    pub fn overlaps(&self, other: &Pool) -> bool {
        self.first <= other.last && other.first <= self.last
    }

    pub fn addresses(&self) -> impl Iterator<Item = Ipv4Addr> {
        (self.first..=self.last).map(Ipv4Addr::from)
    }

    /// The address an inside host's connections leave from: always the same one for a host,
    /// so that a remote sees one peer.
    pub fn address_for(&self, inside: Ipv4Addr) -> Ipv4Addr {
        let n = self.last - self.first + 1;
        Ipv4Addr::from(self.first + u32::from(inside).wrapping_mul(0x9e37_79b1) % n)
    }
}

fn parse_ports(r: &str) -> Result<(u16, u16), String> {
    let bad = || format!("--port-range {r:?} is not A-B with 1 <= A <= B <= 65535");
    let (a, b) = r.split_once('-').ok_or_else(bad)?;
    let (a, b): (u16, u16) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if a == 0 {
        return Err(bad());
    }
    if a > b {
        return Err(format!(
            "--port-range {r} is inverted; give A-B with A <= B"
        ));
    }
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses_and_ports() {
        let p = Pool::parse("203.0.113.5-203.0.113.6", Some("2000-2999")).unwrap();
        assert!(p.contains("203.0.113.6".parse().unwrap()));
        assert!(!p.contains("203.0.113.7".parse().unwrap()));
        assert_eq!(p.ports, (2000, 2999));
        assert_eq!(p.addresses().count(), 2);
        let one = Pool::parse("203.0.113.9", None).unwrap();
        assert_eq!(one.ports, DEFAULT_PORTS);
        assert_eq!(
            one.address_for("198.51.100.7".parse().unwrap()),
            "203.0.113.9".parse::<Ipv4Addr>().unwrap()
        );
        assert!(!one.overlaps(&p));
        assert!(p.overlaps(&Pool::parse("203.0.113.6-203.0.113.8", None).unwrap()));
    }

    #[test]
    fn refuses_bad_ranges() {
        for (to, ports, says) in [
            ("203.0.113.9-203.0.113.5", None, "inverted"),
            ("nine", None, "not an IPv4"),
            ("2001:db8::1", None, "not an IPv4"),
            ("203.0.113.5", Some("3000-2000"), "inverted"),
            ("203.0.113.5", Some("0-10"), "1 <= A"),
            ("203.0.113.5", Some("10"), "A-B"),
            ("192.0.2.0-192.0.6.0", None, "more than"),
        ] {
            let e = Pool::parse(to, ports).unwrap_err();
            assert!(e.contains(says), "{to} {ports:?}: {e}");
        }
    }
}
