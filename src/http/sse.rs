//! A followed feed as Server-Sent Events, the one way nod sends them: the device API's
//! `/v1/device/feed/stream` and the pages' `/activity/stream` and `/phone/stream` read
//! `Last-Event-ID` by one rule, beat at one interval and carry the same headers. Only the
//! `data` differs (an API event or a page row), so each caller brings its own encoder.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};

use crate::error::{Error, Result};
use crate::store::AuditEvent;

/// Comment lines this often keep proxies and phones from dropping an idle stream.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// The id a reconnecting client last received (`Last-Event-ID`): absent or empty means "from
/// now"; anything but 1 to 18 digits (the ids nod sends; the document's pattern) is `400`. A
/// browser's `EventSource` only ever re-sends an id it got, so this refuses nothing real.
pub fn last_event_id(headers: &HeaderMap) -> Result<Option<i64>> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("\u{0}");
    if text.is_empty() {
        return Ok(None);
    }
    Some(text)
        .filter(|t| t.len() <= 18 && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| Error::InvalidRequest("Last-Event-ID must be an event id".into()))
}

/// The response for a followed feed (`flows::feed::live::follow`): each event through
/// `encode`, a heartbeat, and no buffering in nginx. A store error ends the stream (logged);
/// the client reconnects with `Last-Event-ID` and resumes where it was.
pub fn respond<F>(
    live: impl Stream<Item = Result<Arc<AuditEvent>>> + Send + 'static,
    encode: F,
) -> Response
where
    F: Fn(&AuditEvent) -> Result<Event, axum::Error> + Send + 'static,
{
    let events = live.map(move |item| match item {
        Ok(event) => encode(&event),
        Err(e) => {
            tracing::warn!(error = %e, "feed stream ended by an error");
            Err(axum::Error::new(e))
        }
    });
    let sse = Sse::new(events).keep_alive(KeepAlive::new().interval(HEARTBEAT));
    // nginx buffers responses by default, which would hold events back until a buffer fills.
    let no_buffering = (
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    ([no_buffering], sse).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert("last-event-id", value);
        }
        headers
    }

    #[test]
    fn last_event_id_is_absent_empty_or_an_event_id() {
        assert_eq!(last_event_id(&HeaderMap::new()).ok(), Some(None));
        assert_eq!(last_event_id(&with("")).ok(), Some(None));
        assert_eq!(last_event_id(&with("0")).ok(), Some(Some(0)));
        assert_eq!(last_event_id(&with("1042")).ok(), Some(Some(1042)));
        for junk in ["abc", "-1", "+1", " 5", "1.5", "1000000000000000000"] {
            assert!(
                matches!(last_event_id(&with(junk)), Err(Error::InvalidRequest(_))),
                "{junk:?}"
            );
        }
    }
}
