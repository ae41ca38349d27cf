//! The session view: what every token use is checked against after the token itself verified,
//! in memory, with no database read on that path. It holds the live sessions with their owner
//! (`sid → sub`, so a validly signed token naming a session that is not its subject's is
//! refused: with HS256 the key is shared with other servers, which could sign anything) and,
//! as tombstones, the sessions revoked recently enough that one of their access tokens may still
//! be alive (an access token lives at most `access_ttl`, so a tombstone can go `access_ttl` +
//! leeway after its revocation).
//!
//! One view instead of a revocation set beside a live set: a revocation *is* the end of a live
//! entry, and keeping both in one map makes "revoked wins" a property of one `insert` instead of
//! an ordering between two structures. Loads are unions (a reload never removes what this
//! instance learnt meanwhile), and a tombstone is never turned back into a live session, so a
//! reload that raced a revocation cannot revive it.
//!
//! When instances share a database, the view is only as good as the connection that hears the
//! others' sessions and revocations: while it is down the view is *stale*, and token uses are
//! answered 503 rather than trusting a view that may miss a revocation (see `crate::cluster`).
//!
//! A session created on another instance may reach this one's view a moment after its first
//! token does (the token travels faster than the database's notification). Such a token is
//! *unheard of*: the caller may look its session up in the store once and add the answer
//! (live, revoked, or [`SessionView::remember_unknown`]), so the next use is answered from memory. Unknown sids are remembered too (in a
//! bounded set), and lookups are limited to [`MISS_LOOKUPS_PER_SECOND`], so tokens with forged
//! sids cannot turn into an unbounded number of database reads.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard};

/// How many store lookups of unheard-of sessions one instance makes per second at most. A
/// legitimate token is unheard of only in the milliseconds between its session's commit on
/// another instance and the notification reaching this one; beyond this, a miss is answered
/// "try again" (503) instead of with another database read.
pub const MISS_LOOKUPS_PER_SECOND: u32 = 50;

/// How many unknown sids are remembered; when full the set starts over (it only saves lookups).
const MAX_UNKNOWN: usize = 10_000;

/// What the view knows of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// Live until `expires_at` (Unix ms), owned by `user_id`.
    Live { user_id: String, expires_at: i64 },
    /// Revoked at `at` (Unix ms): final.
    Revoked { at: i64 },
}

/// The standing of a token's session, as [`SessionView::standing`] answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// A live session of the token's subject.
    Live,
    /// The session was revoked.
    Revoked,
    /// Known, but not a live session of this subject: expired, someone else's, or unknown to
    /// the store.
    NotLive,
    /// Never heard of: possibly created a moment ago on another instance.
    Unheard,
}

/// Live sessions, recent revocations, and sids known to be nobody's.
#[derive(Debug, Default)]
pub struct SessionView {
    entries: RwLock<HashMap<String, Entry>>,
    /// Sids looked up and not found, with when (Unix ms).
    unknown: RwLock<HashMap<String, i64>>,
    /// Store lookups in the current second: (second, count).
    lookups: Mutex<(i64, u32)>,
    /// Set while changes made elsewhere may be missing (the change stream is down).
    stale: AtomicBool,
}

impl SessionView {
    /// Whether the view can be trusted: false while another instance's revocation might not
    /// have reached it.
    pub fn is_current(&self) -> bool {
        !self.stale.load(Ordering::Acquire)
    }

    /// Marks the view stale (it may miss revocations) or current again (just reloaded).
    pub fn set_current(&self, current: bool) {
        self.stale.store(!current, Ordering::Release);
    }

    /// Where session `sid` stands for a token whose subject is `sub`, at `now` (Unix ms).
    pub fn standing(&self, sid: &str, sub: &str, now: i64) -> Standing {
        match self.read().get(sid) {
            Some(Entry::Revoked { .. }) => Standing::Revoked,
            Some(Entry::Live {
                user_id,
                expires_at,
            }) if user_id == sub && *expires_at > now => Standing::Live,
            Some(Entry::Live { .. }) => Standing::NotLive,
            None if self.read_unknown().contains_key(sid) => Standing::NotLive,
            None => Standing::Unheard,
        }
    }

    /// Whether tokens of session `sid` must be refused because it was revoked.
    pub fn is_revoked(&self, sid: &str) -> bool {
        matches!(self.read().get(sid), Some(Entry::Revoked { .. }))
    }

    /// Adds live sessions: `(sid, user id, expires_at)`. A revoked one stays revoked.
    pub fn insert_live(&self, sessions: impl IntoIterator<Item = (String, String, i64)>) {
        let mut entries = self.write();
        for (sid, user_id, expires_at) in sessions {
            entries.entry(sid).or_insert(Entry::Live {
                user_id,
                expires_at,
            });
        }
    }

