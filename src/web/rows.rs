//! What a page shows of an audit event or a session: plain strings for the templates (which
//! escape them) and for the live stream's JSON (which the script puts in with `textContent`).
//! One place decides the words, so a row looks the same rendered and streamed.

use serde::Serialize;
use serde_json::Value;

use crate::audit::kind;
use crate::domain::user_agent;
use crate::store::{AuditEvent, SessionSummary};

/// One event as a row of a feed.
#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    pub id: i64,
    /// UTC, RFC 3339: the script rewrites it into the viewer's time zone.
    pub at: String,
    pub kind: String,
    /// The kind in words.
    pub label: String,
    /// `pending`, `approved` or `denied`: the colour of the row.
    pub tone: &'static str,
    /// What was done: the request of a token use, or the app of a sign-in.
    pub what: String,
    /// From where: address and the user agent in words.
    pub from: String,
    /// The user agent as sent (shown escaped, so a person sees exactly what came).
    pub user_agent: String,
    pub sid: String,
    /// The session's first characters: enough to tell sessions apart on screen.
    pub sid_short: String,
}

impl From<&AuditEvent> for EventRow {
    fn from(e: &AuditEvent) -> Self {
        let detail: Value = e
            .detail
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or(Value::Null);
        let user_agent = e.user_agent.clone().unwrap_or_default();
        let from = match (&e.ip, user_agent.is_empty()) {
            (Some(ip), false) => format!("{} · {ip}", user_agent::describe(&user_agent)),
            (Some(ip), true) => ip.clone(),
            (None, false) => user_agent::describe(&user_agent),
            (None, true) => String::new(),
        };
        EventRow {
            id: e.id,
            at: utc(e.at),
            kind: e.kind.clone(),
            label: label(&e.kind).to_owned(),
            tone: tone(&e.kind),
            what: what(e, &detail),
            from,
            user_agent,
            sid: e.sid.clone().unwrap_or_default(),
            sid_short: e.sid.as_deref().map(short).unwrap_or_default().to_owned(),
        }
    }
}

/// A session as a row, with its use so far.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: String,
    pub client_name: String,
    pub browser: String,
    pub user_agent: String,
    pub ip: String,
    pub created_at: String,
    pub last_used_at: String,
    pub use_count: i64,
    /// The session of the browser looking at the page.
    pub current: bool,
}

impl SessionRow {
    /// `current_sid` is the viewer's own session, if it is a web sign-in.
    pub fn new(s: SessionSummary, current_sid: Option<&str>) -> Self {
        SessionRow {
            current: current_sid == Some(s.id.as_str()),
            browser: user_agent::describe(&s.user_agent),
            created_at: utc(s.created_at),
            last_used_at: s.last_used_at.map(utc).unwrap_or_default(),
            id: s.id,
            client_name: s.client_name,
            user_agent: s.user_agent,
            ip: s.ip,
            use_count: s.use_count,
        }
    }
}

/// The first 8 characters of an id.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// Unix ms as UTC RFC 3339 (seconds).
pub fn utc(ms: i64) -> String {
    let at =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_seconds(at).to_string()
}

/// An event kind in words.
pub fn label(event_kind: &str) -> &str {
    match event_kind {
        kind::LOGIN_REQUESTED => "Sign-in requested",
        kind::LOGIN_REFUSED => "Sign-in refused",
        kind::NOTIFICATION_SENT => "Phone notified",
        kind::NOTIFICATION_FAILED => "Notification failed",
        kind::APPROVED => "Approved",
        kind::DENIED => "Denied",
        kind::FRAUD => "Reported: not me",
        kind::TOKEN_ISSUED => "Signed in",
        kind::TOKEN_REFRESHED => "Token refreshed",
        kind::TOKEN_USED => "Token used",
        kind::TOKEN_REJECTED => "Token refused",
        kind::REFRESH_REUSE => "Refresh token reused",
        kind::SESSION_REVOKED => "Session ended",
        other => other,
    }
}

fn tone(event_kind: &str) -> &'static str {
    match event_kind {
        kind::APPROVED | kind::TOKEN_ISSUED | kind::TOKEN_USED | kind::TOKEN_REFRESHED => {
            "approved"
        }
        kind::DENIED
        | kind::FRAUD
        | kind::LOGIN_REFUSED
        | kind::NOTIFICATION_FAILED
        | kind::TOKEN_REJECTED
        | kind::REFRESH_REUSE
        | kind::SESSION_REVOKED => "denied",
        _ => "pending",
    }
}

fn what(e: &AuditEvent, detail: &Value) -> String {
    let request = [e.method.as_deref(), e.host.as_deref(), e.path.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if !request.is_empty() {
        return match &e.resource_server {
            Some(rs) => format!("{request} (via {rs})"),
            None => request,
        };
    }
    let field = |name: &str| detail.get(name).and_then(Value::as_str).map(str::to_owned);
    field("client_name")
        .or_else(|| field("reason").map(|r| r.replace('_', " ")))
        .or_else(|| field("by").map(|by| format!("by {by}")))
        .or_else(|| field("provider"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_use_reads_as_its_request_and_a_sign_in_as_its_app() {
        let mut used = crate::audit::event("u1", kind::TOKEN_USED, 0);
        used.method = Some("GET".into());
        used.host = Some("api.example".into());
        used.path = Some("/orders".into());
        let row = EventRow::from(&used);
        assert_eq!(row.what, "GET api.example /orders");
        assert_eq!(row.at, "1970-01-01T00:00:00Z");
        assert_eq!(row.tone, "approved");

        let mut asked = crate::audit::event("u1", kind::LOGIN_REQUESTED, 0);
        asked.detail = Some(r#"{"client_name":"nod web"}"#.into());
        asked.ip = Some("10.0.0.1".into());
        asked.user_agent = Some("curl/8".into());
        let row = EventRow::from(&asked);
        assert_eq!(
            (row.what.as_str(), row.from.as_str()),
            ("nod web", "curl · 10.0.0.1")
        );
    }
}
