//! Acceptance 1 and 4: a person signs in at `/login`, approves on the phone (a second
//! browser) with the number, and the first page goes on to `/activity` by itself; revoking a
//! session there makes the next `/v1/verify` with its token 401. Screenshots of `/approve` at
//! 360×740 and `/activity` at 1280×800 along the way.

use super::driver::{Driver, body_text, click, fill, log_in_on_the_web, wait_for, wait_for_none};
use super::screenshots::{capture, set_viewport};
use crate::helpers::{access, spawn_app};

#[tokio::test]
async fn a_web_sign_in_approved_in_a_second_browser_continues_to_activity_where_revoke_works() {
    let Some(mut driver) = Driver::start().await else {
        return;
    };
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    // An app signed in through the API, whose token is used once: it shows on /activity.
    let api_tokens = app.sign_in(&phone).await;
    let api_token = access(&api_tokens);
    assert_eq!(app.verify(&api_token).await.status(), 200);

    let computer = driver.browser(false).await;
    let handset = driver.browser(true).await;

    let number = log_in_on_the_web(&computer, &app, "alice").await;
    assert_eq!(number.len(), 2, "the login screen shows a two-digit number");
    set_viewport(&computer, 1280, 800).await;
    capture(&computer, "login-wait.png", 1280, 800).await;

    let path = app.approval_path("alice").await;
    handset.goto(&app.url(&path)).await.unwrap();
    wait_for(&handset, "input[name=binding_code]").await;
    assert!(body_text(&handset).await.contains("nod web"));
    capture(&handset, "approve.png", 360, 740).await;
    fill(&handset, "input[name=binding_code]", &number).await;
    click(&handset, "button[value=approve]").await;
    wait_for(&handset, "p.state.approved").await;

    // The computer's page goes on by itself: no click, no reload by the test.
    wait_for(&computer, "section.history").await;
    assert!(computer.current_url().await.unwrap().path() == "/activity");
    let page = body_text(&computer).await;
    assert!(page.contains("Activity of alice"), "{page}");
    assert!(
        page.contains("nod web") && page.contains("Signed in"),
        "{page}"
    );
    assert!(
        page.contains("/orders/42"),
        "the API token's use is listed: {page}"
    );
    // Times are rewritten into the viewer's time zone by the script.
    let time = wait_for(&computer, "time[title]").await;
    assert_ne!(
        time.text().await.unwrap(),
        time.attr("datetime").await.unwrap().unwrap()
    );
    // The filter's hidden `tz` holds the browser's own offset, so From and To are read in its
    // zone, and the note says so.
    let offset = computer
        .execute("return String(new Date().getTimezoneOffset());", vec![])
        .await
        .unwrap();
    let tz = wait_for(&computer, "#tz")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(tz.as_deref(), offset.as_str());
    let note = wait_for(&computer, "#tz-note").await.text().await.unwrap();
    assert!(note.contains("in your time zone"), "{note}");

    // Live: a new use appears without a reload.
    wait_for(&computer, "#live:not([hidden])").await;
    assert_eq!(app.verify(&api_token).await.status(), 200);
    wait_for(&computer, "#feed li.event.new").await;

    set_viewport(&computer, 1280, 800).await;
    capture(&computer, "activity.png", 1280, 800).await;

    let api_sid = app.live_session("alice", "test suite").await;
    let card = format!("li.card[data-sid=\"{api_sid}\"]");
    click(&computer, &format!("{card} button")).await;
    wait_for_none(&computer, &card).await;
    assert_eq!(app.verify(&api_token).await.status(), 401);

    // The web sign-in revokes itself the same way: then the page is gone too.
    click(&computer, "li.card button").await;
    wait_for(&computer, "input[name=password]").await;
    assert_eq!(computer.current_url().await.unwrap().path(), "/login");

    computer.close().await.unwrap();
    handset.close().await.unwrap();
}
