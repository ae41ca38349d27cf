//! Server-rendered pages (askama templates in `templates/`): they work without JavaScript (one
//! small static script only enhances), carry CSRF protection on every form, and are served with
//! strict security headers. Pairing a phone (`/enroll/{code}`), answering a sign-in request
//! (`/approve/{link}`), the phone's home (`/phone`), signing in on the web (`/login`) and the
//! history of one's tokens (`/activity`). Every route is registered through the OpenAPI
//! router, like the JSON API, so the document lists the pages too.

mod activity;
mod answer;
mod approve;
mod cookies;
mod csrf;
mod enroll;
mod error;
mod export;
mod filters;
mod form;
mod live;
mod login;
mod page;
mod phone;
mod rows;
mod viewer;

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The pages, their stylesheet and their script.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stylesheet))
        .routes(routes!(script))
        .merge(enroll::router())
        .merge(approve::router())
        .merge(phone::router())
        .merge(login::router())
        .merge(activity::router())
        .merge(export::router())
        .merge(live::router())
}

/// The one stylesheet.
#[utoipa::path(
    get,
    path = "/static/style.css",
    tag = "pages",
    responses((status = 200, description = "The stylesheet of the pages", content_type = "text/css"))
)]
async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/style.css"),
    )
        .into_response()
}

/// The one script: local times, the waiting page's long-poll, live feeds.
#[utoipa::path(
    get,
    path = "/static/app.js",
    tag = "pages",
    responses((status = 200, description = "The script of the pages", content_type = "text/javascript"))
)]
async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/app.js"),
    )
        .into_response()
}

/// Security headers on every response: no inline script, no framing, no referrer leaks (the
/// approval and pairing links carry one-time secrets in their paths).
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; \
             img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}
