//! Addresses a user chose may not reach inside nod's network (blind SSRF): refused at pairing,
//! refused again at send time on what the name resolves to, and redirects are not followed.

use nod::domain::{Channel, ChannelList, Username};
use nod::flows::provision;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestApp, spawn_app_with};

/// An app with webhooks on and the address guard as in production.
async fn guarded_app() -> TestApp {
    spawn_app_with(|s| {
        s.notify.webhook.enabled = true;
        s.notify.webhook.secret = nod::config::Secret::new("whsec_guard");
        s.notify.allow_private_addresses = false;
    })
    .await
}

fn webhook(address: &str) -> ChannelList {
    ChannelList::new(vec![Channel::parse(&format!("webhook={address}")).unwrap()]).unwrap()
}

async fn enroll(app: &TestApp, code: &str, notify: Value) -> reqwest::Response {
    app.client
        .post(app.url("/v1/enroll"))
        .json(&json!({"code": code, "name": "phone", "notify": notify}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn enrolling_with_a_webhook_to_an_internal_address_is_refused_without_spending_the_code() {
    let app = guarded_app().await;
    app.add_user("alice").await;
    let code = app.pairing_code("alice").await;

    for address in [
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:9/",
        "http://localhost:8080/hook",
        "http://10.0.0.5/hook",
        "http://192.168.1.1/",
        "http://100.64.1.1/",
        "http://[::1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fd00::1]/hook",
        "http://0x7f.1/",
    ] {
        let response = enroll(
            &app,
            &code,
            json!({"provider": "webhook", "address": address}),
        )
        .await;
        assert_eq!(response.status(), 400, "{address}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{address}");
        let why = body["error_description"].as_str().unwrap();
        assert!(why.contains("webhook address refused"), "{address}: {why}");
    }
    // Nothing was paired and the code still works.
    assert!(app.state.store.list_devices(None).await.unwrap().is_empty());
    let paired = enroll(&app, &code, json!({"provider": "mock"})).await;
    assert_eq!(paired.status(), 200);
}

#[tokio::test]
async fn the_operators_cli_path_applies_the_same_rule() {
    let app = guarded_app().await;
    app.add_user("alice").await;

    let refused = provision::add_device(
        &app.state,
        &Username::parse("alice").unwrap(),
        "phone",
        &webhook("http://169.254.169.254/latest/meta-data"),
    )
    .await;

    let error = refused.expect_err("refused");
    assert_eq!(error.code(), "invalid_request");
    assert!(
        error.to_string().contains("allow_private_addresses"),
        "{error}"
    );
}

/// A device whose webhook address passed pairing but leads inside at send time (a name
/// rebound to 127.0.0.1, or a row written before the rule): stored without the pairing check.
async fn device_with_webhook_unchecked(app: &TestApp, address: &str) {
    let user = app.user("alice").await;
    provision::add_device_for(&app.state, &user, "phone", &webhook(address), None)
        .await
        .unwrap();
}

#[tokio::test]
async fn at_send_time_a_webhook_name_resolving_to_loopback_is_not_called() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let app = guarded_app().await;
    app.add_user("alice").await;
    let port = receiver.address().port();
    // `localhost` resolves to 127.0.0.1 (and ::1), where the receiver listens.
    device_with_webhook_unchecked(&app, &format!("http://localhost:{port}/hook")).await;
    device_with_webhook_unchecked(&app, &format!("http://127.0.0.1:{port}/hook")).await;

    app.start_login("alice").await;

    let attempts = app.delivery_attempts("alice", 2).await;
    assert_eq!(
        attempts.len(),
        2,
        "one attempt each, no retries: {attempts:?}"
    );
    for attempt in &attempts {
        assert_eq!(attempt.kind, "notification_failed", "{attempts:?}");
        let error = attempt.error.as_deref().unwrap_or_default();
        assert!(error.contains("loopback"), "{error}");
    }
    assert!(receiver.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_webhook_redirect_is_not_followed() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/inside", receiver.uri()).as_str()),
        )
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .and(path("/inside"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    // Private addresses allowed, so the receiver on 127.0.0.1 is reachable at all.
    let app = spawn_app_with(|s| {
        s.notify.webhook.enabled = true;
        s.notify.webhook.secret = nod::config::Secret::new("whsec_guard");
    })
    .await;
    app.user_with_phone_on("alice", &[&format!("webhook={}/hook", receiver.uri())])
        .await;

    app.start_login("alice").await;

    let attempts = app.delivery_attempts("alice", 1).await;
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].kind, "notification_failed");
    assert!(
        attempts[0]
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("307"),
        "{attempts:?}"
    );
    let paths: Vec<String> = receiver
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(paths, ["/hook"]);
}
