//! `GET /v1/device/sessions` and revocation from the phone.

use serde_json::Value;

use super::{events, feed_page};
use crate::helpers::{Phone, TestApp, error_code, spawn_app};

async fn sessions_of(app: &TestApp, phone: &Phone) -> Vec<Value> {
    let response = app
        .client
        .get(app.url("/v1/device/sessions"))
        .bearer_auth(&phone.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["sessions"].as_array().cloned().unwrap()
}

async fn revoke(app: &TestApp, phone: &Phone, path: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/v1/device/sessions/{path}")))
        .bearer_auth(&phone.secret)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_new_session_is_listed_unused_with_its_client() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    app.sign_in(&phone).await;

    let sessions = sessions_of(&app, &phone).await;

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
    let sid = sessions_of(&app, &phone).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let response = revoke(&app, &phone, &format!("{sid}/revoke")).await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["revoked"], sid.as_str());
    assert!(sessions_of(&app, &phone).await.is_empty());
    assert!(app.state.sessions.is_revoked(&sid));
    let revoked = events(&feed_page(&app, &phone, "kind=session_revoked").await);
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0]["sid"], sid.as_str());
    assert_eq!(revoked[0]["device_id"], phone.device_id.as_str());
    // A second revocation finds no live session.
    assert_eq!(
        revoke(&app, &phone, &format!("{sid}/revoke"))
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
    let sid = sessions_of(&app, &alices_phone).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let foreign = revoke(&app, &bobs_phone, &format!("{sid}/revoke")).await;
    let unknown = revoke(&app, &alices_phone, "no-such-session/revoke").await;

    assert_eq!(foreign.status(), 404);
    assert_eq!(error_code(foreign).await, "not_found");
    assert_eq!(unknown.status(), 404);
    assert_eq!(sessions_of(&app, &alices_phone).await.len(), 1);
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

    let first = revoke(&app, &alices_phone, "revoke-all").await;
    let second = revoke(&app, &alices_phone, "revoke-all").await;

    assert_eq!(first.status(), 200);
    assert_eq!(first.json::<Value>().await.unwrap()["revoked"], 2);
    assert_eq!(second.json::<Value>().await.unwrap()["revoked"], 0);
    assert!(sessions_of(&app, &alices_phone).await.is_empty());
    assert_eq!(sessions_of(&app, &bobs_phone).await.len(), 1);
    let revoked = events(&feed_page(&app, &alices_phone, "kind=session_revoked").await);
    assert_eq!(revoked.len(), 2);
}
