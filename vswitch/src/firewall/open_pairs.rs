//! The network pairs whose every packet passes untouched: the first rule that can match them
//! is a stateless allow of everything. Decided once per snapshot; a packet's check is a bit
//! in a matrix (up to `DENSE_MAX` networks; a hash set beyond).

use crate::pipeline::snapshot::NetIdx;

/// Networks up to which the pairs are a bit matrix (128 KB at most).
const DENSE_MAX: usize = 1024;

#[derive(Debug, Default)]
pub struct OpenPairs {
    /// Side of the matrix: one more than the largest network of an open pair (0: none).
    n: usize,
    bits: Vec<u64>,
    /// The pairs (from << 16 | to) when a network beyond `DENSE_MAX` has one.
    sparse: hashbrown::HashSet<u32>,
}

impl OpenPairs {
    pub fn new(pairs: &[(NetIdx, NetIdx)]) -> Self {
        let n = pairs
            .iter()
            .map(|&(f, t)| usize::from(f.max(t)) + 1)
            .max()
            .unwrap_or(0);
        if n > DENSE_MAX {
            let sparse = pairs
                .iter()
                .map(|&(f, t)| u32::from(f) << 16 | u32::from(t))
                .collect();
            return OpenPairs {
                n: 0,
                bits: Vec::new(),
                sparse,
            };
        }
        let mut bits = vec![0u64; (n * n).div_ceil(64)];
        for &(f, t) in pairs {
            let i = usize::from(f) * n + usize::from(t);
            bits[i / 64] |= 1 << (i % 64);
        }
        OpenPairs {
            n,
            bits,
            sparse: hashbrown::HashSet::new(),
        }
    }

    /// Every packet from network `from` to `to` passes.
    #[inline]
    pub fn contains(&self, from: NetIdx, to: NetIdx) -> bool {
        let (f, t) = (usize::from(from), usize::from(to));
        if f < self.n && t < self.n {
            let i = f * self.n + t;
            return self
                .bits
                .get(i / 64)
                .is_some_and(|w| w >> (i % 64) & 1 != 0);
        }
        !self.sparse.is_empty()
            && self
                .sparse
                .contains(&(u32::from(from) << 16 | u32::from(to)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The matrix and the hash set agree with the list of pairs, below and beyond the
        /// matrix's limit.
        #[test]
        fn agrees_with_the_pairs(
            pairs in proptest::collection::vec((0u16..40, 0u16..40), 0..30),
            far in proptest::option::of((1000u16..1100, 0u16..5)),
        ) {
            let mut all = pairs.clone();
            all.extend(far);
            let open = OpenPairs::new(&all);
            for f in (0..45).chain(1000..1100) {
                for t in 0..45 {
                    prop_assert_eq!(open.contains(f, t), all.contains(&(f, t)), "{} -> {}", f, t);
                }
            }
        }
    }
}
