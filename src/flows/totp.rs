//! The offline fallback: a code from the authenticator app (RFC 6238: SHA-1, 6 digits, 30 s,
//! ±1 step) approves a pending login instead of the phone's push. Each time step is accepted
//! once per device (the last accepted step is stored, so a replay of it or an earlier one
//! fails), codes are compared in constant time, and failures count against the user across
//! logins (a new login does not reset them).

use std::time::Duration;

use subtle::ConstantTimeEq;

use super::approval::{DecidedWith, current_state, record_decision};
use super::limits;
use super::token::{Poll, redeem_ciba};
use crate::auth::secrets::digest_secret;
use crate::domain::{ApprovalState, AuthReqId};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{Approval, Device};

/// RFC 6238 time step, seconds.
const STEP_SECS: u64 = 30;

/// A code as typed: exactly six digits (spaces allowed in between, as apps show them).
#[derive(Debug, Clone)]
pub struct TotpCode(String);

impl TotpCode {
    /// Parses a code.
    pub fn parse(raw: &str) -> std::result::Result<Self, String> {
        let digits: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(TotpCode(digits))
        } else {
            Err("code must be the six digits the authenticator app shows".into())
        }
    }
}

/// The time step (±1 around `now_secs`) at which `code` is valid for `secret`, if any. Every
/// candidate is compared, in constant time.
pub fn matching_step(secret: &[u8], code: &TotpCode, now_secs: u64) -> Option<u64> {
    let totp = totp_rs::Builder::new()
        .with_secret(secret.to_vec())
        .build_noncompliant();
    let origin = now_secs / STEP_SECS;
    let mut found = None;
    for step in origin.saturating_sub(1)..=origin + 1 {
        let expected = totp.generate(step * STEP_SECS).to_string();
        if bool::from(expected.as_bytes().ct_eq(code.0.as_bytes())) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// Approves the login `auth_req_id` with `code` and redeems it. A wrong, replayed or late code
/// is an error; once the code approved, the answer is where the redemption stands (the
/// tokens, unless someone redeemed first or the user was disabled meanwhile).
pub async fn login_with_totp(
    state: &AppState,
    auth_req_id: &AuthReqId,
    code: &TotpCode,
    dpop_jkt: Option<&str>,
) -> Result<Poll> {
    let approval = state
        .store
        .approval_by_req_hash(&digest_secret(auth_req_id.as_str()))
        .await?
        .ok_or(Error::InvalidGrant("unknown auth_req_id"))?;
    if approval.dpop_jkt.is_some() && approval.dpop_jkt.as_deref() != dpop_jkt {
        return Err(Error::InvalidGrant("this login is bound to another key"));
    }
    // Counted before the code is compared, so parallel guesses cannot outrun the limit.
    let counted = limits::attempt(
        state,
        limits::keys::totp(&approval.user_id),
        &limits::totp(state),
    )
    .await?;
    let now = state.clock.now_ms();
    let device = match approving_device(state, &approval, code, now).await {
        Ok(Some(device)) => device,
        // A wrong (or replayed) code: it stays counted.
        Ok(None) => return Err(Error::InvalidGrant("wrong or already used code")),
        // No code was compared (not pending any more, or the store failed): not a guess.
        Err(e) => return Err(counted.refund_with(state, e).await),
    };
    counted.reset(state).await?;

    if !record_decision(
        state,
        &approval,
        &device,
        ApprovalState::Approved,
        DecidedWith::Otp,
        now,
    )
    .await?
    {
        return Err(Error::InvalidGrant("the login is not pending"));
    }
    redeem_ciba(state, auth_req_id, Duration::ZERO, dpop_jkt).await
}

/// The device whose code this is, once the login is known to be pending: each active device's
/// secret is tried, and a matching step is accepted once (compare-and-set).
async fn approving_device(
    state: &AppState,
    approval: &Approval,
    code: &TotpCode,
    now: i64,
) -> Result<Option<Device>> {
    if current_state(state, approval, now) != ApprovalState::Pending {
        return Err(Error::InvalidGrant("the login is not pending"));
    }
    let now_secs = u64::try_from(now.div_euclid(1000)).unwrap_or(0);
    for device in state.store.list_devices(Some(&approval.user_id)).await? {
        if device.revoked_at.is_some() {
            continue;
        }
        let secret = state
            .totp
            .open(&device.id, &device.totp_secret)
            .map_err(|e| Error::Internal(e.to_string()))?;
        if let Some(step) = matching_step(&secret, code, now_secs) {
            // A step is accepted once, and never one older than the last.
            let step = i64::try_from(step).unwrap_or(i64::MAX);
            if state.store.accept_totp_step(&device.id, step).await? {
                return Ok(Some(device));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        assert!(TotpCode::parse("123456").is_ok());
        assert!(TotpCode::parse("123 456").is_ok());
        for bad in ["", "12345", "1234567", "12a456", "١٢٣٤٥٦"] {
            assert!(TotpCode::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_code_matches_its_step_and_the_neighbours_only() {
        let secret = b"12345678901234567890";
        let totp = totp_rs::Builder::new()
            .with_secret(secret.to_vec())
            .build_noncompliant();
        let at = 1_700_000_000u64;
        let code =
            TotpCode::parse(&totp.generate(at).to_string()).unwrap_or(TotpCode(String::new()));
        assert_eq!(matching_step(secret, &code, at), Some(at / 30));
        assert_eq!(matching_step(secret, &code, at + 30), Some(at / 30));
        assert_eq!(matching_step(secret, &code, at + 90), None);
    }
}
