//! The change stream on PostgreSQL: one dedicated connection `LISTEN`s on `nod_changes`, where
//! the triggers of `migrations/postgres/0006_notify.sql` announce committed changes.
//!
//! When the connection is lost, the call reports it (an error) and drops the listener; the
//! next call connects and listens again (failing while the server is down — the caller
//! retries) and then reports [`Change::Resync`], because whatever was announced in between is
//! gone for good.

use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::PgListener;

use super::classify;
use crate::store::{Change, ChangeStream, StoreError, StoreResult};

/// The channel the triggers notify.
const CHANNEL: &str = "nod_changes";

/// Listens on `nod_changes` over its own connection (not one of the pool's).
pub(super) struct PgChanges {
    pool: PgPool,
    /// `None` after the connection was lost, until listening again.
    listener: Option<PgListener>,
}

impl PgChanges {
    /// Connects and listens: every change committed after this returns is heard.
    pub(super) async fn start(pool: PgPool) -> StoreResult<Self> {
        let listener = listen(&pool).await?;
        Ok(PgChanges {
            pool,
            listener: Some(listener),
        })
    }
}

async fn listen(pool: &PgPool) -> StoreResult<PgListener> {
    let mut listener = PgListener::connect_with(pool).await.map_err(classify)?;
    listener.listen(CHANNEL).await.map_err(classify)?;
    Ok(listener)
}

#[async_trait]
impl ChangeStream for PgChanges {
    async fn next(&mut self) -> StoreResult<Change> {
        loop {
            let Some(listener) = self.listener.as_mut() else {
                self.listener = Some(listen(&self.pool).await?);
                return Ok(Change::Resync);
            };
            match listener.try_recv().await {
                Ok(Some(notification)) => match parse(notification.payload()) {
                    Some(change) => return Ok(change),
                    None => tracing::warn!(
                        payload = notification.payload(),
                        "ignoring an unknown notification on nod_changes"
                    ),
                },
                // The connection was lost: say so now (announcements may be missed from here
                // on), and listen again on the next call.
                Ok(None) => {
                    self.listener = None;
                    return Err(StoreError::Unavailable(
                        "the connection listening on nod_changes was lost".into(),
                    ));
                }
                Err(e) => {
                    self.listener = None;
                    return Err(classify(e));
                }
            }
        }
    }
}

/// Reads a trigger's payload: `approval <id>`, `revoked <sid> <at>`, `feed <user id>`,
/// `session <sid> <user id> <expires_at>` or `resource_servers`.
fn parse(payload: &str) -> Option<Change> {
    let words: Vec<&str> = payload.split(' ').collect();
    let change = match words.as_slice() {
        ["approval", id] => Change::ApprovalChanged {
            id: (*id).to_owned(),
        },
        ["revoked", sid, at] => Change::SessionRevoked {
            sid: (*sid).to_owned(),
            at: at.parse().ok()?,
        },
        ["feed", user_id] => Change::FeedAppended {
            user_id: (*user_id).to_owned(),
        },
        ["session", sid, user_id, expires_at] => Change::SessionCreated {
            sid: (*sid).to_owned(),
            user_id: (*user_id).to_owned(),
            expires_at: expires_at.parse().ok()?,
        },
        ["resource_servers"] => Change::ResourceServersChanged,
        _ => return None,
    };
    Some(change)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_of_the_triggers_parse() {
        assert_eq!(
            parse("approval a1"),
            Some(Change::ApprovalChanged { id: "a1".into() })
        );
        assert_eq!(
            parse("revoked s1 1700000000000"),
            Some(Change::SessionRevoked {
                sid: "s1".into(),
                at: 1_700_000_000_000
            })
        );
        assert_eq!(
            parse("session s1 u1 1700000000000"),
            Some(Change::SessionCreated {
                sid: "s1".into(),
                user_id: "u1".into(),
                expires_at: 1_700_000_000_000
            })
        );
        assert_eq!(
            parse("resource_servers"),
            Some(Change::ResourceServersChanged)
        );
        assert_eq!(
            parse("feed u1"),
            Some(Change::FeedAppended {
                user_id: "u1".into()
            })
        );
    }

    #[test]
    fn anything_else_is_ignored() {
        for payload in [
            "",
            "approval",
            "approval a1 extra",
            "revoked s1",
            "revoked s1 soon",
            "revoked s1 1 2",
            "feed",
            "session s1 u1",
            "session s1 u1 later",
            "resource_servers x",
            "other x",
        ] {
            assert_eq!(parse(payload), None, "{payload:?}");
        }
    }
}
