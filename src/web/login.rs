//! `/login`: a person signs in on the web with the same flow as an app — password, then
//! "approve on your phone, the number is 47" — and the page continues to `/activity` by itself
//! once the phone approves. The pending login's `auth_req_id` and, afterwards, the session's
//! refresh token live only in `HttpOnly` cookies, never in a URL or the page.

use std::time::Duration;

use askama::Template;
use axum::Form;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::csrf::CsrfForm;
use super::{cookies, csrf, page, viewer};
use crate::auth::secrets::digest_secret;
use crate::domain::LoginContext;
use crate::error::{Error, Result};
use crate::flows::login::{LoginAttempt, seconds_left, start_login};
use crate::flows::session::{self, RevokedBy};
use crate::flows::token::redeem_ciba;
use crate::http::client::ClientInfo;
use crate::state::AppState;

/// The client name of a web sign-in, as the phone and the feed show it.
pub const WEB_CLIENT: &str = "nod web";
/// The longest a status request waits for the phone; well inside the request timeout.
const STATUS_WAIT: Duration = Duration::from_secs(25);

/// The web sign-in: `/login`, the waiting page and its status poll, and `POST /logout`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(form, submit))
        .routes(routes!(waiting))
        .routes(routes!(status))
        .routes(routes!(sign_out))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    username: &'a str,
    problem: &'a str,
}

#[derive(Template)]
#[template(path = "waiting.html")]
struct WaitingPage<'a> {
    /// `pending`, `denied` or `expired`.
    state: &'a str,
    binding_code: &'a str,
    seconds_left: u64,
}

/// The sign-in form.
#[utoipa::path(
    get,
    path = "/login",
    tag = "pages",
    responses(
        (status = 200, description = "The sign-in form", content_type = "text/html"),
        (status = 303, description = "Already signed in: on to `/activity`"),
    )
)]
async fn form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match viewer::signed_in(&state, &headers).await {
        Ok(Some(_)) => Redirect::to("/activity").into_response(),
        Ok(None) => login_page(&state, &headers, StatusCode::OK, "", ""),
        Err(e) => page::error(&e),
    }
}

fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    username: &str,
    problem: &str,
) -> Response {
    let token = match csrf::reuse_or_new(headers) {
        Ok(token) => token,
        Err(e) => return page::error(&e),
    };
    let mut response = page::render(
        status,
        &LoginPage {
            csrf: &token,
            username,
            problem,
        },
    );
    if let Some(cookie) = cookies::build(state, cookies::CSRF, &token, 3600) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// What the sign-in form posts.
#[derive(Deserialize, utoipa::ToSchema)]
struct LoginForm {
    /// The form's CSRF token.
    #[schema(nullable = false)]
    csrf: Option<String>,
    username: String,
    password: String,
}

/// Checks the password and pushes the approval to the phone, like `POST /v1/login`; the
/// browser keeps the pending login in a cookie and goes on to the waiting page.
#[utoipa::path(
    post,
    path = "/login",
    tag = "pages",
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Pending on the phone: on to `/login/wait`"),
        (status = 401, description = "Wrong username or password: the form again", content_type = "text/html"),
        (status = 403, description = "Missing or wrong CSRF token, or no paired phone", content_type = "text/html"),
        (status = 429, description = "Too many attempts: the form again", content_type = "text/html"),
    )
)]
async fn submit(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    form: std::result::Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let form = match form.map_err(Error::from).and_then(|Form(form)| {
        csrf::check(&headers, form.csrf.as_deref())?;
        Ok(form)
    }) {
        Ok(form) => form,
        Err(e) => return page::error(&e),
    };
    let context = LoginContext::new(
        Some(WEB_CLIENT),
        client.ip.to_string(),
        client.user_agent.as_deref(),
    );
    let username = form.username.clone();
    let attempt = LoginAttempt {
        username: form.username,
        password: form.password,
        context,
        dpop: None,
    };
    match start_login(&state, attempt).await {
        Ok(started) => {
            let mut response = Redirect::to("/login/wait").into_response();
            let ttl = started.expires_in + 60;
            if let Some(c) = cookies::build(&state, cookies::LOGIN, &started.auth_req_id, ttl) {
                response.headers_mut().append(header::SET_COOKIE, c);
            }
            response
        }
        Err(e @ (Error::InvalidCredentials | Error::RateLimited { .. } | Error::NoDevice)) => {
            login_page(&state, &headers, e.status(), &username, &e.to_string())
        }
        Err(e) => page::error(&e),
    }
}

/// Where a pending login stands, as the waiting page's script is told.
#[derive(Serialize, utoipa::ToSchema)]
struct LoginStatus {
    /// `signed_in`, `pending`, `denied`, `expired` or `none`.
    state: &'static str,
}

/// The outcome of trying to redeem the browser's pending login.
enum Outcome {
    /// Signed in: the response sets the session cookie.
    SignedIn(Vec<HeaderValue>),
    Pending,
    Denied,
    Expired,
    /// No pending login in this browser (or one redeemed already).
    Nothing,
}

