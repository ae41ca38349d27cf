//! Approvals, their polls and their one-time links on SQLite.
//!
//! Twin of `postgres/approvals.rs`: the same queries in the other dialect, written twice on purpose
//! so that each file reads whole against its own database. They differ where the databases do: on
//! PostgreSQL the pending-approval limit locks the user's row first (SQLite's single writer makes
//! the one statement atomic by itself), ids sort with `COLLATE "C"`, and a key holding NUL is
//! absent.

use async_trait::async_trait;

use super::{SqliteStore, classify};
use crate::domain::{ApprovalState, Factor};
use crate::store::{Approval, ApprovalLink, ApprovalSlot, ApprovalStore, StoreResult};

const APPROVAL_COLUMNS: &str = "id, req_hash, user_id, binding_code, state, client_name, ip, \
     user_agent, created_at, expires_at, decided_at, decided_by, last_polled_at, dpop_jkt, factor";

#[async_trait]
impl ApprovalStore for SqliteStore {
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
        state: ApprovalState,
        device_id: &str,
        factor: Factor,
        now: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE approvals SET state = $1, decided_at = $2, decided_by = $3, factor = $5 \
             WHERE id = $4 AND state = 'pending' AND expires_at > $2",
        )
        .bind(state.as_str())
        .bind(now)
        .bind(device_id)
        .bind(id)
        .bind(factor.as_str())
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected() == 1)
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
}
