//! The feed: the phone's pages and cursors, its live stream, `nod audit`.

mod cli;
mod pages;
pub(crate) mod stream;

use std::time::Duration;

use nod::audit::event;
use nod::clock::Clock;
use reqwest::Response;
use serde_json::Value;

use crate::helpers::{Phone, TestApp};

/// `GET /v1/device/feed?{query}` as `phone`.
pub async fn get_feed(app: &TestApp, phone: &Phone, query: &str) -> Response {
    app.phone_get(phone, &format!("feed?{query}")).await
}

/// A feed page that must succeed.
pub async fn feed_page(app: &TestApp, phone: &Phone, query: &str) -> Value {
    let response = get_feed(app, phone, query).await;
    assert_eq!(response.status(), 200, "feed?{query}");
    response.json().await.expect("feed json")
}

/// The events of a page.
pub fn events(page: &Value) -> Vec<Value> {
    page["events"].as_array().cloned().unwrap_or_default()
}

/// The first page once it holds at least `count` events: some events (notifications) are
/// queued off the request path and commit a moment later.
pub async fn feed_with_at_least(app: &TestApp, phone: &Phone, count: usize) -> Vec<Value> {
    for _ in 0..100 {
        let list = events(&feed_page(app, phone, "limit=200").await);
        if list.len() >= count {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the feed never held {count} events");
}

/// Records a `token_used` event for `user_id` and waits for its commit.
pub async fn record_use(app: &TestApp, user_id: &str, path: &str) {
    let mut e = event(user_id, nod::audit::kind::TOKEN_USED, app.clock.now_ms());
    e.method = Some("GET".into());
    e.host = Some("api.example".into());
    e.path = Some(path.into());
    app.state.audit.record(e).await.expect("recorded");
}
