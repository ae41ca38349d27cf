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

use super::extract::{DpopHeader, DpopProof, FormOrJson};
use crate::domain::{AuthReqId, RefreshToken};
use crate::error::{Error, ErrorBody, Result};
use crate::flows::dpop::{current_nonce, request_key, request_proof};
use crate::flows::token::{
    CIBA_GRANT, Poll, Refusal, TokenResponse, redeem_ciba_with_proof, refresh,
};
use crate::state::AppState;

/// `POST /v1/token`: the CIBA and refresh-token grants.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(token))
}

/// A token request as it arrives: every field optional, so that a missing or unknown
/// `grant_type` gets RFC 6749's own error codes rather than a parse error.
#[derive(Deserialize)]
struct TokenParams {
    grant_type: Option<String>,
    auth_req_id: Option<String>,
    wait: Option<WaitParam>,
    refresh_token: Option<String>,
}

// Only describes the body in the document; the handler reads `TokenParams`.
/// A token request: one of the two grants, each with the fields it needs.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "grant_type")]
#[allow(dead_code)]
enum TokenRequest {
    /// Redeems an approved login; `wait` long-polls until the phone decides.
    #[serde(rename = "urn:openid:params:grant-type:ciba")]
    Ciba {
        /// The `auth_req_id` of `/v1/login`.
        #[schema(min_length = 1, max_length = 256)]
        auth_req_id: String,
        wait: Option<Wait>,
    },
    /// Rotates a refresh token: a new access and refresh token for the same session.
    #[serde(rename = "refresh_token")]
    Refresh {
        #[schema(min_length = 1, max_length = 256)]
        refresh_token: String,
    },
}

// Only describes `WaitParam` in the document.
/// Seconds to long-poll, at most `approvals.max_wait_secs` (60 by default, never more): a
/// string in forms, a number (or string) in JSON; an empty string is 0.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum Wait {
    Number(WaitSeconds),
    Text(WaitText),
}

/// `wait` as a number.
#[derive(Deserialize, ToSchema)]
#[schema(minimum = 0, maximum = 60)]
#[allow(dead_code)]
struct WaitSeconds(u64);

/// `wait` as text: digits, or empty for 0.
#[derive(Deserialize, ToSchema)]
#[schema(pattern = "^\\s*\\+?0*([0-9]|[1-5][0-9]|60)?\\s*$")]
#[allow(dead_code)]
struct WaitText(String);

/// `wait` as it arrives: a string in forms, a number (or string) in JSON.
#[derive(Deserialize)]
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

/// A redemption on the wire: the tokens, or the CIBA error code of where it stands (CIBA Core
/// §11: `authorization_pending`, `slow_down`, `access_denied`, `expired_token`) or RFC 6749's
/// `invalid_grant`.
pub(super) fn tokens_or_error(poll: Poll) -> Result<TokenResponse> {
    match poll {
        Poll::Issued(tokens) => Ok(tokens),
        Poll::Pending => Err(Error::AuthorizationPending),
        Poll::SlowDown => Err(Error::SlowDown),
        Poll::Denied => Err(Error::AccessDenied),
        Poll::Expired => Err(Error::ExpiredToken),
        Poll::Refused(Refusal::Unknown) => Err(Error::InvalidGrant("unknown auth_req_id")),
        Poll::Refused(Refusal::Redeemed) => {
            Err(Error::InvalidGrant("auth_req_id already redeemed"))
        }
        Poll::Refused(Refusal::OtherKey) => Err(Error::InvalidGrant(
            "this auth_req_id is bound to a DPoP key; send a proof from it",
        )),
    }
}

/// Redeems an approval (CIBA grant, optionally long-polling with `wait`) or a refresh token.
#[utoipa::path(
    post,
    path = "/v1/token",
    tag = "client",
    params(("DPoP" = inline(Option<DpopProof>), Header, nullable = false, description = "A DPoP proof; required for a login or session bound to a key")),
    request_body(content(
        (TokenRequest = "application/x-www-form-urlencoded"),
        (TokenRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "Tokens issued (`Cache-Control: no-store`)", body = TokenResponse),
        (status = 400, description = "`authorization_pending`, `slow_down`, `access_denied`, `expired_token`, `invalid_grant`, `invalid_request`, `unsupported_grant_type`, `invalid_dpop_proof`, `use_dpop_nonce`", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable` with `Retry-After`: the DPoP replay cache is full of live proofs, or the database cannot be reached", body = ErrorBody),
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
            let auth_req_id = AuthReqId::parse(auth_req_id)?;
            let max_wait = state.settings.approvals.max_wait_secs;
            let wait = match &params.wait {
                Some(w) => w.seconds(max_wait)?,
                None => 0,
            };
            // Spent only once the auth_req_id is found: made-up ids do not fill the cache.
            let proof = request_proof(&state, proof.as_deref(), "/v1/token")?;
            let wait = Duration::from_secs(wait);
            tokens_or_error(redeem_ciba_with_proof(&state, &auth_req_id, wait, proof).await?)?
        }
        "refresh_token" => {
            let presented = params
                .refresh_token
                .as_deref()
                .filter(|t| !t.is_empty())
                .ok_or_else(|| Error::InvalidRequest("refresh_token is required".into()))?;
            let presented = RefreshToken::parse(presented)?;
            let dpop_jkt = proof_key()?;
            refresh(&state, &presented, dpop_jkt.as_deref()).await?
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
