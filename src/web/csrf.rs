//! CSRF protection for forms, by double submit: the form page sets a random token in an
//! `HttpOnly; SameSite=Strict` cookie and repeats it in a hidden field; a post is accepted only
//! when both are present and equal (compared in constant time). A cross-site page can neither
//! read the cookie nor make the browser send it.

use axum::http::HeaderMap;
use subtle::ConstantTimeEq;

use super::cookies;
use crate::auth::secrets::new_secret;
use crate::error::{Error, Result};

/// What a form with nothing but a button posts (revoke, sign out).
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct CsrfForm {
    /// The form's CSRF token.
    #[schema(nullable = false)]
    pub csrf: Option<String>,
}

/// A fresh token for a form.
pub fn new_token() -> Result<String> {
    Ok(new_secret()?)
}

/// The token of the browser's CSRF cookie when it has a well-formed one, else a fresh one: a
/// second open page (or tab) then keeps the first page's forms working.
pub fn reuse_or_new(headers: &HeaderMap) -> Result<String> {
    match cookies::read(headers, cookies::CSRF) {
        Some(token)
            if (32..=128).contains(&token.len())
                && token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(token.to_owned())
        }
        _ => new_token(),
    }
}

/// Checks the submitted token against the cookie; `403` when missing or different.
pub fn check(headers: &HeaderMap, submitted: Option<&str>) -> Result<()> {
    let cookie = cookies::read(headers, cookies::CSRF).unwrap_or("");
    let submitted = submitted.unwrap_or("");
    let same: bool = cookie.as_bytes().ct_eq(submitted.as_bytes()).into();
    if cookie.is_empty() || !same {
        return Err(Error::Forbidden(
            "the form expired or did not come from nod; reload it",
        ));
    }
    Ok(())
}
