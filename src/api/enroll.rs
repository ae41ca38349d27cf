//! `POST /v1/enroll`: a native app pairs itself with a code from `nod enroll-link`.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, ClientInfo};
use crate::auth::dpop::enrolled_key_thumbprint;
use crate::domain::{Channel, ChannelList, PairingCode};
use crate::error::{Error, ErrorBody, Result};
use crate::flows::enroll::redeem;
use crate::flows::provision::ProvisionedDevice;
use crate::state::AppState;

/// `POST /v1/enroll`: a phone redeems its pairing code.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(enroll))
}

/// One way to reach the phone.
#[derive(Deserialize, ToSchema)]
struct ChannelSpec {
    /// `mock`, `log`, or `ntfy`, `twilio`, `webhook`, `fcm` when this server has it enabled.
    #[schema(pattern = "^\\s*[a-z0-9]{1,32}\\s*$")]
    provider: String,
    /// The topic, phone number, URL or registration token (at most 2048 characters).
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 2048,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    address: Option<String>,
}

/// One channel, several in fallthrough order, or none (the phone polls for approvals).
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
enum NotifyChoice {
    One(ChannelSpec),
    Many(ChannelSpecs),
}

/// Several channels, in fallthrough order: at most 8.
#[derive(Deserialize, ToSchema)]
#[schema(max_items = 8)]
struct ChannelSpecs(Vec<ChannelSpec>);

/// A pairing request.
#[derive(Deserialize, ToSchema)]
struct EnrollBody {
    /// The code of the pairing link (`nod enroll-link`).
    #[schema(min_length = 1, max_length = 256)]
    code: String,
    /// A name the user recognises ("Pixel 8"): 1 to 64 characters, no control characters.
    #[schema(
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$",
        max_length = 64
    )]
    name: String,
    /// How nod reaches the phone (at most 8 channels); omitted: never pushed, the phone polls.
    notify: Option<NotifyChoice>,
    /// The app's public key (JWK: `EC` `P-256` for ES256 or `OKP` `Ed25519` for EdDSA, no
    /// private `d`), kept in the phone's keystore. Given: every device-API call of this device
    /// must then carry a DPoP proof by it (`Authorization: DPoP <device secret>`).
    #[schema(value_type = Option<Object>)]
    public_key: Option<serde_json::Value>,
}

/// Pairs a device with the code's user; the secret is shown once. With `public_key`, the
/// device is sender-constrained from its first call on (docs/dpop.md).
#[utoipa::path(
    post,
    path = "/v1/enroll",
    tag = "device",
    request_body(content = EnrollBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The new device: its secret (shown once) and its otpauth URI", body = ProvisionedDevice),
        (status = 400, description = "Malformed body, channel or public key (`invalid_request`); unknown, used or expired code (`invalid_grant`)", body = ErrorBody),
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
        Some(NotifyChoice::Many(ChannelSpecs(specs))) => specs,
    };
    let channels = specs
        .into_iter()
        .map(|s| Channel::new(&s.provider, s.address.as_deref()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .and_then(ChannelList::possibly_empty)
        .map_err(Error::InvalidRequest)?;
    let jkt = body
        .public_key
        .as_ref()
        .map(enrolled_key_thumbprint)
        .transpose()
        .map_err(|refused| Error::InvalidRequest(refused.to_string()))?;
    let code = PairingCode::parse(&body.code)?;
    let paired = redeem(
        &state,
        &code,
        &body.name,
        &channels,
        jkt.as_deref(),
        client.ip,
    )
    .await?;
    Ok(Json(paired.device))
}
