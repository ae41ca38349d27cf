//! Redeeming an approval for tokens (the CIBA grant), with an optional long-poll that returns
//! the moment the phone decides.

use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use super::approval::current_state;
use crate::audit::{event, kind};
use crate::auth::dpop::UnspentProof;
use crate::auth::secrets::{digest_secret, new_id, new_secret};
use crate::auth::tokens::{AccessGrant, IssuedToken, mint};
use crate::clock::duration_ms;
use crate::domain::secret::{self, AuthReqId};
use crate::domain::{ApprovalState, RevokedBy};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{Approval, RefreshOutcome, RefreshToken, Session, User};

/// The CIBA grant type (OpenID CIBA Core §10.1).
pub const CIBA_GRANT: &str = "urn:openid:params:grant-type:ciba";

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub refresh_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// Where a CIBA redemption stands. A flow outcome, not an error: the token endpoint words it as
/// CIBA's error codes (`authorization_pending`, `slow_down`, …) and the web sign-in's waiting
/// page as its states.
#[derive(Debug)]
pub enum Poll {
    /// Approved, and redeemed by this call: the tokens.
    Issued(TokenResponse),
    /// The phone has not answered yet (or the wait ran out first, or the server is stopping).
    Pending,
    /// Polled again within `approvals.poll_interval`.
    SlowDown,
    /// The phone denied the login or reported it as fraud, or the user is disabled.
    Denied,
    /// Nobody answered in time, or the approval was left unredeemed too long.
    Expired,
    /// Nothing this caller can redeem.
    Refused(Refusal),
}

/// Why a redemption is refused outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No login has this `auth_req_id`.
    Unknown,
    /// Its tokens were issued already.
    Redeemed,
    /// The login is bound to a DPoP key and the request has no proof from it.
    OtherKey,
}

/// The `token_type` of a token response: `DPoP` for a session bound to a key.
fn token_type(session: &Session) -> &'static str {
    if session.dpop_jkt.is_some() {
        "DPoP"
    } else {
        "Bearer"
    }
}

/// Redeems `auth_req_id`, waiting up to `wait` for the phone while the approval is pending.
/// `dpop_jkt` is the key of the request's DPoP proof: an approval bound to a key at login is
/// redeemable only with a proof from that key, and the session is bound to it.
pub async fn redeem_ciba(
    state: &AppState,
    auth_req_id: &AuthReqId,
    wait: Duration,
    dpop_jkt: Option<&str>,
) -> Result<Poll> {
    let Some(approval) = find_approval(state, auth_req_id).await? else {
        return Ok(Poll::Refused(Refusal::Unknown));
    };
    if !key_fits(&approval, dpop_jkt) {
        return Ok(Poll::Refused(Refusal::OtherKey));
    }
    wait_and_redeem(state, approval, wait, dpop_jkt).await
}

/// [`redeem_ciba`] for a request whose DPoP proof is checked but not yet spent: it is spent
/// only once `auth_req_id` names a real login that the proof's key may redeem, so made-up ids
/// cannot fill the replay cache.
pub async fn redeem_ciba_with_proof(
    state: &AppState,
    auth_req_id: &AuthReqId,
    wait: Duration,
    proof: Option<UnspentProof>,
) -> Result<Poll> {
    let Some(approval) = find_approval(state, auth_req_id).await? else {
        return Ok(Poll::Refused(Refusal::Unknown));
    };
    if !key_fits(&approval, proof.as_ref().map(UnspentProof::jkt)) {
        return Ok(Poll::Refused(Refusal::OtherKey));
    }
    let dpop_jkt = super::dpop::spend(state, proof)?;
    wait_and_redeem(state, approval, wait, dpop_jkt.as_deref()).await
}

async fn find_approval(state: &AppState, auth_req_id: &AuthReqId) -> Result<Option<Approval>> {
    Ok(state
        .store
        .approval_by_req_hash(&digest_secret(auth_req_id.as_str()))
        .await?)
}

/// Checked before anything else (even before a poll is recorded): a leaked auth_req_id without
/// the key gets nothing and changes nothing for the rightful client.
fn key_fits(approval: &Approval, dpop_jkt: Option<&str>) -> bool {
    approval
        .dpop_jkt
        .as_deref()
        .is_none_or(|bound| dpop_jkt == Some(bound))
}

