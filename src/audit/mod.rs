//! The audit feed: every use of a token and every step of a login, appended per user. Events
//! are built here, written in batches by the [`writer`], fanned out live to streams through
//! the [`Feed`], and pruned by [`retention`].

pub mod retention;
pub mod writer;

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::store::AuditEvent;

pub use writer::{AuditWriter, Durability};

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

/// Live fan-out of committed events to feed streams (SSE). Lagging receivers are told so and
/// catch up from the store.
#[derive(Debug, Clone)]
pub struct Feed {
    sender: broadcast::Sender<Arc<AuditEvent>>,
}

impl Feed {
    /// A feed buffering up to `capacity` events per slow receiver.
    pub fn new(capacity: usize) -> Self {
        Feed {
            sender: broadcast::channel(capacity.max(16)).0,
        }
    }

    /// Announces committed events (ids assigned).
    pub fn publish(&self, event: Arc<AuditEvent>) {
        // No receiver is fine: nobody is watching.
        let _ = self.sender.send(event);
    }

    /// Whether any stream is listening (publishing to nobody is skipped).
    pub fn is_watched(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    /// A receiver of everything published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<AuditEvent>> {
        self.sender.subscribe()
    }
}
