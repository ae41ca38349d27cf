//! The audit feed on SQLite.
//!
//! Twin of `postgres/audit.rs`: the same page and prune queries in the other dialect, written twice
//! on purpose so that each file reads whole against its own database. The append is each database's
//! own fastest way: SQLite inserts chunks of rows with `?` placeholders and counts the ids back
//! from the last rowid; PostgreSQL unnests one array per column under an advisory lock. PostgreSQL
//! also types each optional filter.

use async_trait::async_trait;

use super::{SqliteStore, classify};
use crate::store::{AuditCursor, AuditEvent, AuditFilter, AuditStore, StoreResult};

/// Rows per INSERT statement: 13 columns × 500 stays far below SQLite's 32 766 variables.
const ROWS_PER_STATEMENT: usize = 500;

const AUDIT_INSERT: &str = "INSERT INTO audit_events (user_id, at, kind, sid, jti, device_id, \
     ip, user_agent, method, host, path, resource_server, detail) VALUES ";

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(&self, events: Vec<AuditEvent>) -> StoreResult<Vec<i64>> {
        if events.is_empty() {
            // `INSERT … VALUES` without a row is a syntax error.
            return Ok(Vec::new());
        }
        if events.len() <= ROWS_PER_STATEMENT {
            // One statement is its own transaction: one round trip to SQLite, no BEGIN/COMMIT.
            let mut conn = self.pool.acquire().await.map_err(classify)?;
            return insert_chunk(&mut conn, events).await;
        }
        let mut ids = Vec::with_capacity(events.len());
        let mut tx = self.pool.begin().await.map_err(classify)?;
        let mut rest = events;
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(ROWS_PER_STATEMENT));
            ids.extend(insert_chunk(&mut tx, rest).await?);
            rest = tail;
        }
        tx.commit().await.map_err(classify)?;
        Ok(ids)
    }

    async fn audit_page(
        &self,
        user_id: &str,
        cursor: AuditCursor,
        limit: u32,
        filter: &AuditFilter,
    ) -> StoreResult<Vec<AuditEvent>> {
        const FILTERS: &str = "user_id = $1 \
             AND ($3 IS NULL OR kind = $3) AND ($4 IS NULL OR sid = $4) \
             AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR at < $6)";
        let (sql, bound) = match cursor {
            AuditCursor::Newest => (
                format!(
                    "SELECT * FROM audit_events WHERE {FILTERS} AND $2 IS NULL ORDER BY id DESC LIMIT $7"
                ),
                None,
            ),
            AuditCursor::Before(id) => (
                format!(
                    "SELECT * FROM audit_events WHERE {FILTERS} AND id < $2 ORDER BY id DESC LIMIT $7"
                ),
                Some(id),
            ),
            AuditCursor::After(id) => (
                format!(
                    "SELECT * FROM audit_events WHERE {FILTERS} AND id > $2 ORDER BY id ASC LIMIT $7"
                ),
                Some(id),
            ),
        };
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .bind(bound)
            .bind(&filter.kind)
            .bind(&filter.sid)
            .bind(filter.since)
            .bind(filter.until)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(classify)
    }

    async fn prune_audit(&self, older_than: i64, batch: u32) -> StoreResult<u64> {
        // Ids grow with time, so the old events are the lowest ids: find the first event inside
        // the retention period by walking ids upward (it stops at the first young one), and
        // delete a batch below it. The newest event always stays, so ids never restart.
        let done = sqlx::query(
            "DELETE FROM audit_events WHERE id IN \
             (SELECT id FROM audit_events WHERE id < COALESCE( \
                 (SELECT id FROM audit_events WHERE at >= $1 ORDER BY id LIMIT 1), \
                 (SELECT MAX(id) FROM audit_events)) \
              ORDER BY id LIMIT $2)",
        )
        .bind(older_than)
        .bind(i64::from(batch))
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected())
    }
}

/// Inserts up to `ROWS_PER_STATEMENT` events with one multi-row statement; returns their ids.
async fn insert_chunk(
    conn: &mut sqlx::SqliteConnection,
    chunk: Vec<AuditEvent>,
) -> StoreResult<Vec<i64>> {
    let rows = chunk.len();
    let mut sql = String::with_capacity(AUDIT_INSERT.len() + rows * 28);
    sql.push_str(AUDIT_INSERT);
    // Anonymous `?` placeholders: SQLite resolves a named `$N` by a linear search of the
    // statement's names, which made binding a 64-row batch quadratic (a sixth of the CPU time
    // of a verify under load, measured with perf).
    for i in 0..rows {
        sql.push_str(if i == 0 {
            "(?,?,?,?,?,?,?,?,?,?,?,?,?)"
        } else {
            ",(?,?,?,?,?,?,?,?,?,?,?,?,?)"
        });
    }
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for e in chunk {
        query = query
            .bind(e.user_id)
            .bind(e.at)
            .bind(e.kind)
            .bind(e.sid)
            .bind(e.jti)
            .bind(e.device_id)
            .bind(e.ip)
            .bind(e.user_agent)
            .bind(e.method)
            .bind(e.host)
            .bind(e.path)
            .bind(e.resource_server)
            .bind(e.detail);
    }
    let done = query.execute(&mut *conn).await.map_err(classify)?;
    // The rows of one INSERT get consecutive ids (each max + 1, under SQLite's single writer
    // lock), ending at the last inserted rowid.
    let last = done.last_insert_rowid();
    let first = last - i64::try_from(rows).unwrap_or(0) + 1;
    Ok((first..=last).collect())
}
