//! The store contract: what every `Store` implementation must do, tested by calling the trait
//! directly. Each case is written once as `async fn case(store: &dyn Store)` and run on both
//! backends by `contract!`, as `store::<area>::<case>::on_sqlite` and `…::on_postgres`. The
//! PostgreSQL runs need `TEST_POSTGRES_URL`; without it they say they were skipped.

use std::io::Write;
use std::sync::Arc;

use nod::config::{Secret, Settings};
use nod::store::Store;
use tempfile::TempDir;

use crate::test_database::TestDatabase;

/// Runs each named case (an `async fn(&dyn Store)` in scope) on SQLite and on PostgreSQL.
macro_rules! contract {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test]
            async fn on_sqlite() {
                let store = crate::store::TestStore::sqlite().await;
                super::$case(store.get()).await;
            }

            #[tokio::test]
            async fn on_postgres() {
                let Some(store) = crate::store::TestStore::postgres(module_path!()).await else {
                    return;
                };
                super::$case(store.get()).await;
            }
        }
    )*};
}

mod approvals;
mod audit;
mod audit_filters;
mod fixtures;
mod instances;
mod limits;
mod nul_keys;
mod recovery;
mod session_counters;
mod sessions;
mod users;

/// Says on stderr, past the test harness's capture, that a PostgreSQL case did not run.
pub fn say_skipped(case: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "{case}::on_postgres skipped: TEST_POSTGRES_URL is not set — PostgreSQL store contract \
         not run"
    );
}

/// A freshly migrated store of one backend, and what keeps its database alive.
pub struct TestStore {
    store: Arc<dyn Store>,
    /// Its `database.url`, for a test that reaches under the store (a migration's SQL).
    url: String,
    _dir: TempDir,
    /// Declared after `store`: the pool closes before the database is dropped.
    _database: Option<TestDatabase>,
}

impl TestStore {
    /// SQLite in a temporary directory.
    pub async fn sqlite() -> TestStore {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = Settings::for_tests(dir.path()).expect("settings");
        let store = nod::store::open(&settings.database)
            .await
            .expect("open SQLite");
        TestStore {
            store,
            url: settings.database.url.expose().to_owned(),
            _dir: dir,
            _database: None,
        }
    }

    /// A fresh PostgreSQL schema, or `None` (saying so) when `TEST_POSTGRES_URL` is not set.
    pub async fn postgres(case: &str) -> Option<TestStore> {
        Self::postgres_in(case, TestDatabase::create().await).await
    }

    /// The same in a whole database of its own (for a test that ends every backend of it).
    pub async fn postgres_whole(case: &str) -> Option<TestStore> {
        Self::postgres_in(case, TestDatabase::create_whole().await).await
    }

    async fn postgres_in(case: &str, database: Option<TestDatabase>) -> Option<TestStore> {
        let Some(database) = database else {
            say_skipped(case);
            return None;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings::for_tests(dir.path()).expect("settings");
        settings.database.url = Secret::new(database.url());
        let store = nod::store::open(&settings.database)
            .await
            .expect("open PostgreSQL");
        Some(TestStore {
            store,
            url: settings.database.url.expose().to_owned(),
            _dir: dir,
            _database: Some(database),
        })
    }

    /// The store under test.
    pub fn get(&self) -> &dyn Store {
        &*self.store
    }

    /// The database's URL, SQLite or PostgreSQL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The PostgreSQL database's URL (`None` on SQLite).
    pub fn postgres_url(&self) -> Option<&str> {
        self._database.as_ref().map(TestDatabase::url)
    }
}
