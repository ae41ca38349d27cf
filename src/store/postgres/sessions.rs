//! Sessions and refresh-token families on PostgreSQL.

use super::{PostgresStore, classify};
use crate::store::{RefreshOutcome, RefreshToken, Session, SessionSummary, StoreResult};

impl PostgresStore {
    pub(super) async fn redeem_approval_impl(
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

    pub(super) async fn revoke_session_impl(
        &self,
        sid: &str,
        now: i64,
        by: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1, revoked_by = $2 \
             WHERE id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(by)
        .bind(sid)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn revoke_user_sessions_impl(
        &self,
        user_id: &str,
        now: i64,
        by: &str,
    ) -> StoreResult<Vec<String>> {
        sqlx::query_scalar(
            "UPDATE sessions SET revoked_at = $1, revoked_by = $2 \
             WHERE user_id = $3 AND revoked_at IS NULL AND expires_at > $1 RETURNING id",
        )
        .bind(now)
        .bind(by)
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(classify)
    }

    pub(super) async fn active_sessions_impl(
        &self,
        user_id: &str,
        now: i64,
    ) -> StoreResult<Vec<SessionSummary>> {
        // The counters are kept by each audit batch (src/store/session_uses.rs): no events read.
        sqlx::query_as(
            "SELECT s.id, s.client_name, s.ip, s.user_agent, s.created_at, s.expires_at, \
                    s.last_used_at, s.use_count \
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

    pub(super) async fn revoked_since_impl(&self, since: i64) -> StoreResult<Vec<(String, i64)>> {
        sqlx::query_as("SELECT id, revoked_at FROM sessions WHERE revoked_at >= $1")
            .bind(since)
            .fetch_all(&self.pool)
            .await
            .map_err(classify)
    }

    pub(super) async fn rotate_refresh_impl(
        &self,
        presented_hash: &str,
        replacement: &RefreshToken,
        dpop_jkt: Option<&str>,
        now: i64,
    ) -> StoreResult<RefreshOutcome> {
        let mut tx = self.pool.begin().await.map_err(classify)?;
        // Spend first: the row lock orders two presentations of one token (on any instance);
        // the second waits, re-checks `rotated_at IS NULL`, and is treated as reuse.
        let spent = sqlx::query(
            "UPDATE refresh_tokens SET rotated_at = $1 WHERE token_hash = $2 AND rotated_at IS NULL",
        )
        .bind(now)
        .bind(presented_hash)
        .execute(&mut *tx)
        .await
        .map_err(classify)?
        .rows_affected()
            == 1;
        let session: Option<Session> = sqlx::query_as(
            "SELECT s.* FROM sessions s JOIN refresh_tokens r ON r.session_id = s.id \
             WHERE r.token_hash = $1",
        )
        .bind(presented_hash)
        .fetch_optional(&mut *tx)
        .await
        .map_err(classify)?;
        let Some(session) = session else {
            tx.rollback().await.map_err(classify)?;
            return Ok(RefreshOutcome::Invalid);
        };
        if !spent {
            // Already rotated: someone holds a copy. End the whole session.
            sqlx::query(
                "UPDATE sessions SET revoked_at = $1, revoked_by = 'refresh_reuse' \
                 WHERE id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(&session.id)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
            tx.commit().await.map_err(classify)?;
            return Ok(RefreshOutcome::Reused(session));
        }
        if session.revoked_at.is_some() || session.expires_at <= now {
            tx.rollback().await.map_err(classify)?;
            return Ok(RefreshOutcome::Invalid);
        }
        // A disabled user gets nothing, and the spend is undone: checked before rotating, so
        // the client's next attempt is not mistaken for reuse.
        let disabled: Option<i64> = sqlx::query_scalar("SELECT disabled FROM users WHERE id = $1")
            .bind(&session.user_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(classify)?;
        if disabled != Some(0) {
            tx.rollback().await.map_err(classify)?;
            return Ok(RefreshOutcome::Disabled);
        }
        // A live token of a bound session without its key's proof: undo the spend, change
        // nothing. (A rotated token was handled above: reuse ends the session whoever shows it.)
        let mut session = session;
        match (session.dpop_jkt.as_deref(), dpop_jkt) {
            (Some(bound), presented) if presented != Some(bound) => {
                tx.rollback().await.map_err(classify)?;
                return Ok(RefreshOutcome::WrongKey);
            }
            (None, Some(presented)) => {
                sqlx::query("UPDATE sessions SET dpop_jkt = $1 WHERE id = $2 AND dpop_jkt IS NULL")
                    .bind(presented)
                    .bind(&session.id)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?;
                session.dpop_jkt = Some(presented.to_owned());
            }
            _ => {}
        }
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at, rotated_at) \
             VALUES ($1, $2, $3, NULL)",
        )
        .bind(&replacement.token_hash)
        .bind(&session.id) // the family continues in the presented token's session
        .bind(replacement.created_at)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        tx.commit().await.map_err(classify)?;
        Ok(RefreshOutcome::Rotated(session))
    }

    pub(super) async fn live_sessions_impl(
        &self,
        now: i64,
    ) -> StoreResult<Vec<(String, String, i64)>> {
        sqlx::query_as(
            "SELECT id, user_id, expires_at FROM sessions \
             WHERE revoked_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(classify)
    }

    pub(super) async fn refresh_token_impl(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<RefreshToken>> {
        sqlx::query_as(
            "SELECT token_hash, session_id, created_at, rotated_at FROM refresh_tokens \
             WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)
    }

    pub(super) async fn session_of_refresh_impl(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<Session>> {
        sqlx::query_as(
            "SELECT s.* FROM sessions s JOIN refresh_tokens r ON r.session_id = s.id \
             WHERE r.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)
    }
}
