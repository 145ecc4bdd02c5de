//! Completing a TCP or UDP checksum that a sender left partial.
//!
//! A virtio guest with checksum offload sends TCP/UDP segments whose checksum field holds only
//! the pseudo-header sum, trusting the host to finish it. The switch finishes it before the
//! frame goes anywhere, so that every port (another guest, a TAP, a NIC) gets a valid frame.

use super::{checksum, eth, ethertype, ipproto, ipv4, ipv6, tcp, udp, vlan};

/// Why a frame's L4 checksum could not be completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incomplete {
    /// Not IPv4/IPv6 carrying TCP or UDP (nothing to complete), or headers cut short.
    NotTcpUdp,
    /// An IPv4 fragment: the checksum covers bytes this frame does not hold.
    Fragment,
    /// The frame ends before the length its IP header gives.
    Truncated,
}

/// Rewrites the TCP or UDP checksum of `frame` (Ethernet, at most one 802.1Q tag) over the
/// whole segment.
pub fn complete(frame: &mut [u8]) -> Result<(), Incomplete> {
    complete_chained(frame, [])
}

/// As [`complete`] for a frame held in several buffers (a jumbo frame in chained mbufs):
/// `head` holds the headers, `tail` the rest of the frame in order.
pub fn complete_chained<'a>(
    head: &mut [u8],
    tail: impl IntoIterator<Item = &'a [u8]>,
) -> Result<(), Incomplete> {
    let seg = locate(head)?;
    let in_head = head.len().min(seg.start + seg.len) - seg.start;
    // The tail first: nothing in the frame changes unless the whole segment is there.
    let mut missing = seg.len - in_head;
    let tail_sum = checksum::sum_chunks(
        tail.into_iter()
            .map(|chunk| {
                let take = chunk.len().min(missing);
                missing -= take;
                &chunk[..take]
            })
            .take_while(|chunk| !chunk.is_empty()),
    );
    if missing != 0 {
        return Err(Incomplete::Truncated);
    }
    let field = seg.start + seg.checksum_at;
    head[field..field + 2].fill(0);
    let head_sum = checksum::sum(&head[seg.start..seg.start + in_head]);
    let tail_sum = if in_head % 2 == 1 {
        checksum::swap(tail_sum)
    } else {
        tail_sum
    };
    let total = checksum::add(seg.pseudo, checksum::add(head_sum, tail_sum));
    let value = match checksum::fold(total) {
        // UDP sends a computed zero as all ones (zero means "no checksum").
        0 if seg.proto == ipproto::UDP => 0xffff,
        v => v,
    };
    head[field..field + 2].copy_from_slice(&value.to_be_bytes());
    Ok(())
}

/// Where a frame's TCP or UDP segment lies and what its checksum covers besides it.
struct Segment {
    proto: u8,
    /// Offset of the L4 header in the frame, and the segment's length per the IP header.
    start: usize,
    len: usize,
    /// Offset of the checksum field in the L4 header.
    checksum_at: usize,
    /// Partial sum of the IP pseudo-header.
    pseudo: u32,
}

