//! `POST /v1/token`: the CIBA grant (with long-poll) and the refresh grant. Form or JSON bodies.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{DpopHeader, FormOrJson};
use crate::error::{Error, ErrorBody, Result};
use crate::flows::dpop::{current_nonce, request_key, request_proof};
use crate::flows::token::{CIBA_GRANT, TokenResponse, redeem_ciba_with_proof, refresh};
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(token))
}

/// A token request: `grant_type` is the CIBA grant (`auth_req_id`, optional `wait` seconds to
/// long-poll) or `refresh_token` (`refresh_token`).
#[derive(Deserialize, ToSchema)]
struct TokenParams {
    grant_type: Option<String>,
    auth_req_id: Option<String>,
    wait: Option<WaitParam>,
    refresh_token: Option<String>,
}

/// `wait` arrives as a string in forms and as a number (or string) in JSON.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
enum WaitParam {
    Number(u64),
    Text(String),
}

impl WaitParam {
    fn seconds(&self, max: u64) -> Result<u64> {
        let secs = match self {
            WaitParam::Number(n) => *n,
            WaitParam::Text(t) if t.trim().is_empty() => 0,
            WaitParam::Text(t) => t.trim().parse().map_err(|_| {
                Error::InvalidRequest("wait must be a whole number of seconds".into())
            })?,
        };
        if secs > max {
            return Err(Error::InvalidRequest(format!(
                "wait must be at most {max} seconds"
            )));
        }
        Ok(secs)
    }
}

/// Redeems an approval (CIBA grant, optionally long-polling with `wait`) or a refresh token.
#[utoipa::path(
    post,
    path = "/v1/token",
    tag = "client",
    params(("DPoP" = Option<String>, Header, description = "A DPoP proof; required for a login or session bound to a key")),
    request_body(content(
        (TokenParams = "application/x-www-form-urlencoded"),
        (TokenParams = "application/json"),
    )),
    responses(
        (status = 200, description = "Tokens issued (`Cache-Control: no-store`)", body = TokenResponse),
        (status = 400, description = "`authorization_pending`, `slow_down`, `access_denied`, `expired_token`, `invalid_grant`, `invalid_request`, `unsupported_grant_type`, `invalid_dpop_proof`, `use_dpop_nonce`", body = ErrorBody),
        (status = 415, description = "Neither a form nor JSON", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
async fn token(
    State(state): State<AppState>,
    DpopHeader(proof): DpopHeader,
    FormOrJson(params): FormOrJson<TokenParams>,
) -> Result<Response> {
    let grant_type = params
        .grant_type
        .as_deref()
        .ok_or_else(|| Error::InvalidRequest("grant_type is required".into()))?;
    // The proof is checked (and its jti spent) only once the request is otherwise well formed.
    let proof_key = || request_key(&state, proof.as_deref(), "/v1/token");
    let response = match grant_type {
        CIBA_GRANT => {
            let auth_req_id = params
                .auth_req_id
                .as_deref()
                .filter(|id| !id.is_empty())
                .ok_or_else(|| Error::InvalidRequest("auth_req_id is required".into()))?;
            if auth_req_id.len() > 256 {
                return Err(Error::InvalidGrant("unknown auth_req_id"));
            }
            let max_wait = state.settings.approvals.max_wait_secs;
            let wait = match &params.wait {
                Some(w) => w.seconds(max_wait)?,
                None => 0,
            };
            // Spent only once the auth_req_id is found: made-up ids do not fill the cache.
            let proof = request_proof(&state, proof.as_deref(), "/v1/token")?;
            let wait = Duration::from_secs(wait);
            redeem_ciba_with_proof(&state, auth_req_id, wait, proof).await?
        }
        "refresh_token" => {
            let presented = params
                .refresh_token
                .as_deref()
                .filter(|t| !t.is_empty())
                .ok_or_else(|| Error::InvalidRequest("refresh_token is required".into()))?;
            if presented.len() > 256 {
                return Err(Error::InvalidGrant(
                    "unknown, expired or revoked refresh token",
                ));
            }
            let dpop_jkt = proof_key()?;
            refresh(&state, presented, dpop_jkt.as_deref()).await?
        }
        other => {
            return Err(Error::UnsupportedGrantType(
                other.chars().take(100).collect(),
            ));
        }
    };
    let mut response = Json(response).into_response();
    // RFC 6749 §5.1: token responses must not be cached.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(nonce) = current_nonce(&state).and_then(|n| HeaderValue::from_str(&n).ok()) {
        response.headers_mut().insert("dpop-nonce", nonce);
    }
    Ok(response)
}
