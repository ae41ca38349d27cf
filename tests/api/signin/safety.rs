//! CSRF on every form; the script is a file the policy allows, and no page has inline script.

use super::browsing::web_sign_in;
use crate::helpers::{Jar, PASSWORD, spawn_app};

#[tokio::test]
async fn every_form_refuses_a_post_without_its_csrf_token_and_changes_nothing() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let api_tokens = app.sign_in(&phone).await;
    let mut web = Jar::default();
    let web_sid = web_sign_in(&app, &mut web, &phone).await;
    web.insert("nod_device", &phone.secret);
    // A pending login for the phone to (not) answer.
    let pending = app.start_login("alice").await;
    let note = app.next_notification("alice").await;
    let alice = app.user_id("alice").await;
    let now = app.state.clock.now_ms();
    let sessions_before = app.state.store.active_sessions(&alice, now).await.unwrap();
    assert_eq!(sessions_before.len(), 2);
    let approval_path = format!("/phone/approvals/{}", note.approval_id);
    let revoke_web = format!("/activity/sessions/{web_sid}/revoke");
    let revoke_phone = format!("/phone/sessions/{web_sid}/revoke");
    let code = pending.binding_code.clone();
    let forms: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "/login",
            vec![("username", "alice"), ("password", PASSWORD)],
        ),
        ("/logout", vec![]),
        (&revoke_web, vec![]),
        (
            &approval_path,
            vec![("decision", "approve"), ("binding_code", &code)],
        ),
        (&revoke_phone, vec![]),
        ("/phone/sessions/revoke-all", vec![]),
    ];
    for (path, fields) in &forms {
        for token in [None, Some("wrong-token-0123456789abcdefghijklmnopqrstuv")] {
            let mut form = fields.clone();
            if let Some(token) = token {
                form.push(("csrf", token));
            }
            let mut browser = web.clone();
            let response = browser.post(&app, path, &form).await;
            assert_eq!(response.status(), 403, "{path} with {token:?}");
            assert!(response.text().await.unwrap().contains("Not allowed"));
        }
    }
    // Nothing changed: both sessions live, the login still pending, no second login pushed.
    let now = app.state.clock.now_ms();
    assert_eq!(
        app.state.store.active_sessions(&alice, now).await.unwrap(),
        sessions_before
    );
    assert_eq!(app.pending_on(&phone).await.len(), 1);
    assert_eq!(
        app.poll_token(&pending.auth_req_id, None).await.status(),
        400
    );
    assert_eq!(
        app.verify(api_tokens["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    assert_eq!(web.open(&app, "/activity").await.status(), 200);
}

#[tokio::test]
async fn the_script_is_a_file_allowed_by_the_policy_and_no_page_has_inline_script() {
    let app = spawn_app().await;
    let mut jar = Jar::default();
    let script = jar.open(&app, "/static/app.js").await;
    assert_eq!(script.status(), 200);
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let login = jar.open(&app, "/login").await;
    let csp = login.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'")
            && csp.contains("connect-src 'self'")
            && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let page = login.text().await.unwrap();
    assert_eq!(
        page.matches("<script").count(),
        page.matches("<script src=\"/static/app.js\" defer></script>")
            .count()
    );
}

#[tokio::test]
async fn a_forged_post_is_refused_as_forged_before_nod_asks_who_posted_it() {
    let app = spawn_app().await;
    // No device cookie and no session cookie: the check that refuses the post comes first.
    for path in [
        "/phone/sessions/revoke-all",
        "/phone/sessions/some-session/revoke",
        "/activity/sessions/some-session/revoke",
        "/logout",
    ] {
        let response = Jar::default().post(&app, path, &[]).await;
        assert_eq!(response.status(), 403, "{path}");
        assert!(response.text().await.unwrap().contains("Not allowed"));
    }
}