/// Redeems the pending login through the CIBA grant, waiting up to `wait` for the phone.
async fn redeem(state: &AppState, headers: &HeaderMap, wait: Duration) -> Result<Outcome> {
    let Some(auth_req_id) = cookies::read(headers, cookies::LOGIN).filter(|t| t.len() <= 256)
    else {
        return Ok(Outcome::Nothing);
    };
    match redeem_ciba(state, auth_req_id, wait, None).await {
        Ok(tokens) => {
            let ttl = state.settings.tokens.session_ttl.0.as_secs();
            let cookies = [
                cookies::build(state, cookies::SESSION, &tokens.refresh_token, ttl),
                cookies::clear(state, cookies::LOGIN),
            ];
            Ok(Outcome::SignedIn(cookies.into_iter().flatten().collect()))
        }
        Err(Error::AuthorizationPending | Error::SlowDown) => Ok(Outcome::Pending),
        Err(Error::AccessDenied) => Ok(Outcome::Denied),
        Err(Error::ExpiredToken) => Ok(Outcome::Expired),
        Err(Error::InvalidGrant(_)) => Ok(Outcome::Nothing),
        Err(e) => Err(e),
    }
}

/// "Approve on your phone — the number is 47": waits for the phone (the script long-polls
/// `/login/wait/status`; without script the page refreshes itself) and goes on to
/// `/activity` once approved.
#[utoipa::path(
    get,
    path = "/login/wait",
    tag = "pages",
    responses(
        (status = 200, description = "Waiting for the phone, or denied or expired", content_type = "text/html"),
        (status = 303, description = "Approved: signed in, on to `/activity`; no pending login: back to `/login`"),
    )
)]
async fn waiting(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match show_waiting(&state, &headers).await {
        Ok(response) => response,
        Err(e) => page::error(&e),
    }
}

async fn show_waiting(state: &AppState, headers: &HeaderMap) -> Result<Response> {
    let css = match redeem(state, headers, Duration::ZERO).await? {
        Outcome::SignedIn(set_cookies) => return Ok(signed_in_redirect(set_cookies)),
        Outcome::Nothing if viewer::signed_in(state, headers).await?.is_some() => {
            return Ok(Redirect::to("/activity").into_response());
        }
        Outcome::Nothing => return Ok(Redirect::to("/login").into_response()),
        Outcome::Pending => "pending",
        Outcome::Denied => "denied",
        Outcome::Expired => "expired",
    };
    // The number comes from the store, found by the cookie: it never travels in the URL.
    let auth_req_id = cookies::read(headers, cookies::LOGIN).unwrap_or_default();
    let approval = state
        .store
        .approval_by_req_hash(&digest_secret(auth_req_id))
        .await?
        .ok_or(Error::NotFound)?;
    let mut response = page::render(
        StatusCode::OK,
        &WaitingPage {
            state: css,
            binding_code: &approval.binding_code,
            seconds_left: seconds_left(approval.expires_at, state.clock.now_ms()),
        },
    );
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if css != "pending"
        && let Some(clear) = cookies::clear(state, cookies::LOGIN)
    {
        headers.append(header::SET_COOKIE, clear);
    }
    Ok(response)
}

fn signed_in_redirect(set_cookies: Vec<HeaderValue>) -> Response {
    let mut response = Redirect::to("/activity").into_response();
    for cookie in set_cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The waiting page's long-poll: answers when the phone decides (signing the browser in when
/// it approved) or after 25 s with `pending`.
#[utoipa::path(
    get,
    path = "/login/wait/status",
    tag = "pages",
    responses((status = 200, description = "Where the browser's pending login stands", body = LoginStatus))
)]
async fn status(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let wait = STATUS_WAIT.min(Duration::from_secs(state.settings.approvals.max_wait_secs));
    let (answer, set_cookies) = match redeem(&state, &headers, wait).await {
        Ok(Outcome::SignedIn(set_cookies)) => ("signed_in", set_cookies),
        Ok(Outcome::Pending) => ("pending", Vec::new()),
        Ok(Outcome::Denied) => ("denied", Vec::new()),
        Ok(Outcome::Expired) => ("expired", Vec::new()),
        Ok(Outcome::Nothing) => ("none", Vec::new()),
        Err(e) => return e.into_response(),
    };
    let mut response = Json(LoginStatus { state: answer }).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for cookie in set_cookies {
        headers.append(header::SET_COOKIE, cookie);
    }
    response
}

/// Signs the browser out: its session is revoked (its tokens stop working) and the cookie
/// cleared.
#[utoipa::path(
    post,
    path = "/logout",
    tag = "pages",
    request_body(content = CsrfForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed out: back to `/login`"),
        (status = 403, description = "Missing or wrong CSRF token: nothing changed", content_type = "text/html"),
    )
)]
async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: std::result::Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    match end_session(&state, &headers, form).await {
        Ok(response) => response,
        Err(e) => page::error(&e),
    }
}

async fn end_session(
    state: &AppState,
    headers: &HeaderMap,
    form: std::result::Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response> {
    let Form(form) = form?;
    csrf::check(headers, form.csrf.as_deref())?;
    if let Some(me) = viewer::signed_in(state, headers).await? {
        match session::revoke(state, &me.user.id, &me.sid, RevokedBy::User).await {
            Ok(()) | Err(Error::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    let mut response = Redirect::to("/login").into_response();
    if let Some(clear) = cookies::clear(state, cookies::SESSION) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    Ok(response)
}
