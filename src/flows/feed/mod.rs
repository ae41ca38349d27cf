//! Reading a user's audit feed: newest-first pages ([`paging`]) with opaque cursors
//! ([`crate::audit::cursor`]), a live follow that never skips nor repeats an event ([`live`]),
//! files of the whole selection ([`export`]), and the one JSON view of an event that the API,
//! the stream, the export and the CLI all print.

pub mod export;
pub mod live;
pub mod paging;

use serde::Serialize;
use serde_json::Value;

use crate::error::Result;
use crate::state::AppState;
use crate::store::AuditEvent;

pub use paging::{
    DEFAULT_LIMIT, MAX_LIMIT, Page, PageRequest, TimeRange, after, every, newest, non_empty,
    parse_filter, read, selection,
};

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

/// A page of `user_id`'s feed as the device API sends it: [`DEFAULT_LIMIT`] events unless the
/// request says otherwise.
pub async fn page(state: &AppState, user_id: &str, request: PageRequest<'_>) -> Result<FeedPage> {
    let page = paging::read(state, user_id, &request, DEFAULT_LIMIT).await?;
    Ok(FeedPage {
        events: page.events.iter().map(EventView::from).collect(),
        next: page.next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_parses_detail_and_leaves_out_absent_fields() {
        let mut e = crate::audit::event("u1", crate::audit::kind::APPROVED, 1_000);
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
