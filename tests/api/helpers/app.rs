//! `spawn_app()` and typed helpers that read like the flow: log in, approve, poll.

use std::sync::Arc;
use std::time::Duration;

use nod::app::Application;
use nod::clock::TestClock;
use nod::config::{Secret, Settings};
use nod::domain::{Channel, ChannelList, Username};
use nod::flows::provision;
use nod::notify::mock::SentNotification;
use nod::state::AppState;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;

#[allow(unused_imports, reason = "for the multi-instance tests")]
pub use crate::test_database::{TestDatabase, fresh_postgres_url};

pub const PASSWORD: &str = "correct horse battery staple";
pub const CIBA: &str = "urn:openid:params:grant-type:ciba";

/// A running app and what a test needs to drive it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    /// `/metrics`'s own listener, when `server.metrics.bind` gives it one.
    pub metrics_address: Option<String>,
    pub client: reqwest::Client,
    pub clock: Arc<TestClock>,
    pub state: AppState,
    _data: TempDir,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// The test's own PostgreSQL database when `TEST_POSTGRES_URL` is set (dropped last).
    _database: Option<TestDatabase>,
}

/// A paired phone, as a test holds it.
#[derive(Debug, Clone)]
pub struct Phone {
    pub username: String,
    pub device_id: String,
    pub secret: String,
}

/// What `/v1/login` answered.
#[derive(Debug, Clone)]
pub struct Pending {
    pub auth_req_id: String,
    pub binding_code: String,
    pub expires_in: u64,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// An app whose settings `customise` may change first. With `TEST_POSTGRES_URL` set it runs on
/// a fresh PostgreSQL database of its own, else on SQLite in a temporary directory.
pub async fn spawn_app_with(customise: impl FnOnce(&mut Settings)) -> TestApp {
    let data = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings::for_tests(data.path()).expect("test settings");
    let database = TestDatabase::create().await;
    if let Some(db) = &database {
        settings.database.url = Secret::new(db.url());
    }
    customise(&mut settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let clock = Arc::new(TestClock::starting_now());
    let app = Application::build(settings, clock.clone(), listener)
        .await
        .expect("build app");
    let scheme = if app.serves_tls() { "https" } else { "http" };
    let address = format!("{scheme}://{}", app.local_addr().expect("addr"));
    let state = app.state().clone();
    let metrics_address = app.metrics_addr().map(|a| format!("http://{a}"));
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        metrics_address,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(90))
            .build()
            .expect("client"),
        clock,
        state,
        _data: data,
        stop: Some(stop),
        server: Some(server),
        _database: database,
    }
}

impl TestApp {
    /// Shuts the server down as SIGTERM would, and waits (at most 5 s) until it has stopped.
    pub async fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            tokio::time::timeout(Duration::from_secs(5), server)
                .await
                .expect("the server stops within 5 s")
                .expect("the server task")
                .expect("the server ends cleanly");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Adds a user with `PASSWORD`.
    pub async fn add_user(&self, name: &str) {
        let username = Username::parse(name).expect("username");
        let password = nod::auth::password::Password::parse(PASSWORD.into()).expect("password");
        provision::add_user(&self.state, &username, password)
            .await
            .expect("add user");
    }

    /// Pairs a mock-notified phone with `name`.
    pub async fn add_phone(&self, name: &str) -> Phone {
        self.add_phone_with(name, &["mock"]).await
    }

    /// Pairs a phone reached through `channels` (`PROVIDER[=ADDRESS]`, in fallthrough order).
    pub async fn add_phone_with(&self, name: &str, channels: &[&str]) -> Phone {
        let username = Username::parse(name).expect("username");
        let channels = ChannelList::new(
            channels
                .iter()
                .map(|c| Channel::parse(c).expect("channel"))
                .collect(),
        )
        .expect("list");
        let device = provision::add_device(&self.state, &username, "test phone", &channels)
            .await
            .expect("add device");
        Phone {
            username: name.to_owned(),
            device_id: device.device_id,
            secret: device.device_secret,
        }
    }

