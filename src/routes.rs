//! The whole HTTP surface of nod: the JSON API and the pages, merged into one router with the
//! layers every route shares (body limit, timeout, tracing, request ids, security headers, JSON
//! fallbacks). Routes are registered through utoipa's `OpenApiRouter`, so the same registration
//! builds the router and the `/openapi.json` document.

use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::{HeaderName, Request, StatusCode};
use axum::{Extension, Router};
use tower_http::request_id::{PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::api::openapi;
use crate::error::Error;
use crate::http::request_id;
use crate::state::AppState;

/// Which optional routes the main listener serves.
#[derive(Debug, Clone, Copy)]
pub struct Surface {
    /// `GET /v1/test/notifications` (`notify.test_endpoint`).
    pub test_endpoint: bool,
    /// `/metrics`, unless it has a listener of its own (`server.metrics.bind`).
    pub metrics: bool,
}

/// The main listener's router.
pub fn router(state: AppState) -> Router {
    let settings = state.settings.clone();
    let surface = Surface {
        test_endpoint: settings.notify.test_endpoint,
        metrics: settings.server.metrics.bind.is_none(),
    };
    let (router, mut document) = documented_routes(surface).split_for_parts();
    openapi::document_body_answers(&mut document);
    // Rendering cannot fail for a document of plain strings and maps; an empty body would show
    // up in the tests at once.
    let json = document.to_json().unwrap_or_default();
    let app = router
        .layer(Extension(openapi::Document(json.into())))
        .fallback(|| async { Error::NotFound })
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .layer(axum::middleware::from_fn(crate::api::track_requests))
        .layer(axum::middleware::from_fn(crate::web::security_headers))
        .layer(DefaultBodyLimit::max(settings.server.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            settings.server.request_timeout.0,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::new(HeaderName::from_static(
            request_id::HEADER,
        )))
        .layer(SetRequestIdLayer::new(
            HeaderName::from_static(request_id::HEADER),
            request_id::Counter::new(),
        ))
        .with_state(state);
    if settings.server.tls.files().is_some() {
        app.layer(axum::middleware::from_fn(hsts))
    } else {
        app
    }
}

/// `/metrics` alone, for its own listener (`server.metrics.bind`).
pub fn metrics_router(state: AppState) -> Router {
    let (router, _) = crate::api::metrics_routes().split_for_parts();
    router
        .fallback(|| async { Error::NotFound })
        .with_state(state)
}

/// Adds `Strict-Transport-Security` (mounted only when nod itself serves HTTPS): browsers then
/// never try plain HTTP for this host. Behind a TLS-terminating proxy, the proxy sets it.
async fn hsts(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        axum::http::header::STRICT_TRANSPORT_SECURITY,
        axum::http::HeaderValue::from_static("max-age=31536000"),
    );
    response
}

/// Every route, API and pages, with its OpenAPI operation, from one registration. The optional
/// routes are included only when they are mounted.
pub fn documented_routes(surface: Surface) -> OpenApiRouter<AppState> {
    let mut router = crate::api::routes().merge(crate::web::router());
    if surface.metrics {
        router = router.merge(crate::api::metrics_routes());
    }
    if surface.test_endpoint {
        router = router.merge(crate::api::test_routes());
    }
    router
}

/// The OpenAPI document of the surface as configured (with the test endpoint or without).
pub fn openapi_document(test_endpoint: bool) -> utoipa::openapi::OpenApi {
    let mut document = documented_routes(Surface {
        test_endpoint,
        metrics: true,
    })
    .into_openapi();
    openapi::document_body_answers(&mut document);
    document
}

/// The span of one request: method and route pattern only. The raw URI is never logged, since
/// some paths carry one-time secrets (approval links).
fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", id = %id, method = %request.method(), route = %route)
}
