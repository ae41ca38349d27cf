//! `POST /v1/introspect` (RFC 7662): resource servers authenticate with HTTP Basic; the answer
//! is the token's claims or `{"active":false}`. Every active answer is a recorded use.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ClientInfo, FormOrJson};
use crate::error::{ErrorBody, Result};
use crate::flows::usage::{Presented, UseContext, use_token};
use crate::state::AppState;

/// `POST /v1/introspect` (RFC 7662), for registered resource servers.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(introspect))
}

/// An introspection request (RFC 7662 §2.1).
#[derive(Deserialize, ToSchema)]
struct IntrospectParams {
    /// The access token.
    #[schema(value_type = String, min_length = 1)]
    token: Option<String>,
    #[allow(dead_code)] // accepted per RFC 7662; only access tokens are introspected
    token_type_hint: Option<String>,
}

/// The claims of an access token for a resource server, or `{"active":false}`.
#[utoipa::path(
    post,
    path = "/v1/introspect",
    tag = "resource",
    security(("basic" = [])),
    request_body(content(
        (IntrospectParams = "application/x-www-form-urlencoded"),
        (IntrospectParams = "application/json"),
    )),
    responses(
        (status = 200, description = "`{\"active\":false}`, or `active: true` with `sub`, `username`, `sid`, `exp`, `iat`, `nbf`, `jti`, `iss`, `aud`, `client_id`, `token_type` and `cnf` for DPoP-bound tokens", body = Object),
        (status = 400, description = "No token", body = ErrorBody),
        (status = 401, description = "Resource server authentication failed (`invalid_client`)", body = ErrorBody),
    )
)]
async fn introspect(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    FormOrJson(params): FormOrJson<IntrospectParams>,
) -> Result<Response> {
    let Some(caller) = resource_server(&state, &headers) else {
        return Ok(unauthorized());
    };
    let Some(token) = params.token.filter(|t| !t.is_empty()) else {
        return Err(crate::error::Error::InvalidRequest(
            "token is required".into(),
        ));
    };
    let ctx = UseContext {
        ip: Some(client.ip.to_string()),
        user_agent: client.user_agent,
        resource_server: Some(caller),
        ..UseContext::default()
    };
    let claims = match use_token(&state, &token, Presented::Introspection, ctx).await {
        Ok(claims) => claims,
        Err(crate::error::Error::InvalidToken(_)) => {
            return Ok(Json(json!({ "active": false })).into_response());
        }
        Err(other) => return Err(other),
    };
    let mut answer = json!({
        "active": true,
        "sub": claims.sub,
        "username": claims.preferred_username,
        "sid": claims.sid,
        "scope": "",
        "exp": claims.exp,
        "iat": claims.iat,
        "nbf": claims.nbf,
        "jti": claims.jti,
        "iss": claims.iss,
        "aud": claims.aud,
        "client_id": claims.client_id,
        "token_type": if claims.cnf.is_some() { "DPoP" } else { "Bearer" },
    });
    // RFC 9449 §6.2: a resource server checking proofs itself compares their key with this.
    if let Some(cnf) = &claims.cnf {
        answer["cnf"] = json!({ "jkt": cnf.jkt });
    }
    Ok(Json(answer).into_response())
}

/// The name of the authenticated resource server, from `Authorization: Basic`.
fn resource_server(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (name, secret) = text.split_once(':')?;
    state
        .resource_servers
        .authenticate(name, secret)
        .then(|| name.to_owned())
}

fn unauthorized() -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(json!({
            "error": "invalid_client",
            "error_description": "resource server authentication failed",
        })),
    )
        .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"nod\""),
    );
    response
}
