//! The pages' live feeds, as Server-Sent Events: `/activity/stream` for a web sign-in and
//! `/phone/stream` for a paired phone (both by cookie). Each `data` is a row in the pages'
//! words ([`EventRow`]), which the script adds with `textContent`, never as HTML. The stream
//! ends when the session or device is revoked (see `flows::feed::live`).

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::rows::EventRow;
use super::viewer;
use crate::error::{Error, Result};
use crate::flows::feed::live::{Viewer, follow};
use crate::flows::feed::parse_filter;
use crate::state::AppState;
use crate::store::AuditFilter;

/// Comment lines this often keep proxies and phones from dropping an idle stream.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// The pages' live updates: `/activity/stream` and `/phone/stream` (server-sent events).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(activity_stream))
        .routes(routes!(phone_stream))
}

/// The `/activity` filters a stream keeps (time filters do not apply to new events).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct StreamParams {
    /// Only this session's events.
    sid: Option<String>,
    /// Only events of this kind.
    kind: Option<String>,
}

/// New events of the signed-in person, live.
#[utoipa::path(
    get,
    path = "/activity/stream",
    tag = "pages",
    params(StreamParams),
    responses(
        (status = 200, description = "An event stream; each `data` is one feed row", content_type = "text/event-stream"),
        (status = 401, description = "Not signed in"),
    )
)]
async fn activity_stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: std::result::Result<Query<StreamParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response> {
    let Query(params) = params?;
    let me = viewer::signed_in(&state, &headers)
        .await?
        .ok_or(Error::InvalidToken("not signed in"))?;
    let filter = parse_filter(
        &state,
        &me.user.id,
        params.kind.as_deref(),
        params.sid.as_deref(),
    )
    .await?;
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
    responses(
        (status = 200, description = "An event stream; each `data` is one feed row", content_type = "text/event-stream"),
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
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|id| *id >= 0);
    let live = follow(state, viewer, filter, after).await?;
    let events = live.map(|item| match item {
        Ok(event) => Event::default()
            .id(event.id.to_string())
            .json_data(EventRow::from(event.as_ref())),
        Err(e) => {
            // The browser's EventSource reconnects by itself.
            tracing::warn!(error = %e, "page feed stream ended by an error");
            Err(axum::Error::new(e))
        }
    });
    let sse = Sse::new(events).keep_alive(KeepAlive::new().interval(HEARTBEAT));
    // nginx buffers responses by default, which would hold events back until a buffer fills.
    let no_buffering = (
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    Ok((StatusCode::OK, [no_buffering], sse).into_response())
}
