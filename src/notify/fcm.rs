//! The `fcm` provider: a data message through Firebase Cloud Messaging HTTP v1.
//!
//! API references:
//! - sending: <https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send> —
//!   `POST {base}/v1/projects/{project_id}/messages:send` with `Authorization: Bearer` and
//!   `{"message": {"token": …, "data": {string: string}}}`;
//! - errors: <https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode> — `UNREGISTERED`
//!   (404) and `INVALID_ARGUMENT` (400) for a bad registration token mean the app instance is
//!   gone: retrying cannot help, the device's push target is stale;
//! - OAuth: <https://developers.google.com/identity/protocols/oauth2/service-account#httprest>
//!   — an RS256 JWT signed with the service account's key (`iss` = `client_email`, `scope`,
//!   `aud` = `token_uri`, `iat`, `exp` ≤ 1 h later), exchanged at `token_uri` with
//!   `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`; the access token is cached until
//!   a minute before it expires.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::Mutex;

use super::http::{status_error, transport_error};
use super::{Notification, Notifier, NotifyError};
use crate::clock::Clock;
use crate::config::FcmSettings;

/// The OAuth scope FCM sends need.
pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// The JWT-bearer grant (RFC 7523).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// A cached access token is replaced this long before it expires.
const REFRESH_MARGIN_MS: i64 = 60_000;
/// Lifetime asked for in the assertion (Google's maximum).
const ASSERTION_TTL_SECS: i64 = 3600;

/// The fields of a service-account key file nod uses.
#[derive(Deserialize)]
struct ServiceAccount {
    project_id: String,
    client_email: String,
    private_key_id: Option<String>,
    private_key: String,
    token_uri: String,
}

/// A bearer token and when it stops working (Unix ms).
struct AccessToken {
    value: String,
    expires_at: i64,
}

/// Sends approvals as FCM data messages.
pub struct FcmNotifier {
    send_url: String,
    token_uri: String,
    client_email: String,
    key_id: Option<String>,
    key: EncodingKey,
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
    /// Held across the token request, so concurrent sends fetch one token, not one each.
    token: Mutex<Option<AccessToken>>,
}

#[derive(Serialize)]
struct Assertion<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: i64,
}

#[derive(Deserialize)]
struct OAuthError {
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct FcmErrorBody {
    #[serde(default)]
    error: FcmError,
}

#[derive(Deserialize, Default)]
struct FcmError {
    #[serde(default)]
    status: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    details: Vec<serde_json::Value>,
}

impl FcmNotifier {
    /// Reads the service-account file named in `settings`; fails (at start) when it is missing
    /// or unusable, naming the file but never its contents.
    pub fn new(
        settings: &FcmSettings,
        client: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let path: &Path = &settings.service_account_file;
        let what = || format!("notify.fcm.service_account_file {}", path.display());
        let text = std::fs::read_to_string(path).with_context(what)?;
        let account: ServiceAccount = serde_json::from_str(&text)
            .map_err(|_| anyhow::anyhow!("{}: not a service-account JSON key", what()))?;
        let key = EncodingKey::from_rsa_pem(account.private_key.as_bytes())
            .map_err(|_| anyhow::anyhow!("{}: private_key is not an RSA PEM key", what()))?;
        match url::Url::parse(&account.token_uri) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => anyhow::bail!("{}: token_uri is not an http(s) URL", what()),
        }
        Ok(FcmNotifier {
            send_url: format!(
                "{}/v1/projects/{}/messages:send",
                settings.base_url.trim_end_matches('/'),
                account.project_id
            ),
            token_uri: account.token_uri,
            client_email: account.client_email,
            key_id: account.private_key_id,
            key,
            client,
            clock,
            token: Mutex::new(None),
        })
    }

    /// A valid access token: the cached one, or a fresh one when it is near expiry.
    async fn access_token(&self) -> Result<String, NotifyError> {
        let mut cached = self.token.lock().await;
        let now = self.clock.now_ms();
        if let Some(token) = cached
            .as_ref()
            .filter(|t| t.expires_at - REFRESH_MARGIN_MS > now)
        {
            return Ok(token.value.clone());
        }
        let fresh = self.fetch_token(now).await?;
        let value = fresh.value.clone();
        *cached = Some(fresh);
        Ok(value)
    }

