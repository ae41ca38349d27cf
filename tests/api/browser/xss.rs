//! Acceptance 2: a login whose client sent `<script>alert(1)</script>` as its user agent
//! shows that text, literally, on `/approve`, `/phone` and `/activity`, and no script runs.

use serde_json::{Value, json};

use super::driver::{
    Driver, assert_no_script_ran, body_text, click, fill, log_in_on_the_web, wait_for,
};
use super::screenshots::capture;
use crate::helpers::{PASSWORD, spawn_app};

const HOSTILE_AGENT: &str = "<script>alert(1)</script>";
const HOSTILE_CLIENT: &str = "<img src=x onerror=\"window.__xss=1\">";

#[tokio::test]
async fn a_hostile_user_agent_is_shown_as_text_and_never_runs() {
    let Some(mut driver) = Driver::start().await else {
        return;
    };
    let app = spawn_app().await;
    app.user_with_phone("mallory").await;
    let handset = driver.browser(true).await;
    let computer = driver.browser(false).await;

    // The handset pairs itself in the browser, so it holds a device cookie for /phone.
    let code = app.pairing_code("mallory").await;
    handset
        .goto(&app.url(&format!("/enroll/{code}")))
        .await
        .unwrap();
    click(&handset, "form button[type=submit]").await;
    wait_for(&handset, "figure.qr").await;

    // The hostile login, straight through the API.
    let login = app
        .client
        .post(app.url("/v1/login"))
        .header("user-agent", HOSTILE_AGENT)
        .json(&json!({"username": "mallory", "password": PASSWORD, "client_name": HOSTILE_CLIENT}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 202);
    let login: Value = login.json().await.unwrap();
    let path = app.approval_path("mallory").await;

    handset.goto(&app.url(&path)).await.unwrap();
    wait_for(&handset, "input[name=binding_code]").await;
    let page = body_text(&handset).await;
    assert!(
        page.contains(HOSTILE_AGENT) && page.contains(HOSTILE_CLIENT),
        "{page}"
    );
    assert_no_script_ran(&handset).await;
    fill(
        &handset,
        "input[name=binding_code]",
        login["binding_code"].as_str().unwrap(),
    )
    .await;
    click(&handset, "button[value=approve]").await;
    wait_for(&handset, "p.state.approved").await;
    let auth_req_id = login["auth_req_id"].as_str().unwrap();
    assert_eq!(app.poll_token(auth_req_id, None).await.status(), 200);

    // The phone's home lists the hostile session and the event, as text.
    handset.goto(&app.url("/phone")).await.unwrap();
    wait_for(&handset, "#feed li.event").await;
    let page = body_text(&handset).await;
    assert!(
        page.contains(HOSTILE_AGENT) && page.contains(HOSTILE_CLIENT),
        "{page}"
    );
    assert_no_script_ran(&handset).await;
    capture(&handset, "phone.png", 360, 740).await;

    // A web sign-in, approved from the phone's home this time.
    let number = log_in_on_the_web(&computer, &app, "mallory").await;
    handset.goto(&app.url("/phone")).await.unwrap();
    wait_for(&handset, "div.pending-card input[name=binding_code]").await;
    fill(
        &handset,
        "div.pending-card input[name=binding_code]",
        &number,
    )
    .await;
    click(&handset, "div.pending-card button[value=approve]").await;

    wait_for(&computer, "section.history").await;
    let page = body_text(&computer).await;
    assert!(
        page.contains(HOSTILE_AGENT) && page.contains(HOSTILE_CLIENT),
        "{page}"
    );
    assert_no_script_ran(&computer).await;
    let html = computer.source().await.unwrap();
    assert!(
        !html.contains(HOSTILE_AGENT),
        "the agent is escaped in the HTML"
    );

    computer.close().await.unwrap();
    handset.close().await.unwrap();
}
