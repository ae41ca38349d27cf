//! The limits that make push bombing and guessing useless.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{PASSWORD, error_code, spawn_app};

#[tokio::test]
async fn ten_logins_in_a_row_push_once() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;

    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(app.login("alice", PASSWORD).await.status().as_u16());
    }

    assert_eq!(statuses[0], 202);
    assert!(statuses[1..].iter().all(|s| *s == 429), "{statuses:?}");
    app.next_notification("alice").await;
    assert_eq!(
        app.state.notifiers.mock().sent(Some("alice")).len(),
        1,
        "one push"
    );
}

#[tokio::test]
async fn after_a_fraud_report_logins_push_nothing_during_the_cool_down_and_the_feed_says_why() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    app.start_login("alice").await;
    let note = app.next_notification("alice").await;
    let fraud = app
        .decide(&phone, &note.approval_id, json!({"decision": "fraud"}))
        .await;
    assert_eq!(fraud.status(), 200);

    app.clock.advance(Duration::from_secs(60));
    let muted = app.login("alice", PASSWORD).await;

    assert_eq!(muted.status(), 429);
    let retry: u64 = muted.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 60 && retry <= 20 * 60, "{retry}");
    assert_eq!(error_code(muted).await, "rate_limited");
    assert_eq!(
        app.state.notifiers.mock().sent(Some("alice")).len(),
        1,
        "no new push"
    );
    let refused = app
        .events_of("alice")
        .await
        .into_iter()
        .find(|e| e.kind == "login_refused");
    let detail = refused.expect("a login_refused event").detail.unwrap();
    assert!(detail.contains("fraud_cooldown"), "{detail}");

    app.clock.advance(Duration::from_secs(20 * 60));
    assert_eq!(
        app.login("alice", PASSWORD).await.status(),
        202,
        "the cool-down ends"
    );
}

#[tokio::test]
async fn denials_in_a_row_pause_pushes() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let limit = app.state.settings.limits.denial_max;
    for _ in 0..limit {
        app.start_login("alice").await;
        let note = app.next_notification("alice").await;
        let denied = app
            .decide(&phone, &note.approval_id, json!({"decision": "deny"}))
            .await;
        assert_eq!(denied.status(), 200);
    }

    let paused = app.login("alice", PASSWORD).await;

    assert_eq!(paused.status(), 429);
    assert_eq!(
        app.state.notifiers.mock().sent(Some("alice")).len() as u32,
        limit
    );
    app.clock
        .advance(app.state.settings.limits.denial_block.0 + Duration::from_secs(1));
    assert_eq!(app.login("alice", PASSWORD).await.status(), 202);
}

#[tokio::test]
async fn twenty_wrong_passwords_from_rotating_forwarded_addresses_are_throttled() {
    let app = spawn_app().await; // no trusted proxies: X-Forwarded-For is ignored
    app.user_with_phone("alice").await;

    let mut statuses = Vec::new();
    for i in 0..20 {
        let response = app
            .client
            .post(app.url("/v1/login"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .json(&json!({"username": "alice", "password": format!("guess number {i}")}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }

    let allowed = app.state.settings.limits.password_max_failures as usize;
    assert!(
        statuses[..allowed].iter().all(|s| *s == 401),
        "{statuses:?}"
    );
    assert!(
        statuses[allowed..].iter().all(|s| *s == 429),
        "{statuses:?}"
    );
    // While blocked, even the right password waits (and nothing is pushed).
    let right = app.login("alice", PASSWORD).await;
    assert_eq!(right.status(), 429);
    assert!(right.headers().contains_key("retry-after"));
    assert!(app.state.notifiers.mock().sent(Some("alice")).is_empty());
    // The block ends.
    app.clock.advance(Duration::from_secs(3600));
    assert_eq!(app.login("alice", PASSWORD).await.status(), 202);
}

#[tokio::test]
async fn blocks_for_unknown_names_look_like_blocks_for_real_ones() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;
    let allowed = app.state.settings.limits.password_max_failures;
    let mut answers = Vec::new();
    for name in ["alice", "nobody"] {
        for _ in 0..allowed {
            assert_eq!(app.login(name, "wrong password").await.status(), 401);
        }
        let blocked = app.login(name, "wrong password").await;
        assert_eq!(blocked.status(), 429, "{name}");
        answers.push(blocked.text().await.unwrap());
    }
    assert_eq!(answers[0], answers[1]);
}
