//! Host-side randomness of the loader: every random choice is a pure function of
//! `(seed, purpose, epoch, position)`, so batches do not depend on thread scheduling or on the
//! number of workers, and a loader can resume from `(seed, batch index)` alone.
//!
//! The generator is ChaCha8 keyed directly from those numbers; uniform integers use Lemire's
//! unbiased multiply-and-reject method on `next_u64`, so the streams depend only on ChaCha8, not
//! on the sampling algorithms of a particular `rand` version.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a random stream is used for (keeps the streams of different purposes independent).
#[derive(Clone, Copy, Debug)]
#[repr(u64)]
pub(crate) enum Purpose {
    /// The permutation of an epoch.
    Shuffle = 0x5348_5546_464c_4531,
    /// The augmentation draws of one sample.
    Augment = 0x4155_474d_454e_5431,
}

/// A ChaCha8 generator keyed by `(seed, purpose, a, b)`.
pub(crate) fn keyed_rng(seed: u64, purpose: Purpose, a: u64, b: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[0..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(purpose as u64).to_le_bytes());
    key[16..24].copy_from_slice(&a.to_le_bytes());
    key[24..32].copy_from_slice(&b.to_le_bytes());
    ChaCha8Rng::from_seed(key)
}

/// A uniform integer in `0..n` (`n > 0`), unbiased (Lemire 2019).
pub fn uniform_below<R: Rng + ?Sized>(rng: &mut R, n: u64) -> u64 {
    assert!(n > 0, "uniform_below needs n > 0");
    let threshold = n.wrapping_neg() % n;
    loop {
        let m = rng.next_u64() as u128 * n as u128;
        if (m as u64) >= threshold {
            return (m >> 64) as u64;
        }
    }
}

/// A uniform float in `[0, 1)` with 53 random bits.
pub fn uniform_unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The permutation of `0..n` used for epoch `epoch` (Fisher-Yates).
pub(crate) fn epoch_permutation(seed: u64, epoch: u64, n: usize) -> Vec<u32> {
    let mut rng = keyed_rng(seed, Purpose::Shuffle, epoch, n as u64);
    let mut perm: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        let j = uniform_below(&mut rng, i as u64 + 1) as usize;
        perm.swap(i, j);
    }
    perm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_below_is_roughly_uniform_and_in_range() {
        let mut rng = keyed_rng(1, Purpose::Augment, 0, 0);
        let mut counts = [0usize; 7];
        for _ in 0..70_000 {
            counts[uniform_below(&mut rng, 7) as usize] += 1;
        }
        for c in counts {
            // 10 000 expected, sd ~ 93: 6 sd tolerance.
            assert!((9_440..=10_560).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn permutations_are_permutations_and_depend_on_epoch() {
        let a = epoch_permutation(7, 0, 1000);
        let b = epoch_permutation(7, 1, 1000);
        let mut s = a.clone();
        s.sort();
        assert_eq!(s, (0..1000).collect::<Vec<_>>());
        assert_ne!(a, b);
        assert_eq!(a, epoch_permutation(7, 0, 1000));
    }
}
