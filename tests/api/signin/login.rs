//! Signing in on the web: waiting for the phone, denied, wrong password, revoked.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::browsing::{start_web_login, web_sign_in, web_sign_in_after};
use crate::helpers::{Jar, csrf_field, location, spawn_app};

#[tokio::test]
async fn a_web_sign_in_waits_for_the_phone_and_then_shows_the_activity() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let mut jar = Jar::default();

    let (number, waiting) = start_web_login(&app, &mut jar, "alice").await;
    assert_eq!(number.len(), 2, "{waiting}");
    assert!(waiting.contains("Approve on your phone"));
    // The secret that redeems the login is in an HttpOnly cookie only, never in the page.
    let auth_req_id = jar.get("nod_login").unwrap().to_owned();
    assert!(!waiting.contains(&auth_req_id));
    let pending = app.pending_on(&phone).await;
    assert_eq!(pending[0]["client_name"], "nod web");
    assert!(
        pending[0]["user_agent"]
            .as_str()
            .unwrap()
            .contains("Chrome/130.0")
    );

    let sid = web_sign_in_after(&app, &mut jar, &phone, &number).await;

    for set in jar.set.iter().filter(|c| c.starts_with("nod_")) {
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
    }
    assert!(
        jar.get("nod_login").is_none(),
        "the pending login's cookie is cleared"
    );
    let refresh_token = jar.get("nod_session").unwrap().to_owned();
    let activity = jar.open(&app, "/activity").await;
    assert_eq!(activity.status(), 200);
    let page = activity.text().await.unwrap();
    assert!(page.contains("Activity of alice"));
    assert!(page.contains("nod web") && page.contains("Signed in"));
    assert!(page.contains(&sid) && !page.contains(&refresh_token) && !page.contains(&auth_req_id));
    // Signed in already: /login and the waiting page send the browser on.
    assert_eq!(location(&jar.open(&app, "/login").await), "/activity");
}

#[tokio::test]
async fn the_status_long_poll_signs_the_browser_in_when_the_phone_approves() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let mut jar = Jar::default();
    let sid = web_sign_in(&app, &mut jar, &phone).await;
    assert!(jar.get("nod_session").is_some());
    assert_eq!(jar.open(&app, "/activity").await.status(), 200);
    assert!(!sid.is_empty());
}

#[tokio::test]
async fn a_denied_web_sign_in_says_so_and_signs_nothing_in() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let mut jar = Jar::default();
    start_web_login(&app, &mut jar, "alice").await;
    let note = app.next_notification("alice").await;
    let denied = app
        .decide(&phone, &note.approval_id, json!({"decision": "deny"}))
        .await;
    assert_eq!(denied.status(), 200);
    let status: Value = jar
        .open(&app, "/login/wait/status")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["state"], "denied");
    let page = jar.open(&app, "/login/wait").await.text().await.unwrap();
    assert!(
        page.contains("Denied") && page.contains("state denied"),
        "{page}"
    );
    assert!(jar.get("nod_login").is_none() && jar.get("nod_session").is_none());
    assert_eq!(location(&jar.open(&app, "/activity").await), "/login");
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_with_the_reason() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;
    let mut jar = Jar::default();
    let form = jar.open(&app, "/login").await.text().await.unwrap();
    let csrf = csrf_field(&form);
    let posted = jar
        .post(
            &app,
            "/login",
            &[
                ("csrf", &csrf),
                ("username", "alice"),
                ("password", "wrong"),
            ],
        )
        .await;
    assert_eq!(posted.status(), 401);
    let page = posted.text().await.unwrap();
    assert!(page.contains("invalid username or password") && page.contains("value=\"alice\""));
}

#[tokio::test]
async fn a_revoked_web_session_no_longer_opens_the_activity_page() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let mut jar = Jar::default();
    web_sign_in(&app, &mut jar, &phone).await;
    assert_eq!(jar.open(&app, "/activity").await.status(), 200);

    // Ended from the phone, through the API.
    let revoked = app.phone_post(&phone, "sessions/revoke-all").await;
    assert_eq!(revoked.status(), 200);
    let after = jar.open(&app, "/activity").await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&after), "/login");
    let stream = jar.open(&app, "/activity/stream").await;
    assert_eq!(stream.status(), 401);
}

#[tokio::test]
async fn the_activity_stream_ends_when_its_own_session_is_revoked() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let mut jar = Jar::default();
    web_sign_in(&app, &mut jar, &phone).await;
    let mut stream = jar.open(&app, "/activity/stream").await;
    assert_eq!(stream.status(), 200);
    let revoked = app.phone_post(&phone, "sessions/revoke-all").await;
    assert_eq!(revoked.status(), 200);
    // Ends on the revocation itself, well before the 30 s recheck would end it.
    let ended = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while stream.chunk().await.unwrap().is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the stream of a revoked session stays open");
}
