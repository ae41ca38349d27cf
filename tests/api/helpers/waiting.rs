//! Requests that wait on the server (a token long-poll, the test endpoint's `wait=`), started
//! in the background and handed back once they are parked — a condition, not a sleep.

use std::time::{Duration, Instant};

use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;
use tokio::task::JoinHandle;

use super::{CIBA, TestApp};

/// What a parked request yields: its status and its JSON body (`null` when it has none).
pub type Parked = JoinHandle<(StatusCode, Value)>;

impl TestApp {
    /// Starts a token long-poll (`wait` seconds) and returns once it is parked on its wake-up.
    pub async fn park_long_poll(&self, auth_req_id: &str, wait: u64) -> Parked {
        let form = [
            ("grant_type", CIBA.to_owned()),
            ("auth_req_id", auth_req_id.to_owned()),
            ("wait", wait.to_string()),
        ];
        let request = self.client.post(self.url("/v1/token")).form(&form);
        let wakeups = self.state.wakeups.clone();
        park(request, move || wakeups.waiting()).await
    }

    /// Starts `GET /v1/test/notifications?{query}` and returns once the request is parked in
    /// the mock's wait.
    pub async fn park_notifications_wait(&self, query: &str) -> Parked {
        let request = self
            .client
            .get(self.url(&format!("/v1/test/notifications?{query}")));
        let mock = self.state.notifiers.mock().clone();
        park(request, move || mock.waiting()).await
    }
}

/// Sends `request` in the background and returns once `waiting()` (how many requests are
/// parked) has grown.
async fn park(request: RequestBuilder, waiting: impl Fn() -> usize) -> Parked {
    let waiting_before = waiting();
    let answer = tokio::spawn(async move {
        let response = request.send().await.expect("request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    });
    let parked_by = Instant::now() + Duration::from_secs(5);
    while waiting() == waiting_before {
        assert!(
            Instant::now() < parked_by,
            "the request never started waiting"
        );
        tokio::task::yield_now().await;
    }
    answer
}
