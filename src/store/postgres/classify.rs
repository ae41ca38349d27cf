//! Sorting PostgreSQL errors into what callers act on: a conflict (409-like), an outage (503,
//! retry later) or a bug (500).

use crate::store::StoreError;

/// SQLSTATEs that mean the server went away or refuses connections right now, besides the
/// whole class `08` (connection exception): an administrator or crash shutdown
/// (`57P01`/`57P02`), a server still starting (`57P03`), too many connections (`53300`).
const UNAVAILABLE_CODES: [&str; 4] = ["57P01", "57P02", "57P03", "53300"];

/// Sorts a sqlx error from the PostgreSQL driver.
pub(crate) fn classify(err: sqlx::Error) -> StoreError {
    let unavailable = match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => return StoreError::Conflict,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || UNAVAILABLE_CODES.contains(&&*code)),
        // The pool had no live connection to give within `acquire_timeout`, or the socket broke
        // mid-query (the server restarted): both end once the server answers again.
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => true,
        _ => false,
    };
    if unavailable {
        StoreError::Unavailable(err.to_string())
    } else {
        StoreError::Other(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]

    use std::borrow::Cow;
    use std::error::Error as StdError;

    use sqlx::error::{DatabaseError, ErrorKind};

    use super::*;

    /// A server error with just a SQLSTATE, as the driver would report it.
    #[derive(Debug)]
    struct Sqlstate(&'static str);

    impl std::fmt::Display for Sqlstate {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "server error {}", self.0)
        }
    }

    impl StdError for Sqlstate {}

    impl DatabaseError for Sqlstate {
        fn message(&self) -> &str {
            "server error"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn StdError + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn StdError + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> ErrorKind {
            match self.0 {
                "23505" => ErrorKind::UniqueViolation,
                "23503" => ErrorKind::ForeignKeyViolation,
                _ => ErrorKind::Other,
            }
        }
    }

    fn server(code: &'static str) -> sqlx::Error {
        sqlx::Error::Database(Box::new(Sqlstate(code)))
    }

    #[test]
    fn a_unique_violation_is_a_conflict() {
        assert!(matches!(classify(server("23505")), StoreError::Conflict));
    }

    #[test]
    fn a_server_that_is_gone_or_refusing_is_unavailable() {
        let gone = [
            server("08000"),
            server("08006"),
            server("08P01"),
            server("57P01"),
            server("57P02"),
            server("57P03"),
            server("53300"),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
            sqlx::Error::Tls("handshake failed".into()),
            sqlx::Error::Protocol("unexpected end of stream".into()),
        ];
        for err in gone {
            let shown = err.to_string();
            match classify(err) {
                StoreError::Unavailable(_) => {}
                other => panic!("{shown}: {other:?}, expected Unavailable"),
            }
        }
    }

    #[test]
    fn everything_else_is_a_plain_error() {
        let bugs = [
            server("23503"),
            server("42601"),
            server("57014"),
            sqlx::Error::RowNotFound,
            sqlx::Error::ColumnNotFound("id".into()),
        ];
        for err in bugs {
            let shown = err.to_string();
            match classify(err) {
                StoreError::Other(_) => {}
                other => panic!("{shown}: {other:?}, expected Other"),
            }
        }
    }
}
