//! Who is looking at a page: a web sign-in (the session cookie, for `/activity`) or a paired
//! phone (the device cookie, for `/phone`), as extractors. Both are checked against the store
//! on every request, so a revoked session or device stops working at once, and a spent refresh
//! token in the session cookie counts as its reuse.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use super::cookies;
use super::error::PageError;
use crate::auth::secrets::digest_secret;
use crate::domain::{DeviceSecret, RefreshToken};
use crate::error::Result;
use crate::flows::token::spent_token_shown;
use crate::http::device::authenticate;
use crate::state::AppState;
use crate::store::{Device, User};

/// A live web sign-in. Without one, a page of the signed-in person sends the browser to
/// `/login`; `Option<SignedIn>` is for pages that serve both.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The nod session the sign-in is.
    pub sid: String,
    pub user: User,
}

/// The paired phone looking at the page. Without one, a phone page says how to pair.
#[derive(Debug, Clone)]
pub struct Phone(pub Device);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        signed_in(state, &parts.headers)
            .await?
            .ok_or(PageError::NotSignedIn)
    }
}

impl OptionalFromRequestParts<AppState> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, PageError> {
        Ok(signed_in(state, &parts.headers).await?)
    }
}

impl FromRequestParts<AppState> for Phone {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        phone(state, &parts.headers)
            .await?
            .map(Phone)
            .ok_or(PageError::NotPaired)
    }
}

/// The web sign-in of this request, if its cookie holds the live refresh token of a live,
/// unbound session of an enabled user. The cookie *is* the refresh token, so the rules of
/// `/v1/token` apply: a rotated (spent) one means a copy was refreshed elsewhere — refused, and
/// the session is revoked as on reuse there. A session bound to a DPoP key is never a cookie
/// session: its refresh token alone (without the key) is not enough anywhere.
pub async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<Option<SignedIn>> {
    let Some(refresh_token) =
        cookies::read(headers, cookies::SESSION).and_then(|t| RefreshToken::parse(t).ok())
    else {
        return Ok(None);
    };
    let Some(token) = state
        .store
        .refresh_token(&digest_secret(refresh_token.as_str()))
        .await?
    else {
        return Ok(None);
    };
    let Some(session) = state.store.session_by_id(&token.session_id).await? else {
        return Ok(None);
    };
    if token.rotated_at.is_some() {
        spent_token_shown(state, &session).await?;
        return Ok(None);
    }
    let now = state.clock.now_ms();
    if session.revoked_at.is_some() || session.expires_at <= now || session.dpop_jkt.is_some() {
        return Ok(None);
    }
    let user = state
        .store
        .user_by_id(&session.user_id)
        .await?
        .filter(User::is_active);
    Ok(user.map(|user| SignedIn {
        sid: session.id,
        user,
    }))
}

/// The paired phone of this request, if its device cookie names an active device. A device
/// that holds a key (an app) is never a cookie: its secret alone proves nothing.
pub async fn phone(state: &AppState, headers: &HeaderMap) -> Result<Option<Device>> {
    match cookies::read(headers, cookies::DEVICE).and_then(|s| DeviceSecret::parse(s).ok()) {
        Some(secret) => Ok(authenticate(state, &secret)
            .await?
            .filter(|d| d.jkt.is_none())),
        None => Ok(None),
    }
}
