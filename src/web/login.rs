//! `/login`: a person signs in on the web with the same flow as an app — password, then
//! "approve on your phone, the number is 47" — and the page continues to `/activity` by itself
//! once the phone approves. The pending login's `auth_req_id` and, afterwards, the session's
//! refresh token live only in `HttpOnly` cookies, never in a URL or the page.

use std::time::Duration;

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::cookies;
use super::csrf::{CsrfForm, FormToken};
use super::error::PageResult;
use super::form::{Posted, WithCsrf};
use super::page::{self, ResponseExt};
use super::viewer::{self, SignedIn};
use crate::auth::secrets::digest_secret;
use crate::domain::{AuthReqId, LoginContext, RevokedBy};
use crate::error::{Error, Result};
use crate::flows::login::{LoginAttempt, LoginStarted, seconds_left, start_login};
use crate::flows::session;
use crate::flows::token::{Poll, redeem_ciba};
use crate::http::client::ClientInfo;
use crate::state::AppState;

/// The client name of a web sign-in, as the phone and the feed show it.
pub const WEB_CLIENT: &str = "nod web";
/// The longest a status request waits for the phone; well inside the request timeout.
const STATUS_WAIT: Duration = Duration::from_secs(25);

/// Signing in on the web: the form, the wait for the phone, signing out.
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
async fn form(State(state): State<AppState>, me: Option<SignedIn>, token: FormToken) -> Response {
    match me {
        Some(_) => Redirect::to("/activity").into_response(),
        None => login_page(&state, &token, StatusCode::OK, "", ""),
    }
}

fn login_page(
    state: &AppState,
    token: &FormToken,
    status: StatusCode,
    username: &str,
    problem: &str,
) -> Response {
    let page = LoginPage {
        csrf: token.as_str(),
        username,
        problem,
    };
    page::render(status, &page).with_cookies(token.cookie(state, 3600))
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

impl WithCsrf for LoginForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

impl LoginForm {
    /// The attempt the form makes, from `client`, under the web's client name.
    fn attempt(self, client: &ClientInfo) -> LoginAttempt {
        let ip = client.ip.to_string();
        let context = LoginContext::new(Some(WEB_CLIENT), ip, client.user_agent.as_deref());
        LoginAttempt {
            username: self.username,
            password: self.password,
            context,
            dpop: None,
        }
    }
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
    token: FormToken,
    Posted { form, .. }: Posted<LoginForm>,
) -> PageResult {
    let username = form.username.clone();
    match start_login(&state, form.attempt(&client)).await {
        Ok(started) => Ok(to_waiting(&state, &started)),
        Err(e @ (Error::InvalidCredentials | Error::RateLimited { .. } | Error::NoDevice)) => Ok(
            login_page(&state, &token, e.status(), &username, &e.to_string()),
        ),
        Err(e) => Err(e.into()),
    }
}

/// On to the waiting page, the pending login's `auth_req_id` in its cookie (living a minute
/// past the approval).
fn to_waiting(state: &AppState, started: &LoginStarted) -> Response {
    let ttl = started.expires_in + 60;
    let cookie = cookies::build(state, cookies::LOGIN, &started.auth_req_id, ttl);
    Redirect::to("/login/wait")
        .into_response()
        .with_cookies(cookie)
}

/// The browser's pending login, if its cookie holds a well-formed `auth_req_id`.
fn pending_login(headers: &HeaderMap) -> Option<AuthReqId> {
    cookies::read(headers, cookies::LOGIN).and_then(|id| AuthReqId::parse(id).ok())
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
    let Some(auth_req_id) = pending_login(headers) else {
        return Ok(Outcome::Nothing);
    };
    Ok(match redeem_ciba(state, &auth_req_id, wait, None).await? {
        Poll::Issued(tokens) => {
            let ttl = state.settings.tokens.session_ttl.0.as_secs();
            let cookies = [
                cookies::build(state, cookies::SESSION, &tokens.refresh_token, ttl),
                cookies::clear(state, cookies::LOGIN),
            ];
            Outcome::SignedIn(cookies.into_iter().flatten().collect())
        }
        Poll::Pending | Poll::SlowDown => Outcome::Pending,
        Poll::Denied => Outcome::Denied,
        Poll::Expired => Outcome::Expired,
        Poll::Refused(_) => Outcome::Nothing,
    })
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
async fn waiting(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    Ok(show_waiting(&state, &headers).await?)
}

async fn show_waiting(state: &AppState, headers: &HeaderMap) -> Result<Response> {
    let css = match redeem(state, headers, Duration::ZERO).await? {
        Outcome::SignedIn(set_cookies) => {
            return Ok(Redirect::to("/activity")
                .into_response()
                .with_cookies(set_cookies));
        }
        // No pending login, but signed in (the long-poll redeemed it, say): on to the history.
        Outcome::Nothing if viewer::signed_in(state, headers).await?.is_some() => {
            return Ok(Redirect::to("/activity").into_response());
        }
        Outcome::Nothing => return Ok(Redirect::to("/login").into_response()),
        Outcome::Pending => "pending",
        Outcome::Denied => "denied",
        Outcome::Expired => "expired",
    };
    // The number comes from the store, found by the cookie: it never travels in the URL.
    let auth_req_id = pending_login(headers).ok_or(Error::NotFound)?;
    let approval = state
        .store
        .approval_by_req_hash(&digest_secret(auth_req_id.as_str()))
        .await?
        .ok_or(Error::NotFound)?;
    let page = WaitingPage {
        state: css,
        binding_code: &approval.binding_code,
        seconds_left: seconds_left(approval.expires_at, state.clock.now_ms()),
    };
    // Denied or expired: nothing is left to wait for, so the pending login's cookie goes.
    let clear_login = (css != "pending").then(|| cookies::clear(state, cookies::LOGIN));
    Ok(page::render(StatusCode::OK, &page)
        .no_store()
        .with_cookies(clear_login.flatten()))
}

/// The waiting page's long-poll: answers when the phone decides (signing the browser in when
/// it approved) or after 25 s with `pending`.
#[utoipa::path(
    get,
    path = "/login/wait/status",
    tag = "pages",
    responses((status = 200, description = "Where the browser's pending login stands", body = LoginStatus))
)]
async fn status(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let wait = STATUS_WAIT.min(Duration::from_secs(state.settings.approvals.max_wait_secs));
    let (answer, set_cookies) = match redeem(&state, &headers, wait).await? {
        Outcome::SignedIn(set_cookies) => ("signed_in", set_cookies),
        Outcome::Pending => ("pending", Vec::new()),
        Outcome::Denied => ("denied", Vec::new()),
        Outcome::Expired => ("expired", Vec::new()),
        Outcome::Nothing => ("none", Vec::new()),
    };
    Ok(Json(LoginStatus { state: answer })
        .into_response()
        .no_store()
        .with_cookies(set_cookies))
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
    Posted { by: me, .. }: Posted<CsrfForm, Option<SignedIn>>,
) -> PageResult {
    if let Some(me) = me {
        // Already ended elsewhere is as good as ended here.
        match session::revoke(&state, &me.user.id, &me.sid, RevokedBy::User).await {
            Ok(()) | Err(Error::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let clear = cookies::clear(&state, cookies::SESSION);
    Ok(Redirect::to("/login").into_response().with_cookies(clear))
}
