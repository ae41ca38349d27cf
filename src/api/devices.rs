//! The phone's view of its user's other devices: list them, revoke a lost one. A device that
//! is not this device's user's — or is unknown, or already revoked — is `404`.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::DeviceProof;
use crate::error::{Error, ErrorBody, Result};
use crate::flows::provision;
use crate::http::device::DeviceAuth;
use crate::state::AppState;

/// `/v1/device/devices`: the phone lists its user's devices and revokes a lost one.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_devices))
        .routes(routes!(revoke_device))
}

/// One paired device, as its user's phones see it (never its secrets).
#[derive(Serialize, ToSchema)]
struct DeviceView {
    id: String,
    name: String,
    /// Unix ms.
    created_at: i64,
    /// What the device answers with: `key` (a DPoP proof by the key it enrolled with) or
    /// `secret` (its secret alone); `passkey` is to come.
    proof: DeviceProof,
    /// Whether this is the device asking.
    this_device: bool,
}

/// The user's active devices.
#[derive(Serialize, ToSchema)]
struct DeviceList {
    devices: Vec<DeviceView>,
}

/// The device's user's active devices.
#[utoipa::path(
    get,
    path = "/v1/device/devices",
    tag = "device",
    security(("device" = [])),
    responses(
        (status = 200, description = "Active devices", body = DeviceList),
        (status = 401, description = "Missing or unknown device secret; for a device with a key, a missing, bad or replayed DPoP proof (`invalid_dpop_proof`, `WWW-Authenticate: DPoP`)", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable` with `Retry-After`: the DPoP replay cache is full of live proofs, or the database cannot be reached", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
async fn list_devices(
    State(state): State<AppState>,
    DeviceAuth(me): DeviceAuth,
) -> Result<Json<DeviceList>> {
    let devices = state
        .store
        .list_devices(Some(&me.user_id))
        .await?
        .into_iter()
        .filter(|d| d.revoked_at.is_none())
        .map(|d| DeviceView {
            this_device: d.id == me.id,
            proof: DeviceProof::of_device(d.jkt.as_deref()),
            id: d.id,
            name: d.name,
            created_at: d.created_at,
        })
        .collect();
    Ok(Json(DeviceList { devices }))
}

/// The revoked device.
#[derive(Serialize, ToSchema)]
struct RevokedDevice {
    revoked: String,
}

/// Revokes one of the user's devices (a lost phone): it can no longer decide anything.
#[utoipa::path(
    post,
    path = "/v1/device/devices/{id}/revoke",
    tag = "device",
    security(("device" = [])),
    params(("id" = String, Path, description = "The device to revoke")),
    responses(
        (status = 200, description = "Revoked", body = RevokedDevice),
        (status = 401, description = "Missing or unknown device secret; for a device with a key, a missing, bad or replayed DPoP proof (`invalid_dpop_proof`, `WWW-Authenticate: DPoP`)", body = ErrorBody),
        (status = 404, description = "Not a device of this user, or already revoked", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable` with `Retry-After`: the DPoP replay cache is full of live proofs, or the database cannot be reached", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
async fn revoke_device(
    State(state): State<AppState>,
    DeviceAuth(me): DeviceAuth,
    Path(id): Path<String>,
) -> Result<Json<RevokedDevice>> {
    let target = state
        .store
        .list_devices(Some(&me.user_id))
        .await?
        .into_iter()
        .find(|d| d.id == id && d.revoked_at.is_none())
        .ok_or(Error::NotFound)?;
    provision::revoke_device(&state, &target.id).await?;
    tracing::info!(device = %target.id, by = %me.id, "device revoked by another device");
    Ok(Json(RevokedDevice { revoked: target.id }))
}
