//! The audit feed on PostgreSQL.
//!
//! Twin of `sqlite/audit.rs`: the same page and prune queries in the other dialect, written twice
//! on purpose so that each file reads whole against its own database. The append is each database's
//! own fastest way: SQLite inserts chunks of rows with `?` placeholders and counts the ids back
//! from the last rowid; PostgreSQL unnests one array per column under an advisory lock. PostgreSQL
//! also types each optional filter.

use async_trait::async_trait;

use super::{PostgresStore, classify};
use crate::store::{AuditCursor, AuditEvent, AuditFilter, AuditStore, StoreResult};

/// The advisory lock every audit batch holds while it inserts (ASCII "nodaudit"). Any fixed
/// number works as long as nothing else in the database uses it.
const AUDIT_APPEND_LOCK: i64 = 0x6e6f_6461_7564_6974;

/// One statement for a whole batch, whatever its size: 13 typed arrays unnested side by side.
/// `ORDER BY ord` draws the identity ids in input order. As a single statement it is its own
/// transaction — one round trip, no BEGIN/COMMIT.
///
/// Several instances append to this table, and the live feed (src/flows/feed/live.rs) relies
/// on ids becoming visible in increasing order: a reader that has seen id N must never later
/// find a smaller id commit. Identity values are drawn at insert time but committed later, so
/// two concurrent batches could commit out of order. The advisory lock in the first CTE
/// (`MATERIALIZED`, and volatile: run once, before any row reaches the sort, hence before any
/// id is drawn; released at commit) makes each batch draw and commit its ids before the next
/// draws.
const AUDIT_INSERT: &str = "WITH serialised AS MATERIALIZED (SELECT pg_advisory_xact_lock($14)) \
     INSERT INTO audit_events (user_id, at, kind, sid, jti, device_id, \
     ip, user_agent, method, host, path, resource_server, detail) \
     SELECT user_id, at, kind, sid, jti, device_id, ip, user_agent, method, host, path, \
            resource_server, detail \
     FROM serialised, \
          UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], \
                 $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
                 $13::text[]) \
          WITH ORDINALITY AS e(user_id, at, kind, sid, jti, device_id, ip, user_agent, method, \
                               host, path, resource_server, detail, ord) \
     ORDER BY ord \
     RETURNING id";

/// A batch turned inside out: one vector per column, as `UNNEST` takes them.
#[derive(Default)]
struct Columns {
    user_id: Vec<String>,
    at: Vec<i64>,
    kind: Vec<String>,
    sid: Vec<Option<String>>,
    jti: Vec<Option<String>>,
    device_id: Vec<Option<String>>,
    ip: Vec<Option<String>>,
    user_agent: Vec<Option<String>>,
    method: Vec<Option<String>>,
    host: Vec<Option<String>>,
    path: Vec<Option<String>>,
    resource_server: Vec<Option<String>>,
    detail: Vec<Option<String>>,
}

impl Columns {
    /// Moves the events' strings into columns (no copies: this is the writer's hot path).
    fn of(events: Vec<AuditEvent>) -> Self {
        let mut c = Columns::default();
        for e in events {
            c.user_id.push(storable(e.user_id));
            c.at.push(e.at);
            c.kind.push(storable(e.kind));
            c.sid.push(e.sid.map(storable));
            c.jti.push(e.jti.map(storable));
            c.device_id.push(e.device_id.map(storable));
            c.ip.push(e.ip.map(storable));
            c.user_agent.push(e.user_agent.map(storable));
            c.method.push(e.method.map(storable));
            c.host.push(e.host.map(storable));
            c.path.push(e.path.map(storable));
            c.resource_server.push(e.resource_server.map(storable));
            c.detail.push(e.detail.map(storable));
        }
        c
    }
}

/// `text` with any NUL replaced by U+FFFD. PostgreSQL text cannot hold NUL, and one such
/// character would fail the whole batch — every other event in it with it. Nothing nod records
/// should contain one (headers cannot); this keeps it so. A scan (memchr) when there is none.
fn storable(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text
    }
}

#[async_trait]
impl AuditStore for PostgresStore {
    async fn append_audit(&self, events: Vec<AuditEvent>) -> StoreResult<Vec<i64>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let c = Columns::of(events);
        let mut ids: Vec<i64> = sqlx::query_scalar(AUDIT_INSERT)
            .bind(c.user_id)
            .bind(c.at)
            .bind(c.kind)
            .bind(c.sid)
            .bind(c.jti)
            .bind(c.device_id)
            .bind(c.ip)
            .bind(c.user_agent)
            .bind(c.method)
            .bind(c.host)
            .bind(c.path)
            .bind(c.resource_server)
            .bind(c.detail)
            .bind(AUDIT_APPEND_LOCK)
            .fetch_all(&self.pool)
            .await
            .map_err(classify)?;
        // Ids were drawn in input order (ORDER BY ord, under the lock), so ascending id order
        // is input order; sorting does not rely on RETURNING preserving row order.
        ids.sort_unstable();
        Ok(ids)
    }

    async fn audit_page(
        &self,
        user_id: &str,
        cursor: AuditCursor,
        limit: u32,
        filter: &AuditFilter,
    ) -> StoreResult<Vec<AuditEvent>> {
        // Each optional parameter is cast, so `$n IS NULL` has a type even when it is NULL.
        const FILTERS: &str = "user_id = $1 \
             AND ($3::text IS NULL OR kind = $3) AND ($4::text IS NULL OR sid = $4) \
             AND ($5::bigint IS NULL OR at >= $5) AND ($6::bigint IS NULL OR at < $6)";
        let (sql, bound) = match cursor {
            AuditCursor::Newest => (
                format!(
                    "SELECT * FROM audit_events WHERE {FILTERS} AND $2::bigint IS NULL \
                     ORDER BY id DESC LIMIT $7"
                ),
                None,
            ),
            AuditCursor::Before(id) => (
                format!(
                    "SELECT * FROM audit_events WHERE {FILTERS} AND id < $2::bigint \
                     ORDER BY id DESC LIMIT $7"
                ),
                Some(id),
            ),
            AuditCursor::After(id) => (
                format!(
                    "SELECT * FROM audit_events WHERE {FILTERS} AND id > $2::bigint \
                     ORDER BY id ASC LIMIT $7"
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
        // As on SQLite: ids grow with time, so the old events are the lowest ids. Find the
        // first event inside the retention period by walking ids upward and delete a batch
        // below it. The newest event always stays (the identity would not restart anyway, but
        // both stores keep the same rule).
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
