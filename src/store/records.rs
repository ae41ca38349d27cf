//! Plain rows as the store hands them out, and the small types its methods take and return:
//! the same shapes on every backend (times are Unix milliseconds, booleans are 0/1 integers,
//! lists are JSON text, states are the domain's enums — see `as_text.rs`).

use sqlx::FromRow;

use crate::domain::{ApprovalState, Factor, RevokedBy};

/// A person who signs in.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct User {
    pub id: String,
    /// Normalised username.
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// 1 when disabled.
    pub disabled: i64,
    pub created_at: i64,
}

impl User {
    /// Whether the user may sign in.
    pub fn is_active(&self) -> bool {
        self.disabled == 0
    }
}

/// A paired phone.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Device {
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// SHA-256 of the device secret.
    pub secret_hash: String,
    /// JSON list of channels (`domain::ChannelList`).
    pub channels: String,
    /// Sealed TOTP secret.
    pub totp_secret: String,
    /// Last accepted TOTP step.
    pub totp_last_step: Option<i64>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    /// RFC 7638 thumbprint of the app's key (DPoP), if it enrolled with one.
    pub jkt: Option<String>,
}

/// A login waiting for a phone, or decided by one.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Approval {
    pub id: String,
    /// SHA-256 of the auth_req_id.
    pub req_hash: String,
    pub user_id: String,
    pub binding_code: String,
    /// The stored state; expiry is derived from `expires_at`, never stored.
    pub state: ApprovalState,
    pub client_name: String,
    pub ip: String,
    pub user_agent: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    pub last_polled_at: Option<i64>,
    /// Thumbprint of the DPoP key the login was bound to, if any.
    pub dpop_jkt: Option<String>,
    /// The second factor that approved it (`push` until decided).
    pub factor: Factor,
}

/// A one-time link from a notification to the approval page.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ApprovalLink {
    /// SHA-256 of the link code.
    pub link_hash: String,
    pub approval_id: String,
    pub device_id: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// What an approval opened.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub approval_id: String,
    /// The device that approved (none for other factors).
    pub device_id: Option<String>,
    pub client_name: String,
    pub ip: String,
    pub user_agent: String,
    /// JSON array of authentication methods.
    pub amr: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    /// Who ended it.
    pub revoked_by: Option<RevokedBy>,
    /// Thumbprint of the DPoP key its tokens are bound to, if any.
    pub dpop_jkt: Option<String>,
}

/// A refresh token, by digest.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct RefreshToken {
    pub token_hash: String,
    pub session_id: String,
    pub created_at: i64,
    pub rotated_at: Option<i64>,
}

/// One event of a user's audit feed.
#[derive(Debug, Clone, PartialEq, Eq, Default, FromRow, serde::Serialize)]
pub struct AuditEvent {
    /// Assigned by the store on insert (0 before).
    pub id: i64,
    pub user_id: String,
    /// Unix ms.
    pub at: i64,
    /// What happened (`token_used`, `approved`, …).
    pub kind: String,
    pub sid: Option<String>,
    pub jti: Option<String>,
    pub device_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub method: Option<String>,
    pub host: Option<String>,
    pub path: Option<String>,
    pub resource_server: Option<String>,
    /// JSON object with kind-specific details.
    pub detail: Option<String>,
}

/// A session as the phone lists it, with its use so far.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct SessionSummary {
    pub id: String,
    pub client_name: String,
    pub ip: String,
    pub user_agent: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// Unix ms of the last `token_used`, if any (`sessions.last_used_at`, kept on write).
    pub last_used_at: Option<i64>,
    /// Number of `token_used` events (`sessions.use_count`, kept on write).
    pub use_count: i64,
}

/// A caller of `/v1/introspect`.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ResourceServer {
    pub name: String,
    /// SHA-256 of its secret.
    pub secret_hash: String,
    pub created_at: i64,
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Rotated: the old token is spent, the new one stored; here is the live session.
    Rotated(Session),
    /// The token had already been rotated: the session is now revoked (reuse detection).
    Reused(Session),
    /// Unknown token, or its session is revoked or expired.
    Invalid,
    /// The session is bound to a DPoP key and the request had no proof from it: nothing
    /// was changed.
    WrongKey,
    /// The session's user is disabled: nothing was changed (no rotation, so the client's
    /// token is not spent and a later refresh does not look like reuse).
    Disabled,
}

/// A failure counter of an attempt limit.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct LimitCounter {
    pub key: String,
    /// Failures in the current window.
    pub failures: i64,
    /// When the current window began (Unix ms).
    pub window_start: i64,
    /// No attempt before this time (Unix ms).
    pub blocked_until: Option<i64>,
}

/// How an attempt limit counts, in store terms (times in Unix ms): see `Store::limit_attempt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitRule {
    /// Attempts are counted in windows this long (a new one starts when the last began this
    /// long ago).
    pub window_ms: i64,
    /// The attempt that brings the count to this blocks the key for the ones after it.
    pub max_failures: i64,
    /// The first block; it doubles with each counted attempt past `max_failures`.
    pub block_ms: i64,
    /// The longest block.
    pub max_block_ms: i64,
}

/// What `Store::limit_attempt` decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitAttempt {
    /// The attempt was counted (before its work) and may go ahead.
    Counted {
        /// Attempts in the current window, this one included.
        failures: i64,
        /// Set when this attempt reached the limit: the block it imposed on the ones after it
        /// (pass it back to `limit_refund`).
        blocked_until: Option<i64>,
    },
    /// The key is blocked until then (Unix ms); nothing was counted.
    Blocked { until: i64 },
}

/// The outcome of asking for a new approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalSlot {
    /// The approval was stored.
    Created,
    /// The user already has `max_pending` pending approvals; the earliest expires at this time.
    Full { earliest_expiry: i64 },
}

/// Where a page of the feed starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditCursor {
    /// Newest first, from the newest event.
    Newest,
    /// Newest first, ids strictly below this one.
    Before(i64),
    /// Oldest first, ids strictly above this one (stream catch-up).
    After(i64),
}

/// Optional narrowing of a feed page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this kind of event.
    pub kind: Option<String>,
    /// Only events of this session.
    pub sid: Option<String>,
    /// Only events at or after this time (Unix ms).
    pub since: Option<i64>,
    /// Only events before this time (Unix ms).
    pub until: Option<i64>,
}
