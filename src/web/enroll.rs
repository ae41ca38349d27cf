//! `/enroll/{code}`: the page a pairing link opens on the phone. The person names the phone,
//! chooses how nod reaches it, and gets the TOTP QR code for an authenticator app; the browser
//! becomes the device (its secret in an `HttpOnly` cookie).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::cookies;
use super::csrf::FormToken;
use super::error::PageResult;
use super::form::{Posted, WithCsrf};
use super::page::{self, ResponseExt};
use crate::domain::{Channel, ChannelList, PairingCode};
use crate::error::{Error, Result};
use crate::flows::enroll::{Paired, redeem};
use crate::http::client::ClientInfo;
use crate::state::AppState;

/// How long the paired browser keeps its device cookie.
const DEVICE_COOKIE_SECS: u64 = 365 * 24 * 3600;

/// The pairing form and what it posts.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(form, submit))
}

#[derive(Template)]
#[template(path = "enroll.html")]
struct EnrollPage<'a> {
    code: &'a str,
    csrf: &'a str,
}

#[derive(Template)]
#[template(path = "enrolled.html")]
struct EnrolledPage<'a> {
    name: &'a str,
    username: &'a str,
    totp_uri: &'a str,
    qr_svg: &'a str,
}

/// The pairing form.
#[utoipa::path(
    get,
    path = "/enroll/{code}",
    tag = "pages",
    params(("code" = String, Path, description = "The pairing code from `nod enroll-link`")),
    responses((status = 200, description = "The pairing form", content_type = "text/html"))
)]
async fn form(State(state): State<AppState>, Path(code): Path<String>) -> PageResult {
    let token = FormToken::fresh()?;
    // The code only goes back into the form's action, escaped; it is checked on submit.
    let code: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
        .take(128)
        .collect();
    let page = EnrollPage {
        code: &code,
        csrf: token.as_str(),
    };
    Ok(page::render(StatusCode::OK, &page).with_cookies(token.cookie(&state, 3600)))
}

/// What the form posts.
#[derive(Deserialize, utoipa::ToSchema)]
struct EnrollForm {
    /// The form's CSRF token.
    #[schema(nullable = false)]
    csrf: Option<String>,
    /// A name the user recognises: 1 to 64 characters.
    name: String,
    /// `none` (the phone polls), `ntfy`, `twilio` or `webhook` (with `address`).
    #[schema(value_type = EnrollChannel)]
    channel: String,
    /// The topic, phone number or URL.
    #[schema(nullable = false)]
    address: Option<String>,
}

impl WithCsrf for EnrollForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

impl EnrollForm {
    /// How nod is to reach the phone: no channel (it polls), or the one chosen, with its
    /// address.
    fn channels(&self) -> Result<ChannelList> {
        let address = self.address.as_deref().map(str::trim);
        let channels = match (self.channel.as_str(), address) {
            ("none", _) => Vec::new(),
            (provider @ ("ntfy" | "twilio" | "webhook"), Some(address)) if !address.is_empty() => {
                vec![Channel::new(provider, Some(address)).map_err(Error::InvalidRequest)?]
            }
            ("ntfy" | "twilio" | "webhook", _) => {
                return Err(Error::InvalidRequest(
                    "give the topic, number or URL to reach the phone".into(),
                ));
            }
            _ => {
                return Err(Error::InvalidRequest(
                    "choose how nod reaches the phone".into(),
                ));
            }
        };
        ChannelList::possibly_empty(channels).map_err(Error::InvalidRequest)
    }
}

// Only describes `EnrollForm::channel` in the document.
/// How the paired phone is reached.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum EnrollChannel {
    None,
    Ntfy,
    Twilio,
    Webhook,
}

/// Pairs the phone, sets the device cookie, shows the authenticator QR code.
#[utoipa::path(
    post,
    path = "/enroll/{code}",
    tag = "pages",
    params(("code" = String, Path, description = "The pairing code from `nod enroll-link`")),
    request_body(content = EnrollForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Paired: the QR code for an authenticator app", content_type = "text/html"),
        (status = 400, description = "Unknown, used or expired code, or a bad channel", content_type = "text/html"),
        (status = 403, description = "Missing or wrong CSRF token: nothing changed", content_type = "text/html"),
        (status = 429, description = "Too many wrong pairing codes from this address", content_type = "text/html"),
    )
)]
async fn submit(
    State(state): State<AppState>,
    Path(code): Path<String>,
    client: ClientInfo,
    Posted { form, .. }: Posted<EnrollForm>,
) -> PageResult {
    let channels = form.channels()?;
    let code = PairingCode::parse(&code)?;
    let paired = redeem(&state, &code, &form.name, &channels, None, client.ip).await?;
    Ok(enrolled(&state, form.name.trim(), &paired)?)
}

/// The paired page: the authenticator's QR code, and the device cookie that makes this
/// browser the phone.
fn enrolled(state: &AppState, name: &str, paired: &Paired) -> Result<Response> {
    let device = &paired.device;
    let qr = qrcode::QrCode::new(device.totp_uri.as_bytes())
        .map_err(|e| Error::Internal(format!("QR code: {e}")))?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .build();
    let page = EnrolledPage {
        name,
        username: &paired.user.username,
        totp_uri: &device.totp_uri,
        qr_svg: &qr,
    };
    let secret = &device.device_secret;
    let cookie = cookies::build(state, cookies::DEVICE, secret, DEVICE_COOKIE_SECS);
    Ok(page::render(StatusCode::OK, &page)
        .with_cookies(cookie)
        .no_store())
}
