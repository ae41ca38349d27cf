//! The PostgreSQL store: one database shared by several nod instances behind a load balancer.
//! The same records and semantics as the SQLite store; what differs is how a compare-and-set
//! stays atomic. SQLite has one writer at a time; PostgreSQL runs writers concurrently at READ
//! COMMITTED, where a conditional `UPDATE … WHERE state = 'pending'` is still atomic (a second
//! writer waits for the first and re-checks the row), but a count followed by an insert is not:
//! those take a row or advisory lock first, in one transaction.
//!
//! Opening and the whole-database methods live here; each area of the `Store` is implemented
//! in the file of its name, beside its SQLite twin in `../sqlite/`. `changes.rs` is
//! PostgreSQL's alone: the stream of what other instances commit.

use std::str::FromStr;

use anyhow::Context;
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

mod approvals;
mod audit;
mod changes;
mod classify;
mod devices;
mod enrollments;
mod limits;
mod refresh_tokens;
mod resource_servers;
mod sessions;
mod users;

pub(crate) use classify::classify;

use super::{ChangeStream, Store, StoreResult, redact_url};
use crate::config::DatabaseSettings;

/// A PostgreSQL database behind a connection pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects and migrates the database (which must exist). Errors name the URL without its
    /// password.
    pub async fn open(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        let url = settings.url.expose();
        let shown = redact_url(url);
        let options = PgConnectOptions::from_str(url)
            .with_context(|| format!("database.url: not a valid postgres:// URL: {shown}"))?
            .application_name("nod");
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout.0)
            // Pooled connections go stale when the server restarts: check each one before
            // handing it out, so a request after an outage gets a fresh connection instead of
            // an I/O error.
            .test_before_acquire(true)
            .connect_with(options)
            .await
            .with_context(|| format!("connecting to {shown}"))?;
        // sqlx serialises concurrent migrators with an advisory lock: instances starting
        // together migrate once.
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .context("migrating the PostgreSQL database")?;
        Ok(PostgresStore { pool })
    }

    /// The pool, for code that needs PostgreSQL itself (LISTEN/NOTIFY).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Whether `key` cannot be stored at all: PostgreSQL text holds no NUL character, and binding
/// one fails with an encoding error where SQLite simply finds no row. Lookups by keys that come
/// straight from a request (ids in paths, usernames) answer such a key as absent, as on SQLite,
/// instead of with a 500.
pub(super) fn unstorable(key: &str) -> bool {
    key.contains('\0')
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(())
    }

    fn is_shared(&self) -> bool {
        true
    }

    async fn changes(&self) -> StoreResult<Option<Box<dyn ChangeStream>>> {
        Ok(Some(Box::new(
            changes::PgChanges::start(self.pool.clone()).await?,
        )))
    }
}
