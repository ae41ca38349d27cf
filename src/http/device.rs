//! Device authentication, written once for the API's `Authorization: Bearer <device secret>`
//! and the pages' device cookie: the secret must name an unrevoked device of an enabled user.
//! Both are checked against the store on every request, so revoking the device or disabling
//! the user stops it at once.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use crate::auth::secrets::digest_secret;
use crate::domain::DeviceSecret;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::Device;

/// The active device `secret` belongs to, if any.
pub async fn authenticate(state: &AppState, secret: &DeviceSecret) -> Result<Option<Device>> {
    let device = state
        .store
        .device_by_secret_hash(&digest_secret(secret.as_str()))
        .await?
        .filter(|d| d.revoked_at.is_none());
    let Some(device) = device else {
        return Ok(None);
    };
    let owner_active = state
        .store
        .user_by_id(&device.user_id)
        .await?
        .is_some_and(|u| u.is_active());
    Ok(owner_active.then_some(device))
}

/// An authenticated, active device (`Authorization: Bearer <device secret>`).
pub struct DeviceAuth(pub Device);

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = Error;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let secret =
            bearer(&parts.headers).ok_or(Error::InvalidToken("missing device credentials"))?;
        let secret = DeviceSecret::parse(secret)?;
        authenticate(state, &secret)
            .await?
            .map(DeviceAuth)
            .ok_or(Error::InvalidToken("unknown or revoked device"))
    }
}

/// The credential of an `Authorization: Bearer …` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credential) = value.split_once(' ')?;
    let credential = credential.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !credential.is_empty()).then_some(credential)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_credentials_are_parsed_strictly() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(bearer(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&headers), None);
    }
}
