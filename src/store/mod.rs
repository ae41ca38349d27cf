//! The storage seam: one `Store` trait, one implementation per database. Everything above this
//! module talks to `Arc<dyn Store>` and the plain records below; no SQL dialect leaks upward.
//!
//! `Store` is the sum of one trait per area (users, devices, pairing codes, approvals, attempt
//! limits, sessions, refresh tokens, audit, resource servers). Callers never name the area
//! traits — their methods are `Store`'s — but each backend implements each area in a file of
//! the area's name, so `sqlite/approvals.rs` and `postgres/approvals.rs` read side by side.

mod as_text;
mod changes;
pub mod postgres;
mod records;
mod redact;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

pub use changes::{Change, ChangeStream};
pub use records::*;
pub use redact::redact_url;

use crate::domain::{ApprovalState, Factor, RevokedBy};

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

/// Everything nod keeps. Methods taking `now` decide expiry with it; none reads a clock.
#[async_trait]
pub trait Store:
    UserStore
    + DeviceStore
    + EnrollmentStore
    + ApprovalStore
    + LimitStore
    + SessionStore
    + RefreshTokenStore
    + AuditStore
    + ResourceServerStore
    + Send
    + Sync
    + 'static
{
    /// Checks the database answers.
    async fn ping(&self) -> StoreResult<()>;

    /// Whether other nod instances may share this database, so that what they commit reaches
    /// this one only through [`Store::changes`] (PostgreSQL). False for an embedded database.
    fn is_shared(&self) -> bool {
        false
    }

    /// Starts listening for the changes the database announces; `None` when it announces
    /// none (not shared). Once this returns, no later commit is missed.
    async fn changes(&self) -> StoreResult<Option<Box<dyn ChangeStream>>> {
        Ok(None)
    }

    /// A number that moves with every commit that changes what a running server holds in
    /// memory (a session revoked, a resource server added or removed), by any process — the
    /// CLI included. A server that sees it move reloads those views. `None` when the database
    /// announces its changes through [`Store::changes`] instead.
    async fn change_version(&self) -> StoreResult<Option<i64>> {
        Ok(None)
    }
}

/// People who sign in (`users.rs` of each backend).
#[async_trait]
pub trait UserStore: Send + Sync {
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
}

/// Paired phones and their TOTP steps (`devices.rs`).
#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// Adds a device.
    async fn create_device(&self, device: &Device) -> StoreResult<()>;
    /// The device holding this secret digest, revoked or not.
    async fn device_by_secret_hash(&self, secret_hash: &str) -> StoreResult<Option<Device>>;
    /// A device by id, revoked or not.
    async fn device_by_id(&self, id: &str) -> StoreResult<Option<Device>>;
    /// Devices of one user, or of everyone; oldest first.
    async fn list_devices(&self, user_id: Option<&str>) -> StoreResult<Vec<Device>>;
    /// Revokes a device; false if there is no such active device.
    async fn revoke_device(&self, device_id: &str, now: i64) -> StoreResult<bool>;
    /// Accepts TOTP time step `step` for a device if it is later than every step accepted
    /// before (compare-and-set): false means the code was already used (a replay).
    async fn accept_totp_step(&self, device_id: &str, step: i64) -> StoreResult<bool>;
}

/// Pairing codes (`enrollments.rs`).
#[async_trait]
pub trait EnrollmentStore: Send + Sync {
    /// Stores a pairing code (by digest) for a user.
    async fn create_enrollment(
        &self,
        code_hash: &str,
        user_id: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()>;
    /// Marks an unused, unexpired pairing code used (compare-and-set); its user id, or `None`
    /// if it is unknown, used or expired.
    async fn redeem_enrollment(&self, code_hash: &str, now: i64) -> StoreResult<Option<String>>;
}

/// Logins waiting for a phone, their decisions and polls, and the one-time links to them
/// (`approvals.rs`).
#[async_trait]
pub trait ApprovalStore: Send + Sync {
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
        state: ApprovalState,
        device_id: &str,
        factor: Factor,
        now: i64,
    ) -> StoreResult<bool>;
    /// Records a poll without `wait`; false (and nothing recorded) if the previous one was less
    /// than `min_gap_ms` ago.
    async fn record_poll(&self, id: &str, now: i64, min_gap_ms: i64) -> StoreResult<bool>;
    /// Stores a one-time approval link.
    async fn create_approval_link(&self, link: &ApprovalLink) -> StoreResult<()>;
    /// The approval link with this digest, used or not.
    async fn approval_link(&self, link_hash: &str) -> StoreResult<Option<ApprovalLink>>;
    /// Marks an unused, unexpired link used (compare-and-set); false if it was not.
    async fn use_approval_link(&self, link_hash: &str, now: i64) -> StoreResult<bool>;
}

