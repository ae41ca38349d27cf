//! The registry: per-call timeout, bounded retries on temporary failures only, then the device's
//! next channel — with every attempt in the feed.

use std::time::Duration;

use nod::config::{Secret, Ttl};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestApp, approve_prefix, spawn_app_with};

async fn app_with_webhook(retries: u32) -> TestApp {
    spawn_app_with(|s| {
        s.notify.webhook.enabled = true;
        s.notify.webhook.secret = Secret::new("k");
        s.notify.timeout = Ttl(Duration::from_secs(1));
        s.notify.retries = retries;
        s.notify.backoff = Ttl(Duration::from_millis(10));
    })
    .await
}

#[tokio::test]
async fn a_provider_that_times_out_then_fails_is_retried_within_bounds_then_the_next_channel_is_used()
 {
    let hook = MockServer::start().await;
    // First call: slower than the 1 s per-call timeout. Then: 500s.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .up_to_n_times(1)
        .mount(&hook)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&hook)
        .await;
    let app = app_with_webhook(2).await;
    app.add_user("alice").await;
    let channel = format!("webhook={}/hook", hook.uri());
    app.add_phone_with("alice", &[&channel, "mock"]).await;
    let pending = app.start_login("alice").await;

    let note = app.next_notification("alice").await;
    let attempts = app.delivery_attempts("alice", 4).await;
    let seen: Vec<_> = attempts
        .iter()
        .map(|a| {
            (
                a.kind.as_str(),
                a.provider.as_str(),
                a.attempt,
                a.error.as_deref().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "notification_failed",
                "webhook",
                1,
                "temporary failure: webhook: timed out"
            ),
            (
                "notification_failed",
                "webhook",
                2,
                "temporary failure: webhook answered HTTP 500"
            ),
            (
                "notification_failed",
                "webhook",
                3,
                "temporary failure: webhook answered HTTP 500"
            ),
            ("notification_sent", "mock", 1, ""),
        ]
    );
    assert_eq!(hook.received_requests().await.unwrap().len(), 3);
    // The fallback carried a working approval.
    assert!(note.approve_url.starts_with(&approve_prefix(&app)));
    assert_eq!(pending.binding_code.len(), 2, "{pending:?}");
}

#[tokio::test]
async fn a_client_error_is_not_retried_and_falls_through_at_once() {
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(410))
        .expect(1)
        .mount(&hook)
        .await;
    let app = app_with_webhook(5).await;
    app.add_user("alice").await;
    let channel = format!("webhook={}/gone", hook.uri());
    app.add_phone_with("alice", &[&channel, "mock"]).await;
    app.start_login("alice").await;

    app.next_notification("alice").await;
    let attempts = app.delivery_attempts("alice", 2).await;
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(
        attempts[0].error.as_deref(),
        Some("permanent failure: webhook answered HTTP 410")
    );
    assert_eq!(attempts[1].provider, "mock");
    hook.verify().await;
}
