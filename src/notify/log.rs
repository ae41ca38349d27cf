//! The `log` provider: writes the approval link and its context to the server log. The default,
//! so a fresh install works without an account anywhere.

use async_trait::async_trait;

use super::{Notification, Notifier, NotifyError};

/// Prints notifications to the log.
#[derive(Debug, Default)]
pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    fn name(&self) -> &'static str {
        "log"
    }

    fn check_address(&self, address: Option<&str>) -> Result<(), String> {
        match address {
            None => Ok(()),
            Some(_) => Err("the log provider takes no address".into()),
        }
    }

    async fn send(&self, note: &Notification, _address: Option<&str>) -> Result<(), NotifyError> {
        tracing::info!(
            target: "nod::notify::log",
            user = %note.username,
            device = %note.device_name,
            approval_id = %note.approval_id,
            client = %note.context.client_name,
            ip = %note.context.ip,
            user_agent = %note.context.user_agent,
            approve_url = %note.approve_url,
            "approval requested: open the link on the phone, or answer through the device API"
        );
        Ok(())
    }
}
