//! The PostgreSQL store: one database shared by several nod instances behind a load balancer.
//! The same records and semantics as the SQLite store; what differs is how a compare-and-set
//! stays atomic. SQLite has one writer at a time; PostgreSQL runs writers concurrently at READ
//! COMMITTED, where a conditional `UPDATE … WHERE state = 'pending'` is still atomic (a second
//! writer waits for the first and re-checks the row), but a count followed by an insert is not:
//! those take a row or advisory lock first, in one transaction.

use std::str::FromStr;

use anyhow::Context;
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

mod approvals;
mod audit;
mod changes;
mod classify;
mod limits;
mod sessions;

pub(crate) use classify::classify;

use super::{
    Approval, ApprovalLink, ApprovalSlot, AuditCursor, AuditEvent, AuditFilter, ChangeStream,
    Device, LimitAttempt, LimitCounter, LimitRule, RefreshOutcome, RefreshToken, ResourceServer,
    Session, SessionSummary, Store, StoreResult, User, redact_url,
};
use crate::config::DatabaseSettings;

/// A PostgreSQL database behind a connection pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects and migrates the database (which must exist). Errors name the URL without its
    /// password.
    pub async fn open(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        let url = settings.url.expose();
        let shown = redact_url(url);
        let options = PgConnectOptions::from_str(url)
            .with_context(|| format!("database.url: not a valid postgres:// URL: {shown}"))?
            .application_name("nod");
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout.0)
            // Pooled connections go stale when the server restarts: check each one before
            // handing it out, so a request after an outage gets a fresh connection instead of
            // an I/O error.
            .test_before_acquire(true)
            .connect_with(options)
            .await
            .with_context(|| format!("connecting to {shown}"))?;
        // sqlx serialises concurrent migrators with an advisory lock: instances starting
        // together migrate once.
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .context("migrating the PostgreSQL database")?;
        Ok(PostgresStore { pool })
    }

    /// The pool, for code that needs PostgreSQL itself (LISTEN/NOTIFY).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Whether `key` cannot be stored at all: PostgreSQL text holds no NUL character, and binding
/// one fails with an encoding error where SQLite simply finds no row. Lookups by keys that come
/// straight from a request (ids in paths, usernames) answer such a key as absent, as on SQLite,
/// instead of with a 500.
pub(super) fn unstorable(key: &str) -> bool {
    key.contains('\0')
}

