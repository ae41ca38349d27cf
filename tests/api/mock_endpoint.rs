//! `GET /v1/test/notifications` for test suites in other languages: `since=` and the `wait=`
//! long-poll that returns the moment a login pushes a notification.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{error_code, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_waiting_notifications_request_returns_with_the_notification_a_login_pushes() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let wait = app.park_notifications_wait("username=alice&wait=30").await;

    app.start_login("alice").await;

    let (status, list) = tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("the wait ends when the notification arrives")
        .unwrap();
    assert_eq!(status, 200);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["device_id"], phone.device_id.as_str());
    assert_eq!(list[0]["username"], "alice");
}

#[tokio::test]
async fn since_skips_what_was_seen_so_a_second_wait_returns_only_the_next_login() {
    let app = spawn_app_with(|s| s.approvals.max_pending = 5).await;
    app.user_with_phone("alice").await;
    app.start_login("alice").await;
    let first: Vec<Value> = app
        .get_json("/v1/test/notifications?username=alice&wait=10")
        .await;
    assert_eq!(first.len(), 1);
    let seen = first[0]["seq"]
        .as_u64()
        .expect("every notification has a seq");

    let wait = app
        .park_notifications_wait(&format!("username=alice&since={seen}&wait=30"))
        .await;
    app.start_login("alice").await;

    let (status, list) = wait.await.unwrap();
    assert_eq!(status, 200);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert!(list[0]["seq"].as_u64().unwrap() > seen);
    assert_ne!(list[0]["approval_id"], first[0]["approval_id"]);
}

#[tokio::test]
async fn a_wait_that_runs_out_answers_an_empty_list() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;
    let wait = app.park_notifications_wait("username=alice&wait=30").await;

    // The wait is on the app's clock: moving it past the 30 s ends the wait.
    app.clock.advance(Duration::from_secs(30));

    let (status, list) = tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("the wait ends when its time runs out")
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(list, Value::Array(Vec::new()));
}

#[tokio::test]
async fn a_wait_over_60_seconds_or_not_a_number_is_a_400_in_the_error_shape() {
    let app = spawn_app().await;
    for query in ["wait=61", "wait=soon", "wait=-1", "wait=1.5", "since=x"] {
        let response = app
            .client
            .get(app.url(&format!("/v1/test/notifications?username=alice&{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(error_code(response).await, "invalid_request", "{query}");
    }
}
