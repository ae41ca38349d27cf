//! Using an access token: the one path behind `/v1/verify`, `/v1/introspect` and `/v1/logout`.
//! Verify (cached), check the session view (the token's `sid` must be a live session of its
//! `sub`), then record the use in the owner's feed — in `commit` durability the caller answers
//! only after that record is committed.

use std::sync::Arc;

use crate::audit::{event, kind};
use crate::auth::dpop::{ProofError, ProofTarget, short_jkt};
use crate::auth::sessions::Standing;
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

/// How a token was presented, which decides what proof of possession it needs.
#[derive(Debug, Clone, Copy)]
pub enum Presented<'a> {
    /// `Authorization: Bearer`: only for tokens not bound to a DPoP key.
    Bearer,
    /// `Authorization: DPoP` with a proof for the (forwarded) request: only for bound tokens,
    /// and the proof must be from their key.
    Dpop {
        proof: &'a str,
        method: &'a str,
        url: &'a str,
    },
    /// Introspection by an authenticated resource server, which checks any proof itself
    /// against the `cnf` it is told.
    Introspection,
}

/// Checks a presented access token without recording anything: valid, signed by us, alive,
/// its session a live session of its subject, and presented with the proof of possession its
/// binding needs. A refused token from a revoked session, or a bound token without a good
/// proof, is noted in the feed.
pub async fn check(
    state: &AppState,
    token: &str,
    presented: Presented<'_>,
) -> Result<Arc<AccessClaims>> {
    let now = state.clock.now_ms();
    let claims = state
        .verifier
        .verify(&state.keys.snapshot(), token, now.div_euclid(1000))
        .map_err(|_| Error::InvalidToken("the access token is invalid or expired"))?;
    if !state.sessions.is_current() {
        // Another instance may have revoked this session and we could not hear it.
        return Err(Error::Unavailable(
            "the session view is resynchronising with the database".into(),
        ));
    }
    match session_standing(state, &claims, now).await? {
        Standing::Live => {}
        Standing::Revoked => {
            let mut e = event(&claims.sub, kind::TOKEN_REJECTED, now);
            e.sid = Some(claims.sid.clone());
            e.jti = Some(claims.jti.clone());
            e.detail = Some(r#"{"reason":"session_revoked"}"#.to_owned());
            // Best effort: the refusal stands whether or not the note is written.
            let _ = state.audit.enqueue(e).await;
            return Err(Error::InvalidToken("the session of this token was revoked"));
        }
        // Expired, or not this subject's, or no session at all: with a key shared with other
        // servers (HS256) a valid signature does not prove nod issued the token. Nothing is
        // written to the feed of a `sub` the token's maker chose.
        Standing::NotLive | Standing::Unheard => {
            return Err(Error::InvalidToken(
                "the session of this token is not a live session of its subject",
            ));
        }
    }
    check_binding(state, token, &claims, presented, now).await?;
    Ok(claims)
}

/// Where the token's session stands, from memory. A session never heard of may have been
/// created on another instance a moment ago, its notification still on the way: it is looked
/// up in the store once, and the answer (live, revoked, or no such session) is kept in the view,
/// so every later use of it is answered from memory again. Lookups are budgeted per second, so
/// tokens with made-up sids cannot turn into a stream of database reads: past the budget such
/// a token is answered "try again" (503), which a legitimate client survives.
async fn session_standing(state: &AppState, claims: &AccessClaims, now: i64) -> Result<Standing> {
    let standing = state.sessions.standing(&claims.sid, &claims.sub, now);
    if standing != Standing::Unheard {
        return Ok(standing);
    }
    if !state.sessions.may_look_up(now) {
        return Err(Error::Unavailable(
            "too many tokens of unknown sessions; try again".into(),
        ));
    }
    match state.store.session_by_id(&claims.sid).await? {
        Some(session) => match session.revoked_at {
            Some(at) => state.sessions.insert_revoked([(session.id, at)]),
            None => {
                state
                    .sessions
                    .insert_live([(session.id, session.user_id, session.expires_at)]);
            }
        },
        None => state.sessions.remember_unknown(&claims.sid, now),
    }
    Ok(
        match state.sessions.standing(&claims.sid, &claims.sub, now) {
            // Still unheard of only if the set of unknown sids just started over.
            Standing::Unheard => Standing::NotLive,
            known => known,
        },
    )
}

/// A token's DPoP binding against how it was presented. No store access: the binding is in
/// the verified claims (`cnf.jkt`).
async fn check_binding(
    state: &AppState,
    token: &str,
    claims: &AccessClaims,
    presented: Presented<'_>,
    now: i64,
) -> Result<()> {
    let refused = match (claims.dpop_jkt(), presented) {
        (_, Presented::Introspection) => return Ok(()),
        (None, Presented::Bearer) => return Ok(()),
        (None, Presented::Dpop { .. }) => {
            return Err(Error::InvalidToken(
                "a bearer token cannot be presented with the DPoP scheme",
            ));
        }
        (Some(_), Presented::Bearer) => "the access token is DPoP-bound; present it with a proof",
        (Some(jkt), Presented::Dpop { proof, method, url }) => {
            let target = ProofTarget {
                method,
                url,
                access_token: Some(token),
                expected_jkt: Some(jkt),
                // Nonces are nod's own (login and token); resource servers do not issue them.
                nonces: None,
            };
            match state.dpop.check(proof, &target, now.div_euclid(1000)) {
                Ok(_) => return Ok(()),
                // nod cannot remember one more proof just now: not the holder's fault, and
                // nothing for the owner's feed; the proxy answers 5xx and the client retries.
                Err(e @ ProofError::Busy) => return Err(Error::Unavailable(e.message().into())),
                Err(e) => e.message(),
            }
        }
    };
    // Someone holds a bound token without a good proof: the owner should see that.
    let mut e = event(&claims.sub, kind::TOKEN_REJECTED, now);
    e.sid = Some(claims.sid.clone());
    e.jti = Some(claims.jti.clone());
    e.detail = Some(serde_json::json!({ "reason": "dpop", "error": refused }).to_string());
    // Best effort: the refusal stands whether or not the note is written.
    let _ = state.audit.enqueue(e).await;
    Err(Error::InvalidDpopUse(refused))
}

/// Checks a token and records its use; `Ok` only once the use is recorded (per durability).
/// A DPoP-bound use says so in the event's detail, with the key thumbprint's short form.
pub async fn use_token(
    state: &AppState,
    token: &str,
    presented: Presented<'_>,
    ctx: UseContext,
) -> Result<Arc<AccessClaims>> {
    let claims = check(state, token, presented).await?;
    let mut e = event(&claims.sub, kind::TOKEN_USED, state.clock.now_ms());
    e.sid = Some(claims.sid.clone());
    e.jti = Some(claims.jti.clone());
    e.ip = ctx.ip;
    e.user_agent = ctx.user_agent.map(clip);
    e.method = ctx.method.map(clip);
    e.host = ctx.host.map(clip);
    e.path = ctx.path.map(clip);
    e.resource_server = ctx.resource_server;
    if let Some(jkt) = claims.dpop_jkt() {
        e.detail = Some(serde_json::json!({ "dpop": true, "jkt": short_jkt(jkt) }).to_string());
    }
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