/// Attempt limits: failure counters and blocks by key (`limits.rs`).
#[async_trait]
pub trait LimitStore: Send + Sync {
    /// The failure counter under `key`, if any.
    async fn limit_state(&self, key: &str) -> StoreResult<Option<LimitCounter>>;
    /// Counts one failure under `key` (a new window starts when the last began `window_ms`
    /// ago) and, atomically, blocks until `block(failures)` when that says so.
    async fn limit_failure(
        &self,
        key: &str,
        now: i64,
        window_ms: i64,
        block: &(dyn Fn(i64) -> Option<i64> + Sync),
    ) -> StoreResult<LimitCounter>;
    /// Forgets the failures under `key` (after a success).
    async fn limit_reset(&self, key: &str) -> StoreResult<()>;
    /// Counts an attempt under `key` *before* its work is done, in one atomic statement, so
    /// parallel attempts cannot all pass a check that none of them has counted yet: while the
    /// key is blocked the attempt is refused and nothing changes; otherwise it is counted (a
    /// new window starts when the last began `rule.window_ms` ago) and, when the count reaches
    /// `rule.max_failures`, the key is blocked for the attempts after it (`rule`'s doubling
    /// block from `now`). A failed attempt needs nothing more; a success calls `limit_reset`
    /// (per-user keys) or `limit_refund` (keys shared by many users, such as an address).
    async fn limit_attempt(
        &self,
        key: &str,
        now: i64,
        rule: &LimitRule,
    ) -> StoreResult<LimitAttempt>;
    /// Takes back one attempt counted by `limit_attempt` (it succeeded, or another limit
    /// refused the request): one fewer, and the block goes when the count falls below
    /// `max_failures` or when it is the one this attempt set (`set_block`).
    async fn limit_refund(
        &self,
        key: &str,
        max_failures: i64,
        set_block: Option<i64>,
    ) -> StoreResult<()>;
    /// Deletes up to `batch` counters whose window began at or before `window_started_by` and
    /// whose block, if any, has ended by `now`: their next attempt would start afresh anyway.
    /// How many went.
    async fn prune_limits(&self, window_started_by: i64, now: i64, batch: u32) -> StoreResult<u64>;
}

/// What approvals opened (`sessions.rs`).
#[async_trait]
pub trait SessionStore: Send + Sync {
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
    /// Revokes a live session; false if it was unknown or already revoked.
    async fn revoke_session(&self, sid: &str, now: i64, by: &RevokedBy) -> StoreResult<bool>;
    /// Revokes every live session of a user; returns the ids revoked.
    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        now: i64,
        by: &RevokedBy,
    ) -> StoreResult<Vec<String>>;
    /// A user's live sessions with last use and use count, newest first.
    async fn active_sessions(&self, user_id: &str, now: i64) -> StoreResult<Vec<SessionSummary>>;
    /// Sessions revoked at or after `since`: (sid, revoked_at).
    async fn revoked_since(&self, since: i64) -> StoreResult<Vec<(String, i64)>>;
    /// Every session neither revoked nor expired at `now`: (sid, user id, expires_at).
    async fn live_sessions(&self, now: i64) -> StoreResult<Vec<(String, String, i64)>>;
}

/// Refresh-token families: rotation and reuse detection (`refresh_tokens.rs`).
#[async_trait]
pub trait RefreshTokenStore: Send + Sync {
    /// Presents a refresh token (by digest): rotates it to `replacement` (stored in the same
    /// session, whatever `replacement.session_id` says), or detects reuse of an already
    /// rotated one (revoking the session), in one transaction. A live token of a disabled
    /// user is `Disabled` and changes nothing (checked before rotating). `dpop_jkt` is the
    /// thumbprint of the request's DPoP proof key: a live token of a session bound to another
    /// key (or presented without one) is `WrongKey` and changes nothing; an unbound session
    /// presented with a key becomes bound to it.
    async fn rotate_refresh(
        &self,
        presented_hash: &str,
        replacement: &RefreshToken,
        dpop_jkt: Option<&str>,
        now: i64,
    ) -> StoreResult<RefreshOutcome>;
    /// The session a refresh token (by digest) belongs to, rotated or not.
    async fn session_of_refresh(&self, token_hash: &str) -> StoreResult<Option<Session>>;
    /// A refresh token by digest, rotated or not.
    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>>;
}

/// The users' audit feeds (`audit.rs`).
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends events in one transaction (one multi-row statement per chunk); returns their
    /// ids in order. Takes the events by value: their strings move into the statement instead
    /// of being copied (this is the audit writer's hot path).
    async fn append_audit(&self, events: Vec<AuditEvent>) -> StoreResult<Vec<i64>>;
    /// A user's events, newest first, with ids below `before` (or above `after`, oldest
    /// first, for catching up a stream), matching `filter`.
    async fn audit_page(
        &self,
        user_id: &str,
        cursor: AuditCursor,
        limit: u32,
        filter: &AuditFilter,
    ) -> StoreResult<Vec<AuditEvent>>;
    /// Deletes up to `batch` events older than `older_than`; returns how many.
    async fn prune_audit(&self, older_than: i64, batch: u32) -> StoreResult<u64>;
}

/// Callers of `/v1/introspect` (`resource_servers.rs`).
#[async_trait]
pub trait ResourceServerStore: Send + Sync {
    /// Adds a caller of `/v1/introspect`; `Conflict` if the name is taken.
    async fn create_resource_server(&self, rs: &ResourceServer) -> StoreResult<()>;
    /// All resource servers, by name.
    async fn list_resource_servers(&self) -> StoreResult<Vec<ResourceServer>>;
    /// Removes one; false if there was none.
    async fn delete_resource_server(&self, name: &str) -> StoreResult<bool>;
}

/// Opens the store named by `database.url` (by its scheme), creating and migrating it as
/// needed.
pub async fn open(settings: &crate::config::DatabaseSettings) -> anyhow::Result<Arc<dyn Store>> {
    use crate::config::DatabaseKind;
    match settings.kind() {
        Some(DatabaseKind::Sqlite) => Ok(Arc::new(sqlite::SqliteStore::open(settings).await?)),
        Some(DatabaseKind::Postgres) => {
            Ok(Arc::new(postgres::PostgresStore::open(settings).await?))
        }
        None => {
            anyhow::bail!("database.url: must be sqlite://PATH or postgres://USER@HOST/DATABASE")
        }
    }
}
