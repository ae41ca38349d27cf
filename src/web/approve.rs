//! `/approve/{link}`: the page a notification's link opens. Who is signing in, from where, when,
//! how long is left; the number from the login screen; Approve, "It was me — cancel", "This
//! wasn't me". The link is single-use, bound to one approval and one device, and stored as a
//! digest; a used, expired or unknown link shows a clear page.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::answer::AnswerForm;
use super::{cookies, csrf, page};
use crate::auth::secrets::digest_secret;
use crate::domain::{ApprovalState, user_agent};
use crate::error::{Error, Result};
use crate::flows::approval::{current_state, decide};
use crate::state::AppState;
use crate::store::{Approval, ApprovalLink, Device};

/// `GET` and `POST /approve/{link}`: the one-time approval page a push links to, and its answer.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show, answer))
}

#[derive(Template)]
#[template(path = "approve.html")]
struct ApprovePage<'a> {
    link: &'a str,
    csrf: &'a str,
    username: &'a str,
    client_name: &'a str,
    browser: &'a str,
    user_agent: &'a str,
    ip: &'a str,
    requested_at: &'a str,
    seconds_left: u64,
}

/// The outcome of an answer, or why a request can no longer be answered.
#[derive(Template)]
#[template(path = "decided.html")]
pub(super) struct DecidedPage<'a> {
    pub heading: &'a str,
    pub message: &'a str,
    /// `pending`, `approved` or `denied`.
    pub css: &'a str,
}

/// The link's approval and device, while the link is unused and the approval pending.
async fn open_link(state: &AppState, link: &str) -> Result<(ApprovalLink, Approval, Device)> {
    let gone = Error::NotFound;
    if link.len() > 128 {
        return Err(gone);
    }
    let found = state
        .store
        .approval_link(&digest_secret(link))
        .await?
        .ok_or(gone)?;
    let approval = state
        .store
        .approval_by_id(&found.approval_id)
        .await?
        .ok_or(Error::NotFound)?;
    let device = state
        .store
        .device_by_id(&found.device_id)
        .await?
        .filter(|d| d.revoked_at.is_none())
        .ok_or(Error::NotFound)?;
    Ok((found, approval, device))
}

/// The page for a link that can no longer decide anything.
fn closed(state: ApprovalState, used: bool) -> Response {
    let (status, heading, message, css) = match state {
        ApprovalState::Expired => (
            StatusCode::GONE,
            "Expired",
            "This request waited too long and has expired. Nothing was signed in.",
            "denied",
        ),
        ApprovalState::Approved | ApprovalState::Redeemed => (
            StatusCode::GONE,
            "Already approved",
            "This sign-in was approved.",
            "approved",
        ),
        ApprovalState::Denied => (
            StatusCode::GONE,
            "Denied",
            "This sign-in was denied. Nothing was signed in.",
            "denied",
        ),
        ApprovalState::Fraud => (
            StatusCode::GONE,
            "Reported",
            "You reported this sign-in. Nothing was signed in, and pushes are paused for a while.",
            "denied",
        ),
        ApprovalState::Pending if used => (
            StatusCode::GONE,
            "Link already used",
            "This link was already used. Answer on another device if the request is still open.",
            "pending",
        ),
        ApprovalState::Pending => (
            StatusCode::OK,
            "Waiting",
            "This request is still waiting.",
            "pending",
        ),
    };
    page::render(
        status,
        &DecidedPage {
            heading,
            message,
            css,
        },
    )
}

/// The request, with the three answers.
#[utoipa::path(
    get,
    path = "/approve/{link}",
    tag = "pages",
    params(("link" = String, Path, description = "The one-time link code from the notification")),
    responses(
        (status = 200, description = "The sign-in request with its context", content_type = "text/html"),
        (status = 404, description = "Unknown link", content_type = "text/html"),
        (status = 410, description = "Used link, or a request already decided or expired", content_type = "text/html"),
    )
)]
async fn show(State(state): State<AppState>, Path(link): Path<String>) -> Response {
    match render_request(&state, &link).await {
        Ok(response) => response,
        Err(e) => page::error(&e),
    }
}