const APPROVAL_COLUMNS: &str = "id, req_hash, user_id, binding_code, state, client_name, ip, \
     user_agent, created_at, expires_at, decided_at, decided_by, last_polled_at, dpop_jkt, factor";

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(())
    }

    fn is_shared(&self) -> bool {
        true
    }

    async fn changes(&self) -> StoreResult<Option<Box<dyn ChangeStream>>> {
        Ok(Some(Box::new(
            changes::PgChanges::start(self.pool.clone()).await?,
        )))
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, username, password_hash, disabled, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&user.id)
        .bind(&user.username)
        .bind(&user.password_hash)
        .bind(user.disabled)
        .bind(user.created_at)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn user_by_name(&self, username: &str) -> StoreResult<Option<User>> {
        if unstorable(username) {
            return Ok(None);
        }
        sqlx::query_as("SELECT * FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
        if unstorable(id) {
            return Ok(None);
        }
        sqlx::query_as("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        // COLLATE "C": byte order, as SQLite sorts, whatever the database's locale.
        sqlx::query_as("SELECT * FROM users ORDER BY username COLLATE \"C\"")
            .fetch_all(&self.pool)
            .await
            .map_err(classify)
    }

    async fn set_user_disabled(&self, username: &str, disabled: bool) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE users SET disabled = $1 WHERE username = $2")
            .bind(i64::from(disabled))
            .bind(username)
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_password_hash(&self, username: &str, hash: &str) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2")
            .bind(hash)
            .bind(username)
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn create_device(&self, d: &Device) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO devices (id, user_id, name, secret_hash, channels, totp_secret, \
             totp_last_step, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&d.id)
        .bind(&d.user_id)
        .bind(&d.name)
        .bind(&d.secret_hash)
        .bind(&d.channels)
        .bind(&d.totp_secret)
        .bind(d.totp_last_step)
        .bind(d.created_at)
        .bind(d.revoked_at)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn device_by_secret_hash(&self, secret_hash: &str) -> StoreResult<Option<Device>> {
        if unstorable(secret_hash) {
            return Ok(None);
        }
        sqlx::query_as("SELECT * FROM devices WHERE secret_hash = $1")
            .bind(secret_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn list_devices(&self, user_id: Option<&str>) -> StoreResult<Vec<Device>> {
        sqlx::query_as(
            "SELECT * FROM devices WHERE $1::text IS NULL OR user_id = $1 \
             ORDER BY created_at, id COLLATE \"C\"",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(classify)
    }

    async fn revoke_device(&self, device_id: &str, now: i64) -> StoreResult<bool> {
        if unstorable(device_id) {
            return Ok(false);
        }
        let done =
            sqlx::query("UPDATE devices SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(device_id)
                .execute(&self.pool)
                .await
                .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn create_approval(
        &self,
        a: &Approval,
        max_pending: u32,
        now: i64,
    ) -> StoreResult<ApprovalSlot> {
        self.create_approval_impl(a, max_pending, now).await
    }

    async fn approval_by_id(&self, id: &str) -> StoreResult<Option<Approval>> {
        if unstorable(id) {
            return Ok(None);
        }
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)
    }

    async fn approval_by_req_hash(&self, req_hash: &str) -> StoreResult<Option<Approval>> {
        if unstorable(req_hash) {
            return Ok(None);
        }
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE req_hash = $1"
        )))
        .bind(req_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)
    }

    async fn pending_approvals(&self, user_id: &str, now: i64) -> StoreResult<Vec<Approval>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {APPROVAL_COLUMNS} FROM approvals \
             WHERE user_id = $1 AND state = 'pending' AND expires_at > $2 \
             ORDER BY created_at, id COLLATE \"C\""
        )))
        .bind(user_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(classify)
    }

    async fn decide_approval(
        &self,
        id: &str,
        state: &str,
        device_id: &str,
        factor: &str,
        now: i64,
    ) -> StoreResult<bool> {
        self.decide_approval_impl(id, state, device_id, factor, now)
            .await
    }

    async fn accept_totp_step(&self, device_id: &str, step: i64) -> StoreResult<bool> {
        self.accept_totp_step_impl(device_id, step).await
    }

    async fn create_enrollment(
        &self,
        code_hash: &str,
        user_id: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        self.create_enrollment_impl(code_hash, user_id, now, expires_at)
            .await
    }

    async fn redeem_enrollment(&self, code_hash: &str, now: i64) -> StoreResult<Option<String>> {
        self.redeem_enrollment_impl(code_hash, now).await
    }

    async fn limit_state(&self, key: &str) -> StoreResult<Option<LimitCounter>> {
        self.limit_state_impl(key).await
    }

    async fn limit_failure(
        &self,
        key: &str,
        now: i64,
        window_ms: i64,
        block: &(dyn Fn(i64) -> Option<i64> + Sync),
    ) -> StoreResult<LimitCounter> {
        self.limit_failure_impl(key, now, window_ms, block).await
    }

    async fn limit_reset(&self, key: &str) -> StoreResult<()> {
        self.limit_reset_impl(key).await
    }

    async fn limit_attempt(
        &self,
        key: &str,
        now: i64,
        rule: &LimitRule,
    ) -> StoreResult<LimitAttempt> {
        self.limit_attempt_impl(key, now, rule).await
    }

    async fn limit_refund(
        &self,
        key: &str,
        max_failures: i64,
        set_block: Option<i64>,
    ) -> StoreResult<()> {
        self.limit_refund_impl(key, max_failures, set_block).await
    }

    async fn prune_limits(&self, window_started_by: i64, now: i64, batch: u32) -> StoreResult<u64> {
        self.prune_limits_impl(window_started_by, now, batch).await
    }

    async fn record_poll(&self, id: &str, now: i64, min_gap_ms: i64) -> StoreResult<bool> {
        self.record_poll_impl(id, now, min_gap_ms).await
    }

    async fn create_approval_link(&self, link: &ApprovalLink) -> StoreResult<()> {
        self.create_approval_link_impl(link).await
    }

    async fn approval_link(&self, link_hash: &str) -> StoreResult<Option<ApprovalLink>> {
        self.approval_link_impl(link_hash).await
    }

    async fn use_approval_link(&self, link_hash: &str, now: i64) -> StoreResult<bool> {
        self.use_approval_link_impl(link_hash, now).await
    }

    async fn device_by_id(&self, id: &str) -> StoreResult<Option<Device>> {
        if unstorable(id) {
            return Ok(None);
        }
        sqlx::query_as("SELECT * FROM devices WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn redeem_approval(
        &self,
        approval_id: &str,
        approved_since: i64,
        session: &Session,
        refresh: &RefreshToken,
    ) -> StoreResult<bool> {
        self.redeem_approval_impl(approval_id, approved_since, session, refresh)
            .await
    }

    async fn session_by_id(&self, id: &str) -> StoreResult<Option<Session>> {
        if unstorable(id) {
            return Ok(None);
        }
        sqlx::query_as("SELECT * FROM sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn revoke_session(&self, sid: &str, now: i64, by: &str) -> StoreResult<bool> {
        if unstorable(sid) {
            return Ok(false);
        }
        self.revoke_session_impl(sid, now, by).await
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        now: i64,
        by: &str,
    ) -> StoreResult<Vec<String>> {
        self.revoke_user_sessions_impl(user_id, now, by).await
    }

    async fn active_sessions(&self, user_id: &str, now: i64) -> StoreResult<Vec<SessionSummary>> {
        self.active_sessions_impl(user_id, now).await
    }

    async fn revoked_since(&self, since: i64) -> StoreResult<Vec<(String, i64)>> {
        self.revoked_since_impl(since).await
    }

    async fn live_sessions(&self, now: i64) -> StoreResult<Vec<(String, String, i64)>> {
        self.live_sessions_impl(now).await
    }

    async fn rotate_refresh(
        &self,
        presented_hash: &str,
        replacement: &RefreshToken,
        dpop_jkt: Option<&str>,
        now: i64,
    ) -> StoreResult<RefreshOutcome> {
        self.rotate_refresh_impl(presented_hash, replacement, dpop_jkt, now)
            .await
    }

    async fn session_of_refresh(&self, token_hash: &str) -> StoreResult<Option<Session>> {
        if unstorable(token_hash) {
            return Ok(None);
        }
        self.session_of_refresh_impl(token_hash).await
    }

    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>> {
        if unstorable(token_hash) {
            return Ok(None);
        }
        self.refresh_token_impl(token_hash).await
    }

    async fn append_audit(&self, events: Vec<AuditEvent>) -> StoreResult<Vec<i64>> {
        self.append_audit_impl(events).await
    }

    async fn audit_page(
        &self,
        user_id: &str,
        cursor: AuditCursor,
        limit: u32,
        filter: &AuditFilter,
    ) -> StoreResult<Vec<AuditEvent>> {
        self.audit_page_impl(user_id, cursor, limit, filter).await
    }

    async fn prune_audit(&self, older_than: i64, batch: u32) -> StoreResult<u64> {
        self.prune_audit_impl(older_than, batch).await
    }

    async fn create_resource_server(&self, rs: &ResourceServer) -> StoreResult<()> {
        self.create_resource_server_impl(rs).await
    }

    async fn list_resource_servers(&self) -> StoreResult<Vec<ResourceServer>> {
        self.list_resource_servers_impl().await
    }

    async fn delete_resource_server(&self, name: &str) -> StoreResult<bool> {
        self.delete_resource_server_impl(name).await
    }
}
