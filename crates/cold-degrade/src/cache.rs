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
            levels: vec![Arc::new(identity.iter().map(|&v| v as f32).collect())],
            running: identity,
        }
    }

    fn get(&mut self, level: usize, step: &dyn Fn(usize, &[f64]) -> Vec<f64>) -> Arc<Vec<f32>> {
        while self.levels.len() <= level {
            let s = self.levels.len() - 1;
            self.running = step(s, &self.running);
            self.levels
                .push(Arc::new(self.running.iter().map(|&v| v as f32).collect()));
        }
        self.levels[level].clone()
    }
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
