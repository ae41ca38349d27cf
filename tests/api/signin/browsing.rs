//! The steps of a web sign-in, in a hand-kept browser (`helpers::Jar`).

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Jar, PASSWORD, Phone, TestApp, csrf_field, location, text_after};

/// Posts the sign-in form; the browser is then waiting for the phone. Returns the number the
/// waiting page shows and the waiting page itself.
pub(super) async fn start_web_login(
    app: &TestApp,
    jar: &mut Jar,
    username: &str,
) -> (String, String) {
    let form = jar.open(app, "/login").await.text().await.unwrap();
    let csrf = csrf_field(&form);
    let posted = jar
        .post(
            app,
            "/login",
            &[
                ("csrf", &csrf),
                ("username", username),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(posted.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&posted), "/login/wait");
    let waiting = jar.open(app, "/login/wait").await;
    assert_eq!(waiting.status(), 200);
    let page = waiting.text().await.unwrap();
    let number = text_after(&page, "id=\"binding-code\">", '<');
    (number, page)
}

/// A browser signed in on the web through the phone; returns its session id.
pub(super) async fn web_sign_in(app: &TestApp, jar: &mut Jar, phone: &Phone) -> String {
    let (number, _) = start_web_login(app, jar, &phone.username).await;
    approve_the_browser(app, phone, &number).await;
    let status: Value = jar
        .open(app, "/login/wait/status")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["state"], "signed_in");
    app.live_session(&phone.username, "nod web").await
}

/// The phone approves the browser's pending login with `number`; the waiting page (without
/// script) then signs the browser in. Returns the web session's id.
pub(super) async fn web_sign_in_after(
    app: &TestApp,
    jar: &mut Jar,
    phone: &Phone,
    number: &str,
) -> String {
    approve_the_browser(app, phone, number).await;
    // Without script, the waiting page itself redeems and goes on.
    let waited = jar.open(app, "/login/wait").await;
    assert_eq!(waited.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&waited), "/activity");
    app.live_session(&phone.username, "nod web").await
}

/// The phone approves the browser's pending login with the number the browser shows.
async fn approve_the_browser(app: &TestApp, phone: &Phone, number: &str) {
    let note = app.next_notification(&phone.username).await;
    let approved = app
        .approve_with_number(phone, &note.approval_id, number)
        .await;
    assert_eq!(approved.status(), 200);
}
