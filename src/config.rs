//! Layered, typed configuration: the built-in `config/default.toml`, then an optional file, then
//! `NOD_SECTION__KEY` environment variables. Parsing turns every value into its type once, so the
//! rest of nod never sees a raw string; a bad value fails at start, naming the key and the reason.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::{Deserialize, Deserializer};

/// The defaults, built into the binary.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

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
    /// Callers of `/v1/introspect` declared in configuration: name → `sha256:<hex digest of
    /// its secret>` (more can be added with `nod resource-server add`).
    #[serde(default)]
    pub resource_servers: std::collections::BTreeMap<String, String>,
    pub log: LogSettings,
}

/// `[server]`: where nod listens and how it is reached.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Listen address.
    pub bind: SocketAddr,
    /// Base of the links in notifications (no trailing slash once loaded).
    pub public_url: PublicUrl,
    /// Generated keys and secrets live here.
    pub data_dir: PathBuf,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Request body limit in bytes.
    pub max_body_bytes: usize,
    /// Whole-request time limit.
    pub request_timeout: Ttl,
    /// How long a shutdown waits for open requests before closing them.
    pub shutdown_timeout: Ttl,
    /// Serve HTTPS directly (both set) or plain HTTP behind a TLS-terminating proxy (both empty).
    pub tls: TlsSettings,
}

/// `[server.tls]`: PEM files for serving HTTPS with rustls (TLS 1.2 and 1.3, forward-secret
/// key exchange only).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// Certificate chain, PEM; empty for plain HTTP.
    pub cert: String,
    /// Private key, PEM; empty for plain HTTP.
    pub key: String,
}

impl TlsSettings {
    /// The two files, when HTTPS is configured.
    pub fn files(&self) -> Option<(&str, &str)> {
        (!self.cert.is_empty() && !self.key.is_empty()).then_some((&self.cert, &self.key))
    }
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://PATH`.
    pub url: Secret,
    /// Pool size.
    pub max_connections: u32,
    /// Wait for a pooled connection before answering 503.
    pub acquire_timeout: Ttl,
}

/// `[passwords]`: argon2id work scheduling.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordSettings {
    /// Concurrent hashes; 0 means one per core.
    pub max_concurrent_hashes: usize,
    /// Wait for a hashing slot before answering 503.
    pub queue_timeout: Ttl,
}

/// `[tokens]`: access tokens and sessions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    /// JWS algorithm of access tokens.
    pub algorithm: SigningAlgorithm,
    /// `iss`; empty means `server.public_url`.
    pub issuer: String,
    /// `aud`.
    pub audience: String,
    /// Access token lifetime.
    pub access_ttl: Ttl,
    /// Session (and refresh token) absolute lifetime.
    pub session_ttl: Ttl,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway: Ttl,
    /// Longest token string accepted, in bytes.
    pub max_token_bytes: usize,
    /// Verified tokens remembered (so a token's signature is checked once, not per use).
    pub verified_cache: usize,
    /// The HS256 key (base64, at least 32 bytes); required when `algorithm` is HS256.
    pub hmac_secret: Secret,
    /// Wrap signed access tokens in a JWE (`dir`, `A256GCM`) so clients cannot read the claims.
    pub encrypt: bool,
    /// Base64 of the 32-byte JWE key; empty means `data_dir/token-enc.key` (generated).
    pub encryption_key: Secret,
    /// Sender-constrained tokens (RFC 9449): whether DPoP proofs are ignored, accepted or
    /// required on `/v1/login` and `/v1/token`.
    pub dpop: DpopMode,
    /// How far a DPoP proof's `iat` may be from now, either way.
    pub dpop_proof_window: Ttl,
    /// Recent DPoP proofs remembered per instance to refuse replays.
    pub dpop_replay_cache: usize,
    /// Require proofs at `/v1/login` and `/v1/token` to carry a nonce nod issued
    /// (`use_dpop_nonce`, RFC 9449 §8).
    pub dpop_nonce: bool,
}

