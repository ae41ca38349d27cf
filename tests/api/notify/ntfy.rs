//! `ntfy` against a fake of `POST {server}/{topic}` (<https://docs.ntfy.sh/publish/>).

use wiremock::matchers::{header as has_header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestApp, approve_prefix, header, spawn_app_with};

/// An app with ntfy enabled against the fake `ntfy` and its access token.
async fn app_for(ntfy: &MockServer) -> TestApp {
    let base = ntfy.uri();
    spawn_app_with(|s| {
        s.notify.ntfy.enabled = true;
        s.notify.ntfy.base_url = base;
        s.notify.ntfy.token = nod::config::Secret::new("tk_secret_access");
    })
    .await
}

#[tokio::test]
async fn ntfy_publishes_to_the_topic_with_title_priority_and_approve_deny_buttons() {
    let ntfy = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/nod-alice_42"))
        .and(has_header("authorization", "Bearer tk_secret_access"))
        .and(has_header("priority", "4"))
        .and(has_header("tags", "lock"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"id": "x1", "event": "message"})),
        )
        .expect(1)
        .mount(&ntfy)
        .await;
    let app = app_for(&ntfy).await;
    app.user_with_phone_on("alice", &["ntfy=nod-alice_42"])
        .await;
    app.start_login("alice").await;

    let attempts = app.delivery_attempts("alice", 1).await;
    assert_eq!(attempts[0].kind, "notification_sent", "{attempts:?}");
    assert_eq!(attempts[0].provider, "ntfy");
    ntfy.verify().await;
    let request = &ntfy.received_requests().await.unwrap()[0];
    let click = header(request, "click");
    assert!(click.starts_with(&approve_prefix(&app)), "{click}");
    assert_eq!(header(request, "title"), "Sign-in to test suite as alice?");
    assert_eq!(
        header(request, "actions"),
        format!("view, Approve, {click}, clear=true; view, Deny, {click}, clear=true")
    );
    let body = String::from_utf8(request.body.clone()).unwrap();
    assert!(
        body.starts_with("Sign-in to test suite as alice from 127.0.0.1") && body.ends_with(click),
        "{body}"
    );
}

#[tokio::test]
async fn an_ntfy_refusal_is_permanent_and_never_shows_the_token() {
    let ntfy = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_string("tk_secret_access forbidden"))
        .expect(1)
        .mount(&ntfy)
        .await;
    let app = app_for(&ntfy).await;
    app.user_with_phone_on("alice", &["ntfy=topic", "mock"])
        .await;
    app.start_login("alice").await;
    app.next_notification("alice").await;

    let attempts = app.delivery_attempts("alice", 2).await;
    assert_eq!(
        attempts.len(),
        2,
        "one call to ntfy, no retry: {attempts:?}"
    );
    assert_eq!(
        attempts[0].error.as_deref(),
        Some("permanent failure: ntfy answered HTTP 403")
    );
    assert_eq!(
        (attempts[1].kind.as_str(), attempts[1].provider.as_str()),
        ("notification_sent", "mock")
    );
    let feed = format!("{:?}", app.events_of("alice").await);
    assert!(!feed.contains("tk_secret_access"));
}
