//! What the providers were sent (wiremock fakes of their APIs) and what the feed says of it.

use std::time::Duration;

use serde_json::Value;

use super::TestApp;

/// One delivery attempt as the feed shows it.
#[derive(Debug)]
pub struct Attempt {
    /// `notification_sent` or `notification_failed`.
    pub kind: String,
    pub provider: String,
    pub attempt: u64,
    pub error: Option<String>,
}

impl TestApp {
    /// The feed's delivery attempts for `username`, oldest first, once there are at least `n`
    /// (the registry reports them after it finishes, so they arrive a moment after the send).
    pub async fn delivery_attempts(&self, username: &str, n: usize) -> Vec<Attempt> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let attempts: Vec<Attempt> = self
                .events_of(username)
                .await
                .into_iter()
                .filter(|e| e.kind.starts_with("notification_"))
                .map(|e| {
                    let detail: Value =
                        serde_json::from_str(e.detail.as_deref().unwrap_or("{}")).unwrap();
                    Attempt {
                        kind: e.kind,
                        provider: detail["provider"].as_str().unwrap_or_default().to_owned(),
                        attempt: detail["attempt"].as_u64().unwrap_or_default(),
                        error: detail["error"].as_str().map(str::to_owned),
                    }
                })
                .collect();
            if attempts.len() >= n || tokio::time::Instant::now() > deadline {
                return attempts;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A header of a request wiremock received, as text.
pub fn header<'a>(request: &'a wiremock::Request, name: &str) -> &'a str {
    request
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The start of every one-time approval link the app sends.
pub fn approve_prefix(app: &TestApp) -> String {
    format!("{}/approve/", app.state.settings.server.public_url.as_str())
}