/// The long-poll on a found approval whose key was checked.
async fn wait_and_redeem(
    state: &AppState,
    mut approval: Approval,
    wait: Duration,
    dpop_jkt: Option<&str>,
) -> Result<Poll> {
    // Fixed before the wake-up is subscribed: once a poll is seen parked, its deadline is
    // set, and a test that moves the clock past it ends the wait.
    let deadline = state.clock.now_ms().saturating_add(duration_ms(wait));
    // Subscribe before reading the state, so a decision landing in between still wakes us.
    let notify = state.wakeups.subscribe(&approval.id);
    let mut shutting_down = state.shutting_down.subscribe();
    loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();

        let now = state.clock.now_ms();
        match current_state(state, &approval, now) {
            ApprovalState::Approved => return issue_tokens(state, &approval, dpop_jkt).await,
            ApprovalState::Denied | ApprovalState::Fraud => return Ok(Poll::Denied),
            ApprovalState::Expired => return Ok(Poll::Expired),
            ApprovalState::Redeemed => return Ok(Poll::Refused(Refusal::Redeemed)),
            ApprovalState::Pending => {}
        }
        if wait.is_zero() {
            let gap = duration_ms(state.settings.approvals.poll_interval.0);
            return Ok(if state.store.record_poll(&approval.id, now, gap).await? {
                Poll::Pending
            } else {
                Poll::SlowDown
            });
        }
        if now >= deadline {
            return Ok(Poll::Pending);
        }
        if *shutting_down.borrow_and_update() {
            // Shutdown must not wait out a 60 s long-poll: the client simply polls again
            // (on another instance, or this one once it is back).
            return Ok(Poll::Pending);
        }
        // Until the phone answers, the wait runs out, or the approval expires (which the
        // client then hears at once).
        let wake_at = deadline.min(approval.expires_at);
        tokio::select! {
            () = notified => {}
            () = state.clock.sleep_until(wake_at) => {}
            _ = shutting_down.changed() => return Ok(Poll::Pending),
        }
        approval = match state.store.approval_by_id(&approval.id).await? {
            Some(approval) => approval,
            None => return Ok(Poll::Refused(Refusal::Unknown)),
        };
    }
}

/// Turns an approved approval into a session, a refresh token and an access token, once; the
/// session is bound to `dpop_jkt` when there is one.
async fn issue_tokens(
    state: &AppState,
    approval: &Approval,
    dpop_jkt: Option<&str>,
) -> Result<Poll> {
    let settings = &state.settings;
    let Some(user) = state
        .store
        .user_by_id(&approval.user_id)
        .await?
        .filter(|u| u.is_active())
    else {
        return Ok(Poll::Denied);
    };
    let now = state.clock.now_ms();
    // The factor that approved: the phone's answer or a code from its authenticator app.
    let amr = ["pwd", approval.factor.as_str()];
    let session = Session {
        id: new_id()?,
        user_id: user.id.clone(),
        approval_id: approval.id.clone(),
        device_id: approval.decided_by.clone(),
        client_name: approval.client_name.clone(),
        ip: approval.ip.clone(),
        user_agent: approval.user_agent.clone(),
        amr: serde_json::to_string(&amr).map_err(|e| Error::Internal(e.to_string()))?,
        created_at: now,
        expires_at: now + duration_ms(settings.tokens.session_ttl.0),
        revoked_at: None,
        revoked_by: None,
        dpop_jkt: dpop_jkt.map(str::to_owned),
    };
    let refresh_token = new_secret()?;
    let refresh = RefreshToken {
        token_hash: digest_secret(&refresh_token),
        session_id: session.id.clone(),
        created_at: now,
        rotated_at: None,
    };
    let approved_since = now - duration_ms(settings.approvals.ttl.0);
    if !state
        .store
        .redeem_approval(&approval.id, approved_since, &session, &refresh)
        .await?
    {
        return Ok(Poll::Refused(Refusal::Redeemed));
    }
    // Before the first token exists: its very first use finds the session live.
    state.sessions.insert_live([(
        session.id.clone(),
        session.user_id.clone(),
        session.expires_at,
    )]);

    let access = access_token(state, &user, &session, &amr, now)?;
    tracing::info!(user = %user.username, sid = %session.id, approval_id = %approval.id,
        "tokens issued");
    let mut e = event(&user.id, kind::TOKEN_ISSUED, now);
    e.sid = Some(session.id.clone());
    e.jti = Some(access.claims.jti.clone());
    e.device_id = session.device_id.clone();
    e.ip = Some(session.ip.clone());
    e.user_agent = Some(session.user_agent.clone());
    e.detail = Some(
        json!({
            "client_name": session.client_name,
            "amr": amr,
            "dpop": session.dpop_jkt.is_some(),
        })
        .to_string(),
    );
    state.audit.record(e).await?;
    Ok(Poll::Issued(TokenResponse {
        access_token: access.token,
        token_type: token_type(&session),
        expires_in: settings.tokens.access_ttl.0.as_secs(),
        refresh_token,
        scope: None,
    }))
}

/// Signs an access token for `session`.
fn access_token(
    state: &AppState,
    user: &User,
    session: &Session,
    amr: &[&str],
    now: i64,
) -> Result<IssuedToken> {
    let settings = &state.settings;
    let ttl_secs = i64::try_from(settings.tokens.access_ttl.0.as_secs()).unwrap_or(300);
    Ok(mint(
        &state.keys.snapshot(),
        &AccessGrant {
            issuer: settings.issuer(),
            audience: &settings.tokens.audience,
            user_id: &user.id,
            username: &user.username,
            session_id: &session.id,
            client_id: &session.client_name,
            amr,
            now_secs: now.div_euclid(1000),
            ttl_secs,
            dpop_jkt: session.dpop_jkt.as_deref(),
        },
    )?)
}

