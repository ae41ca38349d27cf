//! Starting a login: check the password with equal work for every failure, open a pending
//! approval with a binding code, and notify every active device of the user off the request path.

use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use super::limits;
use crate::audit::{event, kind};
use crate::auth::dpop::UnspentProof;
use crate::auth::password::Password;
use crate::auth::secrets::{digest_secret, new_id, new_secret, random_below};
use crate::domain::{ApprovalState, BindingCode, ChannelList, Factor, LoginContext, Username};
use crate::error::{Error, Result};
use crate::notify::{Notification, notification_text};
use crate::state::AppState;
use crate::store::{Approval, ApprovalLink, ApprovalSlot, Device, User};

/// A login attempt as received.
pub struct LoginAttempt {
    /// As typed; normalised here.
    pub username: String,
    pub password: String,
    pub context: LoginContext,
    /// The DPoP proof that came with the request, checked but not yet spent: it is spent only
    /// once the password is right, so guesses cannot fill the replay cache. Only a proof from
    /// its key redeems the approval.
    pub dpop: Option<UnspentProof>,
}

/// A pending approval, as the client app is told about it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LoginStarted {
    /// The secret the client redeems at `/v1/token`.
    pub auth_req_id: String,
    /// The number to show on the login screen.
    pub binding_code: String,
    /// Seconds until the approval expires.
    pub expires_in: u64,
    /// Minimum seconds between polls without `wait`.
    pub interval: u64,
}

/// Checks the password and opens a pending approval pushed to the user's devices.
pub async fn start_login(state: &AppState, attempt: LoginAttempt) -> Result<LoginStarted> {
    // Guessing limits first, counted before any password work so parallel guesses cannot
    // outrun them: per client address, then per name (whether it exists or not, so the answer
    // says nothing about existence). The address goes first so that a name spray refused by
    // it leaves no per-name rows behind.
    let per_ip = limits::attempt(
        state,
        limits::keys::password_address(&attempt.context.ip),
        &limits::password_per_ip(state),
    )
    .await?;
    let per_name = match limits::attempt(
        state,
        limits::keys::password_user(&attempt.username),
        &limits::password_per_user(state),
    )
    .await
    {
        Ok(counted) => counted,
        Err(refused) => return Err(per_ip.refund_with(state, refused).await),
    };
    let user = match authenticate(state, &attempt.username, attempt.password).await {
        Ok(user) => user,
        // A wrong guess: both attempts stay counted.
        Err(Error::InvalidCredentials) => return Err(Error::InvalidCredentials),
        // The password was not checked (hashers busy, database away): not a guess.
        Err(other) => {
            let other = per_name.refund_with(state, other).await;
            return Err(per_ip.refund_with(state, other).await);
        }
    };
    per_name.reset(state).await?;
    per_ip.refund(state).await?;
    // Single use from here on: a replay of this proof is refused even with the password.
    let dpop_jkt = super::dpop::spend(state, attempt.dpop)?;
    refuse_if_muted(state, &user, &attempt.context).await?;
    let devices = active_devices(state, &user).await?;
    if devices.is_empty() {
        return Err(Error::NoDevice);
    }

    let settings = &state.settings.approvals;
    let now = state.clock.now_ms();
    let auth_req_id = new_secret()?;
    let code = BindingCode::from_number(random_below(100)?)
        .ok_or_else(|| Error::Internal("binding code out of range".into()))?;
    let approval = Approval {
        id: new_id()?,
        req_hash: digest_secret(&auth_req_id),
        user_id: user.id.clone(),
        binding_code: code.as_str().to_owned(),
        state: ApprovalState::Pending,
        client_name: attempt.context.client_name.clone(),
        ip: attempt.context.ip.clone(),
        user_agent: attempt.context.user_agent.clone(),
        created_at: now,
        expires_at: now + crate::clock::duration_ms(settings.ttl.0),
        decided_at: None,
        decided_by: None,
        last_polled_at: None,
        dpop_jkt,
        factor: Factor::Push,
    };
    if let ApprovalSlot::Full { earliest_expiry } = state
        .store
        .create_approval(&approval, settings.max_pending, now)
        .await?
    {
        let wait_ms = u64::try_from(earliest_expiry - now).unwrap_or(0);
        return Err(Error::RateLimited {
            retry_after_secs: wait_ms.div_ceil(1000).max(1),
        });
    }
    tracing::info!(user = %user.username, approval_id = %approval.id, "login pending approval");
    let mut requested = event(&user.id, kind::LOGIN_REQUESTED, now);
    requested.ip = Some(approval.ip.clone());
    requested.user_agent = Some(approval.user_agent.clone());
    requested.detail = Some(
        json!({
            "approval_id": approval.id,
            "client_name": approval.client_name,
            "dpop": approval.dpop_jkt.is_some(),
        })
        .to_string(),
    );
    state.audit.enqueue(requested).await?;

    // Notify off the request path: a slow provider never delays the answer.
    let task_state = state.clone();
    let context = attempt.context;
    tokio::spawn(async move {
        notify_devices(&task_state, &approval, &user, &devices, &context).await;
    });

    Ok(LoginStarted {
        auth_req_id,
        binding_code: code.as_str().to_owned(),
        expires_in: settings.ttl.0.as_secs(),
        interval: settings.poll_interval.0.as_secs().max(1),
    })
}

