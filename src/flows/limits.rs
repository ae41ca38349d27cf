//! Attempt limits: one place for the counters that stop guessing. A counter lives in the store
//! under a key (e.g. `totp:<user id>`), so it holds across logins, restarts and instances; after
//! `max_failures` failures in a window, attempts are refused for a block that doubles with each
//! further failure, up to a ceiling.

use std::time::Duration;

use crate::clock::duration_ms;
use crate::error::{Error, Result};
use crate::state::AppState;

/// How one kind of attempt is limited.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures allowed in a window before attempts are blocked.
    pub max_failures: u32,
    /// How long failures are remembered.
    pub window: Duration,
    /// The first block; each further failure doubles it.
    pub block: Duration,
    /// The longest block.
    pub max_block: Duration,
}

impl Policy {
    /// Block length after `failures` failures, if any: `block × 2^(failures − max)`, capped.
    pub fn block_after(&self, failures: i64) -> Option<Duration> {
        let over = failures - i64::from(self.max_failures);
        if over < 0 {
            return None;
        }
        let factor = 1u32 << over.min(20);
        Some(self.block.saturating_mul(factor).min(self.max_block))
    }
}

/// Wrong passwords per (normalised) username.
pub fn password_per_user(state: &AppState) -> Policy {
    let l = &state.settings.limits;
    Policy {
        max_failures: l.password_max_failures,
        window: l.password_window.0,
        block: l.password_block.0,
        max_block: l.max_block.0,
    }
}

/// Wrong passwords per client address (any username).
pub fn password_per_ip(state: &AppState) -> Policy {
    let l = &state.settings.limits;
    Policy {
        max_failures: l.ip_max_failures,
        window: l.password_window.0,
        block: l.password_block.0,
        max_block: l.max_block.0,
    }
}

/// Denials (and wrong numbers) in a row per user: a growing pause in pushes.
pub fn denials(state: &AppState) -> Policy {
    let l = &state.settings.limits;
    Policy {
        max_failures: l.denial_max,
        window: l.max_block.0,
        block: l.denial_block.0,
        max_block: l.max_block.0,
    }
}

/// After "this wasn't me": one strike mutes the user's pushes for the whole cool-down.
pub fn fraud(state: &AppState) -> Policy {
    let cooldown = state.settings.limits.fraud_cooldown.0;
    Policy {
        max_failures: 1,
        window: cooldown,
        block: cooldown,
        max_block: cooldown,
    }
}

/// Refuses with `429` + `Retry-After` while `key` is blocked.
pub async fn ensure_open(state: &AppState, key: &str) -> Result<()> {
    let now = state.clock.now_ms();
    match state.store.limit_state(key).await? {
        Some(counter) => match counter.blocked_until {
            Some(until) if until > now => Err(Error::RateLimited {
                retry_after_secs: u64::try_from(until - now)
                    .unwrap_or(0)
                    .div_ceil(1000)
                    .max(1),
            }),
            _ => Ok(()),
        },
        None => Ok(()),
    }
}

/// Counts a failure under `key`; past the policy's allowance, blocks further attempts.
pub async fn failed(state: &AppState, key: &str, policy: &Policy) -> Result<()> {
    let now = state.clock.now_ms();
    let block = |failures: i64| policy.block_after(failures).map(|d| now + duration_ms(d));
    let counter = state
        .store
        .limit_failure(key, now, duration_ms(policy.window), &block)
        .await?;
    if counter.blocked_until.is_some_and(|until| until > now) {
        // The kind of limit only: a key may hold what was typed as a username, and people
        // type their password there.
        let kind = key.split(':').next().unwrap_or("limit");
        tracing::warn!(%kind, failures = counter.failures, "attempt limit reached: blocked");
    }
    Ok(())
}

/// Forgets the failures under `key` after a success.
pub async fn succeeded(state: &AppState, key: &str) -> Result<()> {
    Ok(state.store.limit_reset(key).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_start_at_the_limit_and_double_up_to_the_ceiling() {
        let p = Policy {
            max_failures: 5,
            window: Duration::from_secs(900),
            block: Duration::from_secs(60),
            max_block: Duration::from_secs(600),
        };
        assert_eq!(p.block_after(4), None);
        assert_eq!(p.block_after(5), Some(Duration::from_secs(60)));
        assert_eq!(p.block_after(6), Some(Duration::from_secs(120)));
        assert_eq!(p.block_after(9), Some(Duration::from_secs(600)));
        assert_eq!(p.block_after(1000), Some(Duration::from_secs(600)));
    }
}
