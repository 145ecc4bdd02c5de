//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! Partial sums are `u32` one's-complement accumulators: add them with [`add`], never with `+`,
//! and turn the final one into a header checksum with [`fold`].

use core::net::{Ipv4Addr, Ipv6Addr};

/// One's-complement sum of `data` as big-endian 16-bit words, an odd last byte padded with
/// zero. The result is a partial sum, not yet folded or complemented; it never overflows.
pub fn sum(data: &[u8]) -> u32 {
    // 32-bit big-endian words into a u64: the high and low halves of each word are the 16-bit
    // words RFC 1071 adds, and folding the total keeps it congruent modulo 0xffff. A u64 cannot
    // overflow for any slice that fits in memory in practice (2^32 words).
    let mut acc: u64 = 0;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    match *words.remainder() {
        [a, b, c] => acc += u64::from(u16::from_be_bytes([a, b])) + (u64::from(c) << 8),
        [a, b] => acc += u64::from(u16::from_be_bytes([a, b])),
        [a] => acc += u64::from(a) << 8,
        _ => {}
    }
    let folded = (acc & 0xffff_ffff) + (acc >> 32);
    add((folded & 0xffff_ffff) as u32, (folded >> 32) as u32)
}

/// One's-complement sum of `chunks` taken as one byte sequence (the segments of a chained
/// buffer): a chunk that starts at an odd offset adds its sum byte-swapped (RFC 1071 §2(B)).
pub fn sum_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> u32 {
    let mut total = 0;
    let mut odd = false;
    for chunk in chunks {
        let s = sum(chunk);
        total = add(total, if odd { swap(s) } else { s });
        odd ^= chunk.len() % 2 == 1;
    }
    total
}

/// A partial sum with its bytes swapped: the sum of the same bytes one position later.
pub fn swap(sum: u32) -> u32 {
    u32::from((!fold(sum)).swap_bytes())
}

/// One's-complement addition of two partial sums (end-around carry).
#[inline]
pub fn add(a: u32, b: u32) -> u32 {
    let (s, carry) = a.overflowing_add(b);
    // With a carry `s <= u32::MAX - 1`, so adding it back cannot overflow.
    s + u32::from(carry)
}

/// Fold a partial sum to 16 bits and complement it: the value to store in a checksum field.
/// A packet verifies when `fold` over all of it (checksum field included) is zero.
#[inline]
pub fn fold(sum: u32) -> u16 {
    let s = (sum & 0xffff) + (sum >> 16);
    let s = (s & 0xffff) + (s >> 16);
    !(s as u16)
}

/// One's-complement sum of already-folded 16-bit parts (not complemented).
pub fn combine(parts: &[u16]) -> u16 {
    let total = parts.iter().fold(0u32, |acc, &p| add(acc, u32::from(p)));
    !fold(total)
}

/// Partial sum of the IPv4 pseudo-header that TCP, UDP checksums cover (RFC 768, RFC 9293).
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: u16) -> u32 {
    let s = sum(&src.octets());
    let s = add(s, sum(&dst.octets()));
    add(s, u32::from(proto) + u32::from(len))
}

/// Partial sum of the IPv6 pseudo-header (RFC 8200 §8.1) for TCP, UDP and ICMPv6.
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, proto: u8, len: u32) -> u32 {
    let s = sum(&src.octets());
    let s = add(s, sum(&dst.octets()));
    let s = add(s, (len >> 16) + (len & 0xffff));
    add(s, u32::from(proto))
}

/// RFC 1624 eqn. 3: the new checksum after one 16-bit word changes from `old` to `new`,
/// without touching the rest of the packet (NAT, TTL decrement).
#[inline]
pub fn update16(old_checksum: u16, old: u16, new: u16) -> u16 {
    let s = add(u32::from(!old_checksum), u32::from(!old));
    fold(add(s, u32::from(new)))
}

/// [`update16`] for an aligned 32-bit field (an IPv4 address, a TCP sequence number).
#[inline]
pub fn update32(old_checksum: u16, old: u32, new: u32) -> u16 {
    let c = update16(old_checksum, (old >> 16) as u16, (new >> 16) as u16);
    update16(c, old as u16, new as u16)
}

