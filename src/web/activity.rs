//! `/activity`: the signed-in person's token-use history — filters (session, kind, a time range
//! in the viewer's wall-clock time), an "Older" link with a signed cursor, new events live over
//! SSE — and their sessions with Revoke. Without a live web sign-in it sends the browser to
//! `/login`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::csrf::{CsrfForm, FormToken};
use super::error::PageResult;
use super::filters::ActivityFilters;
use super::form::{PageQuery, Posted};
use super::page::{self, ResponseExt};
use super::rows::{EventRow, SessionRow, short};
use super::viewer::SignedIn;
use crate::audit::kind;
use crate::domain::RevokedBy;
use crate::error::Result;
use crate::flows::feed;
use crate::flows::session;
use crate::state::AppState;
use crate::store::AuditFilter;

/// Events per page.
const PAGE: u32 = 25;

/// The history page and its Revoke buttons.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show))
        .routes(routes!(revoke))
}

/// Where a page of the history starts: the "Older" link's cursor (the newest page without).
#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
struct Position {
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
    /// The downloads of everything this filter selects (all pages), as CSV and JSON Lines.
    export_csv: String,
    export_jsonl: String,
}

/// The history page.
#[utoipa::path(
    get,
    path = "/activity",
    tag = "pages",
    params(ActivityFilters, Position),
    responses(
        (status = 200, description = "Token-use history, sessions, filters", content_type = "text/html"),
        (status = 303, description = "Not signed in: to `/login`"),
        (status = 400, description = "A bad filter or cursor", content_type = "text/html"),
    )
)]
async fn show(
    State(state): State<AppState>,
    PageQuery(filters): PageQuery<ActivityFilters>,
    PageQuery(position): PageQuery<Position>,
    me: SignedIn,
    token: FormToken,
) -> PageResult {
    Ok(render(&state, &me, &filters, &position, &token).await?)
}

async fn render(
    state: &AppState,
    me: &SignedIn,
    filters: &ActivityFilters,
    position: &Position,
    token: &FormToken,
) -> Result<Response> {
    let request = filters.request(position.before.as_deref());
    let page = feed::read(state, &me.user.id, &request, PAGE).await?;
    let older = page
        .next
        .as_deref()
        .map(|cursor| filters.link("/activity", Some(("before", cursor))));
    // Live only where new events would show.
    let stream = page.grows().then(|| filters.link("/activity/stream", None));
    let now = state.clock.now_ms();
    let sessions: Vec<SessionRow> = state
        .store
        .active_sessions(&me.user.id, now)
        .await?
        .into_iter()
        .map(|s| SessionRow::new(s, Some(&me.sid)))
        .collect();
    let range = &page.range;
    let page_html = ActivityPage {
        username: &me.user.username,
        csrf: token.as_str(),
        events: page.events.iter().map(EventRow::from).collect(),
        session_choices: session_choices(&sessions, &page.filter),
        kind_choices: kind_choices(&page.filter),
        sessions,
        from: range
            .from
            .map(|from| from.input_value_as_start())
            .unwrap_or_default(),
        to: range
            .to
            .map(|to| to.input_value_as_end())
            .unwrap_or_default(),
        tz: range
            .tz
            .map(|tz| tz.minutes().to_string())
            .unwrap_or_default(),
        zone: range.zone().to_string(),
        filtered: page.filter != AuditFilter::default(),
        older,
        stream,
        export_csv: filters.link("/activity/export", Some(("format", "csv"))),
        export_jsonl: filters.link("/activity/export", Some(("format", "jsonl"))),
    };
    Ok(page::render(StatusCode::OK, &page_html)
        .no_store()
        .with_cookies(token.cookie(state, 3600)))
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
    Posted { by: me, .. }: Posted<CsrfForm, SignedIn>,
) -> PageResult {
    session::revoke(&state, &me.user.id, &sid, RevokedBy::User).await?;
    Ok(Redirect::to("/activity").into_response())
}
