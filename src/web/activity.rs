//! `/activity`: the signed-in person's token-use history — filters (session, kind, a time range
//! in the viewer's wall-clock time), an "Older" link with a signed cursor, new events live over
//! SSE — and their sessions with Revoke. Without a live web sign-in it sends the browser to
//! `/login`.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::csrf::CsrfForm;
use super::rows::{EventRow, SessionRow, short};
use super::viewer::{self, SignedIn};
use super::wall_time::{TzOffset, WallTime};
use super::{cookies, csrf, page};
use crate::audit::kind;
use crate::error::{Error, Result};
use crate::flows::feed::parse_filter;
use crate::flows::session::{self, RevokedBy};
use crate::state::AppState;
use crate::store::{AuditCursor, AuditFilter};

/// Events per page.
const PAGE: u32 = 25;

/// `GET /activity` (the signed-in person's feed and sessions) and its per-session Revoke.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show))
        .routes(routes!(revoke))
}

/// The filter form, as the browser sends it (text; empty means "any").
#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
struct ActivityParams {
    /// Only this session's events.
    sid: Option<String>,
    /// Only events of this kind.
    kind: Option<String>,
    /// From this wall-clock time on (`YYYY-MM-DDTHH:MM[:SS]`, in the `tz` zone; a bare
    /// `YYYY-MM-DD` means its midnight).
    from: Option<String>,
    /// Up to and including this minute (or second, or whole `YYYY-MM-DD` day), in the `tz` zone.
    to: Option<String>,
    /// The viewer's offset from UTC in minutes, as JavaScript's `getTimezoneOffset()` gives it
    /// (UTC+10 is `-600`); the page's script fills it. Without it the times are UTC.
    tz: Option<String>,
    /// The "Older" link's cursor.
    before: Option<String>,
}

/// A filter choice for the template.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage<'a> {
    username: &'a str,
    csrf: &'a str,
    events: Vec<EventRow>,
    sessions: Vec<SessionRow>,
    session_choices: Vec<Choice>,
    kind_choices: Vec<Choice>,
    /// The range shown back in the `datetime-local` inputs.
    from: String,
    to: String,
    /// The hidden `tz` field, normalised (empty without one, so the note can say "UTC").
    tz: String,
    /// The zone the range is read in, in words ("UTC", "UTC+10:00").
    zone: String,
    filtered: bool,
    /// The "Older" link, filters kept.
    older: Option<String>,
    /// The live stream for this filter; only on the newest page.
    stream: Option<String>,
}

/// The history page.
#[utoipa::path(
    get,
    path = "/activity",
    tag = "pages",
    params(ActivityParams),
    responses(
        (status = 200, description = "Token-use history, sessions, filters", content_type = "text/html"),
        (status = 303, description = "Not signed in: to `/login`"),
        (status = 400, description = "A bad filter or cursor", content_type = "text/html"),
    )
)]
async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: std::result::Result<Query<ActivityParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let result = async {
        let Query(params) = params?;
        let Some(me) = viewer::signed_in(&state, &headers).await? else {
            return Ok(Redirect::to("/login").into_response());
        };
        render(&state, &headers, &me, &params).await
    };
    result.await.unwrap_or_else(|e| page::error(&e))
}

