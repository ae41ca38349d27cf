//! `/activity/export?format=csv|jsonl`: everything `/activity` selects with the same filters —
//! every page, not one — as a file to download, written a page at a time while it is sent
//! (`flows::feed::export`). The signed-in person's own events only; without a live web
//! sign-in, on to `/login` as the page does, and a bad filter is the page's 400.

use axum::body::Body;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, stream};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{PageError, PageResult};
use super::filters::ActivityFilters;
use super::form::PageQuery;
use super::page::ResponseExt;
use super::viewer::SignedIn;
use crate::error::{Error, Result};
use crate::flows::feed::export::{self, Format};
use crate::flows::feed::{self, non_empty};
use crate::state::AppState;

/// The download of `/activity`'s selection.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(download))
}

/// What to write the file as.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct FormatParam {
    /// `csv` (RFC 4180, a header row) or `jsonl` (one event JSON a line, as the device API's
    /// feed prints it).
    #[param(required = true, pattern = "^(csv|jsonl)$")]
    format: Option<String>,
}

/// The format asked for, checked before anything else (a bad one is the page's 400 whether or
/// not the caller is signed in, as the document says of the parameter).
struct Wanted(Format);

impl FromRequestParts<AppState> for Wanted {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let PageQuery(param) = PageQuery::<FormatParam>::from_request_parts(parts, state).await?;
        non_empty(param.format.as_deref())
            .and_then(Format::parse)
            .map(Wanted)
            .ok_or_else(|| Error::InvalidRequest("format must be csv or jsonl".to_owned()).into())
    }
}

/// Every event `/activity` shows for these filters, newest first, as a file.
#[utoipa::path(
    get,
    path = "/activity/export",
    tag = "pages",
    params(ActivityFilters, FormatParam),
    responses(
        (status = 200, description = "The file, as an attachment `nod-activity-YYYYMMDD.csv` (or `.jsonl`), streamed", content(("text/csv"), ("application/x-ndjson"))),
        (status = 303, description = "Not signed in: to `/login`"),
        (status = 400, description = "A bad filter or format", content_type = "text/html"),
        (status = 404, description = "A session that is not this person's", content_type = "text/html"),
    )
)]
async fn download(
    State(state): State<AppState>,
    Wanted(format): Wanted,
    PageQuery(filters): PageQuery<ActivityFilters>,
    me: SignedIn,
) -> PageResult {
    Ok(file(&state, me, &filters, format).await?)
}

/// Checks the request, reads the first page (so a failure there is still an error page), then
/// streams the rest. A failure later can only cut the transfer short, which the client sees as
/// an incomplete download, never as a whole file.
async fn file(
    state: &AppState,
    me: SignedIn,
    filters: &ActivityFilters,
    format: Format,
) -> Result<Response> {
    let (filter, _) = feed::selection(state, &me.user.id, &filters.request(None)).await?;
    let mut chunks = Box::pin(export::stream(state.clone(), me.user.id, filter, format));
    let first = chunks.next().await.transpose()?.unwrap_or_default();
    let rest =
        chunks.map(|chunk| chunk.inspect_err(|e| tracing::error!(error = %e, "export cut short")));
    let body = Body::from_stream(stream::once(async { Ok::<_, Error>(first) }).chain(rest));
    let attachment = format!(
        "attachment; filename=\"nod-activity-{}.{}\"",
        day(state.clock.now_ms()),
        format.extension()
    );
    let attachment = HeaderValue::from_str(&attachment)
        .map_err(|e| Error::Internal(format!("the export's file name: {e}")))?;
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        ),
        (header::CONTENT_DISPOSITION, attachment),
    ];
    Ok((StatusCode::OK, headers, body).into_response().no_store())
}

/// Unix ms as the UTC day `YYYYMMDD`, for the file name.
fn day(ms: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.try_into().unwrap_or(0));
    humantime::format_rfc3339_seconds(at)
        .to_string()
        .chars()
        .take(10)
        .filter(char::is_ascii_digit)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_named_after_the_utc_day() {
        assert_eq!(day(0), "19700101");
        // 2026-11-30T23:59:59.999Z
        assert_eq!(day(1_796_083_199_999), "20261130");
    }
}
