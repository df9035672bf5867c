//! Deterministic randomness.
//!
//! Every table, school and purpose draws from its own ChaCha8 stream, keyed by
//! the seed, a label and a few numbers ([`stream`]), so what one table or
//! school gets never depends on how much another one drew. Per-student values
//! that are needed again and again (a student's screening latent, their
//! pseudonym) come from a hash of the seed and the student instead of a stream
//! ([`hash`], [`unit`]).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The splitmix64 finaliser: a bijection on `u64` that mixes every bit.
pub const fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of a label.
fn fnv(label: &str) -> u64 {
    label.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// A 64-bit hash of the seed, a label and some numbers.
pub fn hash(seed: u64, label: &str, parts: &[u64]) -> u64 {
    parts.iter().fold(mix64(seed ^ fnv(label)), |h, p| mix64(h ^ mix64(*p)))
}

/// The random stream for `label` and `parts` under `seed`.
pub fn stream(seed: u64, label: &str, parts: &[u64]) -> ChaCha8Rng {
    let mut h = hash(seed, label, parts);
    let mut key = [0u8; 32];
    for chunk in key.chunks_mut(8) {
        h = mix64(h);
        chunk.copy_from_slice(&h.to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}

/// A uniform number in [0, 1) from a hash.
pub fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// A standard normal number from two hashes (Box–Muller).
pub fn normal(h1: u64, h2: u64) -> f64 {
    let u1 = 1.0 - unit(h1); // (0, 1]
    let u2 = unit(h2);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A uniform integer in `lo..=hi`.
pub fn between(rng: &mut ChaCha8Rng, lo: u64, hi: u64) -> u64 {
    if hi <= lo { lo } else { rng.random_range(lo..=hi) }
}

/// A uniform number in `[lo, hi)`.
pub fn uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// `true` with probability `p`.
pub fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    rng.random::<f64>() < p
}

/// An element of a non-empty slice, uniformly.
pub fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    let i = between(rng, 0, items.len().saturating_sub(1) as u64) as usize;
    &items[i.min(items.len().saturating_sub(1))]
}

/// An index drawn with the given weights (the last index when all are zero).
pub fn weighted(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len().saturating_sub(1)
}

/// A position in a cumulative-weight table (`cumulative[i]` = weights up to and including `i`).
pub fn in_cumulative(rng: &mut ChaCha8Rng, cumulative: &[f64]) -> usize {
    let total = cumulative.last().copied().unwrap_or(0.0);
    let x = rng.random::<f64>() * total;
    cumulative.partition_point(|c| *c <= x).min(cumulative.len().saturating_sub(1))
}

/// `total` split into whole parts proportional to `weights` (largest remainder;
/// ties go to the earlier index). All-zero weights split evenly.
pub fn apportion(total: u64, weights: &[f64]) -> Vec<u64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let sum: f64 = weights.iter().map(|w| w.max(0.0)).sum();
    let even = sum <= 0.0;
    let share = |w: f64| if even { 1.0 / weights.len() as f64 } else { w.max(0.0) / sum };
    let exact: Vec<f64> = weights.iter().map(|w| share(*w) * total as f64).collect();
    let mut parts: Vec<u64> = exact.iter().map(|x| x.floor() as u64).collect();
    let given: u64 = parts.iter().sum();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|a, b| (exact[*b] - exact[*b].floor()).total_cmp(&(exact[*a] - exact[*a].floor())).then(a.cmp(b)));
    for i in order.iter().cycle().take(total.saturating_sub(given) as usize) {
        parts[*i] += 1;
    }
    parts
}

/// `total` split into `n` random whole parts, each in `lo..=hi`.
/// `None` when that is impossible (`n·lo > total` or `n·hi < total`).
pub fn split_total(rng: &mut ChaCha8Rng, total: u64, n: usize, lo: u64, hi: u64) -> Option<Vec<u64>> {
    let n64 = n as u64;
    if n == 0 {
        return (total == 0).then(Vec::new);
    }
    if n64 * lo > total || n64 * hi < total || lo > hi {
        return None;
    }
    let weights: Vec<f64> = (0..n).map(|_| uniform(rng, 0.4, 1.6)).collect();
    let mut parts: Vec<u64> = apportion(total - n64 * lo, &weights).into_iter().map(|p| (p + lo).min(hi)).collect();
    // Parts capped at `hi` left some units over: hand them to parts with room.
    let mut left = total - parts.iter().sum::<u64>();
    while left > 0 {
        let room: Vec<usize> = (0..n).filter(|i| parts[*i] < hi).collect();
        let i = *pick(rng, &room);
        let add = left.min(hi - parts[i]).min(1 + left / room.len() as u64);
        parts[i] += add;
        left -= add;
    }
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_stable_and_independent() {
        let a: u64 = stream(1, "services", &[3]).random();
        let b: u64 = stream(1, "services", &[3]).random();
        let c: u64 = stream(1, "services", &[4]).random();
        let d: u64 = stream(2, "services", &[3]).random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn apportion_is_exact() {
        assert_eq!(apportion(10, &[1.0, 1.0, 1.0]), vec![4, 3, 3]);
        assert_eq!(apportion(7, &[0.0, 0.0]), vec![4, 3]);
        assert_eq!(apportion(100, &[3.0, 1.0]).iter().sum::<u64>(), 100);
    }

    #[test]
    fn split_total_respects_bounds() {
        let mut rng = stream(9, "t", &[]);
        for (total, n, lo, hi) in
            [(2913, 23, 30, 320), (351, 34, 6, 14), (36, 3, 8, 16), (426, 2, 120, 320), (5, 5, 1, 1)]
        {
            let parts = split_total(&mut rng, total, n, lo, hi).expect("feasible");
            assert_eq!(parts.len(), n);
            assert_eq!(parts.iter().sum::<u64>(), total);
            assert!(parts.iter().all(|p| (lo..=hi).contains(p)), "{parts:?}");
        }
        assert!(split_total(&mut rng, 10, 3, 4, 9).is_none());
    }
}
