//! `POST /v1/token` with the CIBA grant: the happy path, long-poll, every refusal.

use std::time::{Duration, Instant};

use jsonwebtoken::{DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
use serde_json::{Value, json};

use crate::helpers::{CIBA, error_code, spawn_app, spawn_app_with};

#[tokio::test]
async fn an_approved_login_yields_an_rfc_9068_token_signed_by_a_published_key() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;

    let tokens = app.sign_in(&phone).await;

    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 300);
    assert!(tokens["refresh_token"].as_str().unwrap().len() >= 43);
    let access = tokens["access_token"].as_str().unwrap();
    let header = decode_header(access).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    let jwks: JwkSet = app.get_json("/.well-known/jwks.json").await;
    let kid = header.kid.unwrap();
    let jwk = jwks.find(&kid).expect("the token's kid is in the JWKS");
    let mut validation = Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["nod"]);
    validation.validate_exp = false; // the test clock may differ from real time
    let claims = decode::<Value>(access, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], app.user_id("alice").await);
    assert_eq!(claims["preferred_username"], "alice");
    assert_eq!(claims["iss"], app.state.settings.issuer());
    assert_eq!(claims["amr"], json!(["pwd", "push"]));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let sid = claims["sid"].as_str().unwrap();
    let session = app.session(sid).await;
    assert_eq!(session.device_id.as_deref(), Some(phone.device_id.as_str()));
}

/// How long a parked poll may take to answer once it should: only so that a missed wake-up
/// fails the test instead of hanging it (the poll's own deadline is on the test clock).
const PATIENCE: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_long_poll_is_answered_by_the_approval_before_its_wait_runs_out() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let pending = app.start_login("alice").await;
    let note = app.next_notification("alice").await;
    let poll = app.park_long_poll(&pending.auth_req_id, 30).await;
    // Most of the wait goes by: the poll is still waiting for the phone.
    app.clock.advance(Duration::from_secs(29));

    let decided = app.approve(&phone, &pending, &note.approval_id).await;
    assert_eq!(decided.status(), 200);

    // The clock stays a second short of the deadline: only the approval can answer the poll.
    let (status, body) = tokio::time::timeout(PATIENCE, poll)
        .await
        .expect("the approval wakes the parked poll")
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string());
}

#[tokio::test]
async fn a_long_poll_without_a_decision_ends_pending_when_its_wait_runs_out() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;
    let pending = app.start_login("alice").await;
    let poll = app.park_long_poll(&pending.auth_req_id, 30).await;

    app.clock.advance(Duration::from_secs(30));

    let (status, body) = tokio::time::timeout(PATIENCE, poll)
        .await
        .expect("the poll ends when its wait runs out")
        .unwrap();
    assert_eq!(status, 400);
    assert_eq!(body["error"], "authorization_pending");
}

#[tokio::test]
async fn polling_faster_than_the_interval_is_told_to_slow_down() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;
    let pending = app.start_login("alice").await;

    let first = app.poll_token(&pending.auth_req_id, None).await;
    let second = app.poll_token(&pending.auth_req_id, None).await;
    app.clock.advance(Duration::from_secs(5));
    let third = app.poll_token(&pending.auth_req_id, None).await;

    assert_eq!(first.status(), 400);
    assert_eq!(error_code(first).await, "authorization_pending");
    assert_eq!(error_code(second).await, "slow_down");
    assert_eq!(error_code(third).await, "authorization_pending");
}

#[tokio::test]
async fn an_undecided_login_expires_for_the_client_and_the_phone() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let pending = app.start_login("alice").await;
    let note = app.next_notification("alice").await;

    app.clock
        .advance(Duration::from_secs(pending.expires_in + 1));

    let token = app.poll_token(&pending.auth_req_id, None).await;
    assert_eq!(error_code(token).await, "expired_token");
    assert!(app.pending_on(&phone).await.is_empty());
    let late = app.approve(&phone, &pending, &note.approval_id).await;
    assert_eq!(late.status(), 410);
    assert_eq!(error_code(late).await, "expired");
}

#[tokio::test]
async fn an_approval_left_unredeemed_too_long_expires() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let pending = app.approved_login(&phone).await;

    // Approved is redeemable for one approval lifetime after the decision; then it expires.
    app.clock
        .advance(app.state.settings.approvals.ttl.0 + Duration::from_secs(1));

    let token = app.poll_token(&pending.auth_req_id, None).await;
    assert_eq!(error_code(token).await, "expired_token");
}

#[tokio::test]
async fn an_auth_req_id_redeems_only_once() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let pending = app.approved_login(&phone).await;

    // Two racing redemptions: exactly one wins.
    let (a, b) = tokio::join!(
        app.poll_token(&pending.auth_req_id, None),
        app.poll_token(&pending.auth_req_id, None)
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400]);

    let again = app.poll_token(&pending.auth_req_id, None).await;
    assert_eq!(error_code(again).await, "invalid_grant");
}

#[tokio::test]
async fn an_unknown_auth_req_id_is_an_invalid_grant() {
    let app = spawn_app().await;
    let response = app.poll_token("no-such-request", Some(0)).await;
    assert_eq!(response.status(), 400);
    assert_eq!(error_code(response).await, "invalid_grant");
}

#[tokio::test]
async fn the_token_endpoint_also_takes_json() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;
    let pending = app.start_login("alice").await;

    let response = app
        .client
        .post(app.url("/v1/token"))
        .json(&json!({"grant_type": CIBA, "auth_req_id": pending.auth_req_id, "wait": 0}))
        .send()
        .await
        .unwrap();

    assert_eq!(error_code(response).await, "authorization_pending");
}

#[tokio::test]
async fn shutting_down_answers_a_parked_long_poll_with_authorization_pending() {
    let mut app = spawn_app().await;
    app.user_with_phone("alice").await;
    let pending = app.start_login("alice").await;
    let poll = app.park_long_poll(&pending.auth_req_id, 60).await;
    let started = Instant::now();

    app.shut_down().await;

    let (status, body) = poll.await.unwrap();
    assert_eq!(status, 400);
    assert_eq!(body["error"], "authorization_pending");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown waited out the long-poll"
    );
}

#[tokio::test]
async fn shutdown_closes_a_stuck_request_after_the_shutdown_timeout() {
    use tokio::io::AsyncWriteExt;
    let mut app = spawn_app_with(|s| {
        s.server.shutdown_timeout = nod::config::Ttl(Duration::from_millis(500));
    })
    .await;
    // A client that promises a body and never sends it: the request stays in flight. The
    // `100 Continue` it gets back proves the handler is already reading the body.
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut stuck = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stuck
        .write_all(b"POST /v1/login HTTP/1.1\r\nhost: nod\r\ncontent-type: application/json\r\ncontent-length: 100\r\nexpect: 100-continue\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 64];
    let n = tokio::io::AsyncReadExt::read(&mut stuck, &mut answer)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 100"));
    let started = Instant::now();

    app.shut_down().await; // panics if the server has not stopped within 5 s

    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "it waited for the request first"
    );
    drop(stuck);
}
