//! Each session's `use_count` and `last_used_at`, kept by every audit batch in its own
//! transaction, and the migration that fills them from the events written before.

use nod::audit::{event, kind};
use nod::store::{AuditEvent, Session, SessionSummary, Store};
use sqlx::Connection;

use super::TestStore;
use super::fixtures::{NOW, device, signed_in, user};

contract!(
    uses_add_up_over_batches_with_the_newest_time,
    one_batch_counts_each_of_its_sessions,
    a_use_of_an_unknown_session_changes_nothing_and_fails_nothing,
);

/// A `token_used` of `session` at `at`.
fn use_of(session: &Session, at: i64) -> AuditEvent {
    let mut e = event(&session.user_id, kind::TOKEN_USED, at);
    e.sid = Some(session.id.clone());
    e
}

/// `(use_count, last_used_at)` of each of the user's live sessions, newest session first.
async fn counters(store: &dyn Store, user_id: &str) -> Vec<(i64, Option<i64>)> {
    let listed: Vec<SessionSummary> = store.active_sessions(user_id, NOW + 1_000).await.unwrap();
    listed
        .iter()
        .map(|s| (s.use_count, s.last_used_at))
        .collect()
}

async fn uses_add_up_over_batches_with_the_newest_time(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let phone = device(store, &alice).await;
    let (session, _) = signed_in(store, &alice, &phone, NOW, None).await;
    assert_eq!(counters(store, &alice.id).await, [(0, None)]);

    store
        .append_audit(vec![use_of(&session, NOW + 20), use_of(&session, NOW + 10)])
        .await
        .unwrap();
    assert_eq!(counters(store, &alice.id).await, [(2, Some(NOW + 20))]);

    // A later batch whose use is older (clocks of two instances) keeps the newest time.
    store
        .append_audit(vec![use_of(&session, NOW + 15)])
        .await
        .unwrap();
    assert_eq!(counters(store, &alice.id).await, [(3, Some(NOW + 20))]);

    // Other kinds of the session's events are not uses.
    let mut refreshed = event(&alice.id, kind::TOKEN_REFRESHED, NOW + 30);
    refreshed.sid = Some(session.id.clone());
    store.append_audit(vec![refreshed]).await.unwrap();
    assert_eq!(counters(store, &alice.id).await, [(3, Some(NOW + 20))]);
}

async fn one_batch_counts_each_of_its_sessions(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let bob = user(store, "bob").await;
    let phone = device(store, &alice).await;
    let bobs_phone = device(store, &bob).await;
    let (older, _) = signed_in(store, &alice, &phone, NOW, None).await;
    let (newer, _) = signed_in(store, &alice, &phone, NOW + 1, None).await;
    let (bobs, _) = signed_in(store, &bob, &bobs_phone, NOW, None).await;

    // Larger than one SQLite statement of events (500 rows), interleaved sessions.
    let mut batch = Vec::new();
    for n in 0..700 {
        batch.push(use_of(&older, NOW + n));
        if n % 2 == 0 {
            batch.push(use_of(&newer, NOW + n));
        }
        if n % 7 == 0 {
            batch.push(use_of(&bobs, NOW + 2 * n));
        }
    }
    store.append_audit(batch).await.unwrap();

    assert_eq!(
        counters(store, &alice.id).await,
        [(350, Some(NOW + 698)), (700, Some(NOW + 699))]
    );
    assert_eq!(counters(store, &bob.id).await, [(100, Some(NOW + 1386))]);
}

async fn a_use_of_an_unknown_session_changes_nothing_and_fails_nothing(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let phone = device(store, &alice).await;
    let (session, _) = signed_in(store, &alice, &phone, NOW, None).await;
    let mut stray = event(&alice.id, kind::TOKEN_USED, NOW + 5);
    stray.sid = Some("no-such-session".into());

    let ids = store
        .append_audit(vec![stray, use_of(&session, NOW + 6)])
        .await
        .unwrap();
    assert_eq!(ids.len(), 2, "both events are recorded");
    assert_eq!(counters(store, &alice.id).await, [(1, Some(NOW + 6))]);
}

/// The backfill migration on a filled table: events written with no counting (as before the
/// counters existed), counters back at their column defaults, then the migration's SQL.
async fn the_backfill_counts_the_uses_written_before(
    test: &TestStore,
    fill: &str,
    reset: &str,
    backfill: &str,
) {
    let store = test.get();
    let alice = user(store, "alice").await;
    let phone = device(store, &alice).await;
    let (used, _) = signed_in(store, &alice, &phone, NOW, None).await;
    let (unused, _) = signed_in(store, &alice, &phone, NOW + 1, None).await;
    let sql = fill
        .replace("{user}", &alice.id)
        .replace("{used}", &used.id)
        .replace("{unused}", &unused.id)
        .replace("{now}", &NOW.to_string());
    let run = |sql: String| async move {
        let url = test.url();
        if url.starts_with("sqlite:") {
            let mut db = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut db)
                .await
                .unwrap();
        } else {
            let mut db = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut db)
                .await
                .unwrap();
        }
    };
    run(sql).await;
    run(reset.to_owned()).await;
    assert_eq!(counters(store, &alice.id).await, [(0, None), (0, None)]);

    run(backfill.to_owned()).await;
    assert_eq!(
        counters(store, &alice.id).await,
        [(0, None), (1_000, Some(NOW + 999))],
        "token_used of each session only"
    );
    run(backfill.to_owned()).await;
    assert_eq!(
        counters(store, &alice.id).await,
        [(0, None), (1_000, Some(NOW + 999))],
        "a second run recounts the same"
    );
}

/// 1,000 uses of `{used}`, 1,000 refreshes of `{unused}`, 10 uses of a sid without a session.
const FILL: &str = "INSERT INTO audit_events (user_id, at, kind, sid) \
     SELECT '{user}', {now} + n, 'token_used', '{used}' FROM series; \
     INSERT INTO audit_events (user_id, at, kind, sid) \
     SELECT '{user}', {now} + n, 'token_refreshed', '{unused}' FROM series; \
     INSERT INTO audit_events (user_id, at, kind, sid) \
     SELECT '{user}', {now} + n, 'token_used', 'gone' FROM series WHERE n < 10;";
const RESET: &str = "UPDATE sessions SET use_count = 0, last_used_at = NULL";

#[tokio::test]
async fn the_backfill_counts_the_uses_written_before_on_sqlite() {
    let test = TestStore::sqlite().await;
    let series = "WITH RECURSIVE series (n) AS \
                  (SELECT 0 UNION ALL SELECT n + 1 FROM series WHERE n < 999) ";
    let fill = FILL
        .split_inclusive(';')
        .map(|statement| format!("{series}{statement}"))
        .collect::<String>();
    the_backfill_counts_the_uses_written_before(
        &test,
        &fill,
        RESET,
        include_str!("../../../migrations/sqlite/0008_session_counters_backfill.sql"),
    )
    .await;
}

#[tokio::test]
async fn the_backfill_counts_the_uses_written_before_on_postgres() {
    let Some(test) = TestStore::postgres(module_path!()).await else {
        return;
    };
    let fill = FILL.replace("FROM series", "FROM generate_series(0, 999) AS series (n)");
    the_backfill_counts_the_uses_written_before(
        &test,
        &fill,
        RESET,
        include_str!("../../../migrations/postgres/0009_session_counters_backfill.sql"),
    )
    .await;
}