/// [`update16`] over two equally long, 16-bit aligned byte strings (e.g. IPv6 addresses).
/// Extra bytes of the longer one are ignored.
pub fn update_bytes(old_checksum: u16, old: &[u8], new: &[u8]) -> u16 {
    old.chunks_exact(2)
        .zip(new.chunks_exact(2))
        .fold(old_checksum, |c, (o, n)| {
            update16(
                c,
                u16::from_be_bytes([o[0], o[1]]),
                u16::from_be_bytes([n[0], n[1]]),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The IPv4 header from RFC 1071 folklore (Wikipedia's worked example).
    const IPV4_HDR: [u8; 20] = [
        0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00,
        0x01, 0xc0, 0xa8, 0x00, 0xc7,
    ];

    /// Two checksum values are the same one's-complement number (0x0000 and 0xffff both mean 0).
    fn same(a: u16, b: u16) -> bool {
        a == b || (a == 0 || a == 0xffff) && (b == 0 || b == 0xffff)
    }

    #[test]
    fn known_ipv4_header() {
        assert_eq!(fold(sum(&IPV4_HDR)), 0);
        let mut h = IPV4_HDR;
        h[10] = 0;
        h[11] = 0;
        assert_eq!(fold(sum(&h)), 0xb861);
    }

    #[test]
    fn rfc1071_example_and_odd_length() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2 (before complement).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(!fold(sum(&data)), 0xddf2);
        assert_eq!(sum(&[0xab]), 0xab00);
        assert_eq!(sum(&[]), 0);
    }

    #[test]
    fn add_carries_around() {
        assert_eq!(add(u32::MAX, 1), 1);
        assert_eq!(add(u32::MAX, u32::MAX), u32::MAX);
        assert_eq!(combine(&[0xffff, 0x0001]), 0x0001);
        assert_eq!(combine(&[0x1234, 0x4321]), 0x5555);
    }

    #[test]
    fn update16_rfc1624_example() {
        // RFC 1624 §4: HC=0xdd2f, m=0x5555 -> m'=0x3285 gives HC'=0x0000.
        assert_eq!(update16(0xdd2f, 0x5555, 0x3285), 0x0000);
    }

    #[test]
    fn pseudo_header_v4_known_value() {
        let s = pseudo_header_v4(
            Ipv4Addr::new(192, 168, 0, 1),
            Ipv4Addr::new(192, 168, 0, 199),
            17,
            8,
        );
        // Partial sums are compared folded: only their value modulo 0xffff is defined.
        let want: u32 = 0xc0a8 + 0x0001 + 0xc0a8 + 0x00c7 + 17 + 8;
        assert_eq!(fold(s), fold(want));
    }

    #[test]
    fn pseudo_header_v6_splits_length() {
        let a = Ipv6Addr::UNSPECIFIED;
        assert_eq!(
            fold(pseudo_header_v6(a, a, 58, 0x0001_0002)),
            !(1u16 + 2 + 58)
        );
    }

    proptest! {
        #[test]
        fn sum_matches_naive(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let mut naive: u64 = 0;
            for (i, b) in data.iter().enumerate() {
                naive += if i % 2 == 0 { u64::from(*b) << 8 } else { u64::from(*b) };
            }
            while naive > 0xffff {
                naive = (naive & 0xffff) + (naive >> 16);
            }
            prop_assert!(same(fold(sum(&data)), !(naive as u16)));
        }

        #[test]
        fn sum_of_halves_adds(data in proptest::collection::vec(any::<u8>(), 0..512), cut in 0usize..256) {
            let cut = (cut * 2).min(data.len() & !1);
            prop_assert!(same(fold(add(sum(&data[..cut]), sum(&data[cut..]))), fold(sum(&data))));
        }

        #[test]
        fn chunks_at_any_cuts_sum_like_the_whole(
            data in proptest::collection::vec(any::<u8>(), 0..512),
            cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..6),
        ) {
            let mut at: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
            at.push(0);
            at.push(data.len());
            at.sort_unstable();
            let chunks = at.windows(2).map(|w| &data[w[0]..w[1]]);
            prop_assert!(same(fold(sum_chunks(chunks)), fold(sum(&data))));
        }

        #[test]
        fn update16_matches_recompute(
            words in proptest::collection::vec(any::<u16>(), 2..64),
            idx in any::<proptest::sample::Index>(),
            new in any::<u16>(),
        ) {
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
            let old_ck = fold(sum(&bytes));
            let i = idx.index(words.len());
            let mut changed = words.clone();
            changed[i] = new;
            let bytes2: Vec<u8> = changed.iter().flat_map(|w| w.to_be_bytes()).collect();
            let inc = update16(old_ck, words[i], new);
            prop_assert!(same(inc, fold(sum(&bytes2))), "inc {:#x} full {:#x}", inc, fold(sum(&bytes2)));
            // And the packet carrying the updated checksum verifies.
            prop_assert_eq!(fold(add(sum(&bytes2), u32::from(inc))), 0);
        }

        #[test]
        fn update32_and_bytes_match_recompute(
            words in proptest::collection::vec(any::<u16>(), 4..64),
            idx in any::<proptest::sample::Index>(),
            new in any::<u32>(),
        ) {
            let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
            let old_ck = fold(sum(&bytes));
            let at = idx.index(words.len() - 1) * 2;
            let old = u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
            let old_bytes = bytes[at..at + 4].to_vec();
            bytes[at..at + 4].copy_from_slice(&new.to_be_bytes());
            let full = fold(sum(&bytes));
            prop_assert!(same(update32(old_ck, old, new), full));
            prop_assert!(same(update_bytes(old_ck, &old_bytes, &new.to_be_bytes()), full));
        }
    }
}