    /// A user with one mock phone.
    pub async fn user_with_phone(&self, name: &str) -> Phone {
        self.add_user(name).await;
        self.add_phone(name).await
    }

    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/v1/login"))
            .json(&json!({"username": username, "password": password, "client_name": "test suite"}))
            .send()
            .await
            .expect("login request")
    }

    /// Logs in with the right password and expects a pending approval.
    pub async fn start_login(&self, username: &str) -> Pending {
        let response = self.login(username, PASSWORD).await;
        assert_eq!(response.status(), 202, "login of {username}");
        let body: Value = response.json().await.expect("login json");
        Pending {
            auth_req_id: body["auth_req_id"]
                .as_str()
                .expect("auth_req_id")
                .to_owned(),
            binding_code: body["binding_code"]
                .as_str()
                .expect("binding_code")
                .to_owned(),
            expires_in: body["expires_in"].as_u64().expect("expires_in"),
        }
    }

    /// The next notification the mock captured for `username`.
    pub async fn next_notification(&self, username: &str) -> SentNotification {
        self.state
            .notifiers
            .mock()
            .next_for(username, Duration::from_secs(5))
            .await
            .expect("a notification within 5 s")
    }

    /// Polls `/v1/token` (form-encoded, as RFC 6749 clients do).
    pub async fn poll_token(&self, auth_req_id: &str, wait: Option<u64>) -> reqwest::Response {
        let mut form = vec![
            ("grant_type", CIBA.to_owned()),
            ("auth_req_id", auth_req_id.to_owned()),
        ];
        if let Some(wait) = wait {
            form.push(("wait", wait.to_string()));
        }
        self.client
            .post(self.url("/v1/token"))
            .form(&form)
            .send()
            .await
            .expect("token request")
    }

    /// The phone's answer to an approval.
    pub async fn decide(&self, phone: &Phone, approval_id: &str, body: Value) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/v1/device/approvals/{approval_id}")))
            .bearer_auth(&phone.secret)
            .json(&body)
            .send()
            .await
            .expect("decision request")
    }

    /// Starts a token long-poll (`wait` seconds) in the background and returns once it is
    /// parked on its wake-up — a condition, not a sleep. The task yields when the answer came,
    /// its status and its JSON body.
    pub async fn park_long_poll(
        &self,
        auth_req_id: &str,
        wait: u64,
    ) -> tokio::task::JoinHandle<(std::time::Instant, reqwest::StatusCode, Value)> {
        let client = self.client.clone();
        let url = self.url("/v1/token");
        let form = [
            ("grant_type", CIBA.to_owned()),
            ("auth_req_id", auth_req_id.to_owned()),
            ("wait", wait.to_string()),
        ];
        let waiting_before = self.state.wakeups.waiting();
        let poll = tokio::spawn(async move {
            let response = client
                .post(url)
                .form(&form)
                .send()
                .await
                .expect("token request");
            let answered = std::time::Instant::now();
            let status = response.status();
            (
                answered,
                status,
                response.json().await.unwrap_or(Value::Null),
            )
        });
        let parked_by = std::time::Instant::now() + Duration::from_secs(5);
        while self.state.wakeups.waiting() == waiting_before {
            assert!(
                std::time::Instant::now() < parked_by,
                "the long-poll never started waiting"
            );
            tokio::task::yield_now().await;
        }
        poll
    }

    /// `POST /v1/login/totp` with an authenticator code.
    pub async fn send_totp(&self, auth_req_id: &str, code: &str) -> reqwest::Response {
        self.client
            .post(self.url("/v1/login/totp"))
            .json(&json!({"auth_req_id": auth_req_id, "code": code}))
            .send()
            .await
            .expect("totp request")
    }

    /// The phone approves with the number the login screen shows.
    pub async fn approve(
        &self,
        phone: &Phone,
        pending: &Pending,
        approval_id: &str,
    ) -> reqwest::Response {
        self.decide(
            phone,
            approval_id,
            json!({"decision": "approve", "binding_code": pending.binding_code}),
        )
        .await
    }

    /// GETs `path` and parses the JSON answer.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("GET request")
            .json()
            .await
            .expect("JSON answer")
    }

    /// The phone's list of pending approvals.
    pub async fn pending_on(&self, phone: &Phone) -> Vec<Value> {
        let response = self
            .client
            .get(self.url("/v1/device/approvals"))
            .bearer_auth(&phone.secret)
            .send()
            .await
            .expect("approvals request");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("approvals json");
        body["approvals"].as_array().cloned().unwrap_or_default()
    }

    /// Logs in, approves on the phone with the right number, and redeems: the token response.
    pub async fn sign_in(&self, phone: &Phone) -> Value {
        let pending = self.start_login(&phone.username).await;
        let note = self.next_notification(&phone.username).await;
        let approved = self.approve(phone, &pending, &note.approval_id).await;
        assert_eq!(approved.status(), 200);
        let token = self.poll_token(&pending.auth_req_id, None).await;
        assert_eq!(token.status(), 200);
        token.json().await.expect("token json")
    }
}

/// Reads an error body and checks it has the RFC 6749 shape; returns the `error` code.
pub async fn error_code(response: reqwest::Response) -> String {
    let status = response.status();
    let body: Value = response.json().await.expect("error body is JSON");
    assert!(
        body["error"].is_string() && body["error_description"].is_string(),
        "status {status}: not an RFC 6749 error body: {body}"
    );
    body["error"].as_str().unwrap_or_default().to_owned()
}
