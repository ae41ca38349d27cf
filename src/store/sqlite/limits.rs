//! Attempt limits on SQLite. Counters are keyed by `pwd-user:…`, `totp:…`, `pwd-ip:…` and the like.
//! SQLite runs one writer at a time, so each single statement below is atomic on its own.
//!
//! Twin of `postgres/limits.rs`: the same queries in the other dialect, written twice on purpose so
//! that each file reads whole against its own database. They differ where the databases do:
//! PostgreSQL names the old row (`AS c`) and takes a failure's count from the upsert's `RETURNING`,
//! says `LEAST`/`GREATEST` for `MIN`/`MAX` and casts the shift, re-checks a prune against counters
//! renewed meanwhile, and stores a NUL in a key as U+FFFD.

use async_trait::async_trait;

use super::{SqliteStore, classify};
use crate::store::{LimitAttempt, LimitCounter, LimitRule, LimitStore, StoreResult};

#[async_trait]
impl LimitStore for SqliteStore {
    async fn limit_state(&self, key: &str) -> StoreResult<Option<LimitCounter>> {
        sqlx::query_as("SELECT * FROM limit_counters WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn limit_failure(
        &self,
        key: &str,
        now: i64,
        window_ms: i64,
        block: &(dyn Fn(i64) -> Option<i64> + Sync),
    ) -> StoreResult<LimitCounter> {
        let mut tx = self.pool.begin().await.map_err(classify)?;
        // Write first so concurrent failures serialise on SQLite's writer lock.
        sqlx::query(
            "INSERT INTO limit_counters (key, failures, window_start, blocked_until) \
             VALUES ($1, 1, $2, NULL) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN window_start <= $2 - $3 THEN 1 ELSE failures + 1 END, \
               window_start = CASE WHEN window_start <= $2 - $3 THEN $2 ELSE window_start END",
        )
        .bind(key)
        .bind(now)
        .bind(window_ms)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        let mut counter: LimitCounter =
            sqlx::query_as("SELECT * FROM limit_counters WHERE key = $1")
                .bind(key)
                .fetch_one(&mut *tx)
                .await
                .map_err(classify)?;
        if let Some(until) = block(counter.failures) {
            sqlx::query("UPDATE limit_counters SET blocked_until = $1 WHERE key = $2")
                .bind(until)
                .bind(key)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
            counter.blocked_until = Some(until);
        }
        tx.commit().await.map_err(classify)?;
        Ok(counter)
    }

    async fn limit_reset(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM limit_counters WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn limit_attempt(
        &self,
        key: &str,
        now: i64,
        rule: &LimitRule,
    ) -> StoreResult<LimitAttempt> {
        // One upsert decides and counts: its WHERE leaves a blocked row alone (no row comes
        // back), else the row is counted and, from the limit on, blocked for later attempts.
        // In DO UPDATE, column names are the row's values before this statement.
        let counted: Option<(i64, Option<i64>)> = sqlx::query_as(
            "INSERT INTO limit_counters (key, failures, window_start, blocked_until) \
             VALUES ($1, 1, $2, CASE WHEN $4 <= 1 THEN $2 + MIN($5, $6) END) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN window_start <= $2 - $3 THEN 1 ELSE failures + 1 END, \
               window_start = CASE WHEN window_start <= $2 - $3 THEN $2 ELSE window_start END, \
               blocked_until = CASE \
                 WHEN (CASE WHEN window_start <= $2 - $3 THEN 1 ELSE failures + 1 END) >= $4 \
                 THEN $2 + MIN($5 * (1 << MIN( \
                   (CASE WHEN window_start <= $2 - $3 THEN 1 ELSE failures + 1 END) - $4, 20)), $6) \
                 ELSE blocked_until END \
             WHERE blocked_until IS NULL OR blocked_until <= $2 \
             RETURNING failures, blocked_until",
        )
        .bind(key)
        .bind(now)
        .bind(rule.window_ms)
        .bind(rule.max_failures)
        .bind(rule.block_ms)
        .bind(rule.max_block_ms)
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        match counted {
            Some((failures, blocked_until)) => Ok(LimitAttempt::Counted {
                failures,
                blocked_until: blocked_until.filter(|_| failures >= rule.max_failures),
            }),
            None => {
                let until = self
                    .limit_state(key)
                    .await?
                    .and_then(|c| c.blocked_until)
                    .unwrap_or(now);
                Ok(LimitAttempt::Blocked { until })
            }
        }
    }

    async fn limit_refund(
        &self,
        key: &str,
        max_failures: i64,
        set_block: Option<i64>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE limit_counters SET failures = MAX(failures - 1, 0), \
               blocked_until = CASE WHEN failures - 1 < $2 OR blocked_until = $3 THEN NULL \
                 ELSE blocked_until END \
             WHERE key = $1",
        )
        .bind(key)
        .bind(max_failures)
        .bind(set_block)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn prune_limits(&self, window_started_by: i64, now: i64, batch: u32) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM limit_counters WHERE key IN \
             (SELECT key FROM limit_counters WHERE window_start <= $1 \
                AND (blocked_until IS NULL OR blocked_until <= $2) LIMIT $3)",
        )
        .bind(window_started_by)
        .bind(now)
        .bind(i64::from(batch))
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected())
    }
}
