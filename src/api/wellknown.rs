//! Discovery: the public signing keys and the OpenID-style metadata document.

use axum::Json;
use axum::extract::State;
use jsonwebtoken::jwk::JwkSet;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::dpop::PROOF_ALGS;
use crate::config::DpopMode;
use crate::flows::token::CIBA_GRANT;
use crate::state::AppState;

/// `/.well-known/jwks.json` and `/.well-known/openid-configuration`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(jwks))
        .routes(routes!(configuration))
}

/// The public keys that verify access tokens (RFC 7517 JWK Set).
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "discovery",
    responses((status = 200, description = "`{\"keys\": [...]}`", body = Object))
)]
async fn jwks(State(state): State<AppState>) -> Json<JwkSet> {
    Json(state.keys.snapshot().jwks())
}

/// OpenID-style server metadata: issuer, endpoints, grants and algorithms.
#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    tag = "discovery",
    responses((status = 200, description = "Server metadata (RFC 8414 fields)", body = Object))
)]
async fn configuration(State(state): State<AppState>) -> Json<Value> {
    let base = state.settings.server.public_url.as_str();
    let algorithm = state
        .keys
        .snapshot()
        .current()
        .map(|k| format!("{:?}", k.algorithm))
        .unwrap_or_default();
    let mut metadata = json!({
        "issuer": state.settings.issuer(),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "token_endpoint": format!("{base}/v1/token"),
        "backchannel_authentication_endpoint": format!("{base}/v1/login"),
        "introspection_endpoint": format!("{base}/v1/introspect"),
        "revocation_endpoint": format!("{base}/v1/revoke"),
        "grant_types_supported": [CIBA_GRANT, "refresh_token"],
        "backchannel_token_delivery_modes_supported": ["poll"],
        "token_endpoint_auth_methods_supported": ["none"],
        "access_token_signing_alg_values_supported": [algorithm],
    });
    // RFC 9449 §5.1.
    if state.settings.tokens.dpop != DpopMode::Off {
        metadata["dpop_signing_alg_values_supported"] =
            json!(PROOF_ALGS.split(' ').collect::<Vec<_>>());
    }
    Json(metadata)
}
