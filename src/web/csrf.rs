//! CSRF protection for forms, by double submit: the form page sets a random token in an
//! `HttpOnly; SameSite=Strict` cookie and repeats it in a hidden field; a post is accepted only
//! when both are present and equal (compared in constant time). A cross-site page can neither
//! read the cookie nor make the browser send it. Posts are checked by `form::Posted`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use subtle::ConstantTimeEq;

use super::cookies;
use super::error::PageError;
use crate::auth::secrets::new_secret;
use crate::error::{Error, Result};
use crate::state::AppState;

/// What a form with nothing but a button posts (revoke, sign out).
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct CsrfForm {
    /// The form's CSRF token.
    #[schema(nullable = false)]
    pub csrf: Option<String>,
}

/// The token a page's forms carry. As an extractor it is the browser's own when its cookie
/// holds a well-formed one, else a fresh one: a second open page (or tab) then keeps the first
/// page's forms working.
pub struct FormToken(String);

impl FormToken {
    /// A fresh token, for a page whose forms should not share one with other pages.
    pub fn fresh() -> Result<Self> {
        Ok(FormToken(new_secret()?))
    }

    /// The token, for the form's hidden field.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The cookie that pairs with the field, living `max_age_secs`.
    pub fn cookie(&self, state: &AppState, max_age_secs: u64) -> Option<HeaderValue> {
        cookies::build(state, cookies::CSRF, &self.0, max_age_secs)
    }

    fn reuse_or_new(headers: &HeaderMap) -> Result<Self> {
        match cookies::read(headers, cookies::CSRF) {
            Some(token)
                if (32..=128).contains(&token.len())
                    && token
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                Ok(FormToken(token.to_owned()))
            }
            _ => Self::fresh(),
        }
    }
}

impl FromRequestParts<AppState> for FormToken {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, PageError> {
        Ok(Self::reuse_or_new(&parts.headers)?)
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
