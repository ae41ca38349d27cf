//! `POST /v1/login`: a password in, a pending approval out; `POST /v1/login/totp`: a code from
//! the authenticator app approves it (the offline fallback) and the tokens come back at once.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use super::extract::{ApiJson, ClientInfo, DpopHeader};
use crate::domain::LoginContext;
use crate::error::Error;
use crate::error::Result;
use crate::flows::dpop::{current_nonce, request_key};
use crate::flows::login::{LoginAttempt, start_login};
use crate::flows::totp::{TotpCode, login_with_totp};
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/login", post(login))
        .route("/v1/login/totp", post(login_totp))
}

#[derive(Deserialize)]
struct LoginBody {
    username: String,
    password: String,
    client_name: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    DpopHeader(proof): DpopHeader,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response> {
    let dpop_jkt = request_key(&state, proof.as_deref(), "/v1/login")?;
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
            dpop_jkt,
        },
    )
    .await?;
    let mut response = (StatusCode::ACCEPTED, Json(started)).into_response();
    if let Some(nonce) = current_nonce(&state).and_then(|n| HeaderValue::from_str(&n).ok()) {
        response.headers_mut().insert("dpop-nonce", nonce);
    }
    Ok(response)
}

#[derive(Deserialize)]
struct TotpBody {
    auth_req_id: String,
    code: String,
}

#[tracing::instrument(skip_all)]
async fn login_totp(
    State(state): State<AppState>,
    DpopHeader(proof): DpopHeader,
    ApiJson(body): ApiJson<TotpBody>,
) -> Result<Response> {
    let dpop_jkt = request_key(&state, proof.as_deref(), "/v1/login/totp")?;
    let code = TotpCode::parse(&body.code).map_err(Error::InvalidRequest)?;
    if body.auth_req_id.is_empty() || body.auth_req_id.len() > 256 {
        return Err(Error::InvalidGrant("unknown auth_req_id"));
    }
    let tokens = login_with_totp(&state, &body.auth_req_id, &code, dpop_jkt.as_deref()).await?;
    let mut response = Json(tokens).into_response();
    // RFC 6749 §5.1: token responses must not be cached.
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    Ok(response)
}
