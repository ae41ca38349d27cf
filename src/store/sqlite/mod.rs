//! The SQLite store: the embedded default. One file (WAL, foreign keys on), created and
//! migrated on first open. Multi-step changes run as single statements or in one transaction,
//! so concurrent requests cannot both win a compare-and-set.
//!
//! Opening and the whole-database methods live here; each area of the `Store` is implemented
//! in the file of its name, beside its PostgreSQL twin in `../postgres/`. There is no
//! `changes.rs`: an embedded database has no other writers to listen to, and the counter
//! behind `change_version` is one query.

use std::str::FromStr;

use anyhow::Context;
use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

mod approvals;
mod audit;
mod classify;
mod devices;
mod enrollments;
mod limits;
mod refresh_tokens;
mod resource_servers;
mod sessions;
mod users;

use classify::classify;

use super::{Store, StoreResult};
use crate::config::DatabaseSettings;

/// A SQLite database behind a connection pool.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating the file and its directory when missing) and migrates the database.
    pub async fn open(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        let url = settings.url.expose();
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| "database.url: not a valid sqlite:// URL".to_owned())?;
        create_private_file(options.get_filename())?;
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(settings.acquire_timeout.0);
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections)
            // A connection to a local file does not go stale; the default ping before every
            // acquire doubled the round trips of each audit batch.
            .test_before_acquire(false)
            .acquire_timeout(settings.acquire_timeout.0)
            .connect_with(options)
            .await
            .with_context(|| format!("opening {}", url))?;
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .context("migrating the SQLite database")?;
        Ok(SqliteStore { pool })
    }
}

/// Creates the database file (and its directory) with mode 0600 before SQLite does, so
/// password hashes and secret digests are not world-readable; SQLite gives its `-wal` and
/// `-shm` files the same mode.
fn create_private_file(path: &std::path::Path) -> anyhow::Result<()> {
    if path.exists() || path.as_os_str().is_empty() {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating database directory {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .with_context(|| format!("creating database file {}", path.display()))?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn change_version(&self) -> StoreResult<Option<i64>> {
        // One row, bumped by triggers (migrations/sqlite/0006_change_counter.sql).
        sqlx::query_scalar("SELECT version FROM change_counter WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }
}
