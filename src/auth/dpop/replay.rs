//! The bounded memory of recently accepted proofs, per instance.
//!
//! A proof must be remembered until its `iat` window has passed: forgetting it earlier lets a
//! captured proof be replayed. So a full cache never makes room by dropping a live entry; it
//! drops only expired ones (in order of expiry, whatever order they came in) and otherwise
//! refuses the new proof — the caller answers "try again later".

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// Why a proof could not be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// This proof is already remembered: a replay.
    Replayed,
    /// Every slot holds a proof still inside its window.
    Full,
}

/// Recently accepted proofs: (thumbprint, jti) → when it may be forgotten, at most `capacity`.
pub(super) struct ReplayCache {
    capacity: usize,
    seen: HashMap<String, i64, foldhash::fast::RandomState>,
    /// The same entries, soonest expiry on top.
    expiries: BinaryHeap<Reverse<(i64, String)>>,
}

impl ReplayCache {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            seen: HashMap::default(),
            expiries: BinaryHeap::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.seen.len()
    }

    /// Records `key` until `forget_at` (inclusive), unless it is already remembered or the cache
    /// is full of entries that are still live at `now`.
    pub(super) fn insert(&mut self, key: String, forget_at: i64, now: i64) -> Result<(), Refused> {
        self.forget_expired(now);
        if self.seen.contains_key(&key) {
            return Err(Refused::Replayed);
        }
        if self.seen.len() >= self.capacity {
            return Err(Refused::Full);
        }
        self.seen.insert(key.clone(), forget_at);
        self.expiries.push(Reverse((forget_at, key)));
        Ok(())
    }

    /// Drops every entry whose `forget_at` is before `now`.
    fn forget_expired(&mut self, now: i64) {
        while let Some(Reverse((at, _))) = self.expiries.peek() {
            if *at >= now {
                break;
            }
            if let Some(Reverse((at, key))) = self.expiries.pop()
                && self.seen.get(&key) == Some(&at)
            {
                self.seen.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn a_full_cache_refuses_new_proofs_and_still_knows_every_live_one() {
        let mut cache = ReplayCache::new(4);
        for i in 0..4 {
            assert_eq!(cache.insert(format!("k{i}"), NOW + 60, NOW), Ok(()));
        }
        for i in 4..10 {
            assert_eq!(
                cache.insert(format!("k{i}"), NOW + 60, NOW + 30),
                Err(Refused::Full)
            );
        }
        assert_eq!(cache.len(), 4);
        for i in 0..4 {
            assert_eq!(
                cache.insert(format!("k{i}"), NOW + 90, NOW + 60),
                Err(Refused::Replayed),
                "k{i} is live until its window ends"
            );
        }
    }

    #[test]
    fn expired_proofs_make_room_whatever_order_they_came_in() {
        let mut cache = ReplayCache::new(3);
        // A proof with a late iat first, then two whose windows end sooner.
        assert_eq!(cache.insert("late".into(), NOW + 120, NOW), Ok(()));
        assert_eq!(cache.insert("soon1".into(), NOW + 10, NOW), Ok(()));
        assert_eq!(cache.insert("soon2".into(), NOW + 10, NOW), Ok(()));
        assert_eq!(cache.insert("next".into(), NOW + 70, NOW + 11), Ok(()));
        assert_eq!(cache.len(), 2);
        assert_eq!(
            cache.insert("late".into(), NOW + 200, NOW + 11),
            Err(Refused::Replayed)
        );
        // Later, everything has expired and goes on the next insert.
        assert_eq!(cache.insert("late".into(), NOW + 300, NOW + 121), Ok(()));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn an_entry_is_live_through_the_last_second_of_its_window() {
        let mut cache = ReplayCache::new(2);
        assert_eq!(cache.insert("k".into(), NOW + 60, NOW), Ok(()));
        assert_eq!(
            cache.insert("k".into(), NOW + 120, NOW + 60),
            Err(Refused::Replayed)
        );
        assert_eq!(cache.insert("k".into(), NOW + 121, NOW + 61), Ok(()));
    }
}
