//! Following a user's feed live: catch up from the store, then relay the writer's broadcast.
//!
//! The order of steps is what makes it exact. The broadcast is subscribed *before* the store is
//! read, so an event committed meanwhile is in both — and is dropped the second time because
//! only ids above the last one sent go out (ids grow in commit order: one writer appends). A
//! receiver that falls behind the broadcast (`Lagged`) reads the gap from the store again. So a
//! follower sees every event once, in order, with no gap, and resumes after any id it was given.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, interval_at};

use crate::error::Result;
use crate::state::AppState;
use crate::store::{AuditCursor, AuditEvent, AuditFilter, Device};

/// Events read from the store per catch-up query.
const CATCH_UP_PAGE: u32 = 200;
/// How often a follower checks that its device is still paired and its user enabled: a
/// revoked phone must not go on watching the feed through a stream it opened earlier.
const RECHECK: Duration = Duration::from_secs(30);

/// `device`'s user's events matching `filter`, live: first those with ids above `after` (if
/// given) from the store, then each new one as it commits. Ends when the server shuts down,
/// when the device is revoked or its user disabled, or with an error if the store fails.
pub fn follow(
    state: &AppState,
    device: &Device,
    filter: AuditFilter,
    after: Option<i64>,
) -> impl Stream<Item = Result<Arc<AuditEvent>>> + Send + 'static {
    let follower = Follower {
        // Subscribed now, before any read of the store: see the module comment.
        live: state.feed.subscribe(),
        shutdown: state.shutting_down.subscribe(),
        recheck: interval_at(Instant::now() + RECHECK, RECHECK),
        state: state.clone(),
        device_id: device.id.clone(),
        user_id: device.user_id.clone(),
        filter,
        last_sent: after,
        catching_up: after.is_some(),
        queue: VecDeque::new(),
    };
    futures_util::stream::unfold(Some(follower), |follower| async move {
        let mut follower = follower?;
        match follower.next().await {
            Ok(Some(event)) => Some((Ok(event), Some(follower))),
            Ok(None) => None,
            Err(e) => Some((Err(e), None)),
        }
    })
}

/// What woke a waiting follower.
enum Wake {
    /// The shutdown flag changed (`true`: its sender is gone, which also means stop).
    Stop(bool),
    /// Time to check the device is still allowed.
    Recheck,
    /// The broadcast delivered (or reported a lag or its end).
    Live(Result<Arc<AuditEvent>, RecvError>),
}

struct Follower {
    state: AppState,
    device_id: String,
    user_id: String,
    filter: AuditFilter,
    live: broadcast::Receiver<Arc<AuditEvent>>,
    shutdown: watch::Receiver<bool>,
    recheck: tokio::time::Interval,
    /// The id everything sent so far is at or below; `None` until the starting point is known.
    last_sent: Option<i64>,
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
                self.last_sent = Some(event.id);
                return Ok(Some(event));
            }
            let Some(last) = self.last_sent else {
                self.last_sent = Some(self.newest_id().await?);
                continue;
            };
            if self.catching_up {
                self.catch_up(last).await?;
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
                Wake::Live(Ok(event)) if event.id > last && self.wants(&event) => {
                    self.last_sent = Some(event.id);
                    return Ok(Some(event));
                }
                Wake::Live(Ok(_)) => {}
                Wake::Live(Err(RecvError::Lagged(missed))) => {
                    tracing::debug!(missed, "feed follower lagged; catching up from the store");
                    self.catching_up = true;
                }
                Wake::Live(Err(RecvError::Closed)) => return Ok(None),
            }
        }
    }

    /// Queues the next page of stored events above `last`; the catch-up ends with a short page.
    async fn catch_up(&mut self, last: i64) -> Result<()> {
        let page = self
            .state
            .store
            .audit_page(
                &self.user_id,
                AuditCursor::After(last),
                CATCH_UP_PAGE,
                &self.filter,
            )
            .await?;
        self.catching_up = page.len() == CATCH_UP_PAGE as usize;
        self.queue.extend(page.into_iter().map(Arc::new));
        Ok(())
    }

    /// Where a follower without a resume point starts: after the user's newest stored event.
    /// Taken after subscribing, so anything newer is already in the broadcast receiver.
    async fn newest_id(&self) -> Result<i64> {
        let newest = self
            .state
            .store
            .audit_page(&self.user_id, AuditCursor::Newest, 1, &AuditFilter::default())
            .await?;
        Ok(newest.first().map_or(0, |e| e.id))
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

    /// The device is still paired and its user still enabled.
    async fn still_allowed(&self) -> Result<bool> {
        let store = &self.state.store;
        let device_active = store
            .list_devices(Some(&self.user_id))
            .await?
            .iter()
            .any(|d| d.id == self.device_id && d.revoked_at.is_none());
        let user_active = store
            .user_by_id(&self.user_id)
            .await?
            .is_some_and(|u| u.is_active());
        Ok(device_active && user_active)
    }
}
