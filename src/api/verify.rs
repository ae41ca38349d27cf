//! `GET /v1/verify`: forward-auth for nginx `auth_request`, Traefik `forwardAuth` and Caddy
//! `forward_auth`. 200 with the user in `X-Auth-*` headers, or 401 with a Bearer challenge.
//! Every 200 is a recorded use in the owner's feed.
//!
//! A DPoP-bound token comes as `Authorization: DPoP <token>` with the client's `DPoP` proof
//! header, both forwarded by the proxy; the proof is checked against the original request as
//! the proxy describes it: `X-Forwarded-Method` (`htm`) and `X-Forwarded-Proto`,
//! `X-Forwarded-Host` and `X-Forwarded-Uri` (`htu`). See docs/dpop.md.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ClientInfo, TokenScheme, access_token, dpop_proof};
use crate::error::{Error, ErrorBody, Result};
use crate::flows::usage::{Presented, UseContext, use_token};
use crate::state::AppState;

/// `/v1/verify` (GET, POST or HEAD): forward-auth for a reverse proxy.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(verify))
}

/// Forward-auth: is the access token in `Authorization` good for this request?
#[utoipa::path(
    method(get, post, head),
    path = "/v1/verify",
    tag = "resource",
    security(("bearer" = []), ("dpop" = [])),
    params(
        ("X-Forwarded-Method" = Option<String>, Header, nullable = false, description = "Method of the original request (or `X-Original-Method`)"),
        ("X-Forwarded-Proto" = Option<String>, Header, nullable = false, description = "Scheme of the original request (DPoP only)"),
        ("X-Forwarded-Host" = Option<String>, Header, nullable = false, description = "Host of the original request"),
        ("X-Forwarded-Uri" = Option<String>, Header, nullable = false, description = "Path and query of the original request (or `X-Original-URI`)"),
        ("DPoP" = Option<String>, Header, nullable = false, description = "The client's DPoP proof, for `Authorization: DPoP` (ignored with `Bearer`)"),
    ),
    responses(
        (status = 200, description = "Valid; the user is in `X-Auth-User`, `X-Auth-Subject` and `X-Auth-Session`"),
        (status = 401, description = "Missing, invalid, expired or revoked token, or a refused DPoP proof (`invalid_token`, `invalid_dpop_proof`, with a `WWW-Authenticate` challenge)", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable` with `Retry-After`: the DPoP replay cache is full of live proofs, the session view is not current (a shared database's change stream was lost), or the audit record could not be written", body = ErrorBody),
    )
)]
async fn verify(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
) -> Result<Response> {
    let scheme = access_token(&headers).ok_or(Error::InvalidToken("missing bearer token"))?;
    let ctx = UseContext {
        ip: Some(client.ip.to_string()),
        user_agent: client.user_agent,
        method: forwarded(&headers, &["x-forwarded-method", "x-original-method"]),
        host: forwarded(&headers, &["x-forwarded-host"]),
        path: forwarded(&headers, &["x-forwarded-uri", "x-original-uri"]),
        resource_server: None,
    };
    let claims = match scheme {
        TokenScheme::Bearer(token) => use_token(&state, token, Presented::Bearer, ctx).await?,
        TokenScheme::Dpop(token) => {
            let proof = dpop_proof(&headers)
                .map_err(|_| Error::InvalidDpopUse("send exactly one DPoP proof header"))?
                .ok_or(Error::InvalidDpopUse("a DPoP proof header is required"))?;
            let (method, url) = original_request(&headers, &ctx).ok_or(Error::InvalidDpopUse(
                "the proxy did not forward the method, scheme, host and URI of the request",
            ))?;
            let presented = Presented::Dpop {
                proof: &proof,
                method: &method,
                url: &url,
            };
            use_token(&state, token, presented, ctx).await?
        }
    };
    let mut response = StatusCode::OK.into_response();
    let out = response.headers_mut();
    for (name, value) in [
        ("x-auth-user", claims.preferred_username.as_str()),
        ("x-auth-subject", claims.sub.as_str()),
        ("x-auth-session", claims.sid.as_str()),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            out.insert(name, value);
        }
    }
    Ok(response)
}

/// The method and URL of the request the proxy is asking about, for the DPoP proof check.
fn original_request(headers: &HeaderMap, ctx: &UseContext) -> Option<(String, String)> {
    let method = ctx.method.clone()?;
    let proto = forwarded(headers, &["x-forwarded-proto"])?;
    let host = ctx.host.as_deref()?;
    let uri = ctx.path.as_deref()?;
    if !matches!(proto.as_str(), "http" | "https") || !uri.starts_with('/') {
        return None;
    }
    Some((method, format!("{proto}://{host}{uri}")))
}

/// The first of `names` present, as text.
fn forwarded(headers: &HeaderMap, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| headers.get(*n))
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}