    /// Adds revoked sessions: `(sid, revoked_at)`.
    pub fn insert_revoked(&self, revoked: impl IntoIterator<Item = (String, i64)>) {
        let mut entries = self.write();
        for (sid, at) in revoked {
            match entries.get(&sid) {
                // The first revocation is the one that counts (its time decides the pruning).
                Some(Entry::Revoked { .. }) => {}
                _ => {
                    entries.insert(sid, Entry::Revoked { at });
                }
            }
        }
    }

    /// Remembers that the store has no session `sid` (looked up at `now`, Unix ms).
    pub fn remember_unknown(&self, sid: &str, now: i64) {
        let mut unknown = self.unknown.write().unwrap_or_else(|p| p.into_inner());
        if unknown.len() >= MAX_UNKNOWN {
            unknown.clear();
        }
        unknown.insert(sid.to_owned(), now);
    }

    /// Whether one more store lookup of an unheard-of session fits this second's budget.
    pub fn may_look_up(&self, now: i64) -> bool {
        let second = now.div_euclid(1000);
        let mut lookups = self.lookups.lock().unwrap_or_else(|p| p.into_inner());
        if lookups.0 != second {
            *lookups = (second, 0);
        }
        if lookups.1 >= MISS_LOOKUPS_PER_SECOND {
            return false;
        }
        lookups.1 += 1;
        true
    }

    /// Forgets sessions expired at `now` and revocations older than `revoked_before` (their
    /// tokens have all expired), and unknown sids older than that too.
    pub fn prune(&self, now: i64, revoked_before: i64) {
        self.write().retain(|_, entry| match entry {
            Entry::Live { expires_at, .. } => *expires_at > now,
            Entry::Revoked { at } => *at >= revoked_before,
        });
        self.unknown
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, at| *at >= revoked_before);
    }

    /// Live sessions held (expired ones not yet pruned included).
    pub fn live_count(&self) -> usize {
        self.read()
            .values()
            .filter(|e| matches!(e, Entry::Live { .. }))
            .count()
    }

    /// Revocations held.
    pub fn revoked_count(&self) -> usize {
        self.read()
            .values()
            .filter(|e| matches!(e, Entry::Revoked { .. }))
            .count()
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<String, Entry>> {
        self.entries.read().unwrap_or_else(|p| p.into_inner())
    }

    fn read_unknown(&self) -> RwLockReadGuard<'_, HashMap<String, i64>> {
        self.unknown.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Entry>> {
        self.entries.write().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(sid: &str, user: &str, expires_at: i64) -> (String, String, i64) {
        (sid.to_owned(), user.to_owned(), expires_at)
    }

    #[test]
    fn only_a_live_unexpired_session_of_the_tokens_subject_stands() {
        let view = SessionView::default();
        view.insert_live([live("s1", "alice", 10_000)]);
        assert_eq!(view.standing("s1", "alice", 5_000), Standing::Live);
        assert_eq!(view.standing("s1", "bob", 5_000), Standing::NotLive);
        assert_eq!(view.standing("s1", "alice", 10_000), Standing::NotLive);
        assert_eq!(view.standing("s2", "alice", 5_000), Standing::Unheard);
    }

    #[test]
    fn a_revocation_wins_over_any_load_before_or_after_it() {
        let view = SessionView::default();
        view.insert_live([live("s1", "alice", 10_000)]);
        view.insert_revoked([("s1".to_owned(), 2_000)]);
        // A reload that read the session before its revocation committed.
        view.insert_live([live("s1", "alice", 10_000)]);
        assert_eq!(view.standing("s1", "alice", 3_000), Standing::Revoked);
        assert!(view.is_revoked("s1"));
    }

    #[test]
    fn revocations_are_held_until_their_tokens_have_expired() {
        let view = SessionView::default();
        view.insert_revoked([("s1".to_owned(), 1_000), ("s2".to_owned(), 5_000)]);
        view.insert_live([live("s3", "alice", 3_000)]);
        view.prune(4_000, 2_000);
        assert!(!view.is_revoked("s1"));
        assert!(view.is_revoked("s2"));
        assert_eq!(view.revoked_count(), 1);
        assert_eq!(view.live_count(), 0, "the expired session is forgotten");
    }

    #[test]
    fn a_looked_up_unknown_sid_is_remembered_and_lookups_are_budgeted() {
        let view = SessionView::default();
        view.remember_unknown("forged", 1_000);
        assert_eq!(view.standing("forged", "alice", 1_000), Standing::NotLive);
        let allowed = (0..MISS_LOOKUPS_PER_SECOND * 2)
            .filter(|_| view.may_look_up(1_500))
            .count();
        assert_eq!(allowed, MISS_LOOKUPS_PER_SECOND as usize);
        assert!(view.may_look_up(2_000), "a new second, a new budget");
    }
}
