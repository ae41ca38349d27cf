//! Reading a user's audit feed: newest-first pages with opaque cursors ([`crate::audit::cursor`]), a live
//! follow that never skips nor repeats an event ([`live`]), and the one JSON view of an event
//! that the API, the stream and the CLI all print.

pub mod live;

use serde::Serialize;
use serde_json::Value;

use crate::audit::kind;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{AuditCursor, AuditEvent, AuditFilter};

/// Events per page when the client does not say.
pub const DEFAULT_LIMIT: u32 = 50;
/// The most events one page may hold: pages stay cheap however old the feed is.
pub const MAX_LIMIT: u32 = 200;

/// One event as clients see it: times in Unix ms, `detail` as a JSON object, absent fields
/// omitted. The owner's user id is left out: the caller already knows whose feed it reads.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Value>,
}

impl From<&AuditEvent> for EventView {
    fn from(e: &AuditEvent) -> Self {
        EventView {
            id: e.id,
            at: e.at,
            kind: e.kind.clone(),
            sid: e.sid.clone(),
            jti: e.jti.clone(),
            device_id: e.device_id.clone(),
            ip: e.ip.clone(),
            user_agent: e.user_agent.clone(),
            method: e.method.clone(),
            host: e.host.clone(),
            path: e.path.clone(),
            resource_server: e.resource_server.clone(),
            // Details are written as JSON by nod itself; a row that is not (older data, a
            // hand edit) still shows, as a string, rather than failing the whole page.
            detail: e
                .detail
                .as_deref()
                .map(|d| serde_json::from_str(d).unwrap_or_else(|_| Value::String(d.to_owned()))),
        }
    }
}

/// One page of the feed and where the next (older) one starts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeedPage {
    pub events: Vec<EventView>,
    /// Pass as `before` for the next page; `null` on the last page.
    pub next: Option<String>,
}

/// What a client asked for, as it came (query strings are text).
#[derive(Debug, Default, Clone)]
pub struct PageRequest<'a> {
    pub limit: Option<&'a str>,
    pub before: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub sid: Option<&'a str>,
}

/// A page size between 1 and [`MAX_LIMIT`]; [`DEFAULT_LIMIT`] when absent.
pub fn parse_limit(raw: Option<&str>) -> Result<u32> {
    match non_empty(raw) {
        None => Ok(DEFAULT_LIMIT),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                Error::InvalidRequest(format!("limit must be a number from 1 to {MAX_LIMIT}"))
            }),
    }
}

/// The filter a client asked for, checked: `kind` must be a known kind (`400` otherwise) and
/// `sid` one of this user's sessions (`404` otherwise, like any id that is not theirs).
pub async fn parse_filter(
    state: &AppState,
    user_id: &str,
    kind: Option<&str>,
    sid: Option<&str>,
) -> Result<AuditFilter> {
    let kind = match non_empty(kind) {
        Some(k) if kind::ALL.contains(&k) => Some(k.to_owned()),
        Some(_) => {
            return Err(Error::InvalidRequest(format!(
                "kind must be one of: {}",
                kind::ALL.join(", ")
            )));
        }
        None => None,
    };
    let sid = match non_empty(sid) {
        Some(sid) => {
            state
                .store
                .session_by_id(sid)
                .await?
                .filter(|s| s.user_id == user_id)
                .ok_or(Error::NotFound)?;
            Some(sid.to_owned())
        }
        None => None,
    };
    Ok(AuditFilter {
        kind,
        sid,
        ..AuditFilter::default()
    })
}

/// A page of `user_id`'s feed, newest first. Paging is keyset by event id, so events recorded
/// between two page requests never shift a later page: they are newer than every page but the
/// first.
pub async fn page(state: &AppState, user_id: &str, request: PageRequest<'_>) -> Result<FeedPage> {
    let limit = parse_limit(request.limit)?;
    let cursor = match non_empty(request.before) {
        Some(raw) => AuditCursor::Before(state.cursors.decode(user_id, raw)?),
        None => AuditCursor::Newest,
    };
    let filter = parse_filter(state, user_id, request.kind, request.sid).await?;
    // One more than asked tells whether another page exists, so the last page says `null`
    // instead of sending the client after an empty one.
    let mut events = state
        .store
        .audit_page(user_id, cursor, limit + 1, &filter)
        .await?;
    let more = events.len() > limit as usize;
    events.truncate(limit as usize);
    let next = match events.last() {
        Some(last) if more => Some(state.cursors.encode(user_id, last.id)),
        _ => None,
    };
    Ok(FeedPage {
        events: events.iter().map(EventView::from).collect(),
        next,
    })
}

/// Treats an empty query value (`?kind=` from a form's "any" choice) as absent.
fn non_empty(raw: Option<&str>) -> Option<&str> {
    raw.filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_outside_one_to_two_hundred_are_refused() {
        assert_eq!(parse_limit(None).ok(), Some(DEFAULT_LIMIT));
        assert_eq!(parse_limit(Some("")).ok(), Some(DEFAULT_LIMIT));
        assert_eq!(parse_limit(Some("1")).ok(), Some(1));
        assert_eq!(parse_limit(Some("200")).ok(), Some(200));
        for bad in ["0", "201", "-1", "ten", "1.5", "99999999999"] {
            assert!(parse_limit(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_view_parses_detail_and_leaves_out_absent_fields() {
        let mut e = crate::audit::event("u1", kind::APPROVED, 1_000);
        e.id = 7;
        e.detail = Some(r#"{"approval_id":"a1"}"#.into());
        let json = serde_json::to_value(EventView::from(&e)).ok();
        assert_eq!(
            json,
            Some(serde_json::json!({
                "id": 7, "at": 1000, "kind": "approved", "detail": {"approval_id": "a1"}
            }))
        );
    }
}
