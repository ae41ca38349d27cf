//! The `twilio` provider: an SMS through Twilio's Programmable Messaging API.
//!
//! API reference: <https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource>
//! — `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP basic auth with the
//! account SID and auth token (<https://www.twilio.com/docs/usage/requests-to-twilio>), a form
//! body with `To`, `From` (or `MessagingServiceSid`) and `Body`; success is `201 Created`.
//! Errors carry a numeric `code` (<https://www.twilio.com/docs/api/errors>), which is all we
//! report: the message may quote the phone number.

use async_trait::async_trait;
use serde::Deserialize;

use super::http::{ascii, status_error, transport_error};
use super::{Notification, Notifier, NotifyError};
use crate::config::{Secret, TwilioSettings};

/// One GSM-7 SMS segment, in septets.
pub const SEGMENT: usize = 160;

/// Sends approvals as SMS.
pub struct TwilioNotifier {
    base_url: String,
    account_sid: String,
    auth_token: Secret,
    from: String,
    client: reqwest::Client,
}

impl TwilioNotifier {
    /// A sender for the account in `settings`.
    pub fn new(settings: &TwilioSettings, client: reqwest::Client) -> Self {
        TwilioNotifier {
            base_url: settings.base_url.trim_end_matches('/').to_owned(),
            account_sid: settings.account_sid.clone(),
            auth_token: settings.auth_token.clone(),
            from: settings.from.clone(),
            client,
        }
    }
}

/// Septets `text` takes in GSM-7 (the characters of the extension table take two).
fn septets(text: &str) -> usize {
    text.chars()
        .map(|c| if "^{}\\[~]|".contains(c) { 2 } else { 1 })
        .sum()
}

/// The SMS text: who asks, as whom, and the link — ASCII only (so GSM-7, not UCS-2, whose
/// segments hold 70 characters) and shortened to one segment where the link allows.
pub fn sms_text(note: &Notification) -> String {
    let url = &note.approve_url;
    let client = ascii(&note.context.client_name);
    let user = ascii(&note.username);
    let full = format!(
        "nod: {client} asks to sign in as {user} from {}. Approve: {url}",
        ascii(&note.context.ip)
    );
    if septets(&full) <= SEGMENT {
        return full;
    }
    let frame = format!("nod: sign-in as {user} by . Approve: {url}");
    let room = SEGMENT.saturating_sub(septets(&frame));
    if room >= 8 {
        let mut short: String = client.chars().take(room).collect();
        while septets(&short) > room {
            short.pop();
        }
        return format!("nod: sign-in as {user} by {short}. Approve: {url}");
    }
    format!("nod sign-in: {url}")
}

/// Whether `number` looks like E.164 (`+` and 8 to 15 digits).
fn valid_number(number: &str) -> bool {
    number
        .strip_prefix('+')
        .is_some_and(|d| (8..=15).contains(&d.len()) && d.chars().all(|c| c.is_ascii_digit()))
}

#[derive(Deserialize)]
struct TwilioError {
    code: Option<u32>,
}

#[async_trait]
impl Notifier for TwilioNotifier {
    fn name(&self) -> &'static str {
        "twilio"
    }

    fn check_address(&self, address: Option<&str>) -> Result<(), String> {
        match address {
            Some(n) if valid_number(n) => Ok(()),
            _ => Err("twilio needs a phone number in E.164: twilio=+15551234567".into()),
        }
    }

    async fn send(&self, note: &Notification, address: Option<&str>) -> Result<(), NotifyError> {
        let to = address
            .filter(|n| valid_number(n))
            .ok_or_else(|| NotifyError::Permanent("twilio: bad phone number".into()))?;
        let from_key = if self.from.starts_with("MG") {
            "MessagingServiceSid"
        } else {
            "From"
        };
        let body = sms_text(note);
        let form = [("To", to), (from_key, self.from.as_str()), ("Body", &body)];
        let response = self
            .client
            .post(format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                self.base_url, self.account_sid
            ))
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .form(&form)
            .send()
            .await
            .map_err(|e| transport_error("twilio", &e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let code = response
            .json::<TwilioError>()
            .await
            .ok()
            .and_then(|e| e.code)
            .map(|c| format!("error {c}"))
            .unwrap_or_default();
        Err(status_error("twilio", status, &code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::LoginContext;

    fn note(client: &str) -> Notification {
        Notification {
            device_id: "d".into(),
            device_name: "p".into(),
            username: "alice".into(),
            approval_id: "a".into(),
            approve_url: format!("https://nod.example.com/approve/{}", "x".repeat(43)),
            context: LoginContext::new(Some(client), "203.0.113.9".into(), None),
            requested_at: 0,
            expires_at: 0,
            text: String::new(),
        }
    }

    #[test]
    fn a_long_client_name_is_shortened_to_keep_one_segment() {
        let short = sms_text(&note("Mail"));
        assert!(
            short.contains("Mail") && short.contains("203.0.113.9"),
            "{short}"
        );
        let long = sms_text(&note(&"Ä very long client name ".repeat(8)));
        assert!(septets(&long) <= SEGMENT, "{long}");
        assert!(long.is_ascii() && long.ends_with(&note("x").approve_url));
    }

    #[test]
    fn numbers_must_be_e164() {
        assert!(valid_number("+15551234567"));
        assert!(!valid_number("15551234567") && !valid_number("+1555") && !valid_number("+1a"));
    }
}
