//! `/phone`: the paired phone's home, behind the device cookie set when it paired. Pending
//! sign-ins to answer (with the number from the login screen), the live activity feed, and
//! the sessions with Revoke and "Sign out everywhere". A browser without a live device cookie
//! gets a page saying how to pair, not an error dump.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::answer::AnswerForm;
use super::approve::DecidedPage;
use super::csrf::CsrfForm;
use super::rows::{EventRow, SessionRow, utc};
use super::{cookies, csrf, page, viewer};
use crate::domain::user_agent;
use crate::error::{Error, Result};
use crate::flows::approval::decide;
use crate::flows::login::seconds_left;
use crate::flows::session::{self, RevokedBy};
use crate::state::AppState;
use crate::store::{AuditCursor, AuditFilter, Device};

/// Events the page shows before the live stream takes over.
const RECENT: u32 = 20;

/// `/phone`: the paired phone's home page, its answers to approvals and its session revocations.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(home))
        .routes(routes!(answer))
        .routes(routes!(revoke_one))
        .routes(routes!(revoke_all))
}

/// A pending sign-in as the phone's home lists it.
struct PendingRow {
    id: String,
    client_name: String,
    browser: String,
    user_agent: String,
    ip: String,
    requested_at: String,
    seconds_left: u64,
}

#[derive(Template)]
#[template(path = "phone.html")]
struct PhonePage<'a> {
    device_name: &'a str,
    username: &'a str,
    csrf: &'a str,
    pending: Vec<PendingRow>,
    events: Vec<EventRow>,
    sessions: Vec<SessionRow>,
}

/// The phone's home.
#[utoipa::path(
    get,
    path = "/phone",
    tag = "pages",
    responses(
        (status = 200, description = "Pending sign-ins, the live feed, the sessions", content_type = "text/html"),
        (status = 401, description = "Not a paired phone: how to pair", content_type = "text/html"),
    )
)]
async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let result = async {
        let Some(device) = viewer::phone(&state, &headers).await? else {
            return Ok(not_paired());
        };
        render(&state, &headers, &device).await
    };
    result.await.unwrap_or_else(|e| page::error(&e))
}

fn not_paired() -> Response {
    page::render(
        StatusCode::UNAUTHORIZED,
        &page::ErrorPage {
            heading: "This browser is not a paired phone",
            message: "Open the pairing link from `nod enroll-link` on your phone to pair it; \
                      this page then shows its sign-in requests and activity.",
        },
    )
}