    /// Exchanges a freshly signed assertion for an access token.
    async fn fetch_token(&self, now_ms: i64) -> Result<AccessToken, NotifyError> {
        let iat = now_ms.div_euclid(1000);
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.key_id.clone();
        let claims = Assertion {
            iss: &self.client_email,
            scope: SCOPE,
            aud: &self.token_uri,
            iat,
            exp: iat + ASSERTION_TTL_SECS,
        };
        let assertion = jsonwebtoken::encode(&header, &claims, &self.key).map_err(|_| {
            NotifyError::Permanent("fcm: could not sign the OAuth assertion".into())
        })?;
        let response = self
            .client
            .post(&self.token_uri)
            .form(&[("grant_type", GRANT_TYPE), ("assertion", &assertion)])
            .send()
            .await
            .map_err(|e| transport_error("fcm token endpoint", &e))?;
        let status = response.status();
        if !status.is_success() {
            let code = response
                .json::<OAuthError>()
                .await
                .ok()
                .and_then(|e| e.error)
                .unwrap_or_default();
            return Err(status_error("fcm token endpoint", status, &code));
        }
        let answer: TokenAnswer = response
            .json()
            .await
            .map_err(|e| transport_error("fcm token endpoint", &e))?;
        Ok(AccessToken {
            value: answer.access_token,
            expires_at: now_ms + answer.expires_in.saturating_mul(1000),
        })
    }

    /// Forgets the cached token (FCM refused it).
    async fn forget_token(&self) {
        *self.token.lock().await = None;
    }
}

/// The message FCM delivers to the app: data only, so the app decides how to show it.
pub fn message(note: &Notification, registration_token: &str) -> serde_json::Value {
    json!({
        "message": {
            "token": registration_token,
            "data": {
                "type": "approval.requested",
                "approval_id": note.approval_id,
                "approve_url": note.approve_url,
                "username": note.username,
                "client_name": note.context.client_name,
                "ip": note.context.ip,
                "user_agent": note.context.user_agent,
                "expires_at": note.expires_at.to_string(),
                "text": note.text,
            },
            "android": { "priority": "HIGH" },
            "apns": { "headers": { "apns-priority": "10" } },
        }
    })
}

/// The FCM error code of an answer (`UNREGISTERED`, `INVALID_ARGUMENT`, …), from
/// `details[].errorCode` or else `status`.
fn error_code(body: &FcmError) -> String {
    body.details
        .iter()
        .find_map(|d| d.get("errorCode").and_then(|c| c.as_str()))
        .unwrap_or(&body.status)
        .to_owned()
}

#[async_trait]
impl Notifier for FcmNotifier {
    fn name(&self) -> &'static str {
        "fcm"
    }

    fn check_address(&self, address: Option<&str>) -> Result<(), String> {
        match address {
            Some(t) if t.len() <= 4096 && !t.contains(char::is_whitespace) => Ok(()),
            _ => Err("fcm needs the app's registration token: fcm=TOKEN".into()),
        }
    }

    async fn send(&self, note: &Notification, address: Option<&str>) -> Result<(), NotifyError> {
        let target = address.ok_or_else(|| NotifyError::Permanent("fcm: no token".into()))?;
        let bearer = self.access_token().await?;
        let response = self
            .client
            .post(&self.send_url)
            .bearer_auth(bearer)
            .json(&message(note, target))
            .send()
            .await
            .map_err(|e| transport_error("fcm", &e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        if status == reqwest::StatusCode::UNAUTHORIZED {
            // Revoked or expired early: fetch a new one on the retry.
            self.forget_token().await;
            return Err(NotifyError::Temporary(
                "fcm answered HTTP 401 (access token refused)".into(),
            ));
        }
        let body = response
            .json::<FcmErrorBody>()
            .await
            .unwrap_or_default()
            .error;
        let code = error_code(&body);
        let bad_token = code == "UNREGISTERED"
            || (code == "INVALID_ARGUMENT" && body.message.to_lowercase().contains("token"));
        if bad_token {
            return Err(NotifyError::Permanent(format!(
                "fcm: the push target is stale ({code}): the app must register again and the \
                 device's fcm channel be updated"
            )));
        }
        Err(status_error("fcm", status, &code))
    }
}