/// Finds the TCP/UDP segment of a frame from its headers, which must all be in `head`.
fn locate(head: &[u8]) -> Result<Segment, Incomplete> {
    let eth = eth::Frame::new_checked(head).map_err(|_| Incomplete::NotTcpUdp)?;
    let mut l3 = eth::HEADER_LEN;
    let mut kind = eth.ethertype();
    if kind == ethertype::VLAN {
        let tag = vlan::Tag::new_checked(&head[l3..]).map_err(|_| Incomplete::NotTcpUdp)?;
        kind = tag.ethertype();
        l3 += vlan::HEADER_LEN;
    }
    let ip = &head[l3..];
    let (proto, ip_header, len, pseudo) = match kind {
        ethertype::IPV4 if ip.len() >= ipv4::HEADER_LEN => {
            let pkt = ipv4::Packet::new_unchecked(ip);
            let header = pkt.header_len();
            let total = usize::from(pkt.total_len());
            if pkt.version() != 4 || header < ipv4::HEADER_LEN || total < header {
                return Err(Incomplete::NotTcpUdp);
            }
            if pkt.is_fragment() {
                return Err(Incomplete::Fragment);
            }
            let (proto, len) = (pkt.protocol(), total - header);
            // len < 2^16: it is part of a 16-bit total length.
            let pseudo =
                checksum::pseudo_header_v4(pkt.src_addr(), pkt.dst_addr(), proto, len as u16);
            (proto, header, len, pseudo)
        }
        ethertype::IPV6 if ip.len() >= ipv6::HEADER_LEN => {
            let pkt = ipv6::Packet::new_unchecked(ip);
            let (proto, len) = (pkt.next_header(), pkt.payload_len());
            let pseudo =
                checksum::pseudo_header_v6(pkt.src_addr(), pkt.dst_addr(), proto, u32::from(len));
            (proto, ipv6::HEADER_LEN, usize::from(len), pseudo)
        }
        _ => return Err(Incomplete::NotTcpUdp),
    };
    let (min_header, checksum_at) = match proto {
        ipproto::TCP => (tcp::HEADER_LEN, tcp::CHECKSUM_AT),
        ipproto::UDP => (udp::HEADER_LEN, udp::CHECKSUM_AT),
        _ => return Err(Incomplete::NotTcpUdp),
    };
    let start = l3 + ip_header;
    if len < min_header || head.len() < start + min_header {
        return Err(Incomplete::NotTcpUdp);
    }
    Ok(Segment {
        proto,
        start,
        len,
        checksum_at,
        pseudo,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    /// `good` with the two checksum bytes at `at` replaced by garbage.
    fn corrupt(good: &[u8], at: usize) -> Vec<u8> {
        let mut bad = good.to_vec();
        bad[at] ^= 0x5a;
        bad[at + 1] ^= 0xa5;
        assert_ne!(bad, good);
        bad
    }

    #[test]
    fn completes_tcp_over_ipv4_behind_a_vlan_tag() {
        let mut good = Vec::new();
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .single_vlan(10u16.try_into().unwrap())
            .ipv4([198, 51, 100, 1], [198, 51, 100, 2], 64)
            .tcp(40000, 80, 1, 65535)
            .write(&mut good, b"hello, checksum")
            .unwrap();
        // Ethernet 14 + tag 4 + IPv4 20, TCP checksum at 16.
        let mut bad = corrupt(&good, 14 + 4 + 20 + 16);
        complete(&mut bad).unwrap();
        assert_eq!(good, bad);
    }

    #[test]
    fn completes_udp_over_ipv6() {
        let mut good = Vec::new();
        let a = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let mut b = a;
        b[15] = 2;
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv6(a, b, 64)
            .udp(5000, 6000)
            .write(&mut good, &[7u8; 33])
            .unwrap();
        let mut bad = corrupt(&good, 14 + 40 + 6);
        complete(&mut bad).unwrap();
        assert_eq!(good, bad);
    }

    /// A TCP/IPv4 jumbo frame (9000-byte MTU) of position-dependent bytes.
    fn jumbo_tcp() -> Vec<u8> {
        let payload: Vec<u8> = (0..8960u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let mut good = Vec::new();
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([198, 51, 100, 1], [198, 51, 100, 2], 64)
            .tcp(40000, 80, 1, 65535)
            .write(&mut good, &payload)
            .unwrap();
        good
    }

    #[test]
    fn completes_a_jumbo_frame_split_over_buffers_at_odd_offsets() {
        let good = jumbo_tcp();
        let mut bad = corrupt(&good, 14 + 20 + 16);
        // Like mbufs of 2048 bytes, but with odd cuts to exercise the byte-swapped sums.
        let (head, rest) = bad.split_at_mut(2047);
        let tail: Vec<&[u8]> = rest.chunks(2049).collect();
        complete_chained(head, tail).unwrap();
        assert_eq!(good, bad);
    }

    #[test]
    fn leaves_a_chain_shorter_than_its_ip_length_untouched() {
        let good = jumbo_tcp();
        let mut bad = corrupt(&good, 14 + 20 + 16);
        let before = bad.clone();
        let (head, rest) = bad.split_at_mut(2048);
        let tail = [&rest[..4000]];
        assert_eq!(complete_chained(head, tail), Err(Incomplete::Truncated));
        assert_eq!(bad, before);
    }

    #[test]
    fn ignores_trailing_padding_and_refuses_fragments_and_junk() {
        let mut good = Vec::new();
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([198, 51, 100, 1], [198, 51, 100, 2], 64)
            .udp(1, 2)
            .write(&mut good, b"x")
            .unwrap();
        good.resize(60, 0);
        let mut bad = corrupt(&good, 14 + 20 + 6);
        complete(&mut bad).unwrap();
        assert_eq!(good, bad);

        let mut frag = good.clone();
        frag[14 + 6] = 0x20; // more fragments
        assert_eq!(complete(&mut frag), Err(Incomplete::Fragment));
        let mut arp = good.clone();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(complete(&mut arp), Err(Incomplete::NotTcpUdp));
        assert_eq!(complete(&mut [0u8; 5]), Err(Incomplete::NotTcpUdp));
    }
}
