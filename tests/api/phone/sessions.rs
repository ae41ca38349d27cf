//! `GET /v1/device/sessions` and revocation from the phone.

use serde_json::Value;

use crate::feed::{events, feed_page};
use crate::helpers::{Phone, TestApp, error_code, spawn_app};

/// The id of the first session the phone lists.
async fn first_listed(app: &TestApp, phone: &Phone) -> String {
    app.sessions_of(phone).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_new_session_is_listed_unused_with_its_client() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    app.sign_in(&phone).await;

    let sessions = app.sessions_of(&phone).await;

    assert_eq!(sessions.len(), 1);
    let session = &sessions[0];
    assert_eq!(session["use_count"], 0);
    assert!(session["last_used_at"].is_null());
    assert_eq!(session["client_name"], "test suite");
    assert_eq!(session["ip"], "127.0.0.1");
    for field in ["id", "user_agent"] {
        assert!(session[field].is_string(), "{field}");
    }
    for field in ["created_at", "expires_at"] {
        assert!(session[field].is_i64(), "{field}");
    }
}

#[tokio::test]
async fn a_device_revokes_a_session_and_the_feed_says_so() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    app.sign_in(&phone).await;
    let sid = first_listed(&app, &phone).await;

    let response = app
        .phone_post(&phone, &format!("sessions/{sid}/revoke"))
        .await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["revoked"], sid.as_str());
    assert!(app.sessions_of(&phone).await.is_empty());
    assert!(app.state.sessions.is_revoked(&sid));
    let revoked = events(&feed_page(&app, &phone, "kind=session_revoked").await);
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0]["sid"], sid.as_str());
    assert_eq!(revoked[0]["device_id"], phone.device_id.as_str());
    // A second revocation finds no live session.
    assert_eq!(
        app.phone_post(&phone, &format!("sessions/{sid}/revoke"))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn revoking_another_users_or_an_unknown_session_is_not_found() {
    let app = spawn_app().await;
    let alices_phone = app.user_with_phone("alice").await;
    let bobs_phone = app.user_with_phone("bob").await;
    app.sign_in(&alices_phone).await;
    let sid = first_listed(&app, &alices_phone).await;

    let foreign = app
        .phone_post(&bobs_phone, &format!("sessions/{sid}/revoke"))
        .await;
    let unknown = app
        .phone_post(&alices_phone, "sessions/no-such-session/revoke")
        .await;

    assert_eq!(foreign.status(), 404);
    assert_eq!(error_code(foreign).await, "not_found");
    assert_eq!(unknown.status(), 404);
    assert_eq!(app.sessions_of(&alices_phone).await.len(), 1);
    assert!(!app.state.sessions.is_revoked(&sid));
}

#[tokio::test]
async fn revoke_all_ends_every_session_of_the_user_only_and_counts_them() {
    let app = spawn_app().await;
    let alices_phone = app.user_with_phone("alice").await;
    let bobs_phone = app.user_with_phone("bob").await;
    app.sign_in(&alices_phone).await;
    app.sign_in(&alices_phone).await;
    app.sign_in(&bobs_phone).await;

    let first = app.phone_post(&alices_phone, "sessions/revoke-all").await;
    let second = app.phone_post(&alices_phone, "sessions/revoke-all").await;

    assert_eq!(first.status(), 200);
    assert_eq!(first.json::<Value>().await.unwrap()["revoked"], 2);
    assert_eq!(second.json::<Value>().await.unwrap()["revoked"], 0);
    assert!(app.sessions_of(&alices_phone).await.is_empty());
    assert_eq!(app.sessions_of(&bobs_phone).await.len(), 1);
    let revoked = events(&feed_page(&app, &alices_phone, "kind=session_revoked").await);
    assert_eq!(revoked.len(), 2);
}
