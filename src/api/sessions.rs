//! The phone's view of its user's sessions: list them, revoke one, revoke all. A session that
//! is not this device's user's — or is unknown, or already ended — is `404`.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::RevokedBy;
use crate::error::{ErrorBody, Result};
use crate::flows::session;
use crate::http::device::DeviceAuth;
use crate::state::AppState;
use crate::store::SessionSummary;

/// `/v1/device/sessions`: the phone lists its user's sessions and revokes one or all.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_all))
        .routes(routes!(revoke_one))
}

/// The user's active sessions.
#[derive(Serialize, ToSchema)]
struct SessionList {
    sessions: Vec<SessionSummary>,
}

/// What was revoked: a session id, or how many sessions.
#[derive(Serialize, ToSchema)]
struct Revoked<T> {
    revoked: T,
}

/// The active sessions of the device's user, with their use so far.
#[utoipa::path(
    get,
    path = "/v1/device/sessions",
    tag = "device",
    security(("device" = [])),
    responses(
        (status = 200, description = "Active sessions", body = SessionList),
        (status = 401, description = "Missing or unknown device secret; for a device with a key, a missing, bad or replayed DPoP proof (`invalid_dpop_proof`, `WWW-Authenticate: DPoP`)", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable` with `Retry-After`: the DPoP replay cache is full of live proofs, or the database cannot be reached", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
async fn list_sessions(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
) -> Result<Json<SessionList>> {
    let now = state.clock.now_ms();
    let sessions = state.store.active_sessions(&device.user_id, now).await?;
    Ok(Json(SessionList { sessions }))
}

/// Ends one session of the device's user.
#[utoipa::path(
    post,
    path = "/v1/device/sessions/{sid}/revoke",
    tag = "device",
    security(("device" = [])),
    params(("sid" = String, Path, description = "The session id")),
    responses(
        (status = 200, description = "Revoked: `{\"revoked\": sid}`", body = Revoked<String>),
        (status = 401, description = "Missing or unknown device secret; for a device with a key, a missing, bad or replayed DPoP proof (`invalid_dpop_proof`, `WWW-Authenticate: DPoP`)", body = ErrorBody),
        (status = 404, description = "Unknown, ended, or not this user's session", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable` with `Retry-After`: the DPoP replay cache is full of live proofs, or the database cannot be reached", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(%sid))]
async fn revoke_one(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Path(sid): Path<String>,
) -> Result<Json<Revoked<String>>> {
    session::revoke(&state, &device.user_id, &sid, RevokedBy::device(&device.id)).await?;
    Ok(Json(Revoked { revoked: sid }))
}

/// Ends every session of the device's user.
#[utoipa::path(
    post,
    path = "/v1/device/sessions/revoke-all",
    tag = "device",
    security(("device" = [])),
    responses(
        (status = 200, description = "Revoked: `{\"revoked\": count}`", body = Revoked<usize>),
        (status = 401, description = "Missing or unknown device secret; for a device with a key, a missing, bad or replayed DPoP proof (`invalid_dpop_proof`, `WWW-Authenticate: DPoP`)", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable` with `Retry-After`: the DPoP replay cache is full of live proofs, or the database cannot be reached", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
async fn revoke_all(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
) -> Result<Json<Revoked<usize>>> {
    let count = session::revoke_all(&state, &device.user_id, RevokedBy::device(&device.id)).await?;
    Ok(Json(Revoked { revoked: count }))
}
