//! Changes the database announces: when several nod instances share one database, each learns
//! from here what the others committed (PostgreSQL: triggers `NOTIFY`, every instance
//! `LISTEN`s). An embedded database has no other writers and announces nothing.

use async_trait::async_trait;

use super::StoreResult;

/// One committed change, as every instance sharing the database hears of it (its own
/// included: acting on a change twice is harmless).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// An approval changed state (decided, redeemed): wake the long-polls waiting on it.
    ApprovalChanged {
        /// The approval's id.
        id: String,
    },
    /// A session was revoked: refuse its tokens from the next use on.
    SessionRevoked {
        /// The session id.
        sid: String,
        /// When (Unix ms).
        at: i64,
    },
    /// A session was created (on any instance): its tokens verify from the next use on.
    SessionCreated {
        /// The session id.
        sid: String,
        /// Whose it is.
        user_id: String,
        /// When it ends (Unix ms).
        expires_at: i64,
    },
    /// A resource server was added or removed: reload the list.
    ResourceServersChanged,
    /// Audit events of this user were committed: feed streams read them from the store.
    FeedAppended {
        /// Whose feed grew.
        user_id: String,
    },
    /// The stream was interrupted and is listening again: changes in between may have been
    /// missed, so every view is reloaded from the store.
    Resync,
}

/// A stream of [`Change`]s.
#[async_trait]
pub trait ChangeStream: Send {
    /// The next change. An error means the stream was interrupted or the database cannot be
    /// reached — changes may be missed from then on; calling again tries to listen again, and
    /// success is reported as [`Change::Resync`].
    async fn next(&mut self) -> StoreResult<Change>;
}
