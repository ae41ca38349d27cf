//! Attempt limits: one place for the counters that stop guessing. A counter lives in the store
//! under a key (`keys`), so it holds across logins, restarts and instances; after
//! `max_failures` failures in a window, attempts are refused for a block that doubles with each
//! further failure, up to a ceiling (`policy`).
//!
//! Guesses (passwords, TOTP codes, pairing codes) are counted *before* the work that checks
//! them, in one store statement that also refuses while blocked (`attempt`): N parallel
//! guesses can never all pass a check none of them has counted yet, so at most `max_failures`
//! are ever checked. A wrong guess then needs nothing more; a right one clears the counter
//! (`Counted::reset`) or, where the key is shared by many people (an address), takes back just
//! its own attempt (`Counted::refund`). Outcomes that arrive without a guess (a denial on the
//! phone, a fraud report) are counted after the fact (`failed`).

pub mod keys;
mod policy;

use std::time::Duration;

pub use policy::*;

use crate::clock::duration_ms;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::LimitAttempt;

/// Counters deleted per statement by `forget_expired`.
const PRUNE_BATCH: u32 = 1000;

/// An attempt counted before its work. Dropping it keeps it counted (a wrong guess).
#[derive(Debug)]
pub struct Counted {
    key: String,
    max_failures: i64,
    /// The block this attempt set by reaching the limit, if it did.
    set_block: Option<i64>,
}

impl Counted {
    /// The guess was right: forgets every failure under the key.
    pub async fn reset(self, state: &AppState) -> Result<()> {
        succeeded(state, &self.key).await
    }

    /// This attempt must not count (it was right, but the key is shared with others; or it
    /// was refused before its check): one fewer, and the block it set, if any, is lifted.
    pub async fn refund(&self, state: &AppState) -> Result<()> {
        Ok(state
            .store
            .limit_refund(&self.key, self.max_failures, self.set_block)
            .await?)
    }

    /// Refunds on the way out with `error` (the guess was never checked). A refund that fails
    /// is logged and the attempt stays counted, which only limits more.
    pub async fn refund_with(&self, state: &AppState, error: Error) -> Error {
        if let Err(e) = self.refund(state).await {
            tracing::warn!(error = %e, "could not take back a counted attempt");
        }
        error
    }
}

/// Counts an attempt under `key` before its work; `429` + `Retry-After` (nothing counted) while
/// the key is blocked.
pub async fn attempt(state: &AppState, key: String, policy: &Policy) -> Result<Counted> {
    let now = state.clock.now_ms();
    let rule = policy.rule();
    match state.store.limit_attempt(&key, now, &rule).await? {
        LimitAttempt::Counted {
            failures,
            blocked_until,
        } => {
            if blocked_until.is_some() {
                tracing::warn!(
                    kind = kind_of(&key),
                    failures,
                    "attempt limit reached: blocked"
                );
            }
            Ok(Counted {
                key,
                max_failures: rule.max_failures,
                set_block: blocked_until,
            })
        }
        LimitAttempt::Blocked { until } => Err(rate_limited(until, now)),
    }
}

/// What a key limits (`pwd-user`, `pwd-ip`, …), for the log: never the rest of the key, which
/// is derived from what was typed as a username (people type their password there; even its
/// unsalted digest would give it away to a dictionary).
fn kind_of(key: &str) -> &str {
    key.split(':').next().unwrap_or("limit")
}

/// Refuses with `429` + `Retry-After` while `key` is blocked (without counting anything).
pub async fn ensure_open(state: &AppState, key: &str) -> Result<()> {
    let now = state.clock.now_ms();
    match state.store.limit_state(key).await? {
        Some(counter) => match counter.blocked_until {
            Some(until) if until > now => Err(rate_limited(until, now)),
            _ => Ok(()),
        },
        None => Ok(()),
    }
}

/// Counts a failure under `key` after the fact; past the policy's allowance, blocks further
/// attempts.
pub async fn failed(state: &AppState, key: &str, policy: &Policy) -> Result<()> {
    let now = state.clock.now_ms();
    let block = |failures: i64| policy.block_after(failures).map(|d| now + duration_ms(d));
    let counter = state
        .store
        .limit_failure(key, now, duration_ms(policy.window), &block)
        .await?;
    if counter.blocked_until.is_some_and(|until| until > now) {
        tracing::warn!(
            kind = kind_of(key),
            failures = counter.failures,
            "attempt limit reached: blocked"
        );
    }
    Ok(())
}

/// Forgets the failures under `key` after a success.
pub async fn succeeded(state: &AppState, key: &str) -> Result<()> {
    Ok(state.store.limit_reset(key).await?)
}

/// Housekeeping: deletes the counters that remember nothing any more — their window began
/// longer ago than the longest window of any policy and their block, if any, is over — in
/// batches; how many went. Without it every name ever typed would keep its row.
pub async fn forget_expired(state: &AppState) -> Result<u64> {
    let now = state.clock.now_ms();
    let window_started_by = now - duration_ms(longest_window(state));
    let mut total = 0;
    loop {
        let deleted = state
            .store
            .prune_limits(window_started_by, now, PRUNE_BATCH)
            .await?;
        total += deleted;
        if deleted < u64::from(PRUNE_BATCH) {
            return Ok(total);
        }
        // Let logins in between batches.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `429` with the seconds left until `until` (at least one).
fn rate_limited(until: i64, now: i64) -> Error {
    Error::RateLimited {
        retry_after_secs: u64::try_from(until - now)
            .unwrap_or(0)
            .div_ceil(1000)
            .max(1),
    }
}
