//! The phone's view of its user's sessions: list them, revoke one, revoke all. A session that
//! is not this device's user's — or is unknown, or already ended — is `404`.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use super::extract::DeviceAuth;
use crate::error::Result;
use crate::flows::session::{self, RevokedBy};
use crate::state::AppState;
use crate::store::SessionSummary;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/device/sessions", get(list_sessions))
        .route("/v1/device/sessions/revoke-all", post(revoke_all))
        .route("/v1/device/sessions/{sid}/revoke", post(revoke_one))
}

#[derive(Serialize)]
struct SessionList {
    sessions: Vec<SessionSummary>,
}

#[derive(Serialize)]
struct Revoked<T> {
    revoked: T,
}

#[tracing::instrument(skip_all)]
async fn list_sessions(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
) -> Result<Json<SessionList>> {
    let now = state.clock.now_ms();
    let sessions = state.store.active_sessions(&device.user_id, now).await?;
    Ok(Json(SessionList { sessions }))
}

#[tracing::instrument(skip_all, fields(%sid))]
async fn revoke_one(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Path(sid): Path<String>,
) -> Result<Json<Revoked<String>>> {
    session::revoke(&state, &device.user_id, &sid, RevokedBy::Device(&device.id)).await?;
    Ok(Json(Revoked { revoked: sid }))
}

#[tracing::instrument(skip_all)]
async fn revoke_all(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
) -> Result<Json<Revoked<usize>>> {
    let count = session::revoke_all(&state, &device.user_id, RevokedBy::Device(&device.id)).await?;
    Ok(Json(Revoked { revoked: count }))
}
