//! A packet as the service path reads and rewrites it, in either address family: IPv4
//! (`rewrite::Ip4`) or IPv6 (`rewrite6::Ip6`), each with its own sessions table.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use super::rewrite::{self, Ip4, Side};
use super::rewrite6::{self, Ip6};
use super::sessions::{Family, Sessions};
use super::table::NatTables;

pub trait ServicePacket: Sized + Copy {
    type Addr: Family;
    fn parse(frame: &[u8]) -> Option<Self>;
    fn src(&self) -> Self::Addr;
    fn dst(&self) -> Self::Addr;
    fn proto(&self) -> u8;
    /// TCP or UDP ports, the whole L4 header there.
    fn ports(&self, frame: &[u8]) -> Option<(u16, u16)>;
    fn tcp_flags(&self, frame: &[u8]) -> u8;
    /// Where a TCP segment is in its frame.
    fn tcp_span(&self) -> Option<Range<usize>>;
    fn set(&self, frame: &mut [u8], side: Side, to: (Self::Addr, u16));
    /// The sessions of this family.
    fn sessions(t: &NatTables) -> &Sessions<Self::Addr>;
    /// `ip` if it is of this family.
    fn of(ip: IpAddr) -> Option<Self::Addr>;
}

impl ServicePacket for Ip4 {
    type Addr = Ipv4Addr;

    fn parse(frame: &[u8]) -> Option<Self> {
        rewrite::parse(frame)
    }
    fn src(&self) -> Ipv4Addr {
        self.src
    }
    fn dst(&self) -> Ipv4Addr {
        self.dst
    }
    fn proto(&self) -> u8 {
        self.proto
    }
    fn ports(&self, frame: &[u8]) -> Option<(u16, u16)> {
        rewrite::ports(frame, self)
    }
    fn tcp_flags(&self, frame: &[u8]) -> u8 {
        rewrite::tcp_flags(frame, self)
    }
    fn tcp_span(&self) -> Option<Range<usize>> {
        rewrite::tcp_span(self)
    }
    fn set(&self, frame: &mut [u8], side: Side, to: (Ipv4Addr, u16)) {
        rewrite::set(frame, self, side, to.0, Some(to.1));
    }
    fn sessions(t: &NatTables) -> &Sessions<Ipv4Addr> {
        &t.sessions
    }
    fn of(ip: IpAddr) -> Option<Ipv4Addr> {
        match ip {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        }
    }
}

impl ServicePacket for Ip6 {
    type Addr = Ipv6Addr;

    fn parse(frame: &[u8]) -> Option<Self> {
        rewrite6::parse(frame)
    }
    fn src(&self) -> Ipv6Addr {
        self.src
    }
    fn dst(&self) -> Ipv6Addr {
        self.dst
    }
    fn proto(&self) -> u8 {
        self.proto
    }
    fn ports(&self, frame: &[u8]) -> Option<(u16, u16)> {
        rewrite6::ports(frame, self)
    }
    fn tcp_flags(&self, frame: &[u8]) -> u8 {
        rewrite6::tcp_flags(frame, self)
    }
    fn tcp_span(&self) -> Option<Range<usize>> {
        rewrite6::tcp_span(self)
    }
    fn set(&self, frame: &mut [u8], side: Side, to: (Ipv6Addr, u16)) {
        rewrite6::set(frame, self, side, to.0, to.1);
    }
    fn sessions(t: &NatTables) -> &Sessions<Ipv6Addr> {
        &t.sessions6
    }
    fn of(ip: IpAddr) -> Option<Ipv6Addr> {
        match ip {
            IpAddr::V6(v6) => Some(v6),
            IpAddr::V4(_) => None,
        }
    }
}
