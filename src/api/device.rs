//! The phone's API (`Authorization: Bearer <device secret>`): pending approvals and decisions.
//! A device sees only its own user's approvals; any other id is `404`.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::extract::{ApiJson, DeviceAuth};
use crate::domain::{BindingCode, Decision};
use crate::error::{Error, Result};
use crate::flows::approval::{PendingApproval, decide, pending_for};
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/device/approvals", get(list_approvals))
        .route("/v1/device/approvals/{id}", post(decide_approval))
}

#[derive(Serialize)]
struct ApprovalList {
    approvals: Vec<PendingApproval>,
}

#[tracing::instrument(skip_all)]
async fn list_approvals(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
) -> Result<Json<ApprovalList>> {
    Ok(Json(ApprovalList {
        approvals: pending_for(&state, &device).await?,
    }))
}

#[derive(Deserialize)]
struct DecisionBody {
    decision: String,
    binding_code: Option<String>,
}

#[derive(Serialize)]
struct DecisionResult {
    id: String,
    state: &'static str,
}

#[tracing::instrument(skip_all, fields(approval_id = %id))]
async fn decide_approval(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<Json<DecisionResult>> {
    let decision = match body.decision.as_str() {
        "approve" => {
            let code = body.binding_code.as_deref().ok_or_else(|| {
                Error::InvalidRequest(
                    "approve needs the binding_code shown on the login screen".into(),
                )
            })?;
            Decision::Approve(BindingCode::parse(code).map_err(Error::InvalidRequest)?)
        }
        "deny" => Decision::Deny,
        "fraud" => Decision::Fraud,
        _ => {
            return Err(Error::InvalidRequest(
                "decision must be approve, deny or fraud".into(),
            ));
        }
    };
    let outcome = decide(&state, &device, &id, decision).await?;
    Ok(Json(DecisionResult {
        id,
        state: outcome.as_str(),
    }))
}
