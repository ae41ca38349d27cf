//! Extractors: JSON and form bodies that reject into our error shape, device authentication,
//! DPoP and bearer headers. Who is calling ([`ClientInfo`]) is shared with the pages, in
//! [`crate::http::client`].

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

pub use crate::http::client::ClientInfo;

use crate::auth::secrets::digest_secret;
use crate::error::Error;
use crate::state::AppState;
use crate::store::Device;

/// A JSON body; malformed input becomes our 4xx, never axum's plain-text default.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(Error))]
pub struct ApiJson<T>(pub T);

/// A body that may come as `application/x-www-form-urlencoded` (RFC 6749's default) or JSON.
pub struct FormOrJson<T>(pub T);

impl<T, S> FromRequest<S> for FormOrJson<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("application/x-www-form-urlencoded") {
            let axum::Form(value) = axum::Form::<T>::from_request(req, state).await?;
            Ok(FormOrJson(value))
        } else if content_type.starts_with("application/json") {
            let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
            Ok(FormOrJson(value))
        } else {
            Err(Error::UnsupportedMediaType(
                "send application/x-www-form-urlencoded or application/json".into(),
            ))
        }
    }
}

/// An authenticated, active device (`Authorization: Bearer <device secret>`).
pub struct DeviceAuth(pub Device);

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = Error;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let secret =
            bearer(&parts.headers).ok_or(Error::InvalidToken("missing device credentials"))?;
        let device = state
            .store
            .device_by_secret_hash(&digest_secret(secret))
            .await?
            .filter(|d| d.revoked_at.is_none())
            .ok_or(Error::InvalidToken("unknown or revoked device"))?;
        let owner_active = state
            .store
            .user_by_id(&device.user_id)
            .await?
            .is_some_and(|u| u.is_active());
        if !owner_active {
            return Err(Error::InvalidToken("unknown or revoked device"));
        }
        Ok(DeviceAuth(device))
    }
}

/// The `DPoP` proof header (RFC 9449 §4.1), if any; more than one is refused.
#[derive(Debug, Clone)]
pub struct DpopHeader(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for DpopHeader {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        dpop_proof(&parts.headers).map(DpopHeader)
    }
}

// Only describes the header in the document; `DpopHeader` reads it.
/// A DPoP proof (RFC 9449 §4.2): a compact JWS, `header.payload.signature` in base64url. A
/// header of any other shape is refused like a bad proof.
#[derive(utoipa::ToSchema)]
#[schema(pattern = "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$")]
#[allow(dead_code)]
pub struct DpopProof(String);

/// The one `DPoP` header of a request, as text.
pub fn dpop_proof(headers: &HeaderMap) -> Result<Option<String>, Error> {
    let mut values = headers.get_all("dpop").iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Error::InvalidDpopProof("send exactly one DPoP header"));
    }
    let text = first
        .to_str()
        .map_err(|_| Error::InvalidDpopProof("the DPoP proof is malformed"))?;
    Ok(Some(text.trim().to_owned()))
}

/// The credential of an `Authorization: Bearer …` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credential) = value.split_once(' ')?;
    let credential = credential.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !credential.is_empty()).then_some(credential)
}

/// How an access token was presented: `Authorization: Bearer …` or `Authorization: DPoP …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScheme<'a> {
    Bearer(&'a str),
    Dpop(&'a str),
}

/// The access token of an `Authorization` header with the Bearer or DPoP scheme.
pub fn access_token(headers: &HeaderMap) -> Option<TokenScheme<'_>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credential) = value.split_once(' ')?;
    let credential = credential.trim();
    if credential.is_empty() {
        return None;
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        Some(TokenScheme::Bearer(credential))
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Some(TokenScheme::Dpop(credential))
    } else {
        None
    }
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
