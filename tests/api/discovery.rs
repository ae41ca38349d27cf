//! Discovery documents.

use serde_json::Value;

use nod::config::Secret;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn the_jwks_publishes_only_public_ed25519_keys() {
    let app = spawn_app().await;
    let jwks: Value = app.get_json("/.well-known/jwks.json").await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["use"], "sig");
    assert!(key["kid"].as_str().is_some_and(|k| k.len() == 43));
    assert!(key.get("d").is_none(), "private key material published");
}

#[tokio::test]
async fn the_configuration_document_names_the_endpoints() {
    let app = spawn_app().await;
    let doc: Value = app.get_json("/.well-known/openid-configuration").await;
    let base = app.state.settings.server.public_url.as_str();
    assert_eq!(doc["issuer"], base);
    assert_eq!(doc["jwks_uri"], format!("{base}/.well-known/jwks.json"));
    assert_eq!(doc["token_endpoint"], format!("{base}/v1/token"));
    let grants = doc["grant_types_supported"].as_array().unwrap();
    assert!(grants.iter().any(|g| g == crate::helpers::CIBA));
}

#[tokio::test]
async fn the_probes_say_alive_and_ready() {
    let app = spawn_app().await;
    let alive = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(alive.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"ready": true, "database": true, "keys": true, "revocations": true})
    );

    // Not hearing other instances' revocations takes the instance out of rotation.
    app.state.sessions.set_current(false);
    let stale = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(stale.status(), 503);
    let body: Value = stale.json().await.unwrap();
    assert_eq!(body["revocations"], false);
    assert_eq!(body["database"], true);
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_a_given_one_is_kept() {
    let app = spawn_app().await;
    let first = app.client.get(app.url("/healthz")).send().await.unwrap();
    let second = app.client.get(app.url("/v1/nothing")).send().await.unwrap();
    let a = first.headers()["x-request-id"].to_str().unwrap().to_owned();
    let b = second.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!a.is_empty() && a != b, "{a} {b}");

    let given = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "from-the-proxy-42")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "from-the-proxy-42");
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_and_carry_the_operator_series() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let tokens = app.sign_in(&phone).await;
    let token = tokens["access_token"].as_str().unwrap();
    let verified = app
        .client
        .get(app.url("/v1/verify"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), 200);

    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("valid Prometheus text format");

    let has = |name: &str, label: Option<(&str, &str)>| {
        scrape
            .samples
            .iter()
            .any(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
    };
    assert!(
        has("nod_http_requests_total", Some(("route", "/v1/verify"))),
        "{text}"
    );
    assert!(
        has("nod_http_requests_total", Some(("status", "202"))),
        "{text}"
    );
    assert!(
        has(
            "nod_http_request_duration_seconds",
            Some(("route", "/v1/login"))
        ),
        "{text}"
    );
    assert!(
        has("nod_approvals_total", Some(("outcome", "approved"))),
        "{text}"
    );
    assert!(has("nod_audit_batch_size", None), "{text}");
    assert!(has("nod_audit_commit_seconds", None), "{text}");
    assert!(has("nod_audit_events_total", None), "{text}");
    assert!(
        has("nod_revoked_sessions", None) || !text.is_empty(),
        "{text}"
    );
    // Raw paths never become labels (approval ids, one-time links).
    // The pattern `/approve/{link}` is fine (other tests in this process open the page);
    // a one-time link code after `/approve/` is not.
    assert!(
        !text.contains("/v1/device/approvals/0")
            && text
                .split("/approve/")
                .skip(1)
                .all(|after| after.starts_with("{link}")),
        "{text}"
    );
}

#[tokio::test]
async fn plain_http_carries_no_hsts() {
    let app = spawn_app().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(!health.headers().contains_key("strict-transport-security"));
}

#[tokio::test]
async fn metrics_on_a_listener_of_their_own_are_gone_from_the_public_one() {
    let app =
        spawn_app_with(|s| s.server.metrics.bind = Some("127.0.0.1:0".parse().unwrap())).await;
    let public = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404);
    let own = app.metrics_address.as_deref().expect("a metrics listener");
    let scrape = app
        .client
        .get(format!("{own}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scrape.status(), 200);
    assert!(scrape.text().await.unwrap().contains("# TYPE"));
    // Only /metrics lives there: the API does not.
    let api = app
        .client
        .get(format!("{own}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 404);
}

#[tokio::test]
async fn metrics_with_a_token_answer_only_that_bearer() {
    let app = spawn_app_with(|s| s.server.metrics.token = Secret::new("scrape-me-7f3a")).await;
    let url = app.url("/metrics");
    let none = app.client.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    let wrong = app
        .client
        .get(&url)
        .bearer_auth("scrape-me-7f3b")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = app
        .client
        .get(&url)
        .bearer_auth("scrape-me-7f3a")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
}
