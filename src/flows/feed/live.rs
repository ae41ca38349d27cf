//! Following a user's feed live: catch up from the store, then relay the writer's broadcast.
//!
//! The order of steps is what makes it exact. The broadcast is subscribed *before* the store is
//! read, so an event committed meanwhile is in both — and is dropped the second time because
//! only ids above the last one sent go out (ids grow in commit order: one writer appends, or,
//! on PostgreSQL, batches from every instance take one lock in turn). A receiver that falls
//! behind the broadcast (`Lagged`) reads the gap from the store again. So a follower sees every
//! event once, in order, with no gap, and resumes after any id it was given.
//!
//! When several instances share the database, the broadcast carries only `Appended` notices
//! (the database's, in commit order, see `crate::cluster`) and every event comes from the
//! store: a notice makes the follower read the events above the last one it sent.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, interval_at};

use crate::audit::FeedItem;
use crate::error::Result;
use crate::state::AppState;
use crate::store::{AuditEvent, AuditFilter, Device};

/// Who follows a feed: whatever stops them from reading it also ends their stream.
#[derive(Debug, Clone)]
pub enum Viewer {
    /// A paired phone (the device API, or `/phone` through the device cookie): ends when the
    /// device is revoked.
    Device { device_id: String, user_id: String },
    /// A web sign-in (`/activity`): ends when its session is revoked or expires.
    Session { sid: String, user_id: String },
}

impl Viewer {
    /// The user whose feed this is.
    pub fn user_id(&self) -> &str {
        match self {
            Viewer::Device { user_id, .. } | Viewer::Session { user_id, .. } => user_id,
        }
    }
}

impl From<&Device> for Viewer {
    fn from(device: &Device) -> Self {
        Viewer::Device {
            device_id: device.id.clone(),
            user_id: device.user_id.clone(),
        }
    }
}

/// Events read from the store per catch-up query.
const CATCH_UP_PAGE: u32 = 200;
/// How often a follower checks that its device or session is still live and its user enabled:
/// a revoked phone or session must not go on watching the feed through a stream it opened
/// earlier.
const RECHECK: Duration = Duration::from_secs(30);

