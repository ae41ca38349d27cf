//! The SQLite store: the embedded default. One file (WAL, foreign keys on), created and
//! migrated on first open. Multi-step changes run as single statements or in one transaction,
//! so concurrent requests cannot both win a compare-and-set.

use std::str::FromStr;

use anyhow::Context;
use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

mod audit;
mod limits;
mod sessions;

use super::{
    Approval, ApprovalLink, ApprovalSlot, AuditCursor, AuditEvent, AuditFilter, Device,
    LimitAttempt, LimitCounter, LimitRule, RefreshOutcome, RefreshToken, ResourceServer, Session,
    SessionSummary, Store, StoreError, StoreResult, User,
};
use crate::config::DatabaseSettings;

/// A SQLite database behind a connection pool.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating the file and its directory when missing) and migrates the database.
    pub async fn open(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        let url = settings.url.expose();
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| "database.url: not a valid sqlite:// URL".to_owned())?;
        create_private_file(options.get_filename())?;
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(settings.acquire_timeout.0);
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections)
            // A connection to a local file does not go stale; the default ping before every
            // acquire doubled the round trips of each audit batch.
            .test_before_acquire(false)
            .acquire_timeout(settings.acquire_timeout.0)
            .connect_with(options)
            .await
            .with_context(|| format!("opening {}", url))?;
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .context("migrating the SQLite database")?;
        Ok(SqliteStore { pool })
    }
}

/// Creates the database file (and its directory) with mode 0600 before SQLite does, so
/// password hashes and secret digests are not world-readable; SQLite gives its `-wal` and
/// `-shm` files the same mode.
fn create_private_file(path: &std::path::Path) -> anyhow::Result<()> {
    if path.exists() || path.as_os_str().is_empty() {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating database directory {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .with_context(|| format!("creating database file {}", path.display()))?;
    Ok(())
}

/// Sorts sqlx errors into what callers act on.
pub(super) fn classify(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(err.to_string())
        }
        sqlx::Error::Database(db) if db.code().as_deref() == Some("5") => {
            // SQLITE_BUSY: the writer lock stayed taken for the whole busy timeout.
            StoreError::Unavailable(err.to_string())
        }
        _ => StoreError::Other(err.to_string()),
    }
}

