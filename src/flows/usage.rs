//! Using an access token: the one path behind `/v1/verify`, `/v1/introspect` and `/v1/logout`.
//! Verify (cached), check the revocation view, then record the use in the owner's feed — in
//! `commit` durability the caller answers only after that record is committed.

use std::sync::Arc;

use crate::audit::{event, kind};
use crate::auth::tokens::AccessClaims;
use crate::error::{Error, Result};
use crate::state::AppState;

/// Longest forwarded method, host, path or user agent kept in a feed event.
const MAX_FIELD: usize = 2048;

/// Where a use came from, as the resource server or proxy told us.
#[derive(Debug, Default, Clone)]
pub struct UseContext {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub method: Option<String>,
    pub host: Option<String>,
    pub path: Option<String>,
    /// The introspecting resource server, if any.
    pub resource_server: Option<String>,
}

/// Checks a presented access token without recording anything: valid, signed by us, alive,
/// and its session not revoked. A refused token from a revoked session is noted in the feed.
pub async fn check(state: &AppState, token: &str) -> Result<Arc<AccessClaims>> {
    let now = state.clock.now_ms();
    let claims = state
        .verifier
        .verify(&state.keys.snapshot(), token, now.div_euclid(1000))
        .map_err(|_| Error::InvalidToken("the access token is invalid or expired"))?;
    if state.revocations.is_revoked(&claims.sid) {
        let mut e = event(&claims.sub, kind::TOKEN_REJECTED, now);
        e.sid = Some(claims.sid.clone());
        e.jti = Some(claims.jti.clone());
        e.detail = Some(r#"{"reason":"session_revoked"}"#.to_owned());
        // Best effort: the refusal stands whether or not the note is written.
        let _ = state.audit.enqueue(e).await;
        return Err(Error::InvalidToken("the session of this token was revoked"));
    }
    Ok(claims)
}

/// Checks a token and records its use; `Ok` only once the use is recorded (per durability).
pub async fn use_token(
    state: &AppState,
    token: &str,
    ctx: UseContext,
) -> Result<Arc<AccessClaims>> {
    let claims = check(state, token).await?;
    let mut e = event(&claims.sub, kind::TOKEN_USED, state.clock.now_ms());
    e.sid = Some(claims.sid.clone());
    e.jti = Some(claims.jti.clone());
    e.ip = ctx.ip;
    e.user_agent = ctx.user_agent.map(clip);
    e.method = ctx.method.map(clip);
    e.host = ctx.host.map(clip);
    e.path = ctx.path.map(clip);
    e.resource_server = ctx.resource_server;
    state.audit.record(e).await?;
    Ok(claims)
}

fn clip(mut text: String) -> String {
    if text.len() > MAX_FIELD {
        let mut end = MAX_FIELD;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}
