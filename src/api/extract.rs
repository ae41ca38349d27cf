//! Extractors: JSON and form bodies that reject into our error shape, the DPoP header and the
//! access token's scheme. Who is calling ([`ClientInfo`]) and which device is
//! ([`DeviceAuth`](crate::http::device::DeviceAuth)) are shared with the pages, in
//! [`crate::http`].

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

pub use crate::http::client::ClientInfo;

use crate::error::Error;

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
