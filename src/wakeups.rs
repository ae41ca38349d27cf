//! Wake-ups: long-polls waiting on an approval sleep on a `Notify` keyed by the approval id; a
//! decision fires it after the row is committed. Entries are weak, so an id nobody waits on any
//! more costs nothing and is pruned on the next subscription.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::Notify;

/// Waiters by approval id.
#[derive(Debug, Default)]
pub struct WakeUps {
    waiters: Mutex<HashMap<String, Weak<Notify>>>,
}

impl WakeUps {
    /// The `Notify` for `id`, shared with every other waiter on it. Hold it while waiting; to
    /// miss nothing, create and `enable` a `notified()` future before reading the state.
    pub fn subscribe(&self, id: &str) -> Arc<Notify> {
        let mut waiters = self.lock();
        if let Some(existing) = waiters.get(id).and_then(Weak::upgrade) {
            return existing;
        }
        waiters.retain(|_, w| w.strong_count() > 0);
        let fresh = Arc::new(Notify::new());
        waiters.insert(id.to_owned(), Arc::downgrade(&fresh));
        fresh
    }

    /// Wakes everyone waiting on `id`.
    pub fn fire(&self, id: &str) {
        let notify = self.lock().get(id).and_then(Weak::upgrade);
        if let Some(notify) = notify {
            notify.notify_waiters();
        }
    }

    /// Wakes every waiter: after notices from other instances may have been missed, each
    /// re-reads its approval (a spurious wake-up only costs that read).
    pub fn fire_all(&self) {
        let live: Vec<Arc<Notify>> = self.lock().values().filter_map(Weak::upgrade).collect();
        for notify in live {
            notify.notify_waiters();
        }
    }

    /// How many ids have live waiters (for tests and metrics).
    pub fn waiting(&self) -> usize {
        self.lock()
            .values()
            .filter(|w| w.strong_count() > 0)
            .count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Weak<Notify>>> {
        self.waiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn fire_all_wakes_every_waiter() {
        let wakeups = WakeUps::default();
        let (a, b) = (wakeups.subscribe("a"), wakeups.subscribe("b"));
        let (wait_a, wait_b) = (a.notified(), b.notified());
        tokio::pin!(wait_a, wait_b);
        wait_a.as_mut().enable();
        wait_b.as_mut().enable();
        wakeups.fire_all();
        tokio::time::timeout(Duration::from_secs(5), async {
            wait_a.await;
            wait_b.await;
        })
        .await
        .expect("both waiters woken");
    }

    #[tokio::test]
    async fn a_fire_after_enable_is_not_missed() {
        let wakeups = WakeUps::default();
        let notify = wakeups.subscribe("a1");
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        wakeups.fire("a1");
        let woke = tokio::time::timeout(Duration::from_secs(1), notified).await;
        assert!(woke.is_ok());
    }

    #[test]
    fn entries_go_away_with_their_waiters() {
        let wakeups = WakeUps::default();
        let held = wakeups.subscribe("a1");
        drop(wakeups.subscribe("a2"));
        assert_eq!(wakeups.waiting(), 1);
        drop(held);
        let _other = wakeups.subscribe("a3");
        assert_eq!(wakeups.lock().len(), 1);
    }
}
