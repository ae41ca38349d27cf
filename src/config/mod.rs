//! Layered, typed configuration: the built-in `config/default.toml`, then an optional file, then
//! `NOD_SECTION__KEY` environment variables. Parsing turns every value into its type once, so the
//! rest of nod never sees a raw string; a bad value fails at start, naming the key and the reason.

//!
//! Layout: this file loads and checks; `sections` holds one struct per `[section]`; `values` the
//! value types (durations, URLs, secrets) that parse themselves; `proxies` the trusted proxy
//! addresses and ranges.

mod env;
mod proxies;
mod sections;
mod values;

use std::path::Path;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::Deserialize;

pub use proxies::*;
pub use sections::*;
pub use values::*;

/// The defaults, built into the binary.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// Every setting of nod. Field documentation lives beside each key in `config/default.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub passwords: PasswordSettings,
    pub tokens: TokenSettings,
    pub approvals: ApprovalSettings,
    pub totp: TotpSettings,
    pub notify: NotifySettings,
    pub audit: AuditSettings,
    pub limits: LimitSettings,
    /// Callers of `/v1/introspect` declared in configuration: name → `sha256:<hex digest of
    /// its secret>` (more can be added with `nod resource-server add`).
    #[serde(default)]
    pub resource_servers: std::collections::BTreeMap<String, String>,
    pub log: LogSettings,
}

/// A configuration that could not be loaded, with the key and the reason.
#[derive(Debug, thiserror::Error)]
#[error("bad configuration: {0}")]
pub struct ConfigError(String);

