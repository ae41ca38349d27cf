//! Sorting SQLite errors into what callers act on: a conflict (409-like), an outage (503,
//! retry later) or a bug (500).

use crate::store::StoreError;

/// Sorts a sqlx error from the SQLite driver.
pub(super) fn classify(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(err.to_string())
        }
        sqlx::Error::Database(db) if db.code().as_deref() == Some("5") => {
            // SQLITE_BUSY: the writer lock stayed taken for the whole busy timeout.
            StoreError::Unavailable(err.to_string())
        }
        _ => StoreError::Other(err.to_string()),
    }
}
