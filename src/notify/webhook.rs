//! The `webhook` provider: POSTs the approval as JSON to the channel's URL, signed with
//! HMAC-SHA256 over `"{timestamp}.{body}"` in a `Nod-Signature: t=…,v1=…` header — the scheme of
//! Stripe (<https://docs.stripe.com/webhooks#verify-manually>) and GitHub
//! (<https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries>), so
//! receivers can verify the sender and refuse replays. docs/webhooks.md shows the verification.
//!
//! The URL is the user's choice, so it passes the address guard (src/notify/address_guard.rs)
//! at pairing and again at each send, on the addresses it resolves to; redirects are not
//! followed.

use std::sync::Arc;

use async_trait::async_trait;
use aws_lc_rs::hmac;
use serde_json::json;

use super::address_guard::AddressGuard;
use super::http::{status_error, transport_error};
use super::{Notification, Notifier, NotifyError};
use crate::auth::secrets::hex;
use crate::clock::Clock;
use crate::config::WebhookSettings;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "Nod-Signature";

/// Signs and posts approvals to receivers' URLs.
pub struct WebhookNotifier {
    key: hmac::Key,
    /// Built with the same guard (`http::guarded_client`): it checks resolved names.
    client: reqwest::Client,
    guard: AddressGuard,
    clock: Arc<dyn Clock>,
}

impl WebhookNotifier {
    /// A webhook sender using `settings.secret` as the HMAC key, sending through `client`,
    /// which must be `http::guarded_client` with the same `guard`.
    pub fn new(
        settings: &WebhookSettings,
        client: reqwest::Client,
        guard: AddressGuard,
        clock: Arc<dyn Clock>,
    ) -> Self {
        WebhookNotifier {
            key: hmac::Key::new(hmac::HMAC_SHA256, settings.secret.expose().as_bytes()),
            client,
            guard,
            clock,
        }
    }
}

/// The header value for `body` sent at `unix_secs`: `t=<unix secs>,v1=<hex HMAC-SHA256 of
/// "t.body">`.
pub fn signature(key: &hmac::Key, unix_secs: i64, body: &[u8]) -> String {
    let mut ctx = hmac::Context::with_key(key);
    ctx.update(unix_secs.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("t={unix_secs},v1={}", hex(ctx.sign().as_ref()))
}

/// The JSON a receiver gets.
pub fn payload(note: &Notification) -> serde_json::Value {
    json!({
        "event": "approval.requested",
        "approval_id": note.approval_id,
        "device_id": note.device_id,
        "username": note.username,
        "context": note.context,
        "approve_url": note.approve_url,
        "requested_at": note.requested_at,
        "expires_at": note.expires_at,
        "text": note.text,
    })
}

#[async_trait]
impl Notifier for WebhookNotifier {
    fn name(&self) -> &'static str {
        "webhook"
    }

    fn check_address(&self, address: Option<&str>) -> Result<(), String> {
        let address = address.ok_or("webhook needs a URL: webhook=https://…")?;
        match url::Url::parse(address) {
            Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => Ok(()),
            _ => Err("webhook address must be an http(s) URL".into()),
        }
    }

    async fn check_destination(&self, address: Option<&str>) -> Result<(), String> {
        let address = address.ok_or("webhook needs a URL: webhook=https://…")?;
        self.guard
            .check_url(address)
            .await
            .map_err(|why| format!("webhook address refused: {why}"))
    }

    async fn send(&self, note: &Notification, address: Option<&str>) -> Result<(), NotifyError> {
        let address = address.ok_or_else(|| NotifyError::Permanent("webhook: no URL".into()))?;
        let url = url::Url::parse(address)
            .map_err(|_| NotifyError::Permanent("webhook: the address is not a URL".into()))?;
        // A host that is an IP address is not resolved, so the client's resolver never sees
        // it: check it here. Names are checked on what they resolve to, at connect time.
        self.guard
            .check_literal(&url)
            .map_err(|refused| NotifyError::Permanent(format!("webhook: {refused}")))?;
        let body = serde_json::to_vec(&payload(note))
            .map_err(|e| NotifyError::Permanent(format!("webhook: {e}")))?;
        let now = self.clock.now_ms().div_euclid(1000);
        let response = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature(&self.key, now, &body))
            .body(body)
            .send()
            .await
            .map_err(|e| transport_error("webhook", &e))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(status_error("webhook", status, ""))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_timestamp_dot_body() {
        // RFC 4231-style check with a known key: recompute through the one-shot API.
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"k");
        let expected = hex(hmac::sign(&key, b"1700000000.{}").as_ref());
        assert_eq!(
            signature(&key, 1_700_000_000, b"{}"),
            format!("t=1700000000,v1={expected}")
        );
    }
}
