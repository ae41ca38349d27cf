//! Ending sessions: from the phone, from the client (logout, RFC 7009), on refresh-token reuse,
//! or when an administrator disables a user or resets a password. A revocation is committed,
//! enters the session view at once (so the very next verify refuses the session's tokens), and
//! lands in the feed.

use serde_json::json;

use crate::audit::{event, kind};
use crate::domain::RevokedBy;
use crate::error::{Error, Result};
use crate::state::AppState;

/// Revokes one session of `user_id`. `NotFound` if it is not theirs or not live.
pub async fn revoke(state: &AppState, user_id: &str, sid: &str, by: RevokedBy) -> Result<()> {
    let session = state
        .store
        .session_by_id(sid)
        .await?
        .filter(|s| s.user_id == user_id)
        .ok_or(Error::NotFound)?;
    let now = state.clock.now_ms();
    if !state.store.revoke_session(&session.id, now, &by).await? {
        return Err(Error::NotFound);
    }
    mark_revoked(state, user_id, vec![session.id], now, by).await
}

/// Revokes every live session of `user_id`; returns how many.
pub async fn revoke_all(state: &AppState, user_id: &str, by: RevokedBy) -> Result<usize> {
    let now = state.clock.now_ms();
    let sids = state.store.revoke_user_sessions(user_id, now, &by).await?;
    let count = sids.len();
    mark_revoked(state, user_id, sids, now, by).await?;
    Ok(count)
}

/// After the store committed revocations: the view first (it protects the next request),
/// then the feed.
pub async fn mark_revoked(
    state: &AppState,
    user_id: &str,
    sids: Vec<String>,
    now: i64,
    by: RevokedBy,
) -> Result<()> {
    state
        .sessions
        .insert_revoked(sids.iter().map(|sid| (sid.clone(), now)));
    for sid in sids {
        tracing::info!(%sid, by = by.as_str(), "session revoked");
        let mut e = event(user_id, kind::SESSION_REVOKED, now);
        e.sid = Some(sid);
        e.device_id = by.device_id().map(str::to_owned);
        e.detail = Some(json!({ "by": by.as_str() }).to_string());
        state.audit.record(e).await?;
    }
    Ok(())
}
