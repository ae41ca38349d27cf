//! The phone's API (`Authorization: Bearer <device secret>`, or `DPoP` with a proof for a
//! device with a key): pending approvals and decisions.
//! A device sees only its own user's approvals; any other id is `404`.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::ApiJson;
use crate::domain::{Decision, DecisionError, DeviceProof};
use crate::error::{Error, ErrorBody, Result};
use crate::flows::approval::{PendingApproval, decide, pending_for};
use crate::http::device::DeviceAuth;
use crate::state::AppState;

/// `/v1/device/approvals`: the phone's pending approvals, and its decision on one.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_approvals))
        .routes(routes!(decide_approval))
}

/// The approvals waiting for this device's user.
#[derive(Serialize, ToSchema)]
struct ApprovalList {
    approvals: Vec<PendingApproval>,
}

/// The pending approvals of the device's user.
#[utoipa::path(
    get,
    path = "/v1/device/approvals",
    tag = "device",
    security(("device" = [])),
    responses(
        (status = 200, description = "Pending approvals", body = ApprovalList),
        (status = 401, description = "Missing or unknown device secret; for a device with a key, a missing, bad or replayed DPoP proof (`invalid_dpop_proof`, `WWW-Authenticate: DPoP`)", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable` with `Retry-After`: the DPoP replay cache is full of live proofs, or the database cannot be reached", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
async fn list_approvals(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
) -> Result<Json<ApprovalList>> {
    Ok(Json(ApprovalList {
        approvals: pending_for(&state, &device).await?,
    }))
}

/// `decision` is `approve` (with the `binding_code` shown on the login screen), `deny` or
/// `fraud`. Read loosely, so that each mistake gets a message of ours; [`DecisionRequest`] is
/// what the document says.
#[derive(Deserialize)]
struct DecisionBody {
    decision: String,
    binding_code: Option<String>,
}

// Only describes the body in the document; the handler reads `DecisionBody`.
/// A decision: approve with the number the login screen shows, deny, or report fraud.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "decision", rename_all = "lowercase")]
#[allow(dead_code)]
enum DecisionRequest {
    /// It was me: with the number the login screen shows.
    Approve {
        #[schema(pattern = "^\\s*[0-9]{2}\\s*$")]
        binding_code: String,
    },
    /// It was me, but cancel the login.
    Deny,
    /// This wasn't me: deny and report.
    Fraud,
}

/// The approval's state after the decision.
#[derive(Serialize, ToSchema)]
struct DecisionResult {
    id: String,
    state: &'static str,
}

/// Approves, denies or reports a login as fraud.
#[utoipa::path(
    post,
    path = "/v1/device/approvals/{id}",
    tag = "device",
    security(("device" = [])),
    params(("id" = String, Path, description = "The approval id")),
    request_body(content = DecisionRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Decision recorded", body = DecisionResult),
        (status = 400, description = "Malformed decision", body = ErrorBody),
        (status = 401, description = "Missing or unknown device secret; for a device with a key, a missing, bad or replayed DPoP proof (`invalid_dpop_proof`, `WWW-Authenticate: DPoP`)", body = ErrorBody),
        (status = 403, description = "A device without a key while `approvals.allow_secret_devices` is off; the approval stays pending", body = ErrorBody),
        (status = 404, description = "No such approval for this device's user", body = ErrorBody),
        (status = 409, description = "Already decided", body = ErrorBody),
        (status = 410, description = "Expired", body = ErrorBody),
        (status = 422, description = "Wrong binding code; the login is denied", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable` with `Retry-After`: the DPoP replay cache is full of live proofs, or the database cannot be reached", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(approval_id = %id))]
async fn decide_approval(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<Json<DecisionResult>> {
    let decision = Decision::parse(&body.decision, body.binding_code.as_deref()).map_err(|e| {
        Error::InvalidRequest(match e {
            DecisionError::MissingCode => {
                "approve needs the binding_code shown on the login screen".into()
            }
            DecisionError::BadCode(message) => message,
            DecisionError::UnknownChoice => "decision must be approve, deny or fraud".into(),
        })
    })?;
    // The extractor made a device with a key prove it; one without answers with its secret.
    let proof = DeviceProof::of_device(device.jkt.as_deref());
    if proof == DeviceProof::Secret && !state.settings.approvals.allow_secret_devices {
        return Err(Error::Forbidden(
            "this device holds no key, and approvals.allow_secret_devices is off: \
             enroll the app with a public_key to answer",
        ));
    }
    let outcome = decide(&state, &device, &id, decision, proof).await?;
    Ok(Json(DecisionResult {
        id,
        state: outcome.as_str(),
    }))
}
