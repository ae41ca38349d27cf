//! Probes for orchestrators and load balancers: `/healthz` (the process answers) and `/readyz`
//! (it can do its job: the database answers and a signing key is loaded).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// `GET /healthz` (the process answers) and `GET /readyz` (database, keys and revocations ready).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "`ok`", body = String, content_type = "text/plain"))
)]
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: `200` when the database answers, a signing key is loaded and the revocation
/// view is current (on a shared database: this instance hears the others), `503` otherwise,
/// with what failed (never why in detail: that goes to the log).
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "`{\"ready\":true,\"database\":true,\"keys\":true,\"revocations\":true}`", body = Object),
        (status = 503, description = "Not ready: which of `database`, `keys` and `revocations` failed", body = Object),
    )
)]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = match state.store.ping().await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unavailable");
            false
        }
    };
    let keys = state.keys.snapshot().current().is_some();
    let revocations = state.sessions.is_current();
    let ready = database && keys && revocations;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "ready": ready,
            "database": database,
            "keys": keys,
            "revocations": revocations,
        })),
    )
}
