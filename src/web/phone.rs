//! `/phone`: the paired phone's home, behind the device cookie set when it paired. Pending
//! sign-ins to answer (with the number from the login screen), the live activity feed, and
//! the sessions with Revoke and "Sign out everywhere". A browser without a live device cookie
//! gets a page saying how to pair, not an error dump.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::answer::AnswerForm;
use super::approve::decided;
use super::csrf::{CsrfForm, FormToken};
use super::error::PageResult;
use super::form::Posted;
use super::page::{self, ResponseExt};
use super::rows::{EventRow, SessionRow, utc};
use super::viewer::Phone;
use crate::domain::{ApprovalState, DeviceProof, RevokedBy, user_agent};
use crate::error::{Error, Result};
use crate::flows::approval::{decide, pending_for};
use crate::flows::feed;
use crate::flows::session;
use crate::state::AppState;
use crate::store::Device;

/// Events the page shows before the live stream takes over.
const RECENT: u32 = 20;

/// The phone's home and what its forms post.
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
async fn home(State(state): State<AppState>, Phone(device): Phone, token: FormToken) -> PageResult {
    Ok(render(&state, &device, &token).await?)
}

async fn render(state: &AppState, device: &Device, token: &FormToken) -> Result<Response> {
    let user_id = &device.user_id;
    let now = state.clock.now_ms();
    let username = state
        .store
        .user_by_id(user_id)
        .await?
        .map(|u| u.username)
        .unwrap_or_default();
    let pending = pending_for(state, device)
        .await?
        .into_iter()
        .map(|a| PendingRow {
            browser: user_agent::describe(&a.user_agent),
            requested_at: utc(a.requested_at),
            seconds_left: a.expires_in,
            id: a.id,
            client_name: a.client_name,
            user_agent: a.user_agent,
            ip: a.ip,
        })
        .collect();
    let events = feed::newest(state, user_id, RECENT).await?;
    let sessions = state
        .store
        .active_sessions(user_id, now)
        .await?
        .into_iter()
        .map(|s| SessionRow::new(s, None))
        .collect();
    let page = PhonePage {
        device_name: &device.name,
        username: &username,
        csrf: token.as_str(),
        pending,
        events: events.iter().map(EventRow::from).collect(),
        sessions,
    };
    Ok(page::render(StatusCode::OK, &page)
        .no_store()
        .with_cookies(token.cookie(state, 3600)))
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
    Posted {
        form,
        by: Phone(device),
    }: Posted<AnswerForm, Phone>,
) -> PageResult {
    let decision = form.decision()?;
    // The device cookie is the paired browser's secret (no key, not yet a passkey).
    let proof = DeviceProof::Secret;
    Ok(answered(
        decide(&state, &device, &id, decision, proof).await,
    )?)
}

/// Back home once answered; a page saying why when the answer could not count.
fn answered(outcome: Result<ApprovalState>) -> Result<Response> {
    let (status, heading, message) = match outcome {
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
    Ok(decided(status, heading, message, "denied"))
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
    Posted {
        by: Phone(device), ..
    }: Posted<CsrfForm, Phone>,
) -> PageResult {
    session::revoke(&state, &device.user_id, &sid, RevokedBy::device(&device.id)).await?;
    Ok(Redirect::to("/phone").into_response())
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
    Posted {
        by: Phone(device), ..
    }: Posted<CsrfForm, Phone>,
) -> PageResult {
    session::revoke_all(&state, &device.user_id, RevokedBy::device(&device.id)).await?;
    Ok(Redirect::to("/phone").into_response())
}
