//! ECMP: a flow's next hop out of a group, from a hash of its 5-tuple, so that one flow always
//! takes the same hop while the group is unchanged and flows spread evenly over the hops.

use crate::packet::{ipproto, ipv4, ipv6};

/// The 5-tuple hash of an IPv4 packet (`l3` from the IP header on): addresses and protocol,
/// and the ports of TCP and UDP when the packet is not a fragment.
#[inline]
pub fn flow_hash_v4(l3: &[u8]) -> u32 {
    let Some(h) = l3.get(..ipv4::HEADER_LEN) else {
        return 0;
    };
    let addrs = u64::from_be_bytes([h[12], h[13], h[14], h[15], h[16], h[17], h[18], h[19]]);
    let proto = h[9];
    let fragment = u16::from_be_bytes([h[6], h[7]]) & 0x3fff != 0;
    let header = usize::from(h[0] & 0x0f) * 4;
    let ports = match (proto, fragment, l3.get(header..header + 4)) {
        (ipproto::TCP | ipproto::UDP, false, Some(p)) => {
            u32::from_be_bytes([p[0], p[1], p[2], p[3]])
        }
        _ => 0,
    };
    mix(addrs ^ (u64::from(ports) << 8 | u64::from(proto)).rotate_left(29))
}

/// The 5-tuple hash of an IPv6 packet (`l3` from the IP header on): addresses, next header
/// and, for TCP and UDP right after the fixed header, the ports.
#[inline]
pub fn flow_hash_v6(l3: &[u8]) -> u32 {
    let Some(h) = l3.get(..ipv6::HEADER_LEN) else {
        return 0;
    };
    let word = |i: usize| u64::from_be_bytes(h[i..i + 8].try_into().unwrap_or([0; 8]));
    let next = h[6];
    let ports = match (next, l3.get(ipv6::HEADER_LEN..ipv6::HEADER_LEN + 4)) {
        (ipproto::TCP | ipproto::UDP, Some(p)) => u32::from_be_bytes([p[0], p[1], p[2], p[3]]),
        _ => 0,
    };
    let addrs =
        word(8) ^ word(16).rotate_left(17) ^ word(24).rotate_left(31) ^ word(32).rotate_left(47);
    mix(addrs ^ (u64::from(ports) << 8 | u64::from(next)).rotate_left(29))
}

/// A 64-bit finalizer (murmur3's): every input bit affects every output bit.
#[inline]
fn mix(mut x: u64) -> u32 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x as u32
}

/// The hop of `n` (at least one) a flow of hash `hash` takes.
#[inline]
pub fn pick(hash: u32, n: usize) -> usize {
    // Multiply-shift rather than modulo: uniform and without a division.
    ((u64::from(hash) * n as u64) >> 32) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn udp(src_port: u16, dst: [u8; 4]) -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ipv4([198, 51, 100, 10], dst, 64)
            .udp(src_port, 5001)
            .write(&mut out, b"x")
            .unwrap();
        out
    }

    #[test]
    fn ten_thousand_flows_spread_within_ten_percent_and_stay_put() {
        for hops in [2usize, 3, 4, 8] {
            let mut per_hop = vec![0usize; hops];
            for flow in 0..10_000u32 {
                let pkt = udp(
                    1024 + (flow % 50_000) as u16,
                    [203, 0, 113, (flow / 5000) as u8],
                );
                let h = flow_hash_v4(&pkt);
                assert_eq!(h, flow_hash_v4(&pkt), "stable per flow");
                per_hop[pick(h, hops)] += 1;
            }
            let even = 10_000 / hops;
            for n in per_hop {
                assert!(
                    n.abs_diff(even) * 10 <= even,
                    "{hops} hops: {n} flows vs {even}"
                );
            }
        }
    }

    #[test]
    fn ports_of_fragments_and_short_packets_are_not_read() {
        let mut a = udp(1000, [203, 0, 113, 1]);
        let mut b = udp(2000, [203, 0, 113, 1]);
        assert_ne!(flow_hash_v4(&a), flow_hash_v4(&b));
        for p in [&mut a, &mut b] {
            p[6] = 0x20; // more fragments
        }
        assert_eq!(flow_hash_v4(&a), flow_hash_v4(&b));
        assert_eq!(flow_hash_v4(&a[..10]), 0);
        assert_eq!(pick(u32::MAX, 4), 3);
        assert_eq!(pick(0, 4), 0);
    }
}
