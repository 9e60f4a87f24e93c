//! Host-side caches of cumulative per-level quantities (composed blur matrices, cumulative
//! masks), computed once in f64 and stored as f32 per level.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// The prefix "products" `P_0 = identity, P_{s+1} = step(s, P_s)` of one size, extended
/// lazily: level `s` costs one `step` the first time any level up to `s` is asked for, and a
/// lookup afterwards, so `D(x, s)` costs the same for every `s` once warm.
#[derive(Debug)]
pub(crate) struct Prefixes {
    levels: Vec<Arc<Vec<f32>>>,
    running: Vec<f64>,
}

impl Prefixes {
    fn new(identity: Vec<f64>) -> Self {
        Self {
            levels: vec![Arc::new(to_f32(&identity))],
            running: identity,
        }
    }

    fn get(&mut self, level: usize, step: &dyn Fn(usize, &[f64]) -> Vec<f64>) -> Arc<Vec<f32>> {
        while self.levels.len() <= level {
            let s = self.levels.len() - 1;
            self.running = step(s, &self.running);
            self.levels.push(Arc::new(to_f32(&self.running)));
        }
        self.levels[level].clone()
    }
}

/// Round to f32, flushing values below the smallest normal f32 (about 1.2e-38) to zero.
///
/// Gaussian tails and long mask products reach the subnormal range (the original's own float32
/// Special_6 kernels hold 4.2e-45); their contributions are far below an f32 ulp of any output,
/// but subnormal operands make CPU matrix products many times slower.
pub(crate) fn to_f32(values: &[f64]) -> Vec<f32> {
    values
        .iter()
        .map(|&v| {
            let f = v as f32;
            if f.abs() < f32::MIN_POSITIVE { 0.0 } else { f }
        })
        .collect()
}

/// Prefix caches keyed by size (or any key), shared behind a mutex so an operator stays
/// `Send + Sync` and usable through `&self`.
#[derive(Debug)]
pub(crate) struct PrefixCache<K> {
    map: Mutex<HashMap<K, Prefixes>>,
}

impl<K: Hash + Eq + Clone> PrefixCache<K> {
    pub(crate) fn new() -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The f32 values at each of `levels` (deduplicated by the caller or not), for `key`.
    /// `identity` builds level 0; `step(i, P_i)` returns `P_{i+1}`.
    pub(crate) fn levels(
        &self,
        key: &K,
        levels: &[usize],
        identity: &dyn Fn() -> Vec<f64>,
        step: &dyn Fn(usize, &[f64]) -> Vec<f64>,
    ) -> Vec<Arc<Vec<f32>>> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map
            .entry(key.clone())
            .or_insert_with(|| Prefixes::new(identity()));
        levels.iter().map(|&l| entry.get(l, step)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnormals_are_flushed_and_normals_kept() {
        let v = to_f32(&[1.0, -0.25, 4.2e-45, -1e-39, 1.2e-38, 0.0]);
        assert_eq!(v, vec![1.0, -0.25, 0.0, 0.0, 1.2e-38, 0.0]);
    }

    #[test]
    fn prefixes_extend_lazily_and_in_any_order() {
        let cache = PrefixCache::<usize>::new();
        let identity = || vec![1.0, 2.0];
        let step = |i: usize, prev: &[f64]| prev.iter().map(|v| v * (i + 2) as f64).collect();
        // level 3 = [1, 2]·2·3·4
        let l = cache.levels(&7, &[3, 0, 1], &identity, &step);
        assert_eq!(*l[0], vec![24.0, 48.0]);
        assert_eq!(*l[1], vec![1.0, 2.0]);
        assert_eq!(*l[2], vec![2.0, 4.0]);
        assert_eq!(
            *cache.levels(&7, &[2], &identity, &step)[0],
            vec![6.0, 12.0]
        );
    }
}
