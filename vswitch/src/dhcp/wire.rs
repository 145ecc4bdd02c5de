//! DHCP messages: the BOOTP header (RFC 2131 2), the options DHCP uses (RFC 2132), and the
//! replies the server builds.

use std::net::Ipv4Addr;

use crate::packet::MacAddr;

/// The fixed BOOTP header, then the magic cookie, then options.
pub const HEADER_LEN: usize = 236;
const COOKIE: [u8; 4] = [99, 130, 83, 99];
/// BOOTP messages are at least this long (RFC 1542 2.1); replies are padded to it.
pub const MIN_LEN: usize = 300;
pub const SERVER_PORT: u16 = 67;
pub const CLIENT_PORT: u16 = 68;

const OP_REQUEST: u8 = 1;
const OP_REPLY: u8 = 2;

mod opt {
    pub const PAD: u8 = 0;
    pub const SUBNET_MASK: u8 = 1;
    pub const ROUTER: u8 = 3;
    pub const DNS: u8 = 6;
    pub const REQUESTED_IP: u8 = 50;
    pub const LEASE_TIME: u8 = 51;
    pub const MESSAGE_TYPE: u8 = 53;
    pub const SERVER_ID: u8 = 54;
    pub const RENEWAL_TIME: u8 = 58;
    pub const REBINDING_TIME: u8 = 59;
    pub const END: u8 = 255;
}

/// DHCP message types (option 53).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Discover = 1,
    Offer = 2,
    Request = 3,
    Decline = 4,
    Ack = 5,
    Nak = 6,
    Release = 7,
    Inform = 8,
}

impl Kind {
    fn from_u8(v: u8) -> Option<Kind> {
        Some(match v {
            1 => Kind::Discover,
            2 => Kind::Offer,
            3 => Kind::Request,
            4 => Kind::Decline,
            5 => Kind::Ack,
            6 => Kind::Nak,
            7 => Kind::Release,
            8 => Kind::Inform,
            _ => return None,
        })
    }
}

/// What the server needs of a client's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub kind: Kind,
    pub xid: u32,
    pub flags: u16,
    pub ciaddr: Ipv4Addr,
    pub chaddr: MacAddr,
    pub requested: Option<Ipv4Addr>,
    pub server_id: Option<Ipv4Addr>,
}

/// Malformed DHCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

fn ip_at(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

/// Parses a client's message (the UDP payload).
pub fn parse(msg: &[u8]) -> Result<Request, Malformed> {
    if msg.len() < HEADER_LEN + COOKIE.len()
        || msg[0] != OP_REQUEST
        || msg[1] != 1
        || msg[2] != 6
        || msg[HEADER_LEN..HEADER_LEN + 4] != COOKIE
    {
        return Err(Malformed);
    }
    let (mut kind, mut requested, mut server_id) = (None, None, None);
    let mut opts = &msg[HEADER_LEN + 4..];
    loop {
        match opts {
            [] | [opt::END, ..] => break,
            [opt::PAD, rest @ ..] => opts = rest,
            [code, len, rest @ ..] => {
                let len = usize::from(*len);
                let value = rest.get(..len).ok_or(Malformed)?;
                match (*code, len) {
                    (opt::MESSAGE_TYPE, 1) => kind = Kind::from_u8(value[0]),
                    (opt::REQUESTED_IP, 4) => requested = Some(ip_at(value)),
                    (opt::SERVER_ID, 4) => server_id = Some(ip_at(value)),
                    _ => {}
                }
                opts = &rest[len..];
            }
            [_] => return Err(Malformed),
        }
    }
    Ok(Request {
        kind: kind.ok_or(Malformed)?,
        xid: u32::from_be_bytes([msg[4], msg[5], msg[6], msg[7]]),
        flags: u16::from_be_bytes([msg[10], msg[11]]),
        ciaddr: ip_at(&msg[12..16]),
        chaddr: MacAddr::from_bytes(&msg[28..34]).ok_or(Malformed)?,
        requested,
        server_id,
    })
}

/// A reply to write.
#[derive(Debug, Clone)]
pub struct Reply<'a> {
    pub kind: Kind,
    pub to: &'a Request,
    pub yiaddr: Ipv4Addr,
    pub server: Ipv4Addr,
    pub lease_secs: u32,
    pub mask: Ipv4Addr,
    pub router: Ipv4Addr,
    pub dns: &'a [Ipv4Addr],
}

