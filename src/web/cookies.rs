//! The one cookie constructor: every cookie nod sets is `HttpOnly; SameSite=Strict; Path=/`,
//! and `Secure` unless nod is served as `http://localhost` or `http://127.0.0.1` (where
//! browsers would drop a Secure cookie).

use axum::http::{HeaderMap, HeaderValue, header};

use crate::state::AppState;

/// The device cookie: the paired browser's device secret.
pub const DEVICE: &str = "nod_device";
/// The CSRF cookie of every form (double submit).
pub const CSRF: &str = "nod_csrf";
/// A web sign-in waiting for the phone: the login's `auth_req_id`, which redeems it.
pub const LOGIN: &str = "nod_login";
/// A web sign-in: the session's refresh token. It never leaves this cookie, and it stops
/// working the moment its session is revoked.
pub const SESSION: &str = "nod_session";

/// A `Set-Cookie` value for `name=value` living `max_age_secs`.
pub fn build(state: &AppState, name: &str, value: &str, max_age_secs: u64) -> Option<HeaderValue> {
    let base = state.settings.server.public_url.as_str();
    let local = ["http://localhost", "http://127.0.0.1"].iter().any(|p| {
        base == *p || base.starts_with(&format!("{p}:")) || base.starts_with(&format!("{p}/"))
    });
    let secure = if local { "" } else { "; Secure" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{secure}"
    ))
    .ok()
}

/// A `Set-Cookie` value that deletes cookie `name`.
pub fn clear(state: &AppState, name: &str) -> Option<HeaderValue> {
    build(state, name, "", 0)
}

/// The value of cookie `name` in a request, if present.
pub fn read<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}
