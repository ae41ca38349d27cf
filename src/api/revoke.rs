//! `POST /v1/revoke` (RFC 7009) and `POST /v1/logout`: a client ends its own session.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{FormOrJson, TokenScheme, access_token, dpop_proof};
use crate::error::{Error, Result};
use crate::flows::session::{RevokedBy, revoke};
use crate::flows::token::revoke_any;
use crate::flows::usage::{Presented, check};
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/revoke", post(revoke_token))
        .route("/v1/logout", post(logout))
}

#[derive(Deserialize)]
struct RevokeParams {
    token: Option<String>,
    #[allow(dead_code)] // RFC 7009 allows the hint; nod tells the kinds apart itself
    token_type_hint: Option<String>,
}

async fn revoke_token(
    State(state): State<AppState>,
    FormOrJson(params): FormOrJson<RevokeParams>,
) -> Result<Json<Value>> {
    let token = params
        .token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::InvalidRequest("token is required".into()))?;
    revoke_any(&state, &token).await?;
    Ok(Json(json!({})))
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<StatusCode> {
    let proof = dpop_proof(&headers)?;
    let url = format!("{}/v1/logout", state.settings.server.public_url.as_str());
    let (token, presented) =
        match access_token(&headers).ok_or(Error::InvalidToken("missing bearer token"))? {
            TokenScheme::Bearer(token) => (token, Presented::Bearer),
            TokenScheme::Dpop(token) => {
                let proof = proof
                    .as_deref()
                    .ok_or(Error::InvalidDpopUse("a DPoP proof header is required"))?;
                (
                    token,
                    Presented::Dpop {
                        proof,
                        method: "POST",
                        url: &url,
                    },
                )
            }
        };
    let claims = check(&state, token, presented).await?;
    match revoke(&state, &claims.sub, &claims.sid, RevokedBy::Client).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(Error::NotFound) => Err(Error::InvalidToken("the session has already ended")),
        Err(e) => Err(e),
    }
}
