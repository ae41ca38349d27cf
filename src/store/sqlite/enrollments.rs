//! Pairing codes on SQLite.
//!
//! Twin of `postgres/enrollments.rs`: the same queries in the other dialect, written twice on
//! purpose so that each file reads whole against its own database. They differ in one line:
//! PostgreSQL answers a code digest holding NUL as unknown.

use async_trait::async_trait;

use super::{SqliteStore, classify};
use crate::store::{EnrollmentStore, StoreResult};

#[async_trait]
impl EnrollmentStore for SqliteStore {
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
}
