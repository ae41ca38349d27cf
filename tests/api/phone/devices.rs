//! `/v1/device/devices` and a device's credentials: a phone lists its user's devices and
//! revokes a lost one; a revoked or unknown device can do nothing.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, error_code, spawn_app};

#[tokio::test]
async fn a_revoked_device_can_no_longer_act() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    nod::flows::provision::revoke_device(&app.state, &phone.device_id)
        .await
        .unwrap();

    let response = app.phone_get(&phone, "approvals").await;

    assert_eq!(response.status(), 401);
    assert_eq!(error_code(response).await, "invalid_token");
    // With its only device revoked, alice cannot start a login either.
    assert_eq!(app.login("alice", PASSWORD).await.status(), 403);
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

    let listed: Value = app.phone_get(&kept, "devices").await.json().await.unwrap();
    let devices = listed["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2);
    assert!(!listed.to_string().contains(&lost.secret), "no secrets");

    let foreign = app
        .phone_post(&kept, &format!("devices/{}/revoke", bobs.device_id))
        .await;
    assert_eq!(foreign.status(), 404, "another user's device");

    let revoked = app
        .phone_post(&kept, &format!("devices/{}/revoke", lost.device_id))
        .await;
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
