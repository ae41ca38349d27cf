//! `/v1/device/approvals`: what a phone sees of a login, and what it may decide.

use serde_json::{Value, json};

use crate::helpers::{error_code, spawn_app};

#[tokio::test]
async fn the_phone_sees_the_context_but_never_the_binding_code() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let pending = app.start_login("alice").await;

    let approvals = app.pending_on(&phone).await;

    assert_eq!(approvals.len(), 1);
    let approval = &approvals[0];
    assert_eq!(approval["client_name"], "test suite");
    assert_eq!(approval["ip"], "127.0.0.1");
    assert!(approval["expires_in"].as_u64().unwrap() <= 120);
    let text = approval.to_string();
    assert!(approval.get("binding_code").is_none(), "{text}");
    assert!(!text.contains(&pending.auth_req_id), "{text}");
}

#[tokio::test]
async fn a_device_cannot_see_or_decide_another_users_approval() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;
    let bobs_phone = app.user_with_phone("bob").await;
    let pending = app.start_login("alice").await;
    let note = app.next_notification("alice").await;

    assert!(app.pending_on(&bobs_phone).await.is_empty());
    let decided = app.approve(&bobs_phone, &pending, &note.approval_id).await;

    assert_eq!(decided.status(), 404);
    assert_eq!(error_code(decided).await, "not_found");
    // Alice's approval is untouched.
    let token = app.poll_token(&pending.auth_req_id, None).await;
    assert_eq!(error_code(token).await, "authorization_pending");
}

#[tokio::test]
async fn a_second_decision_is_a_conflict() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    app.start_login("alice").await;
    let note = app.next_notification("alice").await;

    let first = app
        .decide(&phone, &note.approval_id, json!({"decision": "deny"}))
        .await;
    let second = app
        .decide(&phone, &note.approval_id, json!({"decision": "fraud"}))
        .await;

    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 409);
    assert_eq!(error_code(second).await, "already_decided");
}

#[tokio::test]
async fn every_active_device_of_the_user_is_notified() {
    let app = spawn_app().await;
    let first = app.user_with_phone("alice").await;
    let second = app.add_phone("alice").await;
    app.start_login("alice").await;

    let a = app.next_notification("alice").await;
    let b = app.next_notification("alice").await;

    let mut devices = [a.device_id, b.device_id];
    devices.sort();
    let mut expected = [first.device_id, second.device_id];
    expected.sort();
    assert_eq!(devices, expected);
    assert_ne!(
        a.approve_url, b.approve_url,
        "each device gets its own one-time link"
    );
}

#[tokio::test]
async fn a_wrong_binding_code_denies_the_login() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let pending = app.start_login("alice").await;
    let note = app.next_notification("alice").await;
    let wrong = format!(
        "{:02}",
        (pending.binding_code.parse::<u8>().unwrap() + 1) % 100
    );

    let decided = app
        .decide(
            &phone,
            &note.approval_id,
            json!({"decision": "approve", "binding_code": wrong}),
        )
        .await;

    assert_eq!(decided.status(), 422);
    assert_eq!(error_code(decided).await, "binding_code_mismatch");
    let token = app.poll_token(&pending.auth_req_id, None).await;
    assert_eq!(error_code(token).await, "access_denied");
    // The right code afterwards is too late: a wrong number is final.
    let retry = app.approve(&phone, &pending, &note.approval_id).await;
    assert_eq!(retry.status(), 409);
}

#[tokio::test]
async fn deny_and_fraud_both_end_in_access_denied() {
    for decision in ["deny", "fraud"] {
        let app = spawn_app().await;
        let phone = app.user_with_phone("alice").await;
        let pending = app.start_login("alice").await;
        let note = app.next_notification("alice").await;

        let decided = app
            .decide(&phone, &note.approval_id, json!({"decision": decision}))
            .await;

        assert_eq!(decided.status(), 200, "{decision}");
        let body: Value = decided.json().await.unwrap();
        assert_eq!(
            body["state"],
            if decision == "deny" {
                "denied"
            } else {
                "fraud"
            }
        );
        let token = app.poll_token(&pending.auth_req_id, None).await;
        assert_eq!(error_code(token).await, "access_denied", "{decision}");
    }
}