async fn render_request(state: &AppState, link: &str) -> Result<Response> {
    let (found, approval, _device) = open_link(state, link).await?;
    let now = state.clock.now_ms();
    let current = current_state(state, &approval, now)?;
    if found.used_at.is_some() || current != ApprovalState::Pending {
        return Ok(closed(current, found.used_at.is_some()));
    }
    let username = state
        .store
        .user_by_id(&approval.user_id)
        .await?
        .map(|u| u.username)
        .unwrap_or_default();
    let token = csrf::new_token()?;
    let requested = std::time::UNIX_EPOCH
        + std::time::Duration::from_millis(u64::try_from(approval.created_at).unwrap_or(0));
    let mut response = page::render(
        StatusCode::OK,
        &ApprovePage {
            link,
            csrf: &token,
            username: &username,
            client_name: &approval.client_name,
            browser: &user_agent::describe(&approval.user_agent),
            user_agent: &approval.user_agent,
            ip: &approval.ip,
            requested_at: &humantime::format_rfc3339_seconds(requested).to_string(),
            seconds_left: crate::flows::login::seconds_left(approval.expires_at, now),
        },
    );
    let headers = response.headers_mut();
    if let Some(cookie) = cookies::build(state, cookies::CSRF, &token, 600) {
        headers.append(header::SET_COOKIE, cookie);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Applies the phone's answer; the link is spent whatever the answer.
#[utoipa::path(
    post,
    path = "/approve/{link}",
    tag = "pages",
    params(("link" = String, Path, description = "The one-time link code from the notification")),
    request_body(content = AnswerForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The outcome: approved, denied or reported", content_type = "text/html"),
        (status = 403, description = "Missing or wrong CSRF token: nothing changed", content_type = "text/html"),
        (status = 410, description = "Used link, or a request already decided or expired", content_type = "text/html"),
        (status = 422, description = "Wrong number: the sign-in was denied", content_type = "text/html"),
    )
)]
async fn answer(
    State(state): State<AppState>,
    Path(link): Path<String>,
    headers: HeaderMap,
    form: std::result::Result<Form<AnswerForm>, FormRejection>,
) -> Response {
    match apply(&state, &link, &headers, form).await {
        Ok(response) => response,
        Err(e) => page::error(&e),
    }
}

async fn apply(
    state: &AppState,
    link: &str,
    headers: &HeaderMap,
    form: std::result::Result<Form<AnswerForm>, FormRejection>,
) -> Result<Response> {
    let Form(form) = form?;
    csrf::check(headers, form.csrf.as_deref())?;
    let decision = form.decision()?;
    let (found, approval, device) = open_link(state, link).await?;
    let now = state.clock.now_ms();
    if !state.store.use_approval_link(&found.link_hash, now).await? {
        return Ok(closed(
            current_state(state, &approval, now)?,
            found.used_at.is_some(),
        ));
    }
    let (heading, message, css) = match decide(state, &device, &approval.id, decision).await {
        Ok(ApprovalState::Approved) => (
            "Approved",
            "You are signed in on the other screen.",
            "approved",
        ),
        Ok(ApprovalState::Fraud) => (
            "Reported",
            "Nothing was signed in. Pushes for your account are paused for a while; consider changing your password.",
            "denied",
        ),
        Ok(_) => ("Cancelled", "Nothing was signed in.", "denied"),
        Err(Error::BindingCodeMismatch) => {
            return Ok(page::render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &DecidedPage {
                    heading: "Wrong number",
                    message: "The number did not match the login screen, so the sign-in was denied. Start the sign-in again if it was you.",
                    css: "denied",
                },
            ));
        }
        Err(Error::AlreadyDecided | Error::ApprovalExpired) => {
            return Ok(closed(current_state(state, &approval, now)?, false));
        }
        Err(e) => return Err(e),
    };
    Ok(page::render(
        StatusCode::OK,
        &DecidedPage {
            heading,
            message,
            css,
        },
    ))
}
