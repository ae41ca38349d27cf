//! The phone's feed: `GET /v1/device/feed` (newest-first pages) and `GET /v1/device/feed/stream`
//! (the same events live, as Server-Sent Events). Everything is scoped to the authenticated
//! device's user; a cursor or session id that is not theirs is `404`.

use axum::Json;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::response::sse::Event;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{Error, ErrorBody, Result};
use crate::flows::feed::{self, EventView, FeedPage, PageRequest};
use crate::http::device::DeviceAuth;
use crate::http::sse;
use crate::state::AppState;
use crate::store::AuditEvent;

/// `GET /v1/device/feed` (pages) and `GET /v1/device/feed/stream` (server-sent events).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_feed))
        .routes(routes!(stream_feed))
}

/// A query string that rejects into our error shape (never axum's plain-text default).
#[derive(FromRequestParts)]
#[from_request(via(Query), rejection(Error))]
struct ApiQuery<T>(T);

/// `?limit=&before=&kind=&sid=`, as text: `flows::feed` parses it so every bad value gets a
/// message of ours.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct FeedParams {
    /// Page size, 1 to 200 (default 50; empty is the default).
    #[param(pattern = "^(\\+?0*([1-9][0-9]?|1[0-9][0-9]|200))?$")]
    limit: Option<String>,
    /// The `next` cursor of the previous page.
    before: Option<String>,
    /// Only events of this kind (`approved`, `token_used`, …); empty for any.
    #[param(value_type = Option<KindParam>, inline)]
    kind: Option<String>,
    /// Only events of this session.
    sid: Option<String>,
}

/// The schema of `kind`: an event kind, or empty for any. Only describes the parameter.
struct KindParam;

impl utoipa::PartialSchema for KindParam {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let kinds = std::iter::once("").chain(crate::audit::kind::ALL.iter().copied());
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(kinds))
            .into()
    }
}

impl utoipa::ToSchema for KindParam {}

/// `?kind=&sid=` of the stream, which has no pages.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct StreamParams {
    /// Only events of this kind (`approved`, `token_used`, …); empty for any.
    #[param(value_type = Option<KindParam>, inline)]
    kind: Option<String>,
    /// Only events of this session.
    sid: Option<String>,
}

/// The user's events, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/v1/device/feed",
    tag = "device",
    security(("device" = [])),
    params(FeedParams),
    responses(
        (status = 200, description = "One page of events", body = FeedPage),
        (status = 400, description = "Bad limit, cursor or kind", body = ErrorBody),
        (status = 401, description = "Missing or unknown device secret; for a device with a key, a missing, bad or replayed DPoP proof (`invalid_dpop_proof`, `WWW-Authenticate: DPoP`)", body = ErrorBody),
        (status = 404, description = "Cursor or session not this user's", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable` with `Retry-After`: the DPoP replay cache is full of live proofs, or the database cannot be reached", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
async fn list_feed(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    ApiQuery(params): ApiQuery<FeedParams>,
) -> Result<Json<FeedPage>> {
    let request = PageRequest {
        limit: params.limit.as_deref(),
        before: params.before.as_deref(),
        kind: params.kind.as_deref(),
        sid: params.sid.as_deref(),
        // The device API has no time range parameters.
        ..PageRequest::default()
    };
    Ok(Json(feed::page(&state, &device.user_id, request).await?))
}

/// The user's events live, as Server-Sent Events (`id`, `event` = kind, `data` = the event as
/// JSON); resumes after `Last-Event-ID`.
#[utoipa::path(
    get,
    path = "/v1/device/feed/stream",
    tag = "device",
    security(("device" = [])),
    params(
        StreamParams,
        ("Last-Event-ID" = Option<String>, Header, nullable = false, pattern = "^[0-9]{0,18}$", description = "Resume after this event id (empty: from now)"),
    ),
    responses(
        (status = 200, description = "An event stream; each `data` is one event", content_type = "text/event-stream", body = EventView),
        (status = 400, description = "Bad kind or Last-Event-ID", body = ErrorBody),
        (status = 401, description = "Missing or unknown device secret; for a device with a key, a missing, bad or replayed DPoP proof (`invalid_dpop_proof`, `WWW-Authenticate: DPoP`)", body = ErrorBody),
        (status = 404, description = "Session not this user's", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable` with `Retry-After`: the DPoP replay cache is full of live proofs, or the database cannot be reached", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
async fn stream_feed(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<StreamParams>,
) -> Result<Response> {
    let after = sse::last_event_id(&headers)?;
    let filter = feed::parse_filter(
        &state,
        &device.user_id,
        params.kind.as_deref(),
        params.sid.as_deref(),
    )
    .await?;
    let live = feed::live::follow(&state, (&device).into(), filter, after).await?;
    Ok(sse::respond(live, sse_event))
}

/// `id:` the event id, `event:` its kind, `data:` the same JSON as a page entry.
fn sse_event(event: &AuditEvent) -> Result<Event, axum::Error> {
    let mut sse = Event::default()
        .id(event.id.to_string())
        .json_data(EventView::from(event))?;
    // axum panics on a line break in a field; kinds are ours and never have one, but a row is
    // data, and a stream must not panic on data.
    if !event.kind.contains(['\r', '\n']) {
        sse = sse.event(&event.kind);
    }
    Ok(sse)
}
