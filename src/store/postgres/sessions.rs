//! Sessions on PostgreSQL.
//!
//! Twin of `sqlite/sessions.rs`: the same queries in the other dialect, written twice on purpose so
//! that each file reads whole against its own database. They differ where the databases do:
//! PostgreSQL sorts ids with `COLLATE "C"` and answers a session id holding NUL as unknown.

use async_trait::async_trait;

use super::{PostgresStore, classify, unstorable};
use crate::domain::RevokedBy;
use crate::store::{RefreshToken, Session, SessionStore, SessionSummary, StoreResult};

#[async_trait]
impl SessionStore for PostgresStore {
    async fn redeem_approval(
        &self,
        approval_id: &str,
        approved_since: i64,
        s: &Session,
        refresh: &RefreshToken,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(classify)?;
        // The conditional UPDATE is the compare-and-set: a concurrent redeem waits on the row
        // lock and then finds it no longer 'approved'.
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
        .bind(s.revoked_by.as_ref().map(RevokedBy::as_str))
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
        if unstorable(id) {
            return Ok(None);
        }
        sqlx::query_as("SELECT * FROM sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn revoke_session(&self, sid: &str, now: i64, by: &RevokedBy) -> StoreResult<bool> {
        if unstorable(sid) {
            return Ok(false);
        }
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1, revoked_by = $2 \
             WHERE id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(by.as_str())
        .bind(sid)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        now: i64,
        by: &RevokedBy,
    ) -> StoreResult<Vec<String>> {
        sqlx::query_scalar(
            "UPDATE sessions SET revoked_at = $1, revoked_by = $2 \
             WHERE user_id = $3 AND revoked_at IS NULL AND expires_at > $1 RETURNING id",
        )
        .bind(now)
        .bind(by.as_str())
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(classify)
    }

    async fn active_sessions(&self, user_id: &str, now: i64) -> StoreResult<Vec<SessionSummary>> {
        // COUNT(*) is a BIGINT in PostgreSQL: it decodes into `use_count: i64` as is.
        sqlx::query_as(
            "SELECT s.id, s.client_name, s.ip, s.user_agent, s.created_at, s.expires_at, \
                    (SELECT MAX(e.at) FROM audit_events e \
                      WHERE e.sid = s.id AND e.kind = 'token_used') AS last_used_at, \
                    (SELECT COUNT(*) FROM audit_events e \
                      WHERE e.sid = s.id AND e.kind = 'token_used') AS use_count \
             FROM sessions s \
             WHERE s.user_id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 \
             ORDER BY s.created_at DESC, s.id COLLATE \"C\"",
        )
        .bind(user_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(classify)
    }

    async fn revoked_since(&self, since: i64) -> StoreResult<Vec<(String, i64)>> {
        sqlx::query_as("SELECT id, revoked_at FROM sessions WHERE revoked_at >= $1")
            .bind(since)
            .fetch_all(&self.pool)
            .await
            .map_err(classify)
    }

    async fn live_sessions(&self, now: i64) -> StoreResult<Vec<(String, String, i64)>> {
        sqlx::query_as(
            "SELECT id, user_id, expires_at FROM sessions \
             WHERE revoked_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(classify)
    }
}
