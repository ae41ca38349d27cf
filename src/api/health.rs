//! Probes for orchestrators and load balancers: `/healthz` (the process answers) and `/readyz`
//! (it can do its job: the database answers and a signing key is loaded).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::state::AppState;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: `200` when the database answers and a signing key is loaded, `503` otherwise,
/// with what failed (never why in detail: that goes to the log).
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = match state.store.ping().await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unavailable");
            false
        }
    };
    let keys = state.keys.snapshot().current().is_some();
    let status = if database && keys {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({ "ready": database && keys, "database": database, "keys": keys })),
    )
}
