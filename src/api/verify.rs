//! `GET /v1/verify`: forward-auth for nginx `auth_request`, Traefik `forwardAuth` and Caddy
//! `forward_auth`. 200 with the user in `X-Auth-*` headers, or 401 with a Bearer challenge.
//! Every 200 is a recorded use in the owner's feed.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::extract::{ClientInfo, bearer};
use crate::error::{Error, Result};
use crate::flows::usage::{UseContext, use_token};
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/verify", get(verify).post(verify).head(verify))
}

async fn verify(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
) -> Result<Response> {
    let token = bearer(&headers).ok_or(Error::InvalidToken("missing bearer token"))?;
    let ctx = UseContext {
        ip: Some(client.ip.to_string()),
        user_agent: client.user_agent,
        method: forwarded(&headers, &["x-forwarded-method", "x-original-method"]),
        host: forwarded(&headers, &["x-forwarded-host"]),
        path: forwarded(&headers, &["x-forwarded-uri", "x-original-uri"]),
        resource_server: None,
    };
    let claims = use_token(&state, token, ctx).await?;
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

/// The first of `names` present, as text.
fn forwarded(headers: &HeaderMap, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| headers.get(*n))
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}
