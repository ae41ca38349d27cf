//! `GET /v1/test/notifications?username=`: what the mock provider captured, for test suites in
//! any language. Mounted only when `notify.test_endpoint = true`.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::error::Error;
use crate::notify::mock::SentNotification;
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/test/notifications", get(notifications))
}

#[derive(Deserialize)]
struct Filter {
    username: Option<String>,
}

async fn notifications(
    State(state): State<AppState>,
    query: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<SentNotification>>, Error> {
    let Query(filter) = query?;
    let username = filter.username.map(|u| u.trim().to_ascii_lowercase());
    Ok(Json(state.notifiers.mock().sent(username.as_deref())))
}
