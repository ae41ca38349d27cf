//! The audit feed: every use of a token and every step of a login, appended per user. Events
//! are built here, written in batches by the [`writer`], fanned out live to streams through
//! the [`Feed`], and pruned by [`retention`].

pub mod cursor;
pub mod retention;
pub mod writer;

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::store::AuditEvent;

pub use crate::config::Durability;
pub use cursor::{BadCursor, CursorCodec};
pub use writer::AuditWriter;

/// Kinds of feed events.
pub mod kind {
    pub const LOGIN_REQUESTED: &str = "login_requested";
    pub const LOGIN_REFUSED: &str = "login_refused";
    pub const NOTIFICATION_SENT: &str = "notification_sent";
    pub const NOTIFICATION_FAILED: &str = "notification_failed";
    pub const APPROVED: &str = "approved";
    pub const DENIED: &str = "denied";
    pub const FRAUD: &str = "fraud";
    pub const TOKEN_ISSUED: &str = "token_issued";
    pub const TOKEN_REFRESHED: &str = "token_refreshed";
    pub const TOKEN_USED: &str = "token_used";
    pub const TOKEN_REJECTED: &str = "token_rejected";
    pub const REFRESH_REUSE: &str = "refresh_reuse";
    pub const SESSION_REVOKED: &str = "session_revoked";

    /// Every kind, for validating filters.
    pub const ALL: &[&str] = &[
        LOGIN_REQUESTED,
        LOGIN_REFUSED,
        NOTIFICATION_SENT,
        NOTIFICATION_FAILED,
        APPROVED,
        DENIED,
        FRAUD,
        TOKEN_ISSUED,
        TOKEN_REFRESHED,
        TOKEN_USED,
        TOKEN_REJECTED,
        REFRESH_REUSE,
        SESSION_REVOKED,
    ];
}

/// Starts an event of `kind` for `user_id` at `at`; set the other fields as needed.
pub fn event(user_id: &str, kind: &str, at: i64) -> AuditEvent {
    AuditEvent {
        user_id: user_id.to_owned(),
        kind: kind.to_owned(),
        at,
        ..AuditEvent::default()
    }
}

/// What the feed tells its followers.
#[derive(Debug, Clone)]
pub enum FeedItem {
    /// An event this instance committed, with its id.
    Event(Arc<AuditEvent>),
    /// Events of this user were committed (by any instance sharing the database): followers
    /// of the user read them from the store.
    Appended {
        /// Whose feed grew.
        user_id: Arc<str>,
    },
    /// Notices may have been missed (the database connection was lost): every follower
    /// catches up from the store.
    Resync,
}

/// Live fan-out of committed events to feed streams (SSE). Lagging receivers are told so and
/// catch up from the store.
///
/// Alone on its database, an instance relays the events its writer commits. When several
/// instances share one (PostgreSQL), the store is the only source of events: the database
/// announces each commit (`Appended`, in commit order) and followers read from the store, so
/// an event written elsewhere is never overtaken by a later local one.
#[derive(Debug, Clone)]
pub struct Feed {
    sender: broadcast::Sender<FeedItem>,
    relays_events: bool,
}

impl Feed {
    /// A feed buffering up to `capacity` items per slow receiver. `relays_events`: whether the
    /// writer's own events are relayed (one instance) or only announced by the database.
    pub fn new(capacity: usize, relays_events: bool) -> Self {
        Feed {
            sender: broadcast::channel(capacity.max(16)).0,
            relays_events,
        }
    }

    /// Announces committed events (ids assigned).
    pub fn publish(&self, item: FeedItem) {
        // No receiver is fine: nobody is watching.
        let _ = self.sender.send(item);
    }

    /// Whether the writer should publish the events it commits: only when the database does
    /// not announce them, and only when a stream is listening.
    pub fn wants_events(&self) -> bool {
        self.relays_events && self.sender.receiver_count() > 0
    }

    /// A receiver of everything published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<FeedItem> {
        self.sender.subscribe()
    }
}