/// `viewer`'s user's events matching `filter`, live: first those with ids above `after` (if
/// given) from the store, then each new one as it commits. Ends when the server shuts down,
/// when the viewer's device or session is revoked or its user disabled, or with an error if
/// the store fails.
///
/// Without `after`, the stream starts after the user's newest stored event, read here, after
/// subscribing: once this returns (and so once the client has its response headers), every
/// event that commits is delivered.
pub async fn follow(
    state: &AppState,
    viewer: Viewer,
    filter: AuditFilter,
    after: Option<i64>,
) -> Result<impl Stream<Item = Result<Arc<AuditEvent>>> + Send + 'static> {
    // Subscribed before any read of the store: see the module comment.
    let live = state.feed.subscribe();
    let last_sent = match after {
        Some(id) => id,
        None => newest_id(state, viewer.user_id()).await?,
    };
    let follower = Follower {
        live,
        shutdown: state.shutting_down.subscribe(),
        recheck: interval_at(Instant::now() + RECHECK, RECHECK),
        state: state.clone(),
        user_id: viewer.user_id().to_owned(),
        viewer,
        filter,
        last_sent,
        catching_up: after.is_some(),
        queue: VecDeque::new(),
    };
    Ok(futures_util::stream::unfold(
        Some(follower),
        |follower| async move {
            let mut follower = follower?;
            match follower.next().await {
                Ok(Some(event)) => Some((Ok(event), Some(follower))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        },
    ))
}

/// The id of the user's newest stored event (0 when there is none).
async fn newest_id(state: &AppState, user_id: &str) -> Result<i64> {
    let newest = super::newest(state, user_id, 1).await?;
    Ok(newest.first().map_or(0, |e| e.id))
}

/// What woke a waiting follower.
enum Wake {
    /// The shutdown flag changed (`true`: its sender is gone, which also means stop).
    Stop(bool),
    /// Time to check the device is still allowed.
    Recheck,
    /// The broadcast delivered (or reported a lag or its end).
    Live(Result<FeedItem, RecvError>),
}

struct Follower {
    state: AppState,
    viewer: Viewer,
    user_id: String,
    filter: AuditFilter,
    live: broadcast::Receiver<FeedItem>,
    shutdown: watch::Receiver<bool>,
    recheck: tokio::time::Interval,
    /// The id everything sent so far is at or below.
    last_sent: i64,
    /// The store holds events above `last_sent` that the broadcast will not bring.
    catching_up: bool,
    /// Read from the store, not yet sent.
    queue: VecDeque<Arc<AuditEvent>>,
}

impl Follower {
    /// The next event to send, or `None` when the stream should end.
    async fn next(&mut self) -> Result<Option<Arc<AuditEvent>>> {
        loop {
            if *self.shutdown.borrow() {
                return Ok(None);
            }
            if let Some(event) = self.queue.pop_front() {
                self.last_sent = event.id;
                return Ok(Some(event));
            }
            if self.catching_up {
                self.catch_up().await?;
                continue;
            }
            // Each branch only says what happened; acting on it needs `self` again.
            let woke = tokio::select! {
                // Only ever false → true, and checked at the top of the loop.
                changed = self.shutdown.changed() => Wake::Stop(changed.is_err()),
                _ = self.recheck.tick() => Wake::Recheck,
                received = self.live.recv() => Wake::Live(received),
            };
            match woke {
                Wake::Stop(true) => return Ok(None),
                Wake::Stop(false) => {}
                Wake::Recheck => {
                    if !self.still_allowed().await? {
                        return Ok(None);
                    }
                }
                // A web sign-in watching its own revocation stops at once, not at the next
                // recheck: the revocation view has it before its feed event is announced.
                Wake::Live(Ok(_)) if self.viewer_revoked() => return Ok(None),
                Wake::Live(Ok(FeedItem::Event(event)))
                    if event.id > self.last_sent && self.wants(&event) =>
                {
                    self.last_sent = event.id;
                    return Ok(Some(event));
                }
                Wake::Live(Ok(FeedItem::Appended { user_id })) if *user_id == *self.user_id => {
                    self.catching_up = true;
                }
                Wake::Live(Ok(FeedItem::Resync)) => self.catching_up = true,
                Wake::Live(Ok(_)) => {}
                Wake::Live(Err(RecvError::Lagged(missed))) => {
                    tracing::debug!(missed, "feed follower lagged; catching up from the store");
                    self.catching_up = true;
                }
                Wake::Live(Err(RecvError::Closed)) => return Ok(None),
            }
        }
    }

    /// Queues the next page of stored events above the last one sent; a short page ends the
    /// catch-up.
    async fn catch_up(&mut self) -> Result<()> {
        let page = super::after(
            &self.state,
            &self.user_id,
            self.last_sent,
            CATCH_UP_PAGE,
            &self.filter,
        )
        .await?;
        self.catching_up = page.len() == CATCH_UP_PAGE as usize;
        self.queue.extend(page.into_iter().map(Arc::new));
        Ok(())
    }

    /// Whether a live event belongs on this stream.
    fn wants(&self, event: &AuditEvent) -> bool {
        event.user_id == self.user_id
            && self.filter.kind.as_ref().is_none_or(|k| *k == event.kind)
            && self
                .filter
                .sid
                .as_ref()
                .is_none_or(|s| event.sid.as_ref() == Some(s))
    }

    /// Whether the session this stream is for has been revoked (by this instance or, on a
    /// shared database, any other: the view hears of both before the feed event).
    fn viewer_revoked(&self) -> bool {
        match &self.viewer {
            Viewer::Session { sid, .. } => self.state.sessions.is_revoked(sid),
            Viewer::Device { .. } => false,
        }
    }

    /// The device is still paired (or the session live) and the user still enabled.
    async fn still_allowed(&self) -> Result<bool> {
        let store = &self.state.store;
        let viewer_active = match &self.viewer {
            Viewer::Device { device_id, .. } => store
                .list_devices(Some(&self.user_id))
                .await?
                .iter()
                .any(|d| d.id == *device_id && d.revoked_at.is_none()),
            Viewer::Session { sid, .. } => {
                let now = self.state.clock.now_ms();
                store
                    .session_by_id(sid)
                    .await?
                    .is_some_and(|s| s.revoked_at.is_none() && s.expires_at > now)
            }
        };
        let user_active = store
            .user_by_id(&self.user_id)
            .await?
            .is_some_and(|u| u.is_active());
        Ok(viewer_active && user_active)
    }
}
