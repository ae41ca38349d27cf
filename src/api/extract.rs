//! Extractors: JSON and form bodies that reject into our error shape, the client's address and
//! user agent, and device authentication.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

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

/// Who is calling: the client IP (believing `X-Forwarded-For` only from trusted proxies) and
/// the `User-Agent`.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub ip: IpAddr,
    pub user_agent: Option<String>,
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let ip = client_ip(peer, &parts.headers, &state.settings.server.trusted_proxies);
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        Ok(ClientInfo { ip, user_agent })
    }
}

/// The client address: the socket peer, unless the peer is a trusted proxy, in which case the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map_while(|item| item.trim().parse::<IpAddr>().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer)
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

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 10.0.0.2"),
        );
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        assert_eq!(
            client_ip(ip("198.51.100.1"), &headers, &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers, &trusted),
            ip("203.0.113.9")
        );
        // A forged left-most entry does not win over the proxy-appended one.
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, 203.0.113.9"),
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers, &trusted),
            ip("203.0.113.9")
        );
    }

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