impl Settings {
    /// Loads defaults, then `file` (which must exist when given), then `NOD_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError(format!(
                    "--config {}: no such file",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        // NOD_CONFIG is clap's (the --config flag), not a setting; text settings stay text.
        figment = figment.merge(env::EnvText::new(DEFAULT_TOML));
        Self::from_figment(figment)
    }

    /// Extracts and checks settings from any figment (tests build their own).
    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = figment.extract().map_err(|e| ConfigError(e.to_string()))?;
        settings.check()?;
        Ok(settings)
    }

    /// Settings for an in-process test: defaults, everything under `data_dir`, test endpoint on.
    pub fn for_tests(data_dir: &Path) -> Result<Self, ConfigError> {
        let db = format!("sqlite://{}", data_dir.join("nod.db").display());
        let figment = Figment::from(Toml::string(DEFAULT_TOML))
            .merge(("server.data_dir", data_dir.display().to_string()))
            .merge(("server.bind", "127.0.0.1:0"))
            .merge(("database.url", db))
            .merge(("notify.test_endpoint", true))
            // Tests point webhooks at local fakes on 127.0.0.1.
            .merge(("notify.allow_private_addresses", true));
        Self::from_figment(figment)
    }

    /// Cross-field checks serde cannot express.
    fn check(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, why: &str| Err(ConfigError(format!("{key}: {why}")));
        self.check_notify()?;
        if self.database.kind().is_none() {
            return fail(
                "database.url",
                "must be sqlite://PATH or postgres://USER@HOST/DATABASE",
            );
        }
        if self.approvals.max_pending == 0 {
            return fail("approvals.max_pending", "must be at least 1");
        }
        if self.approvals.max_wait_secs > 60 {
            return fail("approvals.max_wait_secs", "must be at most 60");
        }
        if self.tokens.access_ttl.0 < Duration::from_secs(10) {
            return fail("tokens.access_ttl", "must be at least 10s");
        }
        if self.approvals.ttl.0 < Duration::from_secs(10) {
            return fail("approvals.ttl", "must be at least 10s");
        }
        if self.server.request_timeout.0 <= Duration::from_secs(self.approvals.max_wait_secs) {
            return fail(
                "server.request_timeout",
                "must be longer than approvals.max_wait_secs",
            );
        }
        if self.server.max_body_bytes < 1024 {
            return fail("server.max_body_bytes", "must be at least 1024");
        }
        if self.tokens.leeway.0 > Duration::from_secs(120) {
            return fail("tokens.leeway", "must be at most 120s");
        }
        let window = self.tokens.dpop_proof_window.0;
        if window < Duration::from_secs(1) || window > Duration::from_secs(600) {
            return fail("tokens.dpop_proof_window", "must be between 1s and 10m");
        }
        if self.tokens.max_token_bytes < 512 {
            return fail("tokens.max_token_bytes", "must be at least 512");
        }
        for (name, digest) in &self.resource_servers {
            let hex = digest.strip_prefix("sha256:").unwrap_or("");
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return fail(
                    &format!("resource_servers.{name}"),
                    "must be \"sha256:<64 hex digits>\" (the digest of the secret, not the secret)",
                );
            }
        }
        if self.server.tls.cert.is_empty() != self.server.tls.key.is_empty() {
            return fail("server.tls", "set both cert and key, or neither");
        }
        if self.limits.password_max_failures == 0
            || self.limits.ip_max_failures == 0
            || self.limits.denial_max == 0
        {
            return fail(
                "limits",
                "password_max_failures, ip_max_failures and denial_max must be at least 1",
            );
        }
        if self.limits.totp_max_failures == 0 {
            return fail("limits.totp_max_failures", "must be at least 1");
        }
        if self.limits.enroll_max_failures == 0 {
            return fail("limits.enroll_max_failures", "must be at least 1");
        }
        if self.database.max_connections == 0 {
            return fail("database.max_connections", "must be at least 1");
        }
        self.check_token_keys()
    }

    /// The key material `[tokens]` names: present where required, of the right size. Messages
    /// name the key and never show its value.
    /// An enabled provider needs its keys; base URLs must be http(s).
    fn check_notify(&self) -> Result<(), ConfigError> {
        let n = &self.notify;
        let missing = |key: &str| {
            Err(ConfigError(format!(
                "notify.{key}: required when the provider is enabled"
            )))
        };
        let url = |key: &str, value: &str| match url::Url::parse(value) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
            _ => Err(ConfigError(format!(
                "notify.{key}: `{value}` is not an http(s) URL"
            ))),
        };
        if n.webhook.enabled && n.webhook.secret.is_empty() {
            return missing("webhook.secret");
        }
        if n.ntfy.enabled {
            url("ntfy.base_url", &n.ntfy.base_url)?;
            if !(1..=5).contains(&n.ntfy.priority) {
                return Err(ConfigError("notify.ntfy.priority: must be 1 to 5".into()));
            }
        }
        if n.twilio.enabled {
            url("twilio.base_url", &n.twilio.base_url)?;
            if n.twilio.account_sid.is_empty() {
                return missing("twilio.account_sid");
            }
            if n.twilio.auth_token.is_empty() {
                return missing("twilio.auth_token");
            }
            if n.twilio.from.is_empty() {
                return missing("twilio.from");
            }
        }
        if n.fcm.enabled {
            url("fcm.base_url", &n.fcm.base_url)?;
            if n.fcm.service_account_file.as_os_str().is_empty() {
                return missing("fcm.service_account_file");
            }
        }
        Ok(())
    }

    fn check_token_keys(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, why: String| Err(ConfigError(format!("{key}: {why}")));
        let tokens = &self.tokens;
        if tokens.hmac_secret.is_empty() {
            if tokens.algorithm == SigningAlgorithm::HS256 {
                return fail(
                    "tokens.hmac_secret",
                    format!(
                        "required when tokens.algorithm is HS256: base64 of at least \
                         {MIN_HMAC_SECRET_BYTES} random bytes, the same on every verifying server"
                    ),
                );
            }
        } else {
            match tokens.hmac_secret.decode_base64() {
                Ok(bytes) if bytes.len() >= MIN_HMAC_SECRET_BYTES => {}
                Ok(bytes) => {
                    return fail(
                        "tokens.hmac_secret",
                        format!(
                            "must be at least {MIN_HMAC_SECRET_BYTES} bytes, found {}",
                            bytes.len()
                        ),
                    );
                }
                Err(why) => return fail("tokens.hmac_secret", why),
            }
        }
        if !tokens.encryption_key.is_empty() {
            match tokens.encryption_key.decode_base64() {
                Ok(bytes) if bytes.len() == ENCRYPTION_KEY_BYTES => {}
                Ok(bytes) => {
                    return fail(
                        "tokens.encryption_key",
                        format!(
                            "must be {ENCRYPTION_KEY_BYTES} bytes, found {}",
                            bytes.len()
                        ),
                    );
                }
                Err(why) => return fail("tokens.encryption_key", why),
            }
        }
        Ok(())
    }

    /// The `iss` claim of access tokens.
    pub fn issuer(&self) -> &str {
        if self.tokens.issuer.is_empty() {
            self.server.public_url.as_str()
        } else {
            &self.tokens.issuer
        }
    }
}

#[cfg(test)]
mod tests;
