//! The phone's side of an approval: list what is pending, decide one, and record a decision —
//! the push's here, and the authenticator code's for `flows::totp`, in one place.

use serde::Serialize;
use serde_json::json;

use crate::audit::{event, kind};
use crate::auth::dpop::short_jkt;
use crate::domain::approval::{DecideError, decide as apply_decision};
use crate::domain::{ApprovalState, BindingCode, Decision, DeviceProof, Factor};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{Approval, Device};

/// A pending approval as the phone sees it: context, never the binding code.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PendingApproval {
    pub id: String,
    pub client_name: String,
    pub ip: String,
    pub user_agent: String,
    /// Unix ms.
    pub requested_at: i64,
    /// Unix ms.
    pub expires_at: i64,
    pub expires_in: u64,
}

/// The state of an approval at `now`, expiry included.
pub fn current_state(state: &AppState, approval: &Approval, now: i64) -> ApprovalState {
    let redeem_until = approval
        .decided_at
        .map(|t| t + crate::clock::duration_ms(state.settings.approvals.ttl.0));
    approval.state.at(now, approval.expires_at, redeem_until)
}

/// The pending approvals of the device's user.
pub async fn pending_for(state: &AppState, device: &Device) -> Result<Vec<PendingApproval>> {
    let now = state.clock.now_ms();
    let pending = state.store.pending_approvals(&device.user_id, now).await?;
    Ok(pending
        .into_iter()
        .map(|a| PendingApproval {
            expires_in: super::login::seconds_left(a.expires_at, now),
            id: a.id,
            client_name: a.client_name,
            ip: a.ip,
            user_agent: a.user_agent,
            requested_at: a.created_at,
            expires_at: a.expires_at,
        })
        .collect())
}

/// Applies a device's decision. A wrong number denies the approval and then answers
/// `BindingCodeMismatch`, so the phone can say why.
pub async fn decide(
    state: &AppState,
    device: &Device,
    approval_id: &str,
    decision: Decision,
    proof: DeviceProof,
) -> Result<ApprovalState> {
    let approval = state
        .store
        .approval_by_id(approval_id)
        .await?
        .filter(|a| a.user_id == device.user_id)
        .ok_or(Error::NotFound)?;
    let now = state.clock.now_ms();
    let current = current_state(state, &approval, now);
    let expected = BindingCode::parse(&approval.binding_code)
        .map_err(|_| Error::Internal(format!("approval {} has a bad code", approval.id)))?;
    let decided = apply_decision(current, &decision, &expected).map_err(|e| match e {
        DecideError::AlreadyDecided => Error::AlreadyDecided,
        DecideError::Expired => Error::ApprovalExpired,
    })?;
    let with = DecidedWith::Push {
        wrong_code: decided.wrong_code,
        proof,
    };
    if !record_decision(state, &approval, device, decided.state, with, now).await? {
        // Someone decided first, or it expired between our read and our write.
        return Err(if approval.expires_at <= now {
            Error::ApprovalExpired
        } else {
            Error::AlreadyDecided
        });
    }
    // Anti-fatigue: fraud mutes the user's pushes; denials in a row pause them; an approval
    // clears the streak.
    match decided.state {
        ApprovalState::Fraud => {
            let key = format!("fraud:{}", approval.user_id);
            super::limits::failed(state, &key, &super::limits::fraud(state)).await?;
            tracing::warn!(user_id = %approval.user_id, "fraud reported: pushes muted for the cool-down");
        }
        ApprovalState::Denied => {
            let key = format!("denials:{}", approval.user_id);
            super::limits::failed(state, &key, &super::limits::denials(state)).await?;
        }
        _ => super::limits::succeeded(state, &format!("denials:{}", approval.user_id)).await?,
    }
    tracing::info!(approval_id = %approval.id, device = %device.id, outcome = %decided.state,
        wrong_code = decided.wrong_code, "approval decided");
    if decided.wrong_code {
        return Err(Error::BindingCodeMismatch);
    }
    Ok(decided.state)
}

/// How a decision was made: the approval's stored `factor` (and the feed's `amr`), with what
/// only a push answer can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecidedWith {
    /// The phone's answer to the push, proven by `proof`; `wrong_code` when it carried the
    /// wrong number (which denies the approval).
    Push {
        wrong_code: bool,
        proof: DeviceProof,
    },
    /// A code from the phone's authenticator app (which only ever approves).
    Otp,
}

impl DecidedWith {
    /// The factor stored with the decision (`issue_tokens` reads it back for the token's `amr`).
    fn factor(self) -> Factor {
        match self {
            DecidedWith::Push { .. } => Factor::Push,
            DecidedWith::Otp => Factor::Otp,
        }
    }
}

/// Stores `device`'s decision on a pending approval and tells everyone who waits for it: the
/// client's long-poll wakes, the metric counts it and the feed records it. `false` when the
/// approval was no longer pending at the write (decided by someone else, or expired between
/// the caller's read and this write): then nothing was recorded.
pub async fn record_decision(
    state: &AppState,
    approval: &Approval,
    device: &Device,
    decided: ApprovalState,
    with: DecidedWith,
    now: i64,
) -> Result<bool> {
    let applied = state
        .store
        .decide_approval(&approval.id, decided, &device.id, with.factor(), now)
        .await?;
    if !applied {
        return Ok(false);
    }
    state.wakeups.fire(&approval.id);
    let what = match decided {
        ApprovalState::Approved => kind::APPROVED,
        ApprovalState::Fraud => kind::FRAUD,
        _ => kind::DENIED,
    };
    let wrong_code = matches!(
        with,
        DecidedWith::Push {
            wrong_code: true,
            ..
        }
    );
    crate::metrics::approval(if wrong_code { "wrong_code" } else { what });
    let mut e = event(&approval.user_id, what, now);
    e.device_id = Some(device.id.clone());
    e.ip = Some(approval.ip.clone());
    let detail = match with {
        DecidedWith::Push { wrong_code, proof } => {
            let mut detail = json!({
                "approval_id": approval.id,
                "client_name": approval.client_name,
                "wrong_code": wrong_code,
                "amr": ["pwd", "push"],
                "proof": proof.as_str(),
            });
            if let (DeviceProof::Key, Some(jkt)) = (proof, device.jkt.as_deref()) {
                detail["jkt"] = json!(short_jkt(jkt));
            }
            detail
        }
        DecidedWith::Otp => json!({
            "approval_id": approval.id,
            "client_name": approval.client_name,
            "amr": ["pwd", "otp"],
            "proof": "totp",
        }),
    };
    e.detail = Some(detail.to_string());
    state.audit.record(e).await?;
    Ok(true)
}
