//! The JSON API: one module per endpoint group, each with its own `router()`; this file merges
//! them and adds the layers every route shares (body limit, timeout, tracing, JSON fallbacks).

mod device;
pub mod extract;
mod feed;
mod health;
mod introspect;
mod login;
mod observe;
mod request_id;
mod revoke;
mod sessions;
mod testing;
mod token;
mod verify;
mod wellknown;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::{HeaderName, Request, StatusCode};
use tower_http::request_id::{PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::Error;
use crate::state::AppState;

/// The whole HTTP surface of nod.
pub fn router(state: AppState) -> Router {
    let settings = state.settings.clone();
    let mut router = Router::new()
        .merge(login::router())
        .merge(token::router())
        .merge(device::router())
        .merge(verify::router())
        .merge(introspect::router())
        .merge(revoke::router())
        .merge(feed::router())
        .merge(sessions::router())
        .merge(wellknown::router())
        .merge(health::router())
        .merge(observe::router());
    if settings.notify.test_endpoint {
        router = router.merge(testing::router());
    }
    router
        .fallback(|| async { Error::NotFound })
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .layer(axum::middleware::from_fn(observe::track))
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
        .with_state(state)
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
