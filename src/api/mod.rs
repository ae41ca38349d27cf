//! The JSON API: one module per endpoint group, each with its own `router()`; this file gathers
//! them for [`crate::routes`], which merges them with the pages and adds the shared layers.
//! Routes are registered through utoipa's `OpenApiRouter`, so the same registration builds the
//! router and the `/openapi.json` document (see [`openapi`]).

mod device;
mod devices;
mod enroll;
pub mod extract;
mod feed;
mod health;
mod introspect;
mod login;
mod observe;
pub mod openapi;
mod revoke;
mod sessions;
mod testing;
mod token;
mod verify;
mod wellknown;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub use observe::track as track_requests;

/// Every always-mounted API route with its OpenAPI operation, and `/openapi.json` itself.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(login::router())
        .merge(token::router())
        .merge(device::router())
        .merge(devices::router())
        .merge(enroll::router())
        .merge(verify::router())
        .merge(introspect::router())
        .merge(revoke::router())
        .merge(feed::router())
        .merge(sessions::router())
        .merge(wellknown::router())
        .merge(health::router())
        .routes(routes!(openapi::openapi_json))
}

/// `/metrics`: on the main listener, or alone on its own (`server.metrics.bind`).
pub fn metrics_routes() -> OpenApiRouter<AppState> {
    observe::router()
}

/// `GET /v1/test/notifications`, mounted only with `notify.test_endpoint`.
pub fn test_routes() -> OpenApiRouter<AppState> {
    testing::router()
}
