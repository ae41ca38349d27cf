//! PostgreSQL only: a server that drops the store's connections (as a restart does) costs no
//! more than the connections: the next call gets a fresh one.

use sqlx::Connection;

use super::TestStore;
use super::fixtures::user;

#[tokio::test]
async fn connections_the_server_dropped_are_replaced_on_postgres() {
    let Some(store) = TestStore::postgres_whole(module_path!()).await else {
        return;
    };
    user(store.get(), "alice").await;
    let url = store.postgres_url().expect("a PostgreSQL store");
    let mut admin = sqlx::PgConnection::connect(url).await.unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!ended.is_empty(), "the store held a connection");
    // pg_terminate_backend only signals: wait until those backends are gone (a condition,
    // checked by the server), so the store's pooled connection is surely dead.
    let gone_by = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap();
        if left == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < gone_by,
            "terminated backends never went away"
        );
        tokio::task::yield_now().await;
    }
    store
        .get()
        .ping()
        .await
        .expect("a stale pooled connection is replaced, not handed out");
    let alice = store.get().user_by_name("alice").await.unwrap();
    assert_eq!(alice.map(|u| u.username).as_deref(), Some("alice"));
}
