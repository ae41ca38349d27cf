//! The `mock` provider, for test suites: keeps every notification in memory, readable from Rust
//! (`MockNotifier::next_for`) and, when `notify.test_endpoint = true`, over HTTP at
//! `GET /v1/test/notifications?username=&since=&wait=` (which can wait for the next one).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use tokio::sync::Notify;

use super::{Notification, Notifier, NotifyError};
use crate::clock::{Clock, duration_ms};

/// How many notifications the mock keeps before dropping the oldest.
const CAPACITY: usize = 10_000;

/// A captured notification, as test suites read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SentNotification {
    /// Position in the order of capture, from 1, never reused: pass the last one seen as
    /// `since` to get (or wait for) only later ones.
    pub seq: u64,
    pub device_id: String,
    pub username: String,
    pub approval_id: String,
    pub approve_url: String,
    pub text: String,
    /// Unix ms.
    pub sent_at: i64,
}

/// Captures notifications instead of sending them.
pub struct MockNotifier {
    state: Mutex<MockState>,
    arrived: Notify,
    /// Callers of `wait_for` parked right now (tests wait on this, not on a sleep).
    waiting: AtomicUsize,
    clock: Arc<dyn Clock>,
}

#[derive(Debug, Default)]
struct MockState {
    sent: Vec<SentNotification>,
    /// The `seq` of the last capture.
    last_seq: u64,
    /// Per username, how many notifications `next_for` has handed out.
    taken: HashMap<String, usize>,
}

impl MockNotifier {
    /// An empty mock stamping captures with `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        MockNotifier {
            state: Mutex::default(),
            arrived: Notify::new(),
            waiting: AtomicUsize::new(0),
            clock,
        }
    }

    /// Everything captured for `username` (or for everyone), oldest first.
    pub fn sent(&self, username: Option<&str>) -> Vec<SentNotification> {
        let state = self.lock();
        state
            .sent
            .iter()
            .filter(|n| username.is_none_or(|u| n.username == u))
            .cloned()
            .collect()
    }

    /// What was captured for `username` (or for everyone) after `since` (a `seq`), oldest
    /// first; when there is nothing yet, waits up to `timeout` for the first to arrive. Empty
    /// only when nothing came in time. The wait runs on the app's clock, like the token
    /// long-poll, so a test moves its clock to end it.
    pub async fn wait_for(
        &self,
        username: Option<&str>,
        since: u64,
        timeout: Duration,
    ) -> Vec<SentNotification> {
        // Fixed before the caller counts as parked: a test that sees it parked can move the
        // clock past the deadline.
        let deadline = self.clock.now_ms().saturating_add(duration_ms(timeout));
        let _parked = Parked::on(&self.waiting);
        loop {
            // Registered before the read, so a capture landing in between still wakes us.
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let found: Vec<_> = self
                .sent(username)
                .into_iter()
                .filter(|n| n.seq > since)
                .collect();
            if !found.is_empty() || self.clock.now_ms() >= deadline {
                return found;
            }
            tokio::select! {
                () = arrived => {}
                () = self.clock.sleep_until(deadline) => {}
            }
        }
    }

    /// How many callers `wait_for` is holding right now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// The next notification for `username` not yet handed out by this method, waiting up to
    /// `timeout` for it to arrive. A test's own patience, so on real time: a notification that
    /// never comes fails the test instead of hanging it on a stopped test clock.
    pub async fn next_for(&self, username: &str, timeout: Duration) -> Option<SentNotification> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            if let Some(found) = self.take_next(username) {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return None;
            }
        }
    }

    fn take_next(&self, username: &str) -> Option<SentNotification> {
        let mut state = self.lock();
        let taken = state.taken.get(username).copied().unwrap_or(0);
        let found = state
            .sent
            .iter()
            .filter(|n| n.username == username)
            .nth(taken)
            .cloned()?;
        state.taken.insert(username.to_owned(), taken + 1);
        Some(found)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MockState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Notifier for MockNotifier {
    fn name(&self) -> &'static str {
        "mock"
    }

    fn check_address(&self, _address: Option<&str>) -> Result<(), String> {
        Ok(())
    }

    async fn send(&self, note: &Notification, _address: Option<&str>) -> Result<(), NotifyError> {
        let sent_at = self.clock.now_ms();
        {
            let mut state = self.lock();
            if state.sent.len() >= CAPACITY {
                state.sent.remove(0);
                state.taken.clear();
            }
            state.last_seq += 1;
            let seq = state.last_seq;
            state.sent.push(SentNotification {
                seq,
                device_id: note.device_id.clone(),
                username: note.username.clone(),
                approval_id: note.approval_id.clone(),
                approve_url: note.approve_url.clone(),
                text: note.text.clone(),
                sent_at,
            });
        }
        self.arrived.notify_waiters();
        Ok(())
    }
}

/// Counts a parked `wait_for` caller for as long as it lives (also when its future is dropped).
struct Parked<'a>(&'a AtomicUsize);

impl<'a> Parked<'a> {
    fn on(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Parked(counter)
    }
}

impl Drop for Parked<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
