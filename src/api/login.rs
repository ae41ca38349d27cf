//! `POST /v1/login`: a password in, a pending approval out; `POST /v1/login/totp`: a code from
//! the authenticator app approves it (the offline fallback) and the tokens come back at once.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, ClientInfo, DpopHeader, DpopProof};
use crate::domain::{AuthReqId, LoginContext};
use crate::error::Error;
use crate::error::ErrorBody;
use crate::error::Result;
use crate::flows::dpop::{current_nonce, request_key, request_proof};
use crate::flows::login::{LoginAttempt, LoginStarted, start_login};
use crate::flows::token::TokenResponse;
use crate::flows::totp::{TotpCode, login_with_totp};
use crate::state::AppState;

/// `POST /v1/login` (password, then a push) and `POST /v1/login/totp` (the authenticator code).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(login_totp))
}

/// The login request.
#[derive(Deserialize, ToSchema)]
struct LoginBody {
    /// Any text: a name that is not a user's is answered like a wrong password (`401`).
    username: String,
    password: String,
    /// Shown on the phone with the approval ("Grafana on laptop").
    client_name: Option<String>,
}

/// Checks the password and pushes an approval to the user's devices (CIBA backchannel
/// authentication). With DPoP on, a `DPoP` proof binds the approval to the client's key.
#[utoipa::path(
    post,
    path = "/v1/login",
    tag = "client",
    params(("DPoP" = inline(Option<DpopProof>), Header, nullable = false, description = "A DPoP proof (RFC 9449) to bind the login to the client's key")),
    request_body(content = LoginBody, content_type = "application/json"),
    responses(
        (status = 202, description = "Approval pending on the user's devices", body = LoginStarted),
        (status = 400, description = "Malformed body (`invalid_request`) or DPoP proof (`invalid_dpop_proof`, `use_dpop_nonce`)", body = ErrorBody),
        (status = 401, description = "Unknown user or wrong password", body = ErrorBody),
        (status = 403, description = "The user has no active device", body = ErrorBody),
        (status = 429, description = "Too many attempts", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable` with `Retry-After`: the DPoP replay cache is full of live proofs, or the database cannot be reached", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    DpopHeader(proof): DpopHeader,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response> {
    // Checked now (a bad proof costs no password work), spent after the password check.
    let dpop = request_proof(&state, proof.as_deref(), "/v1/login")?;
    let context = LoginContext::new(
        body.client_name.as_deref(),
        client.ip.to_string(),
        client.user_agent.as_deref(),
    );
    let started = start_login(
        &state,
        LoginAttempt {
            username: body.username,
            password: body.password,
            context,
            dpop,
        },
    )
    .await?;
    let mut response = (StatusCode::ACCEPTED, Json(started)).into_response();
    if let Some(nonce) = current_nonce(&state).and_then(|n| HeaderValue::from_str(&n).ok()) {
        response.headers_mut().insert("dpop-nonce", nonce);
    }
    Ok(response)
}

/// A code from the authenticator app for a pending login.
#[derive(Deserialize, ToSchema)]
struct TotpBody {
    /// The `auth_req_id` of the pending login.
    #[schema(min_length = 1, max_length = 256)]
    auth_req_id: String,
    /// The six digits the authenticator app shows (spaces between them are ignored).
    #[schema(pattern = "^[0-9]{6}$")]
    code: String,
}

/// The offline fallback: a TOTP code approves the pending login, and the tokens come back.
#[utoipa::path(
    post,
    path = "/v1/login/totp",
    tag = "client",
    params(("DPoP" = inline(Option<DpopProof>), Header, nullable = false, description = "A DPoP proof, required when the login was bound to a key")),
    request_body(content = TotpBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Approved with the code: the token response (amr pwd, otp)", body = TokenResponse),
        (status = 400, description = "Malformed code (`invalid_request`); wrong, replayed or late code, or a login that is not pending (`invalid_grant`); a bad DPoP proof (`invalid_dpop_proof`, `use_dpop_nonce`)", body = ErrorBody),
        (status = 429, description = "Too many wrong codes for this user", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable` with `Retry-After`: the DPoP replay cache is full of live proofs, or the database cannot be reached", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
async fn login_totp(
    State(state): State<AppState>,
    DpopHeader(proof): DpopHeader,
    ApiJson(body): ApiJson<TotpBody>,
) -> Result<Response> {
    let dpop_jkt = request_key(&state, proof.as_deref(), "/v1/login/totp")?;
    let code = TotpCode::parse(&body.code).map_err(Error::InvalidRequest)?;
    let auth_req_id = AuthReqId::parse(&body.auth_req_id)?;
    let poll = login_with_totp(&state, &auth_req_id, &code, dpop_jkt.as_deref()).await?;
    let tokens = super::token::tokens_or_error(poll)?;
    let mut response = Json(tokens).into_response();
    // RFC 6749 §5.1: token responses must not be cached.
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    Ok(response)
}