impl Reply<'_> {
    /// Bytes `write` needs.
    pub fn len(&self) -> usize {
        (HEADER_LEN + COOKIE.len() + 3 + 6 + 6 * 5 + 2 + 4 * self.dns.len().min(8) + 1).max(MIN_LEN)
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the message into `out` (at least `len()` bytes; the rest is not touched).
    pub fn write(&self, out: &mut [u8]) {
        let out = &mut out[..self.len()];
        out.fill(0);
        out[0] = OP_REPLY;
        out[1] = 1;
        out[2] = 6;
        out[4..8].copy_from_slice(&self.to.xid.to_be_bytes());
        out[10..12].copy_from_slice(&self.to.flags.to_be_bytes());
        out[12..16].copy_from_slice(&self.to.ciaddr.octets());
        if self.kind != Kind::Nak {
            out[16..20].copy_from_slice(&self.yiaddr.octets());
        }
        out[28..34].copy_from_slice(&self.to.chaddr.0);
        out[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&COOKIE);
        let mut at = HEADER_LEN + 4;
        let mut put = |code: u8, value: &[u8]| {
            out[at] = code;
            out[at + 1] = value.len() as u8;
            out[at + 2..at + 2 + value.len()].copy_from_slice(value);
            at += 2 + value.len();
        };
        put(opt::MESSAGE_TYPE, &[self.kind as u8]);
        put(opt::SERVER_ID, &self.server.octets());
        if self.kind != Kind::Nak {
            put(opt::LEASE_TIME, &self.lease_secs.to_be_bytes());
            put(opt::RENEWAL_TIME, &(self.lease_secs / 2).to_be_bytes());
            put(
                opt::REBINDING_TIME,
                &(self.lease_secs / 8 * 7).to_be_bytes(),
            );
            put(opt::SUBNET_MASK, &self.mask.octets());
            put(opt::ROUTER, &self.router.octets());
            if !self.dns.is_empty() {
                let dns: Vec<u8> = self.dns.iter().take(8).flat_map(|d| d.octets()).collect();
                put(opt::DNS, &dns);
            }
        }
        out[at] = opt::END;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DISCOVER as busybox udhcpc sends it (options: type, client id, max size, params).
    fn discover() -> Vec<u8> {
        let mut m = vec![0u8; HEADER_LEN];
        m[0..4].copy_from_slice(&[1, 1, 6, 0]);
        m[4..8].copy_from_slice(&0x1234_5678u32.to_be_bytes());
        m[28..34].copy_from_slice(&[2, 0, 0, 0, 0, 0xa]);
        m.extend_from_slice(&COOKIE);
        m.extend_from_slice(&[53, 1, 1, 61, 7, 1, 2, 0, 0, 0, 0, 0xa, 57, 2, 2, 64]);
        m.extend_from_slice(&[55, 3, 1, 3, 6, 50, 4, 198, 51, 100, 150, 255]);
        m
    }

    #[test]
    fn parses_a_discover_and_writes_an_offer() {
        let r = parse(&discover()).unwrap();
        assert_eq!(r.kind, Kind::Discover);
        assert_eq!(r.xid, 0x1234_5678);
        assert_eq!(r.chaddr, MacAddr([2, 0, 0, 0, 0, 0xa]));
        assert_eq!(r.requested, Some(Ipv4Addr::new(198, 51, 100, 150)));
        let dns = [Ipv4Addr::new(198, 51, 100, 53)];
        let reply = Reply {
            kind: Kind::Offer,
            to: &r,
            yiaddr: Ipv4Addr::new(198, 51, 100, 150),
            server: Ipv4Addr::new(198, 51, 100, 1),
            lease_secs: 3600,
            mask: Ipv4Addr::new(255, 255, 255, 0),
            router: Ipv4Addr::new(198, 51, 100, 1),
            dns: &dns,
        };
        let mut out = vec![0xee; 400];
        reply.write(&mut out);
        assert_eq!(reply.len(), MIN_LEN);
        assert_eq!(out[0], OP_REPLY);
        assert_eq!(&out[16..20], &[198, 51, 100, 150]);
        assert_eq!(&out[HEADER_LEN..HEADER_LEN + 4], &COOKIE);
        let opts = &out[HEADER_LEN + 4..];
        assert_eq!(&opts[0..3], &[53, 1, 2]);
        assert!(opts.windows(6).any(|w| w == [3, 4, 198, 51, 100, 1]));
        assert!(opts.windows(6).any(|w| w == [6, 4, 198, 51, 100, 53]));
        assert_eq!(out[MIN_LEN], 0xee, "nothing written past the reply");
    }

    #[test]
    fn refuses_malformed_messages() {
        let good = discover();
        let mut reply_op = good.clone();
        reply_op[0] = 2;
        let mut no_cookie = good.clone();
        no_cookie[HEADER_LEN] = 0;
        let overrun = good[..good.len() - 3].to_vec(); // option 50 cut short
        let mut no_type = good.clone();
        no_type[HEADER_LEN + 4] = 12; // hostname instead of message type
        for bad in [&good[..100], &reply_op, &no_cookie, &overrun, &no_type] {
            assert_eq!(parse(bad), Err(Malformed));
        }
    }
}
