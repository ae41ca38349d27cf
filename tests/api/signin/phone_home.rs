//! `/phone`: the paired browser's home, and what a browser that is not one sees.

use std::time::Duration;

use nod::audit::{event, kind};
use reqwest::StatusCode;
use reqwest::header::COOKIE;
use serde_json::Value;

use crate::helpers::{Jar, csrf_field, error_code, spawn_app};

#[tokio::test]
async fn a_browser_that_is_not_a_paired_phone_gets_a_clear_page() {
    let app = spawn_app().await;
    let mut jar = Jar::default();
    let response = jar.open(&app, "/phone").await;
    assert_eq!(response.status(), 401);
    let page = response.text().await.unwrap();
    assert!(page.contains("not a paired phone") && page.contains("enroll-link"));
    jar.insert("nod_device", "not-a-secret");
    assert_eq!(jar.open(&app, "/phone").await.status(), 401);
    assert_eq!(jar.open(&app, "/phone/stream").await.status(), 401);
}

#[tokio::test]
async fn the_phone_home_answers_a_sign_in_and_revokes_sessions() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let mut jar = Jar::default();
    jar.insert("nod_device", &phone.secret);
    let pending = app.start_login("alice").await;

    let page = jar.open(&app, "/phone").await.text().await.unwrap();
    assert!(page.contains("test suite") && page.contains("Waiting for you"));
    let note = app.next_notification("alice").await;
    let csrf = csrf_field(&page);
    let answered = jar
        .post(
            &app,
            &format!("/phone/approvals/{}", note.approval_id),
            &[
                ("csrf", &csrf),
                ("decision", "approve"),
                ("binding_code", &pending.binding_code),
            ],
        )
        .await;
    assert_eq!(answered.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.poll_token(&pending.auth_req_id, None).await.status(),
        200
    );
    app.sign_in(&phone).await;

    let page = jar.open(&app, "/phone").await.text().await.unwrap();
    assert_eq!(
        page.matches("/revoke\"").count(),
        2,
        "two sessions to revoke"
    );
    let all = jar
        .post(&app, "/phone/sessions/revoke-all", &[("csrf", &csrf)])
        .await;
    assert_eq!(all.status(), StatusCode::SEE_OTHER);
    let now = app.state.clock.now_ms();
    let left = app
        .state
        .store
        .active_sessions(&app.user_id("alice").await, now)
        .await
        .unwrap();
    assert!(left.is_empty());
}

#[tokio::test]
async fn the_phone_page_stream_delivers_new_events_as_rows() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let mut jar = Jar::default();
    jar.insert("nod_device", &phone.secret);
    // The follower is subscribed once the headers are back: every later event arrives.
    let mut stream = jar.open(&app, "/phone/stream").await;
    assert_eq!(stream.status(), 200);
    app.start_login("alice").await;
    let mut received = String::new();
    while !received.contains("Sign-in requested") {
        let chunk = stream
            .chunk()
            .await
            .unwrap()
            .expect("the stream stays open");
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
    let data = received
        .lines()
        .find_map(|l| l.strip_prefix("data:"))
        .unwrap();
    let row: Value = serde_json::from_str(data.trim()).unwrap();
    assert_eq!(row["label"], "Sign-in requested");
    assert_eq!(row["what"], "test suite");
}

#[tokio::test]
async fn the_phone_page_stream_reads_last_event_id_by_the_apis_rule() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let alice = app.user_id("alice").await;
    let open = |last: String| {
        app.client
            .get(app.url("/phone/stream"))
            .header(COOKIE, format!("nod_device={}", phone.secret))
            .header("Last-Event-ID", last)
            .send()
    };
    // Junk is refused as `/v1/device/feed/stream` refuses it (tests/api/feed/stream.rs).
    for junk in ["abc", "-1", "1.5", "1000000000000000000"] {
        let response = open(junk.to_owned()).await.unwrap();
        assert_eq!(response.status(), 400, "{junk}");
        assert_eq!(error_code(response).await, "invalid_request", "{junk}");
    }
    // The id an EventSource re-sends resumes right after it.
    let now = app.state.clock.now_ms();
    for what in [kind::TOKEN_USED, kind::APPROVED] {
        app.state
            .audit
            .record(event(&alice, what, now))
            .await
            .unwrap();
    }
    let newest = nod::flows::feed::newest(&app.state, &alice, 2)
        .await
        .unwrap();
    let (seen, missed) = (newest[1].id, newest[0].id);
    let mut stream = open(seen.to_string()).await.unwrap();
    assert_eq!(stream.status(), 200);
    let mut ids = Vec::new();
    while !ids.contains(&missed) {
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk())
            .await
            .expect("the missed event is replayed")
            .unwrap()
            .expect("the stream stays open");
        ids.extend(
            String::from_utf8_lossy(&chunk)
                .lines()
                .filter_map(|l| l.strip_prefix("id:"))
                .filter_map(|id| id.trim().parse::<i64>().ok()),
        );
    }
    assert_eq!(ids, [missed]);
}
