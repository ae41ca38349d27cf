//! Server-rendered pages (askama templates in `templates/`): they work without JavaScript, carry
//! CSRF protection on every form, and are served with strict security headers. So far: pairing
//! a phone (`/enroll/{code}`) and answering a sign-in request (`/approve/{link}`). Every route is registered through the OpenAPI router, like the
//! JSON API, so the document lists the pages too.

mod approve;
mod cookies;
mod csrf;
mod enroll;
mod page;

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The pages and their stylesheet.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stylesheet))
        .merge(enroll::router())
        .merge(approve::router())
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

/// Security headers on every response: no inline script, no framing, no referrer leaks (the
/// approval and pairing links carry one-time secrets in their paths).
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
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