/// The refresh grant: rotates the refresh token and issues a fresh access token for the same
/// session. Presenting a token that was already rotated means a copy exists: the whole session
/// is revoked and the feed says so. A session bound to a DPoP key refreshes only with a proof
/// from that key (`dpop_jkt`); without one nothing is rotated.
pub async fn refresh(
    state: &AppState,
    presented: &secret::RefreshToken,
    dpop_jkt: Option<&str>,
) -> Result<TokenResponse> {
    let now = state.clock.now_ms();
    let replacement_secret = new_secret()?;
    let replacement = RefreshToken {
        token_hash: digest_secret(&replacement_secret),
        session_id: String::new(), // the store binds it to the presented token's session
        created_at: now,
        rotated_at: None,
    };
    let session = match state
        .store
        .rotate_refresh(
            &digest_secret(presented.as_str()),
            &replacement,
            dpop_jkt,
            now,
        )
        .await?
    {
        RefreshOutcome::Rotated(session) => session,
        RefreshOutcome::WrongKey => {
            return Err(Error::InvalidGrant(
                "this refresh token is bound to a DPoP key; send a proof from it",
            ));
        }
        RefreshOutcome::Invalid => {
            return Err(Error::InvalidGrant(
                "unknown, expired or revoked refresh token",
            ));
        }
        RefreshOutcome::Disabled => return Err(Error::InvalidGrant("the user is disabled")),
        RefreshOutcome::Reused(session) => {
            // The store revoked the session in the same transaction (unless it already was).
            reuse_detected(state, &session, session.revoked_at.is_none(), now).await?;
            return Err(Error::InvalidGrant(
                "refresh token already used; the session is revoked",
            ));
        }
    };
    // The store checked the user before rotating; this read only gets the name for the token
    // (and refuses if the user was disabled in the instant between).
    let user = state
        .store
        .user_by_id(&session.user_id)
        .await?
        .filter(User::is_active)
        .ok_or(Error::InvalidGrant("the user is disabled"))?;
    let amr: Vec<String> = serde_json::from_str(&session.amr).unwrap_or_default();
    let amr: Vec<&str> = amr.iter().map(String::as_str).collect();
    let access = access_token(state, &user, &session, &amr, now)?;
    let mut e = event(&user.id, kind::TOKEN_REFRESHED, now);
    e.sid = Some(session.id.clone());
    e.jti = Some(access.claims.jti.clone());
    state.audit.record(e).await?;
    Ok(TokenResponse {
        access_token: access.token,
        token_type: token_type(&session),
        expires_in: state.settings.tokens.access_ttl.0.as_secs(),
        refresh_token: replacement_secret,
        scope: None,
    })
}

/// A spent refresh token was presented again (at `/v1/token`, or as a web sign-in cookie):
/// someone holds a copy. The feed says so (`refresh_reuse`), then — when `revoked_now` says the
/// caller's store write just ended the session — the session's end is marked everywhere.
pub async fn reuse_detected(
    state: &AppState,
    session: &Session,
    revoked_now: bool,
    now: i64,
) -> Result<()> {
    tracing::warn!(sid = %session.id, "refresh token reused: session revoked");
    let mut e = event(&session.user_id, kind::REFRESH_REUSE, now);
    e.sid = Some(session.id.clone());
    state.audit.record(e).await?;
    if revoked_now {
        super::session::mark_revoked(
            state,
            &session.user_id,
            vec![session.id.clone()],
            now,
            RevokedBy::RefreshReuse,
        )
        .await?;
    }
    Ok(())
}

/// A spent refresh token was shown where no rotation happens (a web sign-in cookie): the same
/// consequence as its reuse at `/v1/token` — the session is revoked and the feed says why.
pub async fn spent_token_shown(state: &AppState, session: &Session) -> Result<()> {
    let now = state.clock.now_ms();
    let revoked_now = state
        .store
        .revoke_session(&session.id, now, &RevokedBy::RefreshReuse)
        .await?;
    reuse_detected(state, session, revoked_now, now).await
}

/// RFC 7009: revokes the session of an access or refresh token. Unknown, expired or foreign
/// tokens are ignored (the answer is the same 200 either way).
pub async fn revoke_any(state: &AppState, token: &str) -> Result<()> {
    if token.len() > state.settings.tokens.max_token_bytes {
        return Ok(());
    }
    let session = if token.contains('.') {
        let now_secs = state.clock.now_ms().div_euclid(1000);
        match state
            .verifier
            .verify(&state.keys.snapshot(), token, now_secs)
        {
            Ok(claims) => state.store.session_by_id(&claims.sid).await?,
            Err(_) => None,
        }
    } else {
        state
            .store
            .session_of_refresh(&digest_secret(token))
            .await?
    };
    if let Some(session) = session.filter(|s| s.revoked_at.is_none()) {
        match super::session::revoke(state, &session.user_id, &session.id, RevokedBy::Client).await
        {
            Ok(()) | Err(Error::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
