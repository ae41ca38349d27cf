//! Plain rows as the store hands them out: the same shapes on every backend (times are Unix
//! milliseconds, booleans are 0/1 integers, lists are JSON text).

use sqlx::FromRow;

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
}

/// A login waiting for a phone, or decided by one.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Approval {
    pub id: String,
    /// SHA-256 of the auth_req_id.
    pub req_hash: String,
    pub user_id: String,
    pub binding_code: String,
    /// Stored state name (`domain::ApprovalState`); expiry is derived, never stored.
    pub state: String,
    pub client_name: String,
    pub ip: String,
    pub user_agent: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    pub last_polled_at: Option<i64>,
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
}

/// A refresh token, by digest.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct RefreshToken {
    pub token_hash: String,
    pub session_id: String,
    pub created_at: i64,
    pub rotated_at: Option<i64>,
}