/// Anti-fatigue: while the user's pushes are muted (after "This wasn't me") or paused (after
/// repeated denials), a login pushes nothing; the client gets 429 + Retry-After and the feed
/// and the log say why.
async fn refuse_if_muted(state: &AppState, user: &User, ctx: &LoginContext) -> Result<()> {
    for (key, reason) in [
        (format!("fraud:{}", user.id), "fraud_cooldown"),
        (format!("denials:{}", user.id), "repeated_denials"),
    ] {
        if let Err(refused) = limits::ensure_open(state, &key).await {
            tracing::warn!(user = %user.username, %reason, "login refused: pushes are muted");
            let mut e = event(&user.id, kind::LOGIN_REFUSED, state.clock.now_ms());
            e.ip = Some(ctx.ip.clone());
            e.user_agent = Some(ctx.user_agent.clone());
            e.detail =
                Some(json!({ "reason": reason, "client_name": ctx.client_name }).to_string());
            state.audit.record(e).await?;
            return Err(refused);
        }
    }
    Ok(())
}

/// The user this password belongs to, after the same argon2 work whatever the outcome.
async fn authenticate(state: &AppState, raw_username: &str, password: String) -> Result<User> {
    let user = match Username::parse(raw_username) {
        Ok(name) => state.store.user_by_name(name.as_str()).await?,
        Err(_) => None,
    };
    let active = user.filter(User::is_active);
    let stored = active.as_ref().map(|u| u.password_hash.clone());
    let matched = state
        .passwords
        .verify(Password::presented(password), stored)
        .await?;
    match active {
        Some(user) if matched => Ok(user),
        _ => Err(Error::InvalidCredentials),
    }
}

async fn active_devices(state: &AppState, user: &User) -> Result<Vec<Device>> {
    let devices = state.store.list_devices(Some(&user.id)).await?;
    Ok(devices
        .into_iter()
        .filter(|d| d.revoked_at.is_none())
        .collect())
}

/// Sends one notification per device, each with its own one-time approval link.
async fn notify_devices(
    state: &AppState,
    approval: &Approval,
    user: &User,
    devices: &[Device],
    context: &LoginContext,
) {
    for device in devices {
        if let Err(e) = notify_device(state, approval, user, device, context).await {
            tracing::warn!(device = %device.id, approval_id = %approval.id, error = %e,
                "could not notify device");
        }
    }
}

async fn notify_device(
    state: &AppState,
    approval: &Approval,
    user: &User,
    device: &Device,
    context: &LoginContext,
) -> Result<()> {
    let channels: ChannelList = serde_json::from_str(&device.channels).map_err(|e| {
        Error::Internal(format!("device {} has unreadable channels: {e}", device.id))
    })?;
    let link_code = new_secret()?;
    state
        .store
        .create_approval_link(&ApprovalLink {
            link_hash: digest_secret(&link_code),
            approval_id: approval.id.clone(),
            device_id: device.id.clone(),
            expires_at: approval.expires_at,
            used_at: None,
        })
        .await?;
    let approve_url = format!(
        "{}/approve/{link_code}",
        state.settings.server.public_url.as_str()
    );
    let note = Notification {
        device_id: device.id.clone(),
        device_name: device.name.clone(),
        username: user.username.clone(),
        approval_id: approval.id.clone(),
        text: notification_text(&user.username, context, &approve_url),
        approve_url,
        context: context.clone(),
        requested_at: approval.created_at,
        expires_at: approval.expires_at,
    };
    for attempt in state.notifiers.deliver(&channels, &note).await {
        let (what, error) = match &attempt.outcome {
            Ok(()) => {
                tracing::debug!(device = %device.id, provider = %attempt.provider,
                    "notification delivered");
                crate::metrics::notification(&attempt.provider, "sent");
                (kind::NOTIFICATION_SENT, None)
            }
            Err(e) => {
                tracing::warn!(device = %device.id, provider = %attempt.provider,
                    error = %e, "notification failed");
                crate::metrics::notification(&attempt.provider, "failed");
                (kind::NOTIFICATION_FAILED, Some(e.to_string()))
            }
        };
        let mut e = event(&user.id, what, state.clock.now_ms());
        e.device_id = Some(device.id.clone());
        e.detail = Some(
            json!({ "approval_id": approval.id, "provider": attempt.provider,
                "attempt": attempt.attempt, "error": error })
            .to_string(),
        );
        state.audit.enqueue(e).await?;
    }
    Ok(())
}

/// Seconds left until `expires_at` (Unix ms), never negative.
pub fn seconds_left(expires_at: i64, now: i64) -> u64 {
    Duration::from_millis(u64::try_from(expires_at - now).unwrap_or(0)).as_secs()
}
