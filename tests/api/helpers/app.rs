//! `spawn_app()`: one app per test, on a random loopback port, with a fresh database, the mock
//! notifier and a test clock.

use std::sync::Arc;
use std::time::Duration;

use nod::app::Application;
use nod::clock::TestClock;
use nod::config::{Secret, Settings};
use nod::state::AppState;
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;

use crate::test_database::TestDatabase;

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
