//! `/approve/{link}`: the page a notification's link opens. Who is signing in, from where, when,
//! how long is left; the number from the login screen; Approve, "It was me — cancel", "This
//! wasn't me". The link is single-use, bound to one approval and one device, and stored as a
//! digest; a used, expired or unknown link shows a clear page.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::answer::AnswerForm;
use super::csrf::FormToken;
use super::error::PageResult;
use super::form::Posted;
use super::page::{self, ResponseExt};
use crate::auth::secrets::digest_secret;
use crate::domain::{ApprovalState, DeviceProof, LinkCode, user_agent};
use crate::error::{Error, Result};
use crate::flows::approval::{current_state, decide};
use crate::state::AppState;
use crate::store::{Approval, ApprovalLink, Device};

/// The approval link's page and its answer.
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
struct DecidedPage<'a> {
    heading: &'a str,
    message: &'a str,
    /// `pending`, `approved` or `denied`.
    css: &'a str,
}

/// The decided page; the phone's home shows it too, when an answer could not count.
pub(super) fn decided(status: StatusCode, heading: &str, message: &str, css: &str) -> Response {
    let page = DecidedPage {
        heading,
        message,
        css,
    };
    page::render(status, &page)
}

/// The link's approval and device, while the link is unused and the approval pending.
async fn open_link(state: &AppState, link: &LinkCode) -> Result<(ApprovalLink, Approval, Device)> {
    let found = state
        .store
        .approval_link(&digest_secret(link.as_str()))
        .await?
        .ok_or(Error::NotFound)?;
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
    decided(status, heading, message, css)
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
async fn show(State(state): State<AppState>, Path(link): Path<String>) -> PageResult {
    let link = LinkCode::parse(&link)?;
    Ok(render_request(&state, &link).await?)
}

async fn render_request(state: &AppState, link: &LinkCode) -> Result<Response> {
    let (found, approval, _device) = open_link(state, link).await?;
    let now = state.clock.now_ms();
    let current = current_state(state, &approval, now);
    if found.used_at.is_some() || current != ApprovalState::Pending {
        return Ok(closed(current, found.used_at.is_some()));
    }
    let username = state
        .store
        .user_by_id(&approval.user_id)
        .await?
        .map(|u| u.username)
        .unwrap_or_default();
    let token = FormToken::fresh()?;
    let requested = std::time::UNIX_EPOCH
        + std::time::Duration::from_millis(u64::try_from(approval.created_at).unwrap_or(0));
    let page = ApprovePage {
        link: link.as_str(),
        csrf: token.as_str(),
        username: &username,
        client_name: &approval.client_name,
        browser: &user_agent::describe(&approval.user_agent),
        user_agent: &approval.user_agent,
        ip: &approval.ip,
        requested_at: &humantime::format_rfc3339_seconds(requested).to_string(),
        seconds_left: crate::flows::login::seconds_left(approval.expires_at, now),
    };
    Ok(page::render(StatusCode::OK, &page)
        .with_cookies(token.cookie(state, 600))
        .no_store())
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
    Posted { form, .. }: Posted<AnswerForm>,
) -> PageResult {
    Ok(apply(&state, &link, &form).await?)
}

async fn apply(state: &AppState, link: &str, form: &AnswerForm) -> Result<Response> {
    let decision = form.decision()?;
    let (found, approval, device) = open_link(state, &LinkCode::parse(link)?).await?;
    let now = state.clock.now_ms();
    if !state.store.use_approval_link(&found.link_hash, now).await? {
        return Ok(closed(
            current_state(state, &approval, now),
            found.used_at.is_some(),
        ));
    }
    // The link is a secret, and nothing more proves the phone holds it (yet: passkeys).
    let outcome = decide(state, &device, &approval.id, decision, DeviceProof::Secret).await;
    let (status, heading, message, css) = match outcome {
        Ok(ApprovalState::Approved) => (
            StatusCode::OK,
            "Approved",
            "You are signed in on the other screen.",
            "approved",
        ),
        Ok(ApprovalState::Fraud) => (
            StatusCode::OK,
            "Reported",
            "Nothing was signed in. Pushes for your account are paused for a while; consider changing your password.",
            "denied",
        ),
        Ok(_) => (
            StatusCode::OK,
            "Cancelled",
            "Nothing was signed in.",
            "denied",
        ),
        Err(Error::BindingCodeMismatch) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Wrong number",
            "The number did not match the login screen, so the sign-in was denied. Start the sign-in again if it was you.",
            "denied",
        ),
        Err(Error::AlreadyDecided | Error::ApprovalExpired) => {
            return Ok(closed(current_state(state, &approval, now), false));
        }
        Err(e) => return Err(e),
    };
    Ok(decided(status, heading, message, css))
}
