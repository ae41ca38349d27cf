//! Malformed requests: always a 4xx in the RFC 6749 error shape, never a 5xx.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{CIBA, error_code, spawn_app};

struct Case {
    name: &'static str,
    method: Method,
    path: &'static str,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
}

fn case(
    name: &'static str,
    path: &'static str,
    content_type: Option<&'static str>,
    body: impl Into<Vec<u8>>,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        name,
        method: Method::POST,
        path,
        content_type,
        body: body.into(),
        status,
        code,
    }
}

const JSON: Option<&str> = Some("application/json");
const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

#[tokio::test]
async fn malformed_requests_get_a_4xx_in_the_rfc_6749_shape() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;
    let huge = format!(
        r#"{{"username":"alice","password":"{}"}}"#,
        "x".repeat(200_000)
    );
    let cases = vec![
        case(
            "login: broken JSON",
            "/v1/login",
            JSON,
            "{\"username\":",
            400,
            "invalid_request",
        ),
        case(
            "login: not an object",
            "/v1/login",
            JSON,
            "[1,2]",
            400,
            "invalid_request",
        ),
        case(
            "login: missing password",
            "/v1/login",
            JSON,
            r#"{"username":"alice"}"#,
            400,
            "invalid_request",
        ),
        case(
            "login: wrong types",
            "/v1/login",
            JSON,
            r#"{"username":1,"password":true}"#,
            400,
            "invalid_request",
        ),
        case(
            "login: no content type",
            "/v1/login",
            None,
            r#"{"username":"a","password":"b"}"#,
            415,
            "invalid_request",
        ),
        case(
            "login: form body",
            "/v1/login",
            FORM,
            "username=alice&password=x",
            415,
            "invalid_request",
        ),
        case(
            "login: oversized body",
            "/v1/login",
            JSON,
            huge,
            413,
            "invalid_request",
        ),
        case(
            "login: empty body",
            "/v1/login",
            JSON,
            "",
            400,
            "invalid_request",
        ),
        case(
            "token: no grant_type",
            "/v1/token",
            FORM,
            "auth_req_id=x",
            400,
            "invalid_request",
        ),
        case(
            "token: unknown grant",
            "/v1/token",
            FORM,
            "grant_type=password&username=a",
            400,
            "unsupported_grant_type",
        ),
        case(
            "token: no auth_req_id",
            "/v1/token",
            FORM,
            format!("grant_type={CIBA}"),
            400,
            "invalid_request",
        ),
        case(
            "token: wait too long",
            "/v1/token",
            FORM,
            format!("grant_type={CIBA}&auth_req_id=x&wait=61"),
            400,
            "invalid_request",
        ),
        case(
            "token: wait not a number",
            "/v1/token",
            FORM,
            format!("grant_type={CIBA}&auth_req_id=x&wait=soon"),
            400,
            "invalid_request",
        ),
        case(
            "token: negative wait",
            "/v1/token",
            JSON,
            format!(r#"{{"grant_type":"{CIBA}","auth_req_id":"x","wait":-1}}"#),
            400,
            "invalid_request",
        ),
        case(
            "token: text/plain",
            "/v1/token",
            Some("text/plain"),
            "grant_type=x",
            415,
            "invalid_request",
        ),
        case(
            "token: huge auth_req_id",
            "/v1/token",
            FORM,
            format!("grant_type={CIBA}&auth_req_id={}", "a".repeat(10_000)),
            400,
            "invalid_grant",
        ),
        case(
            "token: broken form",
            "/v1/token",
            FORM,
            "%%%=&&=%",
            400,
            "invalid_request",
        ),
        case(
            "unknown route",
            "/v1/nothing-here",
            JSON,
            "{}",
            404,
            "not_found",
        ),
    ];
    for c in cases {
        let mut request = app
            .client
            .request(c.method.clone(), app.url(c.path))
            .body(c.body.clone());
        if let Some(ct) = c.content_type {
            request = request.header("content-type", ct);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), c.status, "{}", c.name);
        assert_eq!(error_code(response).await, c.code, "{}", c.name);
    }
}

#[tokio::test]
async fn malformed_decisions_are_refused_without_deciding() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let pending = app.start_login("alice").await;
    let note = app.next_notification("alice").await;
    for body in [
        json!({"decision": "maybe"}),
        json!({"decision": "approve"}),
        json!({"decision": "approve", "binding_code": "4x"}),
        json!({"decision": "approve", "binding_code": "123"}),
        json!({"binding_code": "12"}),
    ] {
        let response = app.decide(&phone, &note.approval_id, body.clone()).await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(error_code(response).await, "invalid_request", "{body}");
    }
    let unknown = app
        .decide(&phone, "no-such-approval", json!({"decision": "deny"}))
        .await;
    assert_eq!(unknown.status(), 404);
    // Still pending: none of the malformed answers counted as a decision.
    let token = app.poll_token(&pending.auth_req_id, None).await;
    assert_eq!(error_code(token).await, "authorization_pending");
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/v1/login")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(error_code(response).await, "method_not_allowed");
}

#[tokio::test]
async fn hostile_free_text_is_kept_clipped_and_without_control_characters() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let response = app
        .client
        .post(app.url("/v1/login"))
        .header("user-agent", "x".repeat(5000))
        .json(
            &json!({"username": "alice", "password": crate::helpers::PASSWORD,
                      "client_name": "evil\r\nSet-Cookie: a=b <script>"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let approvals = app.pending_on(&phone).await;
    let client = approvals[0]["client_name"].as_str().unwrap();
    assert!(!client.contains('\n') && !client.contains('\r'), "{client}");
    assert!(approvals[0]["user_agent"].as_str().unwrap().len() <= 200);
}

#[tokio::test]
async fn ids_and_names_with_a_nul_character_are_unknown_not_a_server_error() {
    // PostgreSQL text cannot hold NUL: a lookup must still answer "no such thing", as on SQLite.
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let device = |method: Method, path: &str| {
        app.client
            .request(method, app.url(path))
            .bearer_auth(&phone.secret)
    };
    let answers = [
        (
            "decide",
            device(Method::POST, "/v1/device/approvals/%00")
                .json(&json!({"decision": "deny"}))
                .send()
                .await
                .unwrap(),
            404,
        ),
        (
            "feed by session",
            device(Method::GET, "/v1/device/feed?sid=%00")
                .send()
                .await
                .unwrap(),
            404,
        ),
        (
            "revoke a session",
            device(Method::POST, "/v1/device/sessions/%00/revoke")
                .send()
                .await
                .unwrap(),
            404,
        ),
        (
            "login",
            app.client
                .post(app.url("/v1/login"))
                .json(&json!({"username": "alice\u{0}", "password": "x"}))
                .send()
                .await
                .unwrap(),
            401,
        ),
    ];
    for (name, response, status) in answers {
        assert_eq!(response.status(), status, "{name}");
    }
}
