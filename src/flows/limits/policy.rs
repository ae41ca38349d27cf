//! How each kind of attempt is limited, from `[limits]`.

use std::time::Duration;

use crate::clock::duration_ms;
use crate::config::{LimitSettings, Ttl};
use crate::state::AppState;
use crate::store::LimitRule;

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

    /// The same rule in the store's terms, for counting in one statement. The first block is
    /// kept small enough that doubling it 20 times cannot overflow.
    pub fn rule(&self) -> LimitRule {
        LimitRule {
            window_ms: duration_ms(self.window),
            max_failures: i64::from(self.max_failures),
            block_ms: duration_ms(self.block).min(i64::MAX >> 21),
            max_block_ms: duration_ms(self.max_block),
        }
    }
}

/// Wrong passwords per (normalised) username.
pub fn password_per_user(state: &AppState) -> Policy {
    let l = &state.settings.limits;
    doubling(
        l,
        l.password_max_failures,
        l.password_window,
        l.password_block,
    )
}

/// Wrong passwords per client address (any username).
pub fn password_per_ip(state: &AppState) -> Policy {
    let l = &state.settings.limits;
    doubling(l, l.ip_max_failures, l.password_window, l.password_block)
}

/// Wrong codes from the authenticator app per user (across logins).
pub fn totp(state: &AppState) -> Policy {
    let l = &state.settings.limits;
    doubling(l, l.totp_max_failures, l.totp_window, l.totp_block)
}

/// Wrong pairing codes per client address (the user is not known before the code is).
pub fn enroll_per_ip(state: &AppState) -> Policy {
    let l = &state.settings.limits;
    doubling(
        l,
        l.enroll_max_failures,
        l.password_window,
        l.password_block,
    )
}

/// Denials (and wrong numbers) in a row per user: a growing pause in pushes.
pub fn denials(state: &AppState) -> Policy {
    let l = &state.settings.limits;
    doubling(l, l.denial_max, l.max_block, l.denial_block)
}

/// `max_failures` in `window`, then a `block` that doubles with each further failure up to
/// `[limits] max_block`: the shape of every policy but the fraud cool-down.
fn doubling(l: &LimitSettings, max_failures: u32, window: Ttl, block: Ttl) -> Policy {
    Policy {
        max_failures,
        window: window.0,
        block: block.0,
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

/// The longest window of any policy: a counter whose window began longer ago than this (and
/// whose block is over) has nothing left to remember.
pub fn longest_window(state: &AppState) -> Duration {
    [
        password_per_user(state),
        password_per_ip(state),
        totp(state),
        enroll_per_ip(state),
        denials(state),
        fraud(state),
    ]
    .iter()
    .map(|p| p.window)
    .max()
    .unwrap_or_default()
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
        let rule = p.rule();
        assert_eq!(
            (
                rule.window_ms,
                rule.max_failures,
                rule.block_ms,
                rule.max_block_ms
            ),
            (900_000, 5, 60_000, 600_000)
        );
    }
}
