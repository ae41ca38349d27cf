//! One struct per `[section]` of the configuration; each field is documented beside its key in
//! `config/default.toml`.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::{ProxyRange, PublicUrl, Secret, Ttl};

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
    /// Peers whose `X-Forwarded-For` is believed: addresses or CIDR ranges.
    pub trusted_proxies: Vec<ProxyRange>,
    /// Request body limit in bytes.
    pub max_body_bytes: usize,
    /// Whole-request time limit.
    pub request_timeout: Ttl,
    /// How long a shutdown waits for open requests before closing them.
    pub shutdown_timeout: Ttl,
    /// Serve HTTPS directly (both set) or plain HTTP behind a TLS-terminating proxy (both empty).
    pub tls: TlsSettings,
    /// Where `/metrics` is served and who may read it.
    pub metrics: MetricsSettings,
}

/// `[server.metrics]`: `/metrics` need not face the internet.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// A listener of its own for `/metrics` (then absent from the main one); `None`: served
    /// beside the API.
    #[serde(deserialize_with = "optional_address")]
    pub bind: Option<SocketAddr>,
    /// When set, `/metrics` answers only `Authorization: Bearer <token>`.
    pub token: Secret,
}

/// `""` for none, else a socket address.
fn optional_address<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<SocketAddr>, D::Error> {
    let text = String::deserialize(d)?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    text.trim().parse().map(Some).map_err(|_| {
        serde::de::Error::custom(format!("`{text}` is not an address like 127.0.0.1:9100"))
    })
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
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (a secret: it may
    /// carry a password).
    pub url: Secret,
    /// Pool size.
    pub max_connections: u32,
    /// Wait for a pooled connection before answering 503.
    pub acquire_timeout: Ttl,
}

/// Which database a `database.url` names, by its scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// `sqlite:…`: one file on this machine.
    Sqlite,
    /// `postgres://…` or `postgresql://…`: a server several instances can share.
    Postgres,
}

impl DatabaseSettings {
    /// The backend `url` names; `None` for a scheme this build does not know.
    pub fn kind(&self) -> Option<DatabaseKind> {
        let url = self.url.expose();
        if url.starts_with("sqlite:") {
            Some(DatabaseKind::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(DatabaseKind::Postgres)
        } else {
            None
        }
    }
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
    /// Let devices that hold no key (`nod device add`, apps enrolled without `public_key`)
    /// answer through the device API with their secret alone. Off in production once every
    /// phone holds a key: whoever has a copy of such a secret could answer.
    pub allow_secret_devices: bool,
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
    /// Let addresses a user or phone supplies (webhook URLs) reach loopback, private,
    /// link-local and other internal ranges (src/notify/address_guard.rs). Off in production.
    pub allow_private_addresses: bool,
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
    pub durability: Durability,
    /// How long events are kept.
    pub retention: Ttl,
    /// Events queued for the writer before callers wait.
    pub queue: usize,
}

/// `[limits]`: attempt limits (src/flows/limits.rs).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// Wrong TOTP codes allowed per user in `totp_window` before attempts are blocked.
    pub totp_max_failures: u32,
    /// How long wrong TOTP codes are remembered.
    pub totp_window: Ttl,
    /// The first block after too many wrong codes; it doubles with each further one.
    pub totp_block: Ttl,
    /// The longest block of any limit.
    pub max_block: Ttl,
    /// Wrong passwords per username in `password_window` before logins for it are blocked.
    pub password_max_failures: u32,
    /// Wrong passwords per client address in `password_window` before its logins are blocked.
    pub ip_max_failures: u32,
    /// Wrong pairing codes per client address in `password_window` before its pairings are
    /// blocked (for `password_block`, doubling).
    pub enroll_max_failures: u32,
    /// How long wrong passwords are remembered.
    pub password_window: Ttl,
    /// The first block after too many wrong passwords; it doubles with each further one.
    pub password_block: Ttl,
    /// After "This wasn't me": no login for the user pushes for this long.
    pub fraud_cooldown: Ttl,
    /// Denials or wrong numbers in a row before pushes pause.
    pub denial_max: u32,
    /// The first pause after `denial_max` denials; it doubles with each further one.
    pub denial_block: Ttl,
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

/// When a request counts as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// The answer waits until the event's batch has committed.
    Commit,
    /// The answer does not wait; a crash may lose the last few events.
    Async,
}