async fn render(state: &AppState, headers: &HeaderMap, device: &Device) -> Result<Response> {
    let user_id = &device.user_id;
    let now = state.clock.now_ms();
    let username = state
        .store
        .user_by_id(user_id)
        .await?
        .map(|u| u.username)
        .unwrap_or_default();
    let pending = state
        .store
        .pending_approvals(user_id, now)
        .await?
        .into_iter()
        .map(|a| PendingRow {
            browser: user_agent::describe(&a.user_agent),
            requested_at: utc(a.created_at),
            seconds_left: seconds_left(a.expires_at, now),
            id: a.id,
            client_name: a.client_name,
            user_agent: a.user_agent,
            ip: a.ip,
        })
        .collect();
    let events = state
        .store
        .audit_page(
            user_id,
            AuditCursor::Newest,
            RECENT,
            &AuditFilter::default(),
        )
        .await?;
    let sessions = state
        .store
        .active_sessions(user_id, now)
        .await?
        .into_iter()
        .map(|s| SessionRow::new(s, None))
        .collect();
    let token = csrf::reuse_or_new(headers)?;
    let mut response = page::render(
        StatusCode::OK,
        &PhonePage {
            device_name: &device.name,
            username: &username,
            csrf: &token,
            pending,
            events: events.iter().map(EventRow::from).collect(),
            sessions,
        },
    );
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(cookie) = cookies::build(state, cookies::CSRF, &token, 3600) {
        headers.append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// The phone of a form post, after the CSRF check; `None` when the browser is not paired.
async fn checked_phone(
    state: &AppState,
    headers: &HeaderMap,
    csrf_field: Option<&str>,
) -> Result<Option<Device>> {
    csrf::check(headers, csrf_field)?;
    viewer::phone(state, headers).await
}

/// Answers a pending sign-in from the phone's home.
#[utoipa::path(
    post,
    path = "/phone/approvals/{id}",
    tag = "pages",
    params(("id" = String, Path, description = "The approval id")),
    request_body(content = AnswerForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Answered: back to `/phone`"),
        (status = 401, description = "Not a paired phone", content_type = "text/html"),
        (status = 403, description = "Missing or wrong CSRF token: nothing changed", content_type = "text/html"),
        (status = 404, description = "Not this user's approval", content_type = "text/html"),
        (status = 410, description = "Already decided or expired", content_type = "text/html"),
        (status = 422, description = "Wrong number: the sign-in was denied", content_type = "text/html"),
    )
)]
async fn answer(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: std::result::Result<Form<AnswerForm>, FormRejection>,
) -> Response {
    let result = async {
        let Form(form) = form?;
        let Some(device) = checked_phone(&state, &headers, form.csrf.as_deref()).await? else {
            return Ok(not_paired());
        };
        let decision = form.decision()?;
        let (status, heading, message) = match decide(&state, &device, &id, decision).await {
            Ok(_) => return Ok(Redirect::to("/phone").into_response()),
            Err(Error::BindingCodeMismatch) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Wrong number",
                "The number did not match the login screen, so the sign-in was denied.",
            ),
            Err(Error::AlreadyDecided) => (
                StatusCode::GONE,
                "Already answered",
                "This sign-in was already answered.",
            ),
            Err(Error::ApprovalExpired) => (
                StatusCode::GONE,
                "Expired",
                "This request waited too long and has expired. Nothing was signed in.",
            ),
            Err(e) => return Err(e),
        };
        Ok(page::render(
            status,
            &DecidedPage {
                heading,
                message,
                css: "denied",
            },
        ))
    };
    result.await.unwrap_or_else(|e| page::error(&e))
}

/// Ends one session of the phone's user.
#[utoipa::path(
    post,
    path = "/phone/sessions/{sid}/revoke",
    tag = "pages",
    params(("sid" = String, Path, description = "The session id")),
    request_body(content = CsrfForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Revoked: back to `/phone`"),
        (status = 401, description = "Not a paired phone", content_type = "text/html"),
        (status = 403, description = "Missing or wrong CSRF token: nothing changed", content_type = "text/html"),
        (status = 404, description = "Unknown, ended, or not this user's session", content_type = "text/html"),
    )
)]
async fn revoke_one(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    form: std::result::Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let result = async {
        let Form(form) = form?;
        let Some(device) = checked_phone(&state, &headers, form.csrf.as_deref()).await? else {
            return Ok(not_paired());
        };
        session::revoke(&state, &device.user_id, &sid, RevokedBy::Device(&device.id)).await?;
        Ok::<_, Error>(Redirect::to("/phone").into_response())
    };
    result.await.unwrap_or_else(|e| page::error(&e))
}

/// Ends every session of the phone's user.
#[utoipa::path(
    post,
    path = "/phone/sessions/revoke-all",
    tag = "pages",
    request_body(content = CsrfForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "All revoked: back to `/phone`"),
        (status = 401, description = "Not a paired phone", content_type = "text/html"),
        (status = 403, description = "Missing or wrong CSRF token: nothing changed", content_type = "text/html"),
    )
)]
async fn revoke_all(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: std::result::Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let result = async {
        let Form(form) = form?;
        let Some(device) = checked_phone(&state, &headers, form.csrf.as_deref()).await? else {
            return Ok(not_paired());
        };
        session::revoke_all(&state, &device.user_id, RevokedBy::Device(&device.id)).await?;
        Ok::<_, Error>(Redirect::to("/phone").into_response())
    };
    result.await.unwrap_or_else(|e| page::error(&e))
}
