//! The bounded memory of recently accepted proofs, per instance.

use std::collections::{HashMap, VecDeque};

/// Recently accepted proofs: (thumbprint, jti) → when it may be forgotten, bounded, oldest
/// first out.
pub(super) struct ReplayCache {
    capacity: usize,
    seen: HashMap<String, i64, foldhash::fast::RandomState>,
    order: VecDeque<(String, i64)>,
}

impl ReplayCache {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            seen: HashMap::default(),
            order: VecDeque::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.seen.len()
    }

    /// Records `key` until `forget_at`; false if it is already remembered.
    pub(super) fn insert(&mut self, key: String, forget_at: i64, now: i64) -> bool {
        // Entries are inserted in roughly increasing forget_at order: drop the expired front.
        while let Some((old, at)) = self.order.front() {
            if *at >= now && self.order.len() < self.capacity {
                break;
            }
            if self.seen.get(old) == Some(at) {
                self.seen.remove(old);
            }
            self.order.pop_front();
        }
        if self.seen.get(&key).is_some_and(|at| *at >= now) {
            return false;
        }
        self.seen.insert(key.clone(), forget_at);
        self.order.push_back((key, forget_at));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn the_replay_cache_stays_bounded_and_forgets_expired_proofs() {
        let mut cache = ReplayCache::new(4);
        for i in 0..10 {
            assert!(cache.insert(format!("k{i}"), NOW + 60, NOW));
            assert!(cache.len() <= 4);
        }
        assert!(!cache.insert("k9".into(), NOW + 60, NOW));
        // Later, everything has expired and goes on the next insert.
        assert!(cache.insert("k9".into(), NOW + 200, NOW + 100));
        assert_eq!(cache.len(), 1);
    }
}