/// `tokens.dpop`: the DPoP policy for issuing tokens. Tokens already bound to a key need a
/// proof from it whatever the mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DpopMode {
    /// `DPoP` headers are ignored; tokens are bearer tokens.
    Off,
    /// A valid proof binds the login and its tokens; no proof gives bearer tokens.
    Optional,
    /// Logins and token requests without a valid proof are refused.
    Required,
}

/// `[approvals]`: the pending-approval state machine.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalSettings {
    /// How long an approval stays pending.
    pub ttl: Ttl,
    /// Pending approvals per user.
    pub max_pending: u32,
    /// Minimum gap between polls without `wait`.
    pub poll_interval: Ttl,
    /// Upper bound of the token long-poll.
    pub max_wait_secs: u64,
}

/// `[totp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotpSettings {
    /// Base64 AES-256 key, or empty for a generated one in `data_dir`.
    pub encryption_key: Secret,
    /// Issuer shown by authenticator apps.
    pub issuer: String,
}

/// `[notify]`: how devices are reached. `mock` and `log` are always available; the others are
/// available once their section sets `enabled = true` (and its required keys).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySettings {
    /// Expose `GET /v1/test/notifications`.
    pub test_endpoint: bool,
    /// Longest one provider call may take (whole request, connect included).
    pub timeout: Ttl,
    /// Extra attempts on a channel after a temporary failure (timeout, 5xx, 429, connect error).
    pub retries: u32,
    /// Wait before the first retry; doubles for each further one.
    pub backoff: Ttl,
    /// `[notify.webhook]`.
    pub webhook: WebhookSettings,
    /// `[notify.ntfy]`.
    pub ntfy: NtfySettings,
    /// `[notify.twilio]`.
    pub twilio: TwilioSettings,
    /// `[notify.fcm]`.
    pub fcm: FcmSettings,
}

/// `[notify.webhook]`: a signed JSON POST to the channel's URL.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Whether channels may name `webhook`.
    pub enabled: bool,
    /// HMAC-SHA256 key shared with the receivers.
    pub secret: Secret,
}

/// `[notify.ntfy]`: a push through an ntfy server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NtfySettings {
    /// Whether channels may name `ntfy`.
    pub enabled: bool,
    /// The ntfy server.
    pub base_url: String,
    /// Access token for protected topics (empty: none).
    pub token: Secret,
    /// Message priority, 1 (min) to 5 (urgent).
    pub priority: u8,
}

/// `[notify.twilio]`: SMS through Twilio's Messages API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioSettings {
    /// Whether channels may name `twilio`.
    pub enabled: bool,
    /// Twilio's API.
    pub base_url: String,
    /// Account SID (`AC…`).
    pub account_sid: String,
    /// Auth token.
    pub auth_token: Secret,
    /// Sender: a Twilio number in E.164, or a Messaging Service SID (`MG…`).
    pub from: String,
}

/// `[notify.fcm]`: Firebase Cloud Messaging HTTP v1.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FcmSettings {
    /// Whether channels may name `fcm`.
    pub enabled: bool,
    /// FCM's API.
    pub base_url: String,
    /// The service-account JSON key file (its `token_uri` is used for OAuth).
    pub service_account_file: PathBuf,
}

/// `[audit]`: the feed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// `commit`: a use is answered after its event is committed; `async`: without waiting.
    pub durability: crate::audit::Durability,
    /// How long events are kept.
    pub retention: Ttl,
    /// Events queued for the writer before callers wait.
    pub queue: usize,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// Output format.
    pub format: LogFormat,
    /// `RUST_LOG`-style filter.
    pub level: String,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Signing algorithms nod can be configured with, spelled as in a JWS `alg` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SigningAlgorithm {
    /// Ed25519: small keys and signatures, fast; the default.
    EdDSA,
    /// ECDSA with P-256 and SHA-256, for verifiers without Ed25519.
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 and a 2048-bit key, for the oldest verifiers.
    RS256,
    /// HMAC-SHA256 with `tokens.hmac_secret`: every verifying server holds the signing key.
    HS256,
}