const APPROVAL_COLUMNS: &str = "id, req_hash, user_id, binding_code, state, client_name, ip, \
     user_agent, created_at, expires_at, decided_at, decided_by, last_polled_at, dpop_jkt, factor";

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn change_version(&self) -> StoreResult<Option<i64>> {
        // One row, bumped by triggers (migrations/sqlite/0006_change_counter.sql).
        sqlx::query_scalar("SELECT version FROM change_counter WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
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
        sqlx::query_as("SELECT * FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
        sqlx::query_as("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        sqlx::query_as("SELECT * FROM users ORDER BY username")
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
        sqlx::query_as("SELECT * FROM devices WHERE secret_hash = $1")
            .bind(secret_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn list_devices(&self, user_id: Option<&str>) -> StoreResult<Vec<Device>> {
        sqlx::query_as(
            "SELECT * FROM devices WHERE $1 IS NULL OR user_id = $1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(classify)
    }

    async fn revoke_device(&self, device_id: &str, now: i64) -> StoreResult<bool> {
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
        // One statement: SQLite runs it under its single writer lock, so the count and the
        // insert cannot interleave with another login of the same user.
        let done = sqlx::query(
            "INSERT INTO approvals (id, req_hash, user_id, binding_code, state, client_name, ip, \
             user_agent, created_at, expires_at, dpop_jkt) \
             SELECT $1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9, $12 \
             WHERE (SELECT COUNT(*) FROM approvals \
                    WHERE user_id = $3 AND state = 'pending' AND expires_at > $10) < $11",
        )
        .bind(&a.id)
        .bind(&a.req_hash)
        .bind(&a.user_id)
        .bind(&a.binding_code)
        .bind(&a.client_name)
        .bind(&a.ip)
        .bind(&a.user_agent)
        .bind(a.created_at)
        .bind(a.expires_at)
        .bind(now)
        .bind(i64::from(max_pending))
        .bind(&a.dpop_jkt)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        if done.rows_affected() == 1 {
            return Ok(ApprovalSlot::Created);
        }
        let earliest: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(expires_at) FROM approvals \
             WHERE user_id = $1 AND state = 'pending' AND expires_at > $2",
        )
        .bind(&a.user_id)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(classify)?;
        Ok(ApprovalSlot::Full {
            earliest_expiry: earliest.unwrap_or(now),
        })
    }

    async fn approval_by_id(&self, id: &str) -> StoreResult<Option<Approval>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)
    }

    async fn approval_by_req_hash(&self, req_hash: &str) -> StoreResult<Option<Approval>> {
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
             ORDER BY created_at, id"
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
        let done = sqlx::query(
            "UPDATE approvals SET state = $1, decided_at = $2, decided_by = $3, factor = $5 \
             WHERE id = $4 AND state = 'pending' AND expires_at > $2",
        )
        .bind(state)
        .bind(now)
        .bind(device_id)
        .bind(id)
        .bind(factor)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn accept_totp_step(&self, device_id: &str, step: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE devices SET totp_last_step = $1 \
             WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(device_id)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn create_enrollment(
        &self,
        code_hash: &str,
        user_id: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO enrollments (code_hash, user_id, created_at, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, NULL)",
        )
        .bind(code_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn redeem_enrollment(&self, code_hash: &str, now: i64) -> StoreResult<Option<String>> {
        sqlx::query_scalar(
            "UPDATE enrollments SET used_at = $1 \
             WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
        )
        .bind(now)
        .bind(code_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)
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
        let done = sqlx::query(
            "UPDATE approvals SET last_polled_at = $1 \
             WHERE id = $2 AND (last_polled_at IS NULL OR last_polled_at <= $1 - $3)",
        )
        .bind(now)
        .bind(id)
        .bind(min_gap_ms)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn create_approval_link(&self, link: &ApprovalLink) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO approval_links (link_hash, approval_id, device_id, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&link.link_hash)
        .bind(&link.approval_id)
        .bind(&link.device_id)
        .bind(link.expires_at)
        .bind(link.used_at)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn approval_link(&self, link_hash: &str) -> StoreResult<Option<ApprovalLink>> {
        sqlx::query_as("SELECT * FROM approval_links WHERE link_hash = $1")
            .bind(link_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn use_approval_link(&self, link_hash: &str, now: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE approval_links SET used_at = $1 \
             WHERE link_hash = $2 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(link_hash)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn device_by_id(&self, id: &str) -> StoreResult<Option<Device>> {
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
        s: &Session,
        refresh: &RefreshToken,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(classify)?;
        let won = sqlx::query(
            "UPDATE approvals SET state = 'redeemed' \
             WHERE id = $1 AND state = 'approved' AND decided_at >= $2",
        )
        .bind(approval_id)
        .bind(approved_since)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        if won.rows_affected() != 1 {
            tx.rollback().await.map_err(classify)?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO sessions (id, user_id, approval_id, device_id, client_name, ip, \
             user_agent, amr, created_at, expires_at, revoked_at, revoked_by, dpop_jkt) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&s.id)
        .bind(&s.user_id)
        .bind(&s.approval_id)
        .bind(&s.device_id)
        .bind(&s.client_name)
        .bind(&s.ip)
        .bind(&s.user_agent)
        .bind(&s.amr)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(s.revoked_at)
        .bind(&s.revoked_by)
        .bind(&s.dpop_jkt)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at, rotated_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&refresh.token_hash)
        .bind(&refresh.session_id)
        .bind(refresh.created_at)
        .bind(refresh.rotated_at)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        tx.commit().await.map_err(classify)?;
        Ok(true)
    }

    async fn session_by_id(&self, id: &str) -> StoreResult<Option<Session>> {
        sqlx::query_as("SELECT * FROM sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn revoke_session(&self, sid: &str, now: i64, by: &str) -> StoreResult<bool> {
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
        self.session_of_refresh_impl(token_hash).await
    }

    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>> {
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
