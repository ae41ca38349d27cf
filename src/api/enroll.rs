//! `POST /v1/enroll`: a native app pairs itself with a code from `nod enroll-link`.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, ClientInfo};
use crate::domain::{Channel, ChannelList};
use crate::error::{Error, ErrorBody, Result};
use crate::flows::enroll::redeem;
use crate::flows::provision::ProvisionedDevice;
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(enroll))
}

/// One way to reach the phone.
#[derive(Deserialize, ToSchema)]
struct ChannelSpec {
    /// `ntfy`, `twilio`, `webhook`, `fcm`, … (a provider this server has configured).
    provider: String,
    /// The topic, phone number, URL or registration token.
    address: Option<String>,
}

/// One channel, several in fallthrough order, or none (the phone polls for approvals).
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
enum NotifyChoice {
    One(ChannelSpec),
    Many(Vec<ChannelSpec>),
}

/// A pairing request.
#[derive(Deserialize, ToSchema)]
struct EnrollBody {
    /// The code of the pairing link (`nod enroll-link`).
    code: String,
    /// A name the user recognises ("Pixel 8").
    name: String,
    /// How nod reaches the phone; omitted: never pushed, the phone polls.
    notify: Option<NotifyChoice>,
}

/// Pairs a device with the code's user; the secret is shown once.
#[utoipa::path(
    post,
    path = "/v1/enroll",
    tag = "device",
    request_body(content = EnrollBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The new device: its secret (shown once) and its otpauth URI", body = ProvisionedDevice),
        (status = 400, description = "Malformed body or channel (`invalid_request`); unknown, used or expired code (`invalid_grant`)", body = ErrorBody),
        (status = 429, description = "Too many wrong pairing codes from this address", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
async fn enroll(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<EnrollBody>,
) -> Result<Json<ProvisionedDevice>> {
    let specs = match body.notify {
        None => Vec::new(),
        Some(NotifyChoice::One(spec)) => vec![spec],
        Some(NotifyChoice::Many(specs)) => specs,
    };
    let channels = specs
        .into_iter()
        .map(|s| match s.address {
            Some(address) => Channel::parse(&format!("{}={address}", s.provider)),
            None => Channel::parse(&s.provider),
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .and_then(ChannelList::possibly_empty)
        .map_err(Error::InvalidRequest)?;
    Ok(Json(
        redeem(&state, &body.code, &body.name, &channels, client.ip).await?,
    ))
}