/// Shortest accepted `tokens.hmac_secret`, in bytes (RFC 7518 §3.2: at least the hash size).
pub const MIN_HMAC_SECRET_BYTES: usize = 32;

/// Length of `tokens.encryption_key` (and `totp.encryption_key`): an AES-256 key.
pub const ENCRYPTION_KEY_BYTES: usize = 32;

/// A duration written as `"300s"`, `"5m"`, `"30d"` (or a bare number of seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ttl(pub Duration);

impl Ttl {
    /// Parses the textual form.
    pub fn parse(text: &str) -> Result<Self, String> {
        humantime::parse_duration(text.trim())
            .map(Ttl)
            .map_err(|e| format!("`{text}` is not a duration like \"90s\", \"5m\" or \"30d\": {e}"))
    }
}

impl<'de> Deserialize<'de> for Ttl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Secs(s) => Ok(Ttl(Duration::from_secs(s))),
            Raw::Text(t) => Ttl::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

/// The public base URL, an absolute http(s) URL kept without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    /// Parses and normalises a base URL.
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("`{text}` must be an http or https URL"));
        }
        Ok(PublicUrl(text.trim_end_matches('/').to_owned()))
    }

    /// The URL without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for PublicUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        PublicUrl::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A configuration value that must never be printed: `Debug` shows only whether it is set.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself: call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether a value was configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Secret {
    /// Decodes a base64 secret: standard or URL-safe alphabet, padded or not (people paste
    /// what their tool printed). The error never contains the value.
    pub fn decode_base64(&self) -> Result<Vec<u8>, String> {
        let text = self.0.trim();
        STANDARD_LENIENT
            .decode(text)
            .or_else(|_| URL_SAFE_LENIENT.decode(text))
            .map_err(|_| "is not base64".to_owned())
    }
}

