//! `GET /v1/test/notifications?username=`: what the mock provider captured, for test suites in
//! any language. Mounted only when `notify.test_endpoint = true`.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{Error, ErrorBody};
use crate::notify::mock::SentNotification;
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(notifications))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Filter {
    /// Only notifications for this user.
    username: Option<String>,
}

/// What the mock notifier captured. Present only when `notify.test_endpoint = true`.
#[utoipa::path(
    get,
    path = "/v1/test/notifications",
    tag = "testing",
    params(Filter),
    responses(
        (status = 200, description = "Captured notifications, oldest first", body = Vec<SentNotification>),
        (status = 400, description = "Malformed query", body = ErrorBody),
    )
)]
async fn notifications(
    State(state): State<AppState>,
    query: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<SentNotification>>, Error> {
    let Query(filter) = query?;
    let username = filter.username.map(|u| u.trim().to_ascii_lowercase());
    Ok(Json(state.notifiers.mock().sent(username.as_deref())))
}
