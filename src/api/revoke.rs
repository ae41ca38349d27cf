//! `POST /v1/revoke` (RFC 7009) and `POST /v1/logout`: a client ends its own session.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{FormOrJson, TokenScheme, access_token, dpop_proof};
use crate::domain::RevokedBy;
use crate::error::{Error, ErrorBody, Result};
use crate::flows::session::revoke;
use crate::flows::token::revoke_any;
use crate::flows::usage::{Presented, check};
use crate::state::AppState;

/// `POST /v1/revoke` (RFC 7009) and `POST /v1/logout`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(revoke_token))
        .routes(routes!(logout))
}

/// A revocation request (RFC 7009 §2.1): an access or refresh token.
#[derive(Deserialize, ToSchema)]
struct RevokeParams {
    /// The access or refresh token.
    #[schema(value_type = String, min_length = 1)]
    token: Option<String>,
    #[allow(dead_code)] // RFC 7009 allows the hint; nod tells the kinds apart itself
    token_type_hint: Option<String>,
}

/// Revokes the session of an access or refresh token; unknown tokens are not an error.
#[utoipa::path(
    post,
    path = "/v1/revoke",
    tag = "client",
    request_body(content(
        (RevokeParams = "application/x-www-form-urlencoded"),
        (RevokeParams = "application/json"),
    )),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke: `{}`", body = Object),
        (status = 400, description = "No token", body = ErrorBody),
    )
)]
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

/// Ends the session of the presented access token.
#[utoipa::path(
    post,
    path = "/v1/logout",
    tag = "client",
    security(("bearer" = []), ("dpop" = [])),
    params(("DPoP" = Option<String>, Header, nullable = false, description = "The DPoP proof, for `Authorization: DPoP` (ignored with `Bearer`)")),
    responses(
        (status = 204, description = "Session ended"),
        (status = 400, description = "Malformed or repeated DPoP header (`invalid_dpop_proof`)", body = ErrorBody),
        (status = 401, description = "Missing, invalid or already ended token, or a refused DPoP proof", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable` with `Retry-After`: the DPoP replay cache is full of live proofs, or the database cannot be reached", body = ErrorBody),
    )
)]
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
