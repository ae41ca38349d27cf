//! Reaching a phone. `Notifier` is the seam (one small struct per provider, one file each);
//! `Registry` owns what is common to all of them: choosing the provider for each of a device's
//! channels in order, the per-call timeout, bounded retries on temporary failures, and falling
//! through to the next channel. The HTTP providers share one `reqwest::Client` (see `http`).

pub mod address_guard;
pub mod fcm;
mod http;
mod log;
pub mod mock;
pub mod ntfy;
mod registry;
pub mod twilio;
pub mod webhook;

use async_trait::async_trait;
use serde::Serialize;

use crate::domain::LoginContext;

pub use address_guard::AddressGuard;
pub use fcm::FcmNotifier;
pub use log::LogNotifier;
pub use mock::MockNotifier;
pub use ntfy::NtfyNotifier;
pub use registry::{Delivery, Registry, RetryPolicy};
pub use twilio::TwilioNotifier;
pub use webhook::WebhookNotifier;

/// One approval request addressed to one device.
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub device_id: String,
    pub device_name: String,
    pub username: String,
    pub approval_id: String,
    /// The one-time link to the approval page (a secret: it decides the login).
    pub approve_url: String,
    /// Who asked, from where.
    pub context: LoginContext,
    /// When the login was requested, Unix ms.
    pub requested_at: i64,
    /// When the approval stops waiting, Unix ms.
    pub expires_at: i64,
    /// A one-paragraph text for SMS-like channels.
    pub text: String,
}

/// Why one delivery attempt failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NotifyError {
    /// Worth retrying or falling through: timeouts, 5xx, connection errors.
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// Retrying will not help: bad address, 4xx, provider not configured.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// A way of delivering notifications (push, SMS, webhook…).
#[async_trait]
pub trait Notifier: Send + Sync + 'static {
    /// The provider name used in channel lists (`mock`, `log`, …).
    fn name(&self) -> &'static str;

    /// Whether a channel address is acceptable for this provider (checked when a device is
    /// added, so a typo fails then, not at the first login).
    fn check_address(&self, address: Option<&str>) -> Result<(), String>;

    /// Whether the place an address leads to may be reached (checked when a device is added,
    /// after `check_address`): for addresses that are URLs, the address guard's rule on the
    /// addresses the host resolves to now. Most providers' addresses are not places.
    async fn check_destination(&self, _address: Option<&str>) -> Result<(), String> {
        Ok(())
    }

    /// Delivers one notification to `address`.
    async fn send(&self, note: &Notification, address: Option<&str>) -> Result<(), NotifyError>;
}

/// The human text of a notification.
pub fn notification_text(username: &str, ctx: &LoginContext, approve_url: &str) -> String {
    let from = if ctx.user_agent.is_empty() {
        ctx.ip.clone()
    } else {
        format!("{}, {}", ctx.ip, ctx.user_agent)
    };
    format!(
        "Sign-in to {} as {username} from {from}. Enter the number shown on the login screen: {approve_url}",
        ctx.client_name
    )
}
