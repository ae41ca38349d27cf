//! The `ntfy` provider: publishes to a topic on an ntfy server (<https://ntfy.sh>, or
//! self-hosted), whose Android and iOS apps show the message with Approve / Deny buttons.
//!
//! API reference: <https://docs.ntfy.sh/publish/> — `POST {server}/{topic}` with the message as
//! the body and `Title`, `Priority`, `Tags`, `Click` and `Actions` headers; action buttons per
//! <https://docs.ntfy.sh/publish/#action-buttons> (`view, LABEL, URL, clear=true; …`); access
//! tokens per <https://docs.ntfy.sh/publish/#access-tokens> (`Authorization: Bearer tk_…`).

use async_trait::async_trait;

use super::http::{ascii, status_error, transport_error};
use super::{Notification, Notifier, NotifyError};
use crate::config::{NtfySettings, Secret};

/// Publishes approvals to ntfy topics.
pub struct NtfyNotifier {
    base_url: String,
    token: Secret,
    priority: u8,
    client: reqwest::Client,
}

impl NtfyNotifier {
    /// An ntfy publisher for the server in `settings`.
    pub fn new(settings: &NtfySettings, client: reqwest::Client) -> Self {
        NtfyNotifier {
            base_url: settings.base_url.trim_end_matches('/').to_owned(),
            token: settings.token.clone(),
            priority: settings.priority,
            client,
        }
    }
}

/// The `Actions` header: both buttons open nod's one-time approval page, where the number from
/// the login screen is entered (approving needs it; denying does not).
pub fn actions(approve_url: &str) -> String {
    format!("view, Approve, {approve_url}, clear=true; view, Deny, {approve_url}, clear=true")
}

/// Whether `topic` is a valid ntfy topic name (ntfy allows `[-_A-Za-z0-9]{1,64}`).
fn valid_topic(topic: &str) -> bool {
    (1..=64).contains(&topic.len())
        && topic
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[async_trait]
impl Notifier for NtfyNotifier {
    fn name(&self) -> &'static str {
        "ntfy"
    }

    fn check_address(&self, address: Option<&str>) -> Result<(), String> {
        match address {
            Some(topic) if valid_topic(topic) => Ok(()),
            Some(_) => Err("ntfy topic must be 1 to 64 letters, digits, `-` or `_`".into()),
            None => Err("ntfy needs a topic: ntfy=TOPIC".into()),
        }
    }

    async fn send(&self, note: &Notification, address: Option<&str>) -> Result<(), NotifyError> {
        let topic = address
            .filter(|t| valid_topic(t))
            .ok_or_else(|| NotifyError::Permanent("ntfy: bad topic".into()))?;
        let title = ascii(&format!(
            "Sign-in to {} as {}?",
            note.context.client_name, note.username
        ));
        let mut request = self
            .client
            .post(format!("{}/{topic}", self.base_url))
            .header("Title", title)
            .header("Priority", self.priority.to_string())
            .header("Tags", "lock")
            .header("Click", &note.approve_url)
            .header("Actions", actions(&note.approve_url))
            .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(note.text.clone());
        if !self.token.is_empty() {
            request = request.bearer_auth(self.token.expose());
        }
        let response = request
            .send()
            .await
            .map_err(|e| transport_error("ntfy", &e))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(status_error("ntfy", status, ""))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_checked_like_ntfy_does() {
        assert!(valid_topic("alice-phone_1"));
        assert!(!valid_topic("") && !valid_topic("a/b") && !valid_topic(&"x".repeat(65)));
    }
}
