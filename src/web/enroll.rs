//! `/enroll/{code}`: the page a pairing link opens on the phone. The person names the phone,
//! chooses how nod reaches it, and gets the TOTP QR code for an authenticator app; the browser
//! becomes the device (its secret in an `HttpOnly` cookie).

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{cookies, csrf, page};
use crate::domain::{Channel, ChannelList};
use crate::error::{Error, Result};
use crate::flows::enroll::redeem;
use crate::http::client::ClientInfo;
use crate::state::AppState;

/// `GET` and `POST /enroll/{code}`: the pairing form a one-time link opens, and pairing.
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
async fn form(State(state): State<AppState>, Path(code): Path<String>) -> Response {
    let token = match csrf::new_token() {
        Ok(token) => token,
        Err(e) => return page::error(&e),
    };
    // The code only goes back into the form's action, escaped; it is checked on submit.
    let code: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
        .take(128)
        .collect();
    let mut response = page::render(
        StatusCode::OK,
        &EnrollPage {
            code: &code,
            csrf: &token,
        },
    );
    if let Some(cookie) = cookies::build(&state, cookies::CSRF, &token, 3600) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
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
    headers: HeaderMap,
    form: std::result::Result<Form<EnrollForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    match pair(&state, &code, &client, &headers, form).await {
        Ok(response) => response,
        Err(e) => page::error(&e),
    }
}

async fn pair(
    state: &AppState,
    code: &str,
    client: &ClientInfo,
    headers: &HeaderMap,
    form: std::result::Result<Form<EnrollForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response> {
    let Form(form) = form?;
    csrf::check(headers, form.csrf.as_deref())?;
    let channels = match (
        form.channel.as_str(),
        form.address.as_deref().map(str::trim),
    ) {
        ("none", _) => Vec::new(),
        (provider @ ("ntfy" | "twilio" | "webhook"), Some(address)) if !address.is_empty() => {
            vec![Channel::parse(&format!("{provider}={address}")).map_err(Error::InvalidRequest)?]
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
    let channels = ChannelList::possibly_empty(channels).map_err(Error::InvalidRequest)?;
    let device = redeem(state, code, &form.name, &channels, client.ip).await?;
    let username = state
        .store
        .list_devices(None)
        .await?
        .into_iter()
        .find(|d| d.id == device.device_id)
        .map(|d| d.user_id);
    let username = match username {
        Some(user_id) => state
            .store
            .user_by_id(&user_id)
            .await?
            .map(|u| u.username)
            .unwrap_or_default(),
        None => String::new(),
    };
    let qr = qrcode::QrCode::new(device.totp_uri.as_bytes())
        .map_err(|e| Error::Internal(format!("QR code: {e}")))?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .build();
    let mut response = page::render(
        StatusCode::OK,
        &EnrolledPage {
            name: form.name.trim(),
            username: &username,
            totp_uri: &device.totp_uri,
            qr_svg: &qr,
        },
    );
    let year = 365 * 24 * 3600;
    if let Some(cookie) = cookies::build(state, cookies::DEVICE, &device.device_secret, year) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response.into_response())
}
