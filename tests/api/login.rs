//! `POST /v1/login`: pending approvals, equal answers for every credential failure, limits.

use serde_json::Value;

use crate::helpers::{PASSWORD, error_code, spawn_app};

#[tokio::test]
async fn a_login_yields_a_pending_approval_not_a_token() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;

    let response = app.login("alice", PASSWORD).await;

    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert!(body.get("access_token").is_none());
    let auth_req_id = body["auth_req_id"].as_str().unwrap();
    assert!(auth_req_id.len() >= 22, "auth_req_id carries >= 128 bits");
    let code = body["binding_code"].as_str().unwrap();
    assert!(
        code.len() == 2 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    assert_eq!(body["expires_in"], 120);
    assert_eq!(body["interval"], 5);
}

#[tokio::test]
async fn the_login_is_pushed_to_the_phone_with_its_context() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    app.start_login("alice").await;

    let note = app.next_notification("alice").await;

    assert_eq!(note.device_id, phone.device_id);
    assert!(
        note.approve_url
            .starts_with(&app.state.settings.server.public_url.as_str().to_owned())
    );
    assert!(note.approve_url.contains("/approve/"));
    assert!(note.text.contains("test suite"), "{}", note.text);
    assert!(note.text.contains("127.0.0.1"), "{}", note.text);
}

#[tokio::test]
async fn the_test_endpoint_lists_what_the_mock_captured() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;
    app.user_with_phone("bob").await;
    app.start_login("alice").await;
    app.next_notification("alice").await;

    let list: Vec<Value> = app.get_json("/v1/test/notifications?username=alice").await;

    assert_eq!(list.len(), 1);
    for field in [
        "device_id",
        "username",
        "approval_id",
        "approve_url",
        "text",
        "sent_at",
    ] {
        assert!(list[0].get(field).is_some(), "missing {field}: {}", list[0]);
    }
    let bobs: Vec<Value> = app.get_json("/v1/test/notifications?username=bob").await;
    assert!(bobs.is_empty());
}

#[tokio::test]
async fn the_test_endpoint_is_absent_unless_enabled() {
    let app = crate::helpers::spawn_app_with(|s| s.notify.test_endpoint = false).await;
    let response = app
        .client
        .get(app.url("/v1/test/notifications"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn unknown_user_wrong_password_and_disabled_user_get_identical_answers() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;
    app.user_with_phone("carol").await;
    nod::flows::provision::set_disabled(
        &app.state,
        &nod::domain::Username::parse("carol").unwrap(),
        true,
    )
    .await
    .unwrap();

    let mut answers = Vec::new();
    for (user, password) in [
        ("alice", "wrong password!"),
        ("nobody", PASSWORD),
        ("carol", PASSWORD),
        ("not a valid name!", PASSWORD),
    ] {
        let response = app.login(user, password).await;
        assert_eq!(response.status(), 401, "{user}");
        answers.push(response.text().await.unwrap());
    }

    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert!(answers[0].contains("invalid_credentials"));
    assert!(
        app.state.notifiers.mock().sent(None).is_empty(),
        "no push on a failed login"
    );
}

#[tokio::test]
async fn usernames_are_matched_case_insensitively() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;
    let response = app.login("  ALICE ", PASSWORD).await;
    assert_eq!(response.status(), 202);
}

#[tokio::test]
async fn a_user_without_a_device_is_told_so() {
    let app = spawn_app().await;
    app.add_user("dave").await;
    let response = app.login("dave", PASSWORD).await;
    assert_eq!(response.status(), 403);
    assert_eq!(error_code(response).await, "no_device");
}

#[tokio::test]
async fn a_second_login_while_one_is_pending_is_refused_with_retry_after() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;
    app.start_login("alice").await;
    app.next_notification("alice").await;

    let second = app.login("alice", PASSWORD).await;

    assert_eq!(second.status(), 429);
    let retry: u64 = second.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=120).contains(&retry), "{retry}");
    assert_eq!(error_code(second).await, "rate_limited");
    // No second push: the phone is not flooded.
    assert_eq!(app.state.notifiers.mock().sent(Some("alice")).len(), 1);

    // Once the first expires, a new login goes through.
    app.clock.advance(std::time::Duration::from_secs(121));
    assert_eq!(app.login("alice", PASSWORD).await.status(), 202);
}
