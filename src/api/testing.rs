//! `GET /v1/test/notifications?username=&since=&wait=`: what the mock provider captured, for test
//! suites in any language, with a long-poll for the next one. Mounted only when
//! `notify.test_endpoint = true`.

use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{Error, ErrorBody};
use crate::notify::mock::SentNotification;
use crate::state::AppState;

/// The longest `wait`, as for `/v1/token`'s long-poll.
const MAX_WAIT_SECS: u64 = 60;

/// `GET /v1/test/notifications`; merged only when `notify.test_endpoint` is on.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(notifications))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Filter {
    /// Only notifications for this user.
    username: Option<String>,
    /// Only notifications captured after the one with this `seq` (the last one you saw).
    #[param(value_type = Option<u64>, minimum = 0)]
    since: Option<String>,
    /// Seconds (0–60) to wait, when nothing matches yet, for a notification that does; the
    /// answer comes as soon as one is captured, or empty when none came in time.
    #[param(value_type = Option<u64>, minimum = 0, maximum = 60)]
    wait: Option<String>,
}

/// What the mock notifier captured. Present only when `notify.test_endpoint = true`.
///
/// Oldest first; `since` skips what the caller has seen, and `wait` long-polls until a
/// notification matches (docs/testing.md).
#[utoipa::path(
    get,
    path = "/v1/test/notifications",
    tag = "testing",
    params(Filter),
    responses(
        (status = 200, description = "Captured notifications matching the filter, oldest first (empty when `wait` ran out)", body = Vec<SentNotification>),
        (status = 400, description = "Malformed query: `since` not a whole number, or `wait` not a whole number of seconds up to 60 (`invalid_request`)", body = ErrorBody),
    )
)]
async fn notifications(
    State(state): State<AppState>,
    query: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<SentNotification>>, Error> {
    let Query(filter) = query?;
    let username = filter.username.map(|u| u.trim().to_ascii_lowercase());
    let since = whole_number(filter.since.as_deref(), "since", u64::MAX)?;
    let wait = Duration::from_secs(whole_number(filter.wait.as_deref(), "wait", MAX_WAIT_SECS)?);
    let mock = state.notifiers.mock();
    let mut shutting_down = state.shutting_down.subscribe();
    if *shutting_down.borrow_and_update() {
        return Ok(Json(
            mock.wait_for(username.as_deref(), since, Duration::ZERO)
                .await,
        ));
    }
    let found = tokio::select! {
        found = mock.wait_for(username.as_deref(), since, wait) => found,
        // Shutdown does not wait out a long-poll: answer with what there is.
        _ = shutting_down.changed() => {
            mock.wait_for(username.as_deref(), since, Duration::ZERO).await
        }
    };
    Ok(Json(found))
}

/// A query parameter that must be a whole number up to `max` (absent: 0).
fn whole_number(value: Option<&str>, name: &str, max: u64) -> Result<u64, Error> {
    let Some(value) = value else {
        return Ok(0);
    };
    match value.trim().parse::<u64>() {
        Ok(n) if n <= max => Ok(n),
        Ok(_) => Err(Error::InvalidRequest(format!(
            "{name} must be at most {max}"
        ))),
        Err(_) => Err(Error::InvalidRequest(format!(
            "{name} must be a whole number"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_and_since_take_whole_numbers_within_bounds() {
        for (given, expected) in [
            (None, Some(0)),
            (Some("0"), Some(0)),
            (Some("60"), Some(60)),
        ] {
            assert_eq!(whole_number(given, "wait", 60).ok(), expected, "{given:?}");
        }
        for bad in ["61", "-1", "1.5", "soon", "", "99999999999999999999999"] {
            assert!(whole_number(Some(bad), "wait", 60).is_err(), "{bad}");
        }
    }
}
