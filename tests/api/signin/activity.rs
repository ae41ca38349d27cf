//! `/activity`: Revoke per session, Sign out, filters and pages.

use nod::domain::RevokedBy;
use reqwest::StatusCode;

use super::browsing::web_sign_in;
use crate::helpers::{Jar, csrf_field, error_code, location, refresh_token, spawn_app, text_after};

#[tokio::test]
async fn revoke_on_the_activity_page_ends_a_session_and_its_tokens() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let tokens = app.sign_in(&phone).await;
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.verify(token).await.status(), 200);
    let mut jar = Jar::default();
    let web_sid = web_sign_in(&app, &mut jar, &phone).await;

    let page = jar.open(&app, "/activity").await.text().await.unwrap();
    assert!(
        page.contains("test suite") && page.contains("/orders/42"),
        "{page}"
    );
    let api_sid = app.live_session("alice", "test suite").await;
    let csrf = csrf_field(&page);
    let revoked = jar
        .post(
            &app,
            &format!("/activity/sessions/{api_sid}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.verify(token).await.status(), 401);
    // Still signed in on the web; then signing out ends the web session too.
    let page = jar.open(&app, "/activity").await.text().await.unwrap();
    assert!(
        page.contains("Session ended") && page.contains("by user"),
        "{page}"
    );
    let out = jar.post(&app, "/logout", &[("csrf", &csrf)]).await;
    assert_eq!(location(&out), "/login");
    let session = app.session(&web_sid).await;
    assert_eq!(session.revoked_by, Some(RevokedBy::User));
}

#[tokio::test]
async fn activity_filters_by_kind_and_pages_with_an_older_link() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let tokens = app.sign_in(&phone).await;
    let token = tokens["access_token"].as_str().unwrap();
    for _ in 0..30 {
        assert_eq!(app.verify(token).await.status(), 200);
    }
    let mut jar = Jar::default();
    web_sign_in(&app, &mut jar, &phone).await;

    let first = jar
        .open(&app, "/activity?kind=token_used")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(first.matches("<li class=\"event").count(), 25);
    assert_eq!(
        first.matches("Token used").count() - 1,
        25,
        "only uses (plus the option)"
    );
    let older = text_after(&first, "href=\"/activity?kind=token_used&#38;before=", '"');
    assert!(first.contains("data-stream=\"/activity/stream?kind=token_used\""));
    let second = jar
        .open(&app, &format!("/activity?kind=token_used&before={older}"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(second.matches("<li class=\"event").count(), 5);
    assert!(!second.contains("rel=\"next\"") && !second.contains("data-stream"));

    // A time range before every event is empty; a bad day is a clear 400 page.
    let empty = jar
        .open(&app, "/activity?to=1999-12-31")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(empty.matches("<li class=\"event").count(), 0);
    let bad = jar.open(&app, "/activity?from=yesterday").await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("YYYY-MM-DD"));
}

#[tokio::test]
async fn a_spent_refresh_token_is_no_web_sign_in_and_ends_the_session_as_reuse() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let mut browser = Jar::default();
    let web_sid = web_sign_in(&app, &mut browser, &phone).await;
    assert_eq!(browser.open(&app, "/activity").await.status(), 200);
    // Someone with a copy of the cookie refreshes it at the token endpoint: R1 → R2.
    let first = browser.get("nod_session").unwrap().to_owned();
    let refreshed = app.refresh(&first).await;
    assert_eq!(refreshed.status(), 200);
    let second = refresh_token(&refreshed.json().await.unwrap());

    // The browser still holds R1, now spent: no page, no stream, and the session ends.
    let page = browser.open(&app, "/activity").await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&page), "/login");
    let stream = browser.open(&app, "/activity/stream").await;
    assert_ne!(
        stream.status(),
        StatusCode::OK,
        "a spent cookie streams the feed"
    );
    let session = app.session(&web_sid).await;
    assert_eq!(session.revoked_by, Some(RevokedBy::RefreshReuse));
    // As on reuse at /v1/token: the copy's tokens die too, and the feed says why, in order.
    assert_eq!(
        error_code(app.refresh(&second).await).await,
        "invalid_grant"
    );
    let kinds: Vec<String> = app
        .events_of("alice")
        .await
        .into_iter()
        .filter(|e| e.sid.as_deref() == Some(web_sid.as_str()))
        .map(|e| e.kind)
        .filter(|k| k == "refresh_reuse" || k == "session_revoked")
        .collect();
    assert_eq!(
        kinds[..2],
        ["refresh_reuse", "session_revoked"],
        "{kinds:?}"
    );
    let revoked = app
        .events_of("alice")
        .await
        .into_iter()
        .find(|e| e.kind == "session_revoked")
        .unwrap();
    assert!(
        revoked.detail.unwrap().contains("refresh_reuse"),
        "revoked by reuse detection"
    );
}
