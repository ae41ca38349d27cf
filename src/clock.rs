//! Time as an input: everything that decides by time (expiry, TOTP steps, rate limits, the
//! deadline of a long-poll) asks the `Clock` in the app state, so tests can move time instead
//! of sleeping.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use tokio::sync::watch;

/// A point in time as Unix milliseconds: what the store keeps and what the domain compares.
pub type UnixMillis = i64;

/// The source of "now" for the whole application.
pub trait Clock: Send + Sync + 'static {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;

    /// The current time as Unix milliseconds.
    fn now_ms(&self) -> UnixMillis {
        to_millis(self.now())
    }

    /// Resolves once `now_ms()` has reached `at`. Long-polls wait on this, not on tokio's
    /// timer, so that moving a test clock past a deadline ends the wait as real time would.
    fn sleep_until(&self, at: UnixMillis) -> BoxFuture<'static, ()>;
}

/// Converts a `SystemTime` to Unix milliseconds (times before 1970 become 0).
pub fn to_millis(t: SystemTime) -> UnixMillis {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Converts a duration to milliseconds, saturating.
pub fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep_until(&self, at: UnixMillis) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            // tokio's timer runs on the monotonic clock and the wall clock may step: sleep
            // again until the wall clock agrees the moment has come.
            loop {
                let left = at.saturating_sub(to_millis(SystemTime::now()));
                match u64::try_from(left) {
                    Ok(ms) if ms > 0 => tokio::time::sleep(Duration::from_millis(ms)).await,
                    _ => return,
                }
            }
        })
    }
}

/// A clock that only moves when told to: for tests. Waits on it ([`Clock::sleep_until`]) end
/// when [`TestClock::advance`] moves it past their moment, and never by themselves.
#[derive(Debug)]
pub struct TestClock {
    /// The time, and the signal to sleepers that it moved.
    now: watch::Sender<SystemTime>,
}

impl TestClock {
    /// A clock stopped at `start`.
    pub fn at(start: SystemTime) -> Self {
        Self {
            now: watch::Sender::new(start),
        }
    }

    /// A clock stopped at the current real time.
    pub fn starting_now() -> Self {
        Self::at(SystemTime::now())
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.now.send_modify(|now| *now += by);
    }
}

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        *self.now.borrow()
    }

    fn sleep_until(&self, at: UnixMillis) -> BoxFuture<'static, ()> {
        let mut moved = self.now.subscribe();
        Box::pin(async move {
            let reached = moved.wait_for(|now| to_millis(*now) >= at).await.is_ok();
            if !reached {
                // The clock is gone, and with it the app: this moment never comes.
                std::future::pending::<()>().await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_clock_moves_only_when_advanced() {
        let clock = TestClock::at(UNIX_EPOCH + Duration::from_secs(10));
        assert_eq!(clock.now_ms(), 10_000);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.now_ms(), 11_500);
    }

    #[tokio::test]
    async fn a_sleep_on_the_test_clock_ends_when_the_clock_reaches_its_moment() {
        let clock = TestClock::at(UNIX_EPOCH + Duration::from_secs(10));
        let mut sleep = tokio::spawn(clock.sleep_until(12_000));
        clock.advance(Duration::from_secs(1));
        let early = tokio::time::timeout(Duration::from_millis(50), &mut sleep).await;
        assert!(early.is_err(), "ended a second before its moment");
        clock.advance(Duration::from_secs(1));
        let ended = tokio::time::timeout(Duration::from_secs(5), sleep).await;
        assert!(ended.is_ok_and(|joined| joined.is_ok()));
        // A moment already past does not wait.
        clock.sleep_until(0).await;
    }

    #[tokio::test]
    async fn a_sleep_on_the_system_clock_ends_at_its_moment() {
        let clock = SystemClock;
        let at = clock.now_ms() + 30;
        clock.sleep_until(at).await;
        assert!(clock.now_ms() >= at);
    }
}
