//! The revocation view: session ids revoked recently enough that one of their access tokens
//! may still be alive. An access token lives at most `access_ttl`, so an entry can go
//! `access_ttl` + leeway after its revocation and the set stays small. Checked on every use
//! after the token itself verified; no database read on that path.
//!
//! When instances share a database, the view is only as good as the connection that hears
//! the others' revocations: while it is down the view is *stale*, and token uses are answered
//! 503 rather than trusting a view that may miss a revocation (see `crate::cluster`).

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// Revoked session ids and when they were revoked (Unix ms).
#[derive(Debug, Default)]
pub struct RevocationView {
    revoked: RwLock<HashMap<String, i64>>,
    /// Set while revocations made elsewhere may be missing (the change stream is down).
    stale: AtomicBool,
}

impl RevocationView {
    /// Whether the view can be trusted: false while another instance's revocation might not
    /// have reached it.
    pub fn is_current(&self) -> bool {
        !self.stale.load(Ordering::Acquire)
    }

    /// Marks the view stale (it may miss revocations) or current again (just reloaded).
    pub fn set_current(&self, current: bool) {
        self.stale.store(!current, Ordering::Release);
    }

    /// Whether tokens of session `sid` must be refused.
    pub fn is_revoked(&self, sid: &str) -> bool {
        self.read().contains_key(sid)
    }

    /// Adds revoked sessions.
    pub fn insert(&self, entries: impl IntoIterator<Item = (String, i64)>) {
        let mut revoked = self.revoked.write().unwrap_or_else(|p| p.into_inner());
        for (sid, at) in entries {
            revoked.insert(sid, at);
        }
    }

    /// Forgets revocations older than `before` (their tokens have all expired).
    pub fn prune(&self, before: i64) {
        self.revoked
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, at| *at >= before);
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, i64>> {
        self.revoked.read().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocations_are_held_until_their_tokens_have_expired() {
        let view = RevocationView::default();
        view.insert([("s1".to_owned(), 1_000), ("s2".to_owned(), 5_000)]);
        assert!(view.is_revoked("s1") && view.is_revoked("s2") && !view.is_revoked("s3"));
        view.prune(2_000);
        assert!(!view.is_revoked("s1"));
        assert!(view.is_revoked("s2"));
        assert_eq!(view.len(), 1);
    }
}
