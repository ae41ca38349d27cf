//! `POST /v1/login`: a password in, a pending approval out.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use super::extract::{ApiJson, ClientInfo, DpopHeader};
use crate::domain::LoginContext;
use crate::error::Result;
use crate::flows::dpop::{current_nonce, request_key};
use crate::flows::login::{LoginAttempt, start_login};
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/login", post(login))
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
