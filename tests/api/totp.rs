//! `POST /v1/login/totp`: the authenticator app's code approves a pending login.

use std::time::Duration;

use nod::domain::{Channel, ChannelList, Username};
use nod::flows::provision;
use serde_json::{Value, json};

use crate::helpers::{TestApp, all_at_once, error_code, spawn_app};

/// A user with a mock phone; returns the phone's TOTP generator (from its otpauth URI).
async fn user_with_authenticator(app: &TestApp, name: &str) -> totp_rs::Totp {
    app.add_user(name).await;
    let channels = ChannelList::new(vec![Channel::parse("mock").unwrap()]).unwrap();
    let device = provision::add_device(
        &app.state,
        &Username::parse(name).unwrap(),
        "phone",
        &channels,
    )
    .await
    .unwrap();
    totp_rs::Totp::from_url(&device.totp_uri).expect("a valid otpauth URI")
}

fn code_at(totp: &totp_rs::Totp, app: &TestApp) -> String {
    let now = app.state.clock.now_ms() / 1000;
    totp.generate(u64::try_from(now).unwrap()).to_string()
}

#[tokio::test]
async fn a_code_from_the_authenticator_app_approves_the_login_once() {
    let app = spawn_app().await;
    let totp = user_with_authenticator(&app, "alice").await;
    let pending = app.start_login("alice").await;
    let code = code_at(&totp, &app);

    let response = app.send_totp(&pending.auth_req_id, &code).await;

    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    let payload = tokens["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap()
        .to_owned();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["amr"], json!(["pwd", "otp"]));
    let approved: Vec<_> = app
        .events_of("alice")
        .await
        .into_iter()
        .filter(|e| e.kind == "approved")
        .collect();
    assert!(
        approved[0]
            .detail
            .as_deref()
            .unwrap()
            .contains(r#""amr":["pwd","otp"]"#)
    );
    // The same auth_req_id cannot be redeemed again at /v1/token.
    assert_eq!(
        error_code(app.poll_token(&pending.auth_req_id, None).await).await,
        "invalid_grant"
    );

    // The same code on the next login: a replay.
    app.clock.advance(Duration::from_secs(1));
    let next = app.start_login("alice").await;
    let replay = app.send_totp(&next.auth_req_id, &code).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(error_code(replay).await, "invalid_grant");
}

#[tokio::test]
async fn a_code_of_an_earlier_step_fails_once_a_newer_one_was_used() {
    let app = spawn_app().await;
    let totp = user_with_authenticator(&app, "alice").await;
    let older = code_at(&totp, &app);
    app.clock.advance(Duration::from_secs(30));
    let newer = code_at(&totp, &app);
    assert_ne!(older, newer);

    let first = app.start_login("alice").await;
    assert_eq!(
        app.send_totp(&first.auth_req_id, &newer).await.status(),
        200
    );
    let second = app.start_login("alice").await;
    // Still inside the ±1 step window, but older than the last accepted step.
    let stale = app.send_totp(&second.auth_req_id, &older).await;
    assert_eq!(error_code(stale).await, "invalid_grant");
}

#[tokio::test]
async fn guessing_codes_across_fresh_logins_stops_at_the_limit() {
    // A block longer than a login's lifetime, so it outlasts the wait for a fresh login.
    let app = crate::helpers::spawn_app_with(|s| {
        s.limits.totp_block = nod::config::Ttl(Duration::from_secs(600));
    })
    .await;
    let totp = user_with_authenticator(&app, "alice").await;
    let limit = app.state.settings.limits.totp_max_failures;
    for _ in 0..limit {
        let pending = app.start_login("alice").await;
        let wrong = app.send_totp(&pending.auth_req_id, "000000").await;
        assert_eq!(error_code(wrong).await, "invalid_grant");
        // Let that login expire; the next one is fresh, the failures are not.
        app.clock.advance(Duration::from_secs(121));
    }

    let pending = app.start_login("alice").await;
    let right = code_at(&totp, &app);
    let blocked = app.send_totp(&pending.auth_req_id, &right).await;
    assert_eq!(
        blocked.status(),
        429,
        "even the right code waits out the block"
    );
    assert!(blocked.headers().contains_key("retry-after"));

    app.clock
        .advance(app.state.settings.limits.totp_block.0 + Duration::from_secs(1));
    let pending = app.start_login("alice").await;
    let code = code_at(&totp, &app);
    assert_eq!(
        app.send_totp(&pending.auth_req_id, &code).await.status(),
        200
    );
}

#[tokio::test]
async fn malformed_codes_are_refused_without_counting() {
    let app = spawn_app().await;
    user_with_authenticator(&app, "alice").await;
    let pending = app.start_login("alice").await;
    for code in ["", "12345", "abcdef", "1234567"] {
        let response = app.send_totp(&pending.auth_req_id, code).await;
        assert_eq!(response.status(), 400, "{code:?}");
        assert_eq!(error_code(response).await, "invalid_request");
    }
    let unknown = app.send_totp("no-such-login", "123456").await;
    assert_eq!(error_code(unknown).await, "invalid_grant");
}

#[tokio::test]
async fn thirty_parallel_wrong_codes_get_exactly_the_limit_compared() {
    let app = spawn_app().await;
    user_with_authenticator(&app, "alice").await;
    let pending = app.start_login("alice").await;
    let limit = app.state.settings.limits.totp_max_failures as usize;

    let guesses = (0..30).map(|i| {
        let code = format!("{:06}", 100_000 + i);
        app.client
            .post(app.url("/v1/login/totp"))
            .json(&json!({"auth_req_id": pending.auth_req_id, "code": code}))
    });
    let statuses = all_at_once(guesses).await;

    // (a guess that happened to be right would be a 200: one in 10^5 per code, never here)
    statuses.assert_counts(&[(400, limit), (429, 30 - limit)]);
}
