//! The firewall's table hashes: words folded by 128-bit multiplies (the mixing step of
//! wyhash-style hashes). Every bit of the input reaches the low bits that pick a slot.

const K: [u64; 4] = [
    0xa076_1d64_78bd_642f,
    0xe703_7ed1_a0b4_28db,
    0x8ebc_6af0_9c88_c6e3,
    0x5899_65cc_7537_4cc3,
];

/// Folds a 128-bit product.
#[inline]
fn mix(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ (r >> 64) as u64
}

/// A one-multiply hash of two words.
#[inline]
pub fn fold(a: u64, b: u64) -> u64 {
    mix(a ^ K[0], b ^ K[1])
}

/// The hash of two 128-bit values (as halves) and a word of small fields.
#[inline]
pub fn digest(a: [u64; 2], b: [u64; 2], small: u64) -> u64 {
    let h = mix(a[0] ^ K[0], a[1] ^ K[1]) ^ mix(b[0] ^ K[2], b[1] ^ K[3]) ^ mix(small ^ K[1], K[2]);
    mix(h ^ K[3], K[0])
}

/// A `u128` as the halves [`digest`] takes.
#[inline]
pub fn halves(v: u128) -> [u64; 2] {
    [(v >> 64) as u64, v as u64]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_flipped_bit_anywhere_moves_the_low_bits() {
        let base = digest([1, 2], [3, 4], 5);
        for bit in 0..64 {
            let flips = [
                digest([1 ^ 1 << bit, 2], [3, 4], 5),
                digest([1, 2 ^ 1 << bit], [3, 4], 5),
                digest([1, 2], [3 ^ 1 << bit, 4], 5),
                digest([1, 2], [3, 4 ^ 1 << bit], 5),
                digest([1, 2], [3, 4], 5 ^ 1 << bit),
            ];
            for h in flips {
                assert_ne!(h & 0xffff, base & 0xffff, "bit {bit}");
            }
        }
    }
}
