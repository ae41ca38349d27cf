//! Several instances, one database: what one instance commits, the others learn at once.
//!
//! The database announces each committed change (PostgreSQL triggers `NOTIFY`; see
//! `migrations/postgres/0006_notify.sql`), and this task turns every announcement into the same
//! local step the committing instance took itself: wake the long-polls of a decided approval,
//! add a revoked session to the revocation view, tell feed streams their user's feed grew. One
//! mechanism, two sources: an instance hears its own changes too, and acting twice is harmless.
//!
//! A lost connection is not left silent. While it is down the revocation view is marked stale
//! and token uses answer 503 (fail closed: another instance may have revoked a session we
//! cannot hear of). Once listening again, the stream reports `Resync`, and every view is
//! rebuilt from the store — the revocation view reloaded (then trusted again), every
//! long-poll woken to re-read its approval, every feed stream caught up.

use std::time::Duration;

use crate::audit::FeedItem;
use crate::state::AppState;
use crate::store::{Change, ChangeStream};

/// The first wait before listening again after the database went away; doubled up to `MAX`.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(1);

/// Applies every announced change until the task is aborted (at shutdown).
pub async fn follow(state: AppState, mut changes: Box<dyn ChangeStream>) {
    let mut retry = RETRY_FIRST;
    loop {
        match changes.next().await {
            Ok(change) => {
                retry = RETRY_FIRST;
                apply(&state, change).await;
            }
            Err(e) => {
                // Until listening again and reloaded, a revocation elsewhere could go unheard:
                // token uses answer 503 meanwhile instead of trusting the view.
                state.revocations.set_current(false);
                tracing::warn!(error = %e, retry_in = ?retry, "lost the database's change stream");
                crate::metrics::change_stream_lost();
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(RETRY_MAX);
            }
        }
    }
}

/// Takes the local step a change calls for.
async fn apply(state: &AppState, change: Change) {
    match change {
        Change::ApprovalChanged { id } => state.wakeups.fire(&id),
        Change::SessionRevoked { sid, at } => state.revocations.insert([(sid, at)]),
        Change::FeedAppended { user_id } => state.feed.publish(FeedItem::Appended {
            user_id: user_id.into(),
        }),
        Change::Resync => resync(state).await,
    }
}

/// Rebuilds what may have missed a change while the stream was down. The revocation view is
/// trusted again only once reloaded (retried until the store answers; announcements meanwhile
/// wait in the listener's buffer).
async fn resync(state: &AppState) {
    tracing::info!("listening to the database again; resynchronising the in-memory views");
    let mut retry = RETRY_FIRST;
    while let Err(e) = state.refresh_revocations().await {
        tracing::warn!(error = %e, "could not reload the revocation view after reconnecting");
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(RETRY_MAX);
    }
    state.revocations.set_current(true);
    state.wakeups.fire_all();
    state.feed.publish(FeedItem::Resync);
}
