//! `twilio` against a fake of the Messages API
//! (<https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource>).

use std::collections::HashMap;

use wiremock::matchers::{basic_auth, header as has_header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestApp, approve_prefix, spawn_app_with};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "twilio_auth_token_secret";

/// An app with Twilio enabled against the fake `twilio`, where alice, whose phone is reached
/// by SMS, has just started a login.
async fn login_texted_through(twilio: &MockServer) -> TestApp {
    let base = twilio.uri();
    let app = spawn_app_with(|s| {
        s.notify.twilio.enabled = true;
        s.notify.twilio.base_url = base;
        s.notify.twilio.account_sid = SID.into();
        s.notify.twilio.auth_token = nod::config::Secret::new(TOKEN);
        s.notify.twilio.from = "+15550001111".into();
    })
    .await;
    app.user_with_phone_on("alice", &["twilio=+15551234567"])
        .await;
    app.start_login("alice").await;
    app
}

#[tokio::test]
async fn twilio_sends_one_segment_sms_with_the_link_by_form_post_and_basic_auth() {
    let twilio = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/2010-04-01/Accounts/{SID}/Messages.json")))
        .and(basic_auth(SID, TOKEN))
        .and(has_header(
            "content-type",
            "application/x-www-form-urlencoded",
        ))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(serde_json::json!({"sid": "SM1", "status": "queued"})),
        )
        .expect(1)
        .mount(&twilio)
        .await;
    let app = login_texted_through(&twilio).await;

    let attempts = app.delivery_attempts("alice", 1).await;
    assert_eq!(attempts[0].kind, "notification_sent", "{attempts:?}");
    twilio.verify().await;
    let request = &twilio.received_requests().await.unwrap()[0];
    let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect();
    let mut keys: Vec<_> = form.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["Body", "From", "To"]);
    assert_eq!(form["To"], "+15551234567");
    assert_eq!(form["From"], "+15550001111");
    let body = &form["Body"];
    assert!(body.len() <= 160 && body.is_ascii(), "{body}");
    assert!(
        body.contains("test suite") && body.contains("alice"),
        "{body}"
    );
    let link = body.rsplit(' ').next().unwrap();
    assert!(link.starts_with(&approve_prefix(&app)), "{body}");
}

#[tokio::test]
async fn a_twilio_error_lands_in_the_feed_with_its_code_and_without_the_credentials() {
    let twilio = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "code": 21211, "status": 400,
            "message": format!("The 'To' number is not valid ({TOKEN})"),
        })))
        .expect(1)
        .mount(&twilio)
        .await;
    let app = login_texted_through(&twilio).await;

    let attempts = app.delivery_attempts("alice", 1).await;
    assert_eq!(attempts.len(), 1, "a 4xx is not retried: {attempts:?}");
    assert_eq!(
        attempts[0].error.as_deref(),
        Some("permanent failure: twilio answered HTTP 400 (error 21211)")
    );
    let feed = format!("{:?}", app.events_of("alice").await);
    assert!(!feed.contains(TOKEN) && !feed.contains(SID));
}
