//! Refresh-token families on PostgreSQL.
//!
//! Twin of `sqlite/refresh_tokens.rs`: the same transaction in the other dialect, written twice on
//! purpose so that each file reads whole against its own database. They differ in what orders two
//! presentations of one token (SQLite's writer lock, PostgreSQL's row lock), and PostgreSQL answers
//! a digest holding NUL as unknown.

use async_trait::async_trait;

use super::{PostgresStore, classify, unstorable};
use crate::store::{RefreshOutcome, RefreshToken, RefreshTokenStore, Session, StoreResult};

#[async_trait]
impl RefreshTokenStore for PostgresStore {
    async fn rotate_refresh(
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

    async fn session_of_refresh(&self, token_hash: &str) -> StoreResult<Option<Session>> {
        if unstorable(token_hash) {
            return Ok(None);
        }
        sqlx::query_as(
            "SELECT s.* FROM sessions s JOIN refresh_tokens r ON r.session_id = s.id \
             WHERE r.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)
    }

    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>> {
        if unstorable(token_hash) {
            return Ok(None);
        }
        sqlx::query_as(
            "SELECT token_hash, session_id, created_at, rotated_at FROM refresh_tokens \
             WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)
    }
}
