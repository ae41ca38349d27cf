//! Signing keys. EdDSA, ES256 and RS256 keys are PKCS#8 files in `data_dir/keys/` (mode 0600),
//! generated on first start and by `nod keys rotate`; an HS256 key is `tokens.hmac_secret`. The
//! newest key of the configured algorithm signs; every loaded key verifies its own tokens, and
//! the asymmetric ones are published in the JWKS under their RFC 7638 thumbprint as `kid`. A key
//! that stopped signing stays until no token it signed can still be alive (see [`rotation`]).
//!
//! Layout: `files` (names on disk), `algorithms` (key material → [`SigningKey`]), `ring` (the
//! live set of a running server), `rotation` (new keys, retiring old ones), `watch` (the task
//! that reloads a running server's keys).

pub mod algorithms;
pub mod files;
pub mod ring;
pub mod rotation;
pub mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

pub use ring::KeyRing;
pub use rotation::{Rotation, rotate};

use super::files::ensure_private_dir;
use super::jwe::ContentKey;
use crate::clock::duration_ms;
use crate::config::{Settings, SigningAlgorithm};

/// One key nod signs or verifies with.
pub struct SigningKey {
    /// Key id: the RFC 7638 SHA-256 thumbprint of the public JWK, or for HS256 a short hash of
    /// the secret.
    pub kid: String,
    /// The JWS algorithm this key is used with, and the only one a token under it may name.
    pub algorithm: Algorithm,
    /// When the key was created (Unix ms), from its file name; for HS256, when this process
    /// started using the secret.
    pub created_ms: i64,
    /// The file holding the private key; `None` for HS256, whose key is configuration.
    pub path: Option<PathBuf>,
    /// Signs tokens.
    pub encoding: EncodingKey,
    /// Verifies tokens.
    pub decoding: DecodingKey,
    /// The public JWK, with `kid`, `alg` and `use` set; `None` for HS256, whose only JWK would
    /// be the secret itself.
    pub jwk: Option<Jwk>,
}

/// What a key set is built from: `[tokens]`, read once at start.
#[derive(Clone)]
pub struct KeyConfig {
    /// The algorithm new tokens are signed with.
    pub algorithm: SigningAlgorithm,
    /// The decoded HS256 secret; used only when `algorithm` is HS256.
    hmac_secret: Option<Arc<[u8]>>,
    /// How long a key that stopped signing keeps verifying: the access token lifetime plus
    /// [`rotation::RETIRE_LEEWAY`].
    pub retire_after: Duration,
    /// The JWE key of encrypted access tokens, when `tokens.encrypt` is on.
    pub encryption: Option<Arc<ContentKey>>,
}

impl KeyConfig {
    /// Keys of `algorithm` for tokens living `access_ttl`; no HMAC secret, no encryption.
    pub fn new(algorithm: SigningAlgorithm, access_ttl: Duration) -> Self {
        KeyConfig {
            algorithm,
            hmac_secret: None,
            retire_after: access_ttl.saturating_add(rotation::RETIRE_LEEWAY),
            encryption: None,
        }
    }

    /// The same with the HS256 secret.
    pub fn with_hmac_secret(mut self, secret: &[u8]) -> Self {
        self.hmac_secret = Some(secret.into());
        self
    }

    /// The same with access tokens encrypted under `key`.
    pub fn with_encryption(mut self, key: ContentKey) -> Self {
        self.encryption = Some(Arc::new(key));
        self
    }

    /// From the settings: decodes `tokens.hmac_secret`, and loads (or generates) the token
    /// encryption key when `tokens.encrypt` is on.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let tokens = &settings.tokens;
        let mut config = Self::new(tokens.algorithm, tokens.access_ttl.0);
        if tokens.algorithm == SigningAlgorithm::HS256 {
            let secret = tokens
                .hmac_secret
                .decode_base64()
                .map_err(|why| anyhow::anyhow!("tokens.hmac_secret: {why}"))?;
            config = config.with_hmac_secret(&secret);
        }
        if tokens.encrypt {
            let key = ContentKey::load(&tokens.encryption_key, &settings.server.data_dir)
                .context("loading the token encryption key")?;
            config = config.with_encryption(key);
        }
        Ok(config)
    }

    fn retire_after_ms(&self) -> i64 {
        duration_ms(self.retire_after)
    }
}

/// Every loaded key, newest first, and the one that signs.
pub struct KeySet {
    keys: Vec<SigningKey>,
    /// Index of the newest key of the configured algorithm.
    signing: Option<usize>,
    /// The JWE key of encrypted access tokens, when on.
    encryption: Option<Arc<ContentKey>>,
}

impl KeySet {
    /// Loads the keys in `data_dir/keys`, generating one of the configured algorithm when there
    /// is none. `now_ms` names a generated key and dates the HS256 key.
    pub fn load_or_generate(
        data_dir: &Path,
        config: &KeyConfig,
        now_ms: i64,
    ) -> anyhow::Result<Self> {
        let dir = data_dir.join("keys");
        ensure_private_dir(&dir)?;
        let has_key = files::list(&dir)?
            .iter()
            .any(|f| f.algorithm == config.algorithm);
        if !has_key && files::prefix(config.algorithm).is_some() {
            let der = algorithms::generate_pkcs8(config.algorithm)?;
            files::write(&dir, config.algorithm, now_ms, &der)?;
        }
        Self::load(&dir, config, now_ms)
    }

    /// Loads the key files in `dir` (and the HS256 key, when configured, dated `hmac_since_ms`).
    pub fn load(dir: &Path, config: &KeyConfig, hmac_since_ms: i64) -> anyhow::Result<Self> {
        let mut keys = Vec::new();
        for file in files::list(dir)? {
            let der = files::read_pkcs8(&file.path)?;
            keys.push(algorithms::from_pkcs8(
                file.algorithm,
                &der,
                file.created_ms,
                &file.path,
            )?);
        }
        if config.algorithm == SigningAlgorithm::HS256 {
            let secret = config
                .hmac_secret
                .as_deref()
                .context("tokens.hmac_secret: required when tokens.algorithm is HS256")?;
            keys.push(algorithms::from_hmac_secret(secret, hmac_since_ms)?);
        }
        keys.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then(a.kid.cmp(&b.kid)));
        let configured = algorithms::jws_algorithm(config.algorithm);
        Ok(KeySet {
            signing: keys.iter().position(|k| k.algorithm == configured),
            keys,
            encryption: config.encryption.clone(),
        })
    }

    /// The key that signs new tokens: the newest of the configured algorithm.
    pub fn current(&self) -> Option<&SigningKey> {
        self.signing.and_then(|i| self.keys.get(i))
    }

    /// The key with this `kid`, if nod has it.
    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// All keys, newest first.
    pub fn all(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The public JWK set: every asymmetric key, never an HS256 one.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.keys.iter().filter_map(|k| k.jwk.clone()).collect(),
        }
    }

    /// The key access tokens are encrypted with, when encryption is on.
    pub fn encryption(&self) -> Option<&ContentKey> {
        self.encryption.as_deref()
    }
}

#[cfg(test)]
mod tests;
