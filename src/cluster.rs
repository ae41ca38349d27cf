//! Several instances, one database: what one instance commits, the others learn at once.
//!
//! The database announces each committed change (PostgreSQL triggers `NOTIFY`; see
//! `migrations/postgres/0006_notify.sql`), and this task turns every announcement into the same
//! local step the committing instance took itself: wake the long-polls of a decided approval,
//! add a created or revoked session to the session view, reload the resource servers, tell
//! feed streams their user's feed grew. One
//! mechanism, two sources: an instance hears its own changes too, and acting twice is harmless.
//!
//! A lost connection is not left silent. While it is down the session view is marked stale
//! and token uses answer 503 (fail closed: another instance may have revoked a session we
//! cannot hear of). Once listening again, the stream reports `Resync`, and every view is
//! rebuilt from the store — the session view and the resource servers reloaded (then
//! trusted again), every
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
                state.sessions.set_current(false);
                tracing::warn!(error = %e, retry_in = ?retry, "lost the database's change stream");
                crate::metrics::change_stream_lost();
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(RETRY_MAX);
            }
        }
    }
}

/// How often a server on an embedded database looks at its change counter: a revocation or a
/// resource server committed by the CLI takes effect within this (plus one reload).
pub const VERSION_CHECK_PERIOD: Duration = Duration::from_millis(250);

/// The same on a database that announces nothing (SQLite, where the CLI is the other writer):
/// every `period`, one tiny read of the store's change counter; only when it moved are the
/// session view and the resource servers reloaded. Runs until aborted; returns at once when
/// the store has no counter (it announces through [`follow`] instead).
pub async fn watch_version(state: AppState, period: Duration) {
    if let Ok(None) = state.store.change_version().await {
        return;
    }
    // Nothing seen yet: the first tick reloads, so a change committed between the views' load
    // and this task's start is not missed.
    let mut seen = None;
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let version = match state.store.change_version().await {
            Ok(version) => version,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the change counter");
                continue;
            }
        };
        if version == seen {
            continue;
        }
        // Reloaded before `seen` moves: a failed reload is tried again on the next tick.
        let sessions = state.refresh_sessions().await;
        let servers = state.refresh_resource_servers().await;
        match sessions.and(servers) {
            Ok(()) => seen = version,
            Err(e) => tracing::warn!(error = %e, "could not reload after another process's change"),
        }
    }
}

/// Takes the local step a change calls for.
async fn apply(state: &AppState, change: Change) {
    match change {
        Change::ApprovalChanged { id } => state.wakeups.fire(&id),
        Change::SessionRevoked { sid, at } => state.sessions.insert_revoked([(sid, at)]),
        Change::SessionCreated {
            sid,
            user_id,
            expires_at,
        } => state.sessions.insert_live([(sid, user_id, expires_at)]),
        Change::ResourceServersChanged => {
            if let Err(e) = state.refresh_resource_servers().await {
                // Kept as they were; the next change or reconnection reloads them again.
                tracing::warn!(error = %e, "could not reload the resource servers");
            }
        }
        Change::FeedAppended { user_id } => state.feed.publish(FeedItem::Appended {
            user_id: user_id.into(),
        }),
        Change::Resync => resync(state).await,
    }
}

/// Rebuilds what may have missed a change while the stream was down. The session view is
/// trusted again only once reloaded (retried until the store answers; announcements meanwhile
/// wait in the listener's buffer).
async fn resync(state: &AppState) {
    tracing::info!("listening to the database again; resynchronising the in-memory views");
    let mut retry = RETRY_FIRST;
    while let Err(e) = state.refresh_sessions().await {
        tracing::warn!(error = %e, "could not reload the session view after reconnecting");
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(RETRY_MAX);
    }
    state.sessions.set_current(true);
    if let Err(e) = state.refresh_resource_servers().await {
        tracing::warn!(error = %e, "could not reload the resource servers after reconnecting");
    }
    state.wakeups.fire_all();
    state.feed.publish(FeedItem::Resync);
}