async fn render(
    state: &AppState,
    headers: &HeaderMap,
    me: &SignedIn,
    params: &ActivityParams,
) -> Result<Response> {
    let user_id = &me.user.id;
    let mut filter = parse_filter(
        state,
        user_id,
        params.kind.as_deref(),
        params.sid.as_deref(),
    )
    .await?;
    let range = TimeRange::parse(params)?;
    filter.since = range.from.map(|from| from.start_ms(range.tz));
    filter.until = range.to.map(|to| to.end_ms(range.tz));
    let cursor = match non_empty(params.before.as_deref()) {
        Some(raw) => AuditCursor::Before(state.cursors.decode(user_id, raw)?),
        None => AuditCursor::Newest,
    };
    let mut events = state
        .store
        .audit_page(user_id, cursor, PAGE + 1, &filter)
        .await?;
    let more = events.len() > PAGE as usize;
    events.truncate(PAGE as usize);
    let older = match events.last() {
        Some(last) if more => Some(link(
            "/activity",
            params,
            Some(&state.cursors.encode(user_id, last.id)),
        )),
        _ => None,
    };
    // Live only where new events would show: the newest page, no end day.
    let stream = (cursor == AuditCursor::Newest && filter.until.is_none())
        .then(|| link("/activity/stream", params, None));
    let now = state.clock.now_ms();
    let sessions: Vec<SessionRow> = state
        .store
        .active_sessions(user_id, now)
        .await?
        .into_iter()
        .map(|s| SessionRow::new(s, Some(&me.sid)))
        .collect();
    let token = csrf::reuse_or_new(headers)?;
    let page_html = ActivityPage {
        username: &me.user.username,
        csrf: &token,
        events: events.iter().map(EventRow::from).collect(),
        session_choices: session_choices(&sessions, &filter),
        kind_choices: kind_choices(&filter),
        sessions,
        from: range
            .from
            .map(|from| from.input_value_as_start())
            .unwrap_or_default(),
        to: range
            .to
            .map(|to| to.input_value_as_end())
            .unwrap_or_default(),
        tz: non_empty(params.tz.as_deref())
            .map(|_| range.tz.minutes().to_string())
            .unwrap_or_default(),
        zone: range.tz.to_string(),
        filtered: filter != AuditFilter::default(),
        older,
        stream,
    };
    let mut response = page::render(StatusCode::OK, &page_html);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(cookie) = cookies::build(state, cookies::CSRF, &token, 3600) {
        headers.append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

fn session_choices(sessions: &[SessionRow], filter: &AuditFilter) -> Vec<Choice> {
    let mut choices: Vec<Choice> = sessions
        .iter()
        .map(|s| Choice {
            value: s.id.clone(),
            label: format!("{} · {} · {}", s.client_name, s.browser, short(&s.id)),
            selected: filter.sid.as_deref() == Some(s.id.as_str()),
        })
        .collect();
    // A filter on an ended session (from a row's link) stays visible in the form.
    if let Some(sid) = &filter.sid
        && !choices.iter().any(|c| c.selected)
    {
        choices.push(Choice {
            value: sid.clone(),
            label: format!("ended session {}", short(sid)),
            selected: true,
        });
    }
    choices
}

fn kind_choices(filter: &AuditFilter) -> Vec<Choice> {
    kind::ALL
        .iter()
        .map(|k| Choice {
            value: (*k).to_owned(),
            label: super::rows::label(k).to_owned(),
            selected: filter.kind.as_deref() == Some(*k),
        })
        .collect()
}

/// `path` with the current filters (and `before`, if given) as its query string.
fn link(path: &str, params: &ActivityParams, before: Option<&str>) -> String {
    let mut url = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("sid", &params.sid),
        ("kind", &params.kind),
        ("from", &params.from),
        ("to", &params.to),
        ("tz", &params.tz),
    ] {
        if let Some(value) = non_empty(value.as_deref()) {
            url.append_pair(name, value);
        }
    }
    if let Some(before) = before {
        url.append_pair("before", before);
    }
    let query = url.finish();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// The time filter, parsed: wall-clock times and the zone they are read in.
struct TimeRange {
    from: Option<WallTime>,
    to: Option<WallTime>,
    /// UTC when the page came without its script (no `tz`), as the page then says.
    tz: TzOffset,
}

impl TimeRange {
    fn parse(params: &ActivityParams) -> Result<Self> {
        let wall_time = |raw: Option<&str>, name: &str| {
            non_empty(raw)
                .map(|raw| {
                    WallTime::parse(raw).ok_or_else(|| {
                        Error::InvalidRequest(format!(
                            "{name} must be a date and time as YYYY-MM-DDTHH:MM \
                             (or a day as YYYY-MM-DD)"
                        ))
                    })
                })
                .transpose()
        };
        let tz = match non_empty(params.tz.as_deref()) {
            None => TzOffset::UTC,
            Some(raw) => TzOffset::parse(raw).ok_or_else(|| {
                Error::InvalidRequest(
                    "tz must be the offset from UTC in whole minutes, as the browser gives it \
                     (-840 to 840)"
                        .to_owned(),
                )
            })?,
        };
        Ok(TimeRange {
            from: wall_time(params.from.as_deref(), "from")?,
            to: wall_time(params.to.as_deref(), "to")?,
            tz,
        })
    }
}

fn non_empty(raw: Option<&str>) -> Option<&str> {
    raw.filter(|s| !s.is_empty())
}

/// Ends one of the signed-in person's sessions (its tokens stop working at once).
#[utoipa::path(
    post,
    path = "/activity/sessions/{sid}/revoke",
    tag = "pages",
    params(("sid" = String, Path, description = "The session id")),
    request_body(content = CsrfForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Revoked: back to `/activity` (or to `/login` when not signed in)"),
        (status = 403, description = "Missing or wrong CSRF token: nothing changed", content_type = "text/html"),
        (status = 404, description = "Unknown, ended, or not this user's session", content_type = "text/html"),
    )
)]
async fn revoke(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    form: std::result::Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let result = async {
        let Form(form) = form?;
        csrf::check(&headers, form.csrf.as_deref())?;
        let Some(me) = viewer::signed_in(&state, &headers).await? else {
            return Ok(Redirect::to("/login").into_response());
        };
        session::revoke(&state, &me.user.id, &sid, RevokedBy::User).await?;
        Ok::<_, Error>(Redirect::to("/activity").into_response())
    };
    result.await.unwrap_or_else(|e| page::error(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_is_read_in_the_viewers_zone_and_bad_input_is_a_400() {
        let params = |from: &str, tz: &str| ActivityParams {
            from: Some(from.into()),
            tz: Some(tz.into()),
            ..ActivityParams::default()
        };
        let range = TimeRange::parse(&params("1970-01-01T10:00", "-600")).unwrap();
        assert_eq!(range.from.map(|f| f.start_ms(range.tz)), Some(0));
        let utc = TimeRange::parse(&params("1970-01-02", "")).unwrap();
        assert_eq!(utc.tz, TzOffset::UTC);
        for (from, tz) in [("yesterday", "0"), ("1970-01-02T10:00", "-900")] {
            let err = TimeRange::parse(&params(from, tz)).err().unwrap();
            assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{from} {tz}");
        }
    }

    #[test]
    fn links_keep_the_filters_and_leave_out_empty_ones() {
        let params = ActivityParams {
            kind: Some("token_used".into()),
            sid: Some(String::new()),
            from: Some("2026-11-30T09:00".into()),
            tz: Some("-600".into()),
            ..ActivityParams::default()
        };
        assert_eq!(
            link("/activity", &params, Some("c1")),
            "/activity?kind=token_used&from=2026-11-30T09%3A00&tz=-600&before=c1"
        );
        assert_eq!(
            link("/activity/stream", &ActivityParams::default(), None),
            "/activity/stream"
        );
    }
}
