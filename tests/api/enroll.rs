//! Pairing a phone with a single-use link, then signing in with its authenticator code.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Phone, TestApp, all_at_once, error_code, spawn_app, spawn_app_with};

async fn enroll(app: &TestApp, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/v1/enroll"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The phone `/v1/enroll` paired with `username`, from its answer.
fn phone_of(username: &str, device: &Value) -> Phone {
    Phone {
        username: username.to_owned(),
        device_id: device["device_id"].as_str().unwrap().to_owned(),
        secret: device["device_secret"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn a_phone_pairs_with_a_link_and_signs_in_with_its_authenticator_code() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let code = app.pairing_code("alice").await;

    let paired = enroll(
        &app,
        json!({"code": code, "name": "Pixel 8", "notify": {"provider": "mock"}}),
    )
    .await;

    assert_eq!(paired.status(), 200);
    let device: Value = paired.json().await.unwrap();
    let approvals = app
        .phone_get(&phone_of("alice", &device), "approvals")
        .await;
    assert_eq!(
        approvals.status(),
        200,
        "the secret authenticates the new device"
    );
    let totp = totp_rs::Totp::from_url(device["totp_uri"].as_str().unwrap()).unwrap();
    let now = u64::try_from(app.state.clock.now_ms() / 1000).unwrap();
    let first_code = totp.generate(now).to_string();

    let pending = app.start_login("alice").await;
    let signed_in = app.send_totp(&pending.auth_req_id, &first_code).await;
    assert_eq!(signed_in.status(), 200);
    let tokens: Value = signed_in.json().await.unwrap();
    assert!(tokens["access_token"].is_string() && tokens["refresh_token"].is_string());

    // The same code again, on a fresh login: refused.
    app.clock.advance(Duration::from_secs(1));
    let again = app.start_login("alice").await;
    assert_eq!(
        error_code(app.send_totp(&again.auth_req_id, &first_code).await).await,
        "invalid_grant"
    );
    // A newer code is fine; then the previous step's code is refused.
    app.clock.advance(Duration::from_secs(30));
    let later = u64::try_from(app.state.clock.now_ms() / 1000).unwrap();
    let previous_step = totp.generate(later - 30).to_string();
    assert_eq!(
        app.send_totp(&again.auth_req_id, &totp.generate(later).to_string())
            .await
            .status(),
        200
    );
    let third = app.start_login("alice").await;
    assert_eq!(
        error_code(app.send_totp(&third.auth_req_id, &previous_step).await).await,
        "invalid_grant"
    );
}

#[tokio::test]
async fn a_pairing_link_works_once_and_for_a_day() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let code = app.pairing_code("alice").await;
    let body = json!({"code": code, "name": "phone"});
    assert_eq!(enroll(&app, body.clone()).await.status(), 200);
    assert_eq!(
        error_code(enroll(&app, body).await).await,
        "invalid_grant",
        "used"
    );

    let stale = app.pairing_code("alice").await;
    app.clock.advance(Duration::from_secs(24 * 3600 + 1));
    assert_eq!(
        error_code(enroll(&app, json!({"code": stale, "name": "phone"})).await).await,
        "invalid_grant",
        "expired"
    );
    assert_eq!(
        error_code(enroll(&app, json!({"code": "guess", "name": "phone"})).await).await,
        "invalid_grant"
    );
}

#[tokio::test]
async fn a_phone_paired_without_a_channel_is_not_pushed_but_sees_its_approvals() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let code = app.pairing_code("alice").await;
    let device: Value = enroll(&app, json!({"code": code, "name": "polling phone"}))
        .await
        .json()
        .await
        .unwrap();

    app.start_login("alice").await;

    let listed = app.pending_on(&phone_of("alice", &device)).await;
    assert_eq!(listed.len(), 1);
    assert!(app.state.notifiers.mock().sent(Some("alice")).is_empty());
}

#[tokio::test]
async fn a_bad_channel_is_refused_without_spending_the_code() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let code = app.pairing_code("alice").await;

    let bad = enroll(
        &app,
        json!({"code": code, "name": "phone", "notify": {"provider": "pigeon"}}),
    )
    .await;
    assert_eq!(bad.status(), 400);
    assert_eq!(error_code(bad).await, "invalid_request");
    let nameless = enroll(&app, json!({"code": code, "name": "  "})).await;
    assert_eq!(error_code(nameless).await, "invalid_request");

    assert_eq!(enroll(&app, json!({"code": code, "name": "phone", "notify": [{"provider": "mock"}, {"provider": "log"}]})).await.status(), 200);
}

#[tokio::test]
async fn thirty_parallel_wrong_pairing_codes_get_exactly_the_limit_looked_up() {
    let app = spawn_app_with(|s| s.limits.enroll_max_failures = 5).await;
    app.add_user("alice").await;

    let guesses = (0..30).map(|i| {
        let body = json!({"code": format!("guessed-code-{i}"), "name": "Pixel"});
        app.client.post(app.url("/v1/enroll")).json(&body)
    });
    let statuses = all_at_once(guesses).await;

    statuses.assert_counts(&[(400, 5), (429, 25)]);
    // While the address is blocked even a real code waits; after the block it pairs.
    let code = app.pairing_code("alice").await;
    let blocked = enroll(&app, json!({"code": code, "name": "Pixel"})).await;
    assert_eq!(blocked.status(), 429);
    assert!(blocked.headers().contains_key("retry-after"));
    app.clock.advance(Duration::from_secs(3600));
    let paired = enroll(&app, json!({"code": code, "name": "Pixel"})).await;
    assert_eq!(paired.status(), 200);
}

#[tokio::test]
async fn a_real_pairing_code_does_not_count_against_its_address() {
    let app = spawn_app_with(|s| s.limits.enroll_max_failures = 2).await;
    app.add_user("alice").await;
    for i in 0..3 {
        let code = app.pairing_code("alice").await;
        let paired = enroll(&app, json!({"code": code, "name": format!("Pixel {i}")})).await;
        assert_eq!(paired.status(), 200);
    }
    let wrong = enroll(&app, json!({"code": "nope", "name": "Pixel"})).await;
    assert_eq!(error_code(wrong).await, "invalid_grant");
}
