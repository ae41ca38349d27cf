//! A fresh PostgreSQL schema (or database) per test, when `TEST_POSTGRES_URL` names a server.
//!
//! The variable holds an admin URL (`postgres://postgres@127.0.0.1:5432/test`): a user allowed
//! to `CREATE SCHEMA` in its database and `CREATE DATABASE`. It is deliberately not `NOD_*`:
//! nod's configuration refuses unknown `NOD_` variables. Schemas and databases are named
//! `nod_test_<16 hex>`; each is dropped when its guard drops, and
//! `scripts/drop-test-databases.sh` removes any a crashed run left behind.

use sqlx::Connection;

/// The variable naming the PostgreSQL server tests may use.
pub const POSTGRES_URL_VAR: &str = "TEST_POSTGRES_URL";

/// The admin URL from `TEST_POSTGRES_URL`, if set (and not empty).
pub fn postgres_admin_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|u| !u.is_empty())
}

/// A place of its own for one test — a schema (the default) or a whole database — dropped
/// when this drops.
pub struct TestDatabase {
    /// URL of the new database, for `database.url`.
    url: String,
    name: String,
    admin_url: String,
    /// A whole database rather than a schema.
    whole: bool,
}

impl TestDatabase {
    /// Creates a schema `nod_test_<random>` in the `TEST_POSTGRES_URL` database and gives a
    /// URL whose connections use it (`options=-c search_path=…`): tables, functions, triggers
    /// and sqlx's migration table all land in it. A schema costs a few milliseconds where a
    /// database costs ~0.4 s of copying and WAL — which also stalled other tests' commits.
    /// What schemas share (the notification channel, advisory locks) is harmless between
    /// tests: ids are random, and the audit lock only orders batches. `None` when the variable
    /// is not set. Panics if it is set but the server refuses: a misconfigured run must fail,
    /// not quietly test SQLite.
    pub async fn create() -> Option<TestDatabase> {
        Self::make(false).await
    }

    /// Creates a whole database `nod_test_<random>`, for a test that acts on everything
    /// connected to its database (ending every backend, say).
    pub async fn create_whole() -> Option<TestDatabase> {
        Self::make(true).await
    }

    async fn make(whole: bool) -> Option<TestDatabase> {
        let admin_url = postgres_admin_url()?;
        let bytes = nod::auth::secrets::random_bytes::<8>().expect("random name");
        let name = format!("nod_test_{}", nod::auth::secrets::hex(&bytes));
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR}: cannot connect: {e}"));
        let sql = if whole {
            format!("CREATE DATABASE {name}")
        } else {
            format!("CREATE SCHEMA {name}")
        };
        sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR}: {sql}: {e}"));
        let _ = admin.close().await;
        let mut url = url::Url::parse(&admin_url)
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR} is not a URL: {e}"));
        if whole {
            url.set_path(&format!("/{name}"));
        } else {
            url.query_pairs_mut()
                .append_pair("options", &format!("-c search_path={name}"));
        }
        Some(TestDatabase {
            url: url.to_string(),
            name,
            admin_url,
            whole,
        })
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Gives up the guard: the database outlives the test (for
    /// `scripts/drop-test-databases.sh` to remove).
    #[allow(dead_code, reason = "for the multi-instance tests")]
    pub fn keep(mut self) -> String {
        self.name.clear(); // tells `drop` there is nothing to drop
        std::mem::take(&mut self.url)
    }
}

impl Drop for TestDatabase {
    /// Drops the schema or database from a thread of its own: `Drop` cannot await, and the
    /// test's runtime may be the one this runs on. `WITH (FORCE)` ends the connections the
    /// app's pool still holds on a database; a schema goes with everything in it.
    fn drop(&mut self) {
        if self.name.is_empty() {
            return;
        }
        let admin_url = self.admin_url.clone();
        let sql = if self.whole {
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)
        } else {
            format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name)
        };
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async move {
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .map_err(|e| e.to_string())?;
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut admin)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = admin.close().await;
                Ok::<(), String>(())
            })
        })
        .join();
        if let Ok(Err(e)) | Err(e) = dropped.map_err(|_| "panicked".to_owned()) {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// A fresh, empty database on the `TEST_POSTGRES_URL` server and its URL, or `None` when the
/// variable is not set. The database is left behind after the test (a two-instance test
/// shares it between apps); use [`TestDatabase::create`] for one that drops itself.
#[allow(dead_code, reason = "for the multi-instance tests")]
pub async fn fresh_postgres_url() -> Option<String> {
    TestDatabase::create().await.map(TestDatabase::keep)
}
