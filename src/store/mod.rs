//! The storage seam: one `Store` trait, one implementation per database. Everything above this
//! module talks to `Arc<dyn Store>` and the plain records below; no SQL dialect leaks upward.

mod records;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

pub use records::*;

/// What can go wrong in the store, as callers need to tell it apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key already exists (e.g. a username).
    #[error("already exists")]
    Conflict,
    /// The database cannot be reached right now (pool timeout, connection lost): answer 503.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or a corrupt row. Logged, answered 500.
    #[error("database error: {0}")]
    Other(String),
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// The outcome of asking for a new approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalSlot {
    /// The approval was stored.
    Created,
    /// The user already has `max_pending` pending approvals; the earliest expires at this time.
    Full { earliest_expiry: i64 },
}

/// Everything nod keeps. Methods taking `now` decide expiry with it; none reads a clock.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Checks the database answers.
    async fn ping(&self) -> StoreResult<()>;

    // --- users ---------------------------------------------------------------------------
    /// Adds a user; `Conflict` if the username is taken.
    async fn create_user(&self, user: &User) -> StoreResult<()>;
    /// Finds a user by normalised username.
    async fn user_by_name(&self, username: &str) -> StoreResult<Option<User>>;
    /// Finds a user by id.
    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>>;
    /// All users, by username.
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// Enables or disables a user; false if there is no such user.
    async fn set_user_disabled(&self, username: &str, disabled: bool) -> StoreResult<bool>;
    /// Replaces a password hash; false if there is no such user.
    async fn set_password_hash(&self, username: &str, hash: &str) -> StoreResult<bool>;

    // --- devices -------------------------------------------------------------------------
    /// Adds a device.
    async fn create_device(&self, device: &Device) -> StoreResult<()>;
    /// The device holding this secret digest, revoked or not.
    async fn device_by_secret_hash(&self, secret_hash: &str) -> StoreResult<Option<Device>>;
    /// Devices of one user, or of everyone; oldest first.
    async fn list_devices(&self, user_id: Option<&str>) -> StoreResult<Vec<Device>>;
    /// Revokes a device; false if there is no such active device.
    async fn revoke_device(&self, device_id: &str, now: i64) -> StoreResult<bool>;

    // --- approvals -----------------------------------------------------------------------
    /// Stores a pending approval unless its user already has `max_pending` unexpired ones
    /// (checked and inserted atomically).
    async fn create_approval(
        &self,
        approval: &Approval,
        max_pending: u32,
        now: i64,
    ) -> StoreResult<ApprovalSlot>;
    /// Finds an approval by id.
    async fn approval_by_id(&self, id: &str) -> StoreResult<Option<Approval>>;
    /// Finds an approval by the digest of its auth_req_id.
    async fn approval_by_req_hash(&self, req_hash: &str) -> StoreResult<Option<Approval>>;
    /// A user's approvals still pending at `now`, oldest first.
    async fn pending_approvals(&self, user_id: &str, now: i64) -> StoreResult<Vec<Approval>>;
    /// Moves a still-pending, unexpired approval to `state` (compare-and-set); false if it was
    /// no longer pending.
    async fn decide_approval(
        &self,
        id: &str,
        state: &str,
        device_id: &str,
        now: i64,
    ) -> StoreResult<bool>;
    /// Records a poll without `wait`; false (and nothing recorded) if the previous one was less
    /// than `min_gap_ms` ago.
    async fn record_poll(&self, id: &str, now: i64, min_gap_ms: i64) -> StoreResult<bool>;
    /// Stores a one-time approval link.
    async fn create_approval_link(&self, link: &ApprovalLink) -> StoreResult<()>;

    // --- sessions ------------------------------------------------------------------------
    /// In one transaction: moves the approval `approved → redeemed` if it was approved at or
    /// after `approved_since`, and stores the session and its first refresh token. False if
    /// the approval was not redeemable (someone else won, or it is too old).
    async fn redeem_approval(
        &self,
        approval_id: &str,
        approved_since: i64,
        session: &Session,
        refresh: &RefreshToken,
    ) -> StoreResult<bool>;
    /// Finds a session.
    async fn session_by_id(&self, id: &str) -> StoreResult<Option<Session>>;
}

/// Opens the store named by `database.url`, creating and migrating it as needed.
pub async fn open(settings: &crate::config::DatabaseSettings) -> anyhow::Result<Arc<dyn Store>> {
    Ok(Arc::new(sqlite::SqliteStore::open(settings).await?))
}
