//! The approval state machine: `pending → approved | denied | fraud | expired`, then
//! `approved → redeemed` once a token is issued. Expiry is computed from `now` on every read, so
//! no sweeper is needed for correctness.

use std::fmt;

use super::{BindingCode, Decision};

/// The state of an approval as seen at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalState {
    /// Waiting for the phone.
    Pending,
    /// The phone approved; a token may be issued once.
    Approved,
    /// The phone said "it was me, cancel", or sent the wrong number.
    Denied,
    /// The phone said "this wasn't me".
    Fraud,
    /// Nobody decided in time (never stored: derived from `expires_at`).
    Expired,
    /// A token was issued for this approval.
    Redeemed,
}

impl ApprovalState {
    /// The name stored in the database and shown in APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Approved => "approved",
            ApprovalState::Denied => "denied",
            ApprovalState::Fraud => "fraud",
            ApprovalState::Expired => "expired",
            ApprovalState::Redeemed => "redeemed",
        }
    }

    /// Reads a stored state name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "pending" => ApprovalState::Pending,
            "approved" => ApprovalState::Approved,
            "denied" => ApprovalState::Denied,
            "fraud" => ApprovalState::Fraud,
            "expired" => ApprovalState::Expired,
            "redeemed" => ApprovalState::Redeemed,
            _ => return None,
        })
    }

    /// The state at `now` of an approval stored as `self` that stops waiting at `expires_at`.
    /// An approval the phone approved stays redeemable for one more approval lifetime after the
    /// decision (`redeem_until`), so a client polling every few seconds is not cut off.
    pub fn at(self, now: i64, expires_at: i64, redeem_until: Option<i64>) -> ApprovalState {
        match self {
            ApprovalState::Pending if now >= expires_at => ApprovalState::Expired,
            ApprovalState::Approved if redeem_until.is_some_and(|until| now >= until) => {
                ApprovalState::Expired
            }
            other => other,
        }
    }
}

impl fmt::Display for ApprovalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a decision could not be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecideError {
    /// Someone already decided (or a token was issued).
    AlreadyDecided,
    /// The approval expired before the phone answered.
    Expired,
}

/// The outcome of a decision that could be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decided {
    /// The new stored state.
    pub state: ApprovalState,
    /// True when an approve carried the wrong number (and so denied the approval).
    pub wrong_code: bool,
}

/// Applies a phone's decision to an approval currently in `current` (already evaluated at `now`).
pub fn decide(
    current: ApprovalState,
    decision: &Decision,
    expected: &BindingCode,
) -> Result<Decided, DecideError> {
    match current {
        ApprovalState::Pending => {}
        ApprovalState::Expired => return Err(DecideError::Expired),
        _ => return Err(DecideError::AlreadyDecided),
    }
    Ok(match decision {
        Decision::Approve(code) if code.matches(expected) => Decided {
            state: ApprovalState::Approved,
            wrong_code: false,
        },
        Decision::Approve(_) => Decided {
            state: ApprovalState::Denied,
            wrong_code: true,
        },
        Decision::Deny => Decided {
            state: ApprovalState::Denied,
            wrong_code: false,
        },
        Decision::Fraud => Decided {
            state: ApprovalState::Fraud,
            wrong_code: false,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> BindingCode {
        BindingCode::parse(s).unwrap_or_else(|_| unreachable!("test code"))
    }

    #[test]
    fn pending_expires_on_read() {
        assert_eq!(
            ApprovalState::Pending.at(99, 100, None),
            ApprovalState::Pending
        );
        assert_eq!(
            ApprovalState::Pending.at(100, 100, None),
            ApprovalState::Expired
        );
        assert_eq!(
            ApprovalState::Denied.at(500, 100, None),
            ApprovalState::Denied
        );
    }

    #[test]
    fn an_approval_must_be_redeemed_in_time() {
        assert_eq!(
            ApprovalState::Approved.at(150, 100, Some(200)),
            ApprovalState::Approved
        );
        assert_eq!(
            ApprovalState::Approved.at(200, 100, Some(200)),
            ApprovalState::Expired
        );
    }

    #[test]
    fn the_right_number_approves_and_a_wrong_one_denies() {
        let expected = code("47");
        let ok = decide(
            ApprovalState::Pending,
            &Decision::Approve(code("47")),
            &expected,
        );
        assert_eq!(ok.map(|d| d.state), Ok(ApprovalState::Approved));
        let wrong = decide(
            ApprovalState::Pending,
            &Decision::Approve(code("74")),
            &expected,
        );
        assert_eq!(
            wrong,
            Ok(Decided {
                state: ApprovalState::Denied,
                wrong_code: true
            })
        );
    }

    #[test]
    fn decided_and_expired_approvals_are_final() {
        let expected = code("47");
        for state in [
            ApprovalState::Approved,
            ApprovalState::Denied,
            ApprovalState::Fraud,
            ApprovalState::Redeemed,
        ] {
            assert_eq!(
                decide(state, &Decision::Deny, &expected),
                Err(DecideError::AlreadyDecided)
            );
        }
        assert_eq!(
            decide(ApprovalState::Expired, &Decision::Fraud, &expected),
            Err(DecideError::Expired)
        );
    }

    #[test]
    fn state_names_round_trip() {
        for s in [
            ApprovalState::Pending,
            ApprovalState::Approved,
            ApprovalState::Denied,
            ApprovalState::Fraud,
            ApprovalState::Expired,
            ApprovalState::Redeemed,
        ] {
            assert_eq!(ApprovalState::parse(s.as_str()), Some(s));
        }
    }
}
