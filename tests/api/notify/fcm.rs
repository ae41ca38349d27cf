//! `fcm` against fakes of Google's OAuth token endpoint and FCM HTTP v1
//! (<https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send>,
//! <https://developers.google.com/identity/protocols/oauth2/service-account#httprest>).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use nod::auth::keys::files::pem;
use serde_json::{Value, json};
use tempfile::TempDir;
use wiremock::matchers::{body_string_contains, header as has_header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::{TestApp, approve_prefix, header, spawn_app_with};

const PROJECT: &str = "demo-project";
const CLIENT_EMAIL: &str = "nod-sender@demo-project.iam.gserviceaccount.com";
const SEND_PATH: &str = "/v1/projects/demo-project/messages:send";

/// A fake Google: token endpoint and FCM on one server; a service-account file naming it.
struct Google {
    server: MockServer,
    key: KeyPair,
    _dir: TempDir,
    file: PathBuf,
}

impl Google {
    async fn start() -> Google {
        let server = MockServer::start().await;
        let key = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("service-account.json");
        let account = json!({
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "key-1",
            "private_key": pem("PRIVATE KEY", der.as_ref()),
            "client_email": CLIENT_EMAIL,
            "client_id": "1",
            "token_uri": format!("{}/token", server.uri()),
        });
        std::fs::write(&file, account.to_string()).unwrap();
        Google {
            server,
            key,
            _dir: dir,
            file,
        }
    }

    async fn app(&self) -> TestApp {
        let base = self.server.uri();
        let file = self.file.clone();
        spawn_app_with(|s| {
            s.notify.fcm.enabled = true;
            s.notify.fcm.base_url = base;
            s.notify.fcm.service_account_file = file;
        })
        .await
    }

    /// The token endpoint answers `access_token` for the next `times` requests.
    async fn token_answers(&self, access_token: &str, times: u64) {
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(has_header(
                "content-type",
                "application/x-www-form-urlencoded",
            ))
            .and(body_string_contains(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer",
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": access_token, "expires_in": 3599, "token_type": "Bearer",
            })))
            .up_to_n_times(times)
            .expect(times)
            .mount(&self.server)
            .await;
    }

    async fn requests_to(&self, wanted: &str) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.url.path() == wanted)
            .collect()
    }

    /// The claims of the assertion in a token request, after checking its RS256 signature with
    /// the service account's public key.
    fn assertion_claims(&self, request: &Request) -> (jsonwebtoken::Header, Value) {
        let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        let assertion = &form["assertion"];
        let header = jsonwebtoken::decode_header(assertion).unwrap();
        let key = DecodingKey::from_rsa_der(self.key.public_key().as_ref());
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[format!("{}/token", self.server.uri())]);
        validation.set_issuer(&[CLIENT_EMAIL]);
        validation.validate_exp = false; // the app's clock is a test clock
        let claims = jsonwebtoken::decode::<Value>(assertion, &key, &validation)
            .unwrap()
            .claims;
        (header, claims)
    }
}

#[tokio::test]
async fn fcm_fetches_one_oauth_token_reuses_it_and_refreshes_it_near_expiry() {
    let google = Google::start().await;
    google.token_answers("ya29.first", 1).await;
    google.token_answers("ya29.second", 1).await;
    Mock::given(method("POST"))
        .and(path(SEND_PATH))
        .and(has_header("content-type", "application/json"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"name": "projects/demo-project/messages/1"})),
        )
        .expect(3)
        .mount(&google.server)
        .await;
    let app = google.app().await;
    for user in ["alice", "bob", "carol"] {
        app.user_with_phone_on(user, &[&format!("fcm=registration-token-of-{user}")])
            .await;
    }

    // Two notifications: one token request, the token reused.
    for user in ["alice", "bob"] {
        app.start_login(user).await;
        let attempts = app.delivery_attempts(user, 1).await;
        assert_eq!(attempts[0].kind, "notification_sent", "{attempts:?}");
    }
    let tokens = google.requests_to("/token").await;
    assert_eq!(tokens.len(), 1, "one token request for two notifications");
    let sends = google.requests_to(SEND_PATH).await;
    assert_eq!(sends.len(), 2);
    for send in &sends {
        assert_eq!(header(send, "authorization"), "Bearer ya29.first");
    }
    let (jwt_header, claims) = google.assertion_claims(&tokens[0]);
    assert_eq!(jwt_header.kid.as_deref(), Some("key-1"));
    assert_eq!(
        claims["scope"],
        "https://www.googleapis.com/auth/firebase.messaging"
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    let message: Value = serde_json::from_slice(&sends[0].body).unwrap();
    let message = &message["message"];
    assert_eq!(message["token"], "registration-token-of-alice");
    assert_eq!(message["data"]["username"], "alice");
    assert_eq!(message["data"]["client_name"], "test suite");
    assert!(message["data"]["approval_id"].is_string());
    assert!(
        message["data"]["expires_at"].is_string(),
        "FCM data values are strings"
    );
    let approve_url = message["data"]["approve_url"].as_str().unwrap();
    assert!(
        approve_url.starts_with(&approve_prefix(&app)),
        "{approve_url}"
    );

    // 30 s before the token expires: refreshed before the next send.
    app.clock.advance(Duration::from_secs(3599 - 30));
    app.start_login("carol").await;
    let attempts = app.delivery_attempts("carol", 1).await;
    assert_eq!(attempts[0].kind, "notification_sent", "{attempts:?}");
    assert_eq!(google.requests_to("/token").await.len(), 2);
    let sends = google.requests_to(SEND_PATH).await;
    assert_eq!(header(&sends[2], "authorization"), "Bearer ya29.second");
    google.server.verify().await;
}

#[tokio::test]
async fn an_unregistered_fcm_token_fails_permanently_as_a_stale_push_target_and_falls_through() {
    let google = Google::start().await;
    google.token_answers("ya29.only", 1).await;
    Mock::given(method("POST"))
        .and(path(SEND_PATH))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {
            "code": 404,
            "message": "Requested entity was not found.",
            "status": "NOT_FOUND",
            "details": [{
                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                "errorCode": "UNREGISTERED"
            }]
        }})))
        .expect(1)
        .mount(&google.server)
        .await;
    let app = google.app().await;
    app.user_with_phone_on("alice", &["fcm=an-uninstalled-app", "mock"])
        .await;
    app.start_login("alice").await;

    app.next_notification("alice").await;
    let attempts = app.delivery_attempts("alice", 2).await;
    assert_eq!(attempts.len(), 2, "not retried: {attempts:?}");
    let error = attempts[0].error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("permanent failure: fcm: the push target is stale (UNREGISTERED)"),
        "{error}"
    );
    assert!(!error.contains("an-uninstalled-app") && !error.contains("ya29"));
    assert_eq!(
        (attempts[1].kind.as_str(), attempts[1].provider.as_str()),
        ("notification_sent", "mock")
    );
    google.server.verify().await;
}
