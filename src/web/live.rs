//! The pages' live feeds, as Server-Sent Events: `/activity/stream` for a web sign-in and
//! `/phone/stream` for a paired phone (both by cookie). Each `data` is a row in the pages'
//! words ([`EventRow`]), which the script adds with `textContent`, never as HTML. The stream
//! ends when the session or device is revoked (see `flows::feed::live`).

use axum::extract::{FromRequestParts, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::response::sse::Event;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::rows::EventRow;
use super::viewer;
use crate::error::{Error, Result};
use crate::flows::feed::live::{Viewer, follow};
use crate::flows::feed::parse_filter;
use crate::http::sse;
use crate::state::AppState;
use crate::store::AuditFilter;

/// The two live feeds of the pages.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(activity_stream))
        .routes(routes!(phone_stream))
}

/// The `/activity` filters a stream keeps (time filters do not apply to new events); a bad
/// query string is answered in our JSON shape, like the rest of a stream's errors (the script
/// reads them, not a person).
#[derive(Deserialize, IntoParams, FromRequestParts)]
#[into_params(parameter_in = Query)]
#[from_request(via(Query), rejection(Error))]
struct StreamParams {
    /// Only this session's events.
    sid: Option<String>,
    /// Only events of this kind.
    kind: Option<String>,
}

impl StreamParams {
    /// The filter for `user_id`'s stream.
    async fn filter(&self, state: &AppState, user_id: &str) -> Result<AuditFilter> {
        parse_filter(state, user_id, self.kind.as_deref(), self.sid.as_deref()).await
    }
}

/// New events of the signed-in person, live.
#[utoipa::path(
    get,
    path = "/activity/stream",
    tag = "pages",
    params(
        StreamParams,
        ("Last-Event-ID" = Option<String>, Header, nullable = false, pattern = "^[0-9]{0,18}$", description = "Resume after this event id (empty: from now); the browser's EventSource sends it on reconnect"),
    ),
    responses(
        (status = 200, description = "An event stream; each `data` is one feed row", content_type = "text/event-stream"),
        (status = 400, description = "Bad kind or Last-Event-ID"),
        (status = 401, description = "Not signed in"),
    )
)]
async fn activity_stream(
    State(state): State<AppState>,
    params: StreamParams,
    headers: HeaderMap,
) -> Result<Response> {
    let me = viewer::signed_in(&state, &headers)
        .await?
        .ok_or(Error::InvalidToken("not signed in"))?;
    let filter = params.filter(&state, &me.user.id).await?;
    let viewer = Viewer::Session {
        sid: me.sid,
        user_id: me.user.id,
    };
    stream(&state, viewer, filter, &headers).await
}

/// New events of the phone's user, live.
#[utoipa::path(
    get,
    path = "/phone/stream",
    tag = "pages",
    params(
        ("Last-Event-ID" = Option<String>, Header, nullable = false, pattern = "^[0-9]{0,18}$", description = "Resume after this event id (empty: from now); the browser's EventSource sends it on reconnect"),
    ),
    responses(
        (status = 200, description = "An event stream; each `data` is one feed row", content_type = "text/event-stream"),
        (status = 400, description = "Bad Last-Event-ID"),
        (status = 401, description = "Not a paired phone"),
    )
)]
async fn phone_stream(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let device = viewer::phone(&state, &headers)
        .await?
        .ok_or(Error::InvalidToken("not a paired phone"))?;
    stream(&state, (&device).into(), AuditFilter::default(), &headers).await
}

async fn stream(
    state: &AppState,
    viewer: Viewer,
    filter: AuditFilter,
    headers: &HeaderMap,
) -> Result<Response> {
    // A reconnecting EventSource says where it was; resuming there leaves no gap.
    let after = sse::last_event_id(headers)?;
    let live = follow(state, viewer, filter, after).await?;
    Ok(sse::respond(live, |event| {
        Event::default()
            .id(event.id.to_string())
            .json_data(EventRow::from(event))
    }))
}
