//! The phone's API: what a device sees, and what it may decide.

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
async fn a_revoked_device_can_no_longer_act() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    nod::flows::provision::revoke_device(&app.state, &phone.device_id)
        .await
        .unwrap();

    let response = app
        .client
        .get(app.url("/v1/device/approvals"))
        .bearer_auth(&phone.secret)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 401);
    assert_eq!(error_code(response).await, "invalid_token");
    // With its only device revoked, alice cannot start a login either.
    assert_eq!(
        app.login("alice", crate::helpers::PASSWORD).await.status(),
        403
    );
}

#[tokio::test]
async fn device_calls_without_valid_credentials_are_401_with_a_challenge() {
    let app = spawn_app().await;
    for auth in [
        None,
        Some("Bearer not-a-device"),
        Some("Basic Zm9vOmJhcg=="),
        Some("Bearer"),
    ] {
        let mut request = app.client.get(app.url("/v1/device/approvals"));
        if let Some(value) = auth {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{auth:?}");
        assert!(response.headers().contains_key("www-authenticate"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_token");
    }
}

#[tokio::test]
async fn a_phone_lists_its_users_devices_and_revokes_a_lost_one() {
    let app = spawn_app().await;
    let kept = app.user_with_phone("alice").await;
    let lost = app.add_phone("alice").await;
    let bobs = app.user_with_phone("bob").await;

    let listed: Value = app
        .client
        .get(app.url("/v1/device/devices"))
        .bearer_auth(&kept.secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let devices = listed["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2);
    assert!(!listed.to_string().contains(&lost.secret), "no secrets");

    let foreign = app
        .client
        .post(app.url(&format!("/v1/device/devices/{}/revoke", bobs.device_id)))
        .bearer_auth(&kept.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 404, "another user's device");

    let revoked = app
        .client
        .post(app.url(&format!("/v1/device/devices/{}/revoke", lost.device_id)))
        .bearer_auth(&kept.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    // The lost phone can no longer decide anything.
    app.start_login("alice").await;
    let note = app.next_notification("alice").await;
    let decided = app
        .decide(&lost, &note.approval_id, json!({"decision": "deny"}))
        .await;
    assert_eq!(decided.status(), 401);
    assert_eq!(
        app.decide(&bobs, &note.approval_id, json!({"decision": "deny"}))
            .await
            .status(),
        404
    );
}
