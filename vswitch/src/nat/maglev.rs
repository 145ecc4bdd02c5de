//! Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table of prime size in
//! which each backend owns slots in proportion to its weight, filled from per-backend
//! permutations so that adding or removing one backend moves little more than its own share.
//! Built off the datapath (at publish) and read with one index per new connection.

/// Slots of a table: prime, and large against the backends a service has (100 x 1 000).
pub const TABLE_SIZE: usize = 65_537;

/// 64-bit FNV-1a of a backend's name: where its permutation starts and how it steps.
fn fnv(bytes: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The table for backends named `names` with `weights` (a weight of 0 takes no slot):
/// the backend index of each slot; empty when no backend has weight.
pub fn build(names: &[String], weights: &[u32], size: usize) -> Vec<u16> {
    let n = names.len().min(weights.len());
    if n == 0 || weights[..n].iter().all(|w| *w == 0) {
        return Vec::new();
    }
    let m = size as u64;
    let perm: Vec<(u64, u64)> = names[..n]
        .iter()
        .map(|name| {
            let offset = fnv(name.as_bytes(), 0x9e37_79b9) % m;
            let skip = fnv(name.as_bytes(), 0x7f4a_7c15) % (m - 1) + 1;
            (offset, skip)
        })
        .collect();
    let mut next = vec![0u64; n];
    let mut table = vec![u16::MAX; size];
    // Weighted: in each round a backend takes as many turns as its weight (reduced).
    let g = weights[..n].iter().copied().filter(|w| *w > 0).fold(0, gcd);
    let turns: Vec<u32> = weights[..n].iter().map(|w| w / g).collect();
    let mut filled = 0;
    'fill: loop {
        for i in 0..n {
            for _ in 0..turns[i] {
                let (offset, skip) = perm[i];
                let mut c = (offset + next[i] * skip) % m;
                while table[c as usize] != u16::MAX {
                    next[i] += 1;
                    c = (offset + next[i] * skip) % m;
                }
                table[c as usize] = i as u16;
                next[i] += 1;
                filled += 1;
                if filled == size {
                    break 'fill;
                }
            }
        }
    }
    table
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("198.51.100.{}:80", 10 + i))
            .collect()
    }

    fn shares(table: &[u16], n: usize) -> Vec<f64> {
        let mut c = vec![0usize; n];
        for b in table {
            c[usize::from(*b)] += 1;
        }
        c.iter().map(|x| *x as f64 / table.len() as f64).collect()
    }

    #[test]
    fn slots_follow_the_weights() {
        let t = build(&names(3), &[1, 1, 2], TABLE_SIZE);
        let s = shares(&t, 3);
        for (got, want) in s.iter().zip([0.25, 0.25, 0.5]) {
            assert!((got - want).abs() < 0.01, "{s:?}");
        }
        assert!(build(&names(2), &[0, 0], TABLE_SIZE).is_empty());
    }

    #[test]
    fn removing_a_backend_moves_little_more_than_its_share() {
        let all = names(10);
        let before = build(&all, &[1; 10], TABLE_SIZE);
        // Backend 3 leaves: the others keep their names (and so their permutations).
        let rest: Vec<String> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 3)
            .map(|(_, n)| n.clone())
            .collect();
        let after = build(&rest, &[1; 9], TABLE_SIZE);
        let moved = before
            .iter()
            .zip(&after)
            .filter(|(b, a)| {
                let b = usize::from(**b);
                b != 3 && rest[usize::from(**a)] != all[b]
            })
            .count();
        // Slots of the remaining backends that changed hands: a few percent at most.
        assert!((moved as f64) < 0.03 * TABLE_SIZE as f64, "{moved} moved");
    }

    #[test]
    fn a_thousand_backends_build_quickly() {
        let t0 = std::time::Instant::now();
        let t = build(&names(1000), &vec![1; 1000], TABLE_SIZE);
        assert_eq!(t.len(), TABLE_SIZE);
        assert!(t.iter().all(|b| usize::from(*b) < 1000));
        // Generous: a debug build on a shared machine (the release figure is in perf/).
        assert!(t0.elapsed().as_millis() < 2000);
    }
}