/// Base64 engines that accept a value with or without `=` padding.
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "Secret(unset)"
        } else {
            "Secret(***)"
        })
    }
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
        // NOD_CONFIG is clap's (the --config flag), not a setting.
        figment = figment.merge(Env::prefixed("NOD_").ignore(&["config"]).split("__"));
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
            .merge(("notify.test_endpoint", true));
        Self::from_figment(figment)
    }

    /// Cross-field checks serde cannot express.
    fn check(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, why: &str| Err(ConfigError(format!("{key}: {why}")));
        self.check_notify()?;
        if !self.database.url.expose().starts_with("sqlite:") {
            return fail(
                "database.url",
                "only sqlite:// URLs are supported by this build",
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
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment's large error
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(
            Ttl::parse("300s").map(|t| t.0),
            Ok(Duration::from_secs(300))
        );
        assert_eq!(Ttl::parse("5m").map(|t| t.0), Ok(Duration::from_secs(300)));
        assert_eq!(
            Ttl::parse("30d").map(|t| t.0),
            Ok(Duration::from_secs(30 * 86_400))
        );
        assert!(Ttl::parse("soon").is_err());
    }

    #[test]
    fn the_built_in_defaults_load() {
        Jail::expect_with(|_| {
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.tokens.access_ttl.0, Duration::from_secs(300));
            assert_eq!(s.approvals.ttl.0, Duration::from_secs(120));
            assert_eq!(s.server.bind.port(), 8080);
            assert_eq!(s.issuer(), "http://127.0.0.1:8080");
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_files_and_defaults() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "nod.toml",
                "[tokens]\naccess_ttl = \"10m\"\naudience = \"api\"\n",
            )?;
            jail.set_env("NOD_TOKENS__ACCESS_TTL", "300s");
            jail.set_env("NOD_CONFIG", "ignored-by-settings");
            let s = Settings::load(Some(Path::new("nod.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(s.tokens.access_ttl.0, Duration::from_secs(300));
            assert_eq!(s.tokens.audience, "api");
            Ok(())
        });
    }

    #[test]
    fn a_bad_value_names_its_key() {
        Jail::expect_with(|jail| {
            jail.set_env("NOD_APPROVALS__TTL", "soon");
            let err = Settings::load(None)
                .err()
                .map(|e| e.to_string().to_lowercase())
                .unwrap_or_default();
            assert!(err.contains("approvals.ttl"), "{err}");
            assert!(err.contains("soon"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn an_unknown_key_is_refused() {
        Jail::expect_with(|jail| {
            jail.create_file("nod.toml", "[tokens]\naccess_tll = \"10m\"\n")?;
            let err = Settings::load(Some(Path::new("nod.toml")))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("access_tll"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn hs256_without_an_hmac_secret_fails_naming_the_key() {
        Jail::expect_with(|jail| {
            jail.set_env("NOD_TOKENS__ALGORITHM", "HS256");
            let err = Settings::load(None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("tokens.hmac_secret"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn an_enabled_provider_without_its_keys_fails_naming_the_key() {
        let cases = [
            ("NOD_NOTIFY__WEBHOOK__ENABLED", "notify.webhook.secret"),
            ("NOD_NOTIFY__TWILIO__ENABLED", "notify.twilio.account_sid"),
            (
                "NOD_NOTIFY__FCM__ENABLED",
                "notify.fcm.service_account_file",
            ),
        ];
        for (variable, key) in cases {
            Jail::expect_with(|jail| {
                jail.set_env(variable, "true");
                let err = Settings::load(None)
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                assert!(err.contains(key), "{variable}: {err}");
                Ok(())
            });
        }
        Jail::expect_with(|jail| {
            jail.set_env("NOD_NOTIFY__NTFY__ENABLED", "true");
            jail.set_env("NOD_NOTIFY__NTFY__TOKEN", "tk_secret");
            let settings = Settings::load(None).map_err(|e| e.to_string())?;
            assert!(settings.notify.ntfy.enabled);
            assert!(!format!("{settings:?}").contains("tk_secret"));
            Ok(())
        });
    }

    #[test]
    fn a_short_or_garbled_hmac_secret_fails_without_showing_it() {
        Jail::expect_with(|jail| {
            jail.set_env("NOD_TOKENS__ALGORITHM", "HS256");
            for bad in ["c2hvcnQtc2VjcmV0", "not base64 at all!"] {
                jail.set_env("NOD_TOKENS__HMAC_SECRET", bad);
                let err = Settings::load(None)
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                assert!(err.contains("tokens.hmac_secret"), "{err}");
                assert!(!err.contains(bad), "the secret was printed: {err}");
            }
            Ok(())
        });
    }

    #[test]
    fn every_algorithm_and_a_good_hmac_secret_load() {
        Jail::expect_with(|jail| {
            for alg in ["EdDSA", "ES256", "RS256"] {
                jail.set_env("NOD_TOKENS__ALGORITHM", alg);
                Settings::load(None).map_err(|e| e.to_string())?;
            }
            jail.set_env("NOD_TOKENS__ALGORITHM", "HS256");
            // 32 bytes, URL-safe and unpadded: accepted as written.
            jail.set_env(
                "NOD_TOKENS__HMAC_SECRET",
                "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJ-_8",
            );
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.tokens.algorithm, SigningAlgorithm::HS256);
            assert_eq!(format!("{:?}", s.tokens.hmac_secret), "Secret(***)");
            jail.set_env("NOD_TOKENS__ALGORITHM", "none");
            assert!(Settings::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn an_encryption_key_of_the_wrong_size_names_its_key() {
        Jail::expect_with(|jail| {
            jail.set_env("NOD_TOKENS__ENCRYPT", "true");
            jail.set_env("NOD_TOKENS__ENCRYPTION_KEY", "AAAA");
            let err = Settings::load(None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("tokens.encryption_key"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
    }
}
