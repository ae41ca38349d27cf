//! Signing keys: Ed25519 key pairs kept as PKCS#8 PEM files in `data_dir/keys/` (mode 0600),
//! generated on first start. The newest key signs; every key on disk verifies and is published
//! in the JWKS under its RFC 7638 thumbprint as `kid`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::{Context, bail};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::Ed25519KeyPair;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

use super::files::{create_secret_file, ensure_private_dir};

/// One key pair nod signs or verifies with.
pub struct SigningKey {
    /// Key id: the RFC 7638 SHA-256 thumbprint of the public JWK.
    pub kid: String,
    /// The JWS algorithm this key is used with.
    pub algorithm: Algorithm,
    /// When the key was created (Unix ms), from its file name.
    pub created_ms: i64,
    /// The file holding the private key.
    pub path: PathBuf,
    /// Signs tokens.
    pub encoding: EncodingKey,
    /// Verifies tokens.
    pub decoding: DecodingKey,
    /// The public JWK, with `kid`, `alg` and `use` set.
    pub jwk: Jwk,
}

/// Every key on disk, newest first; the first one signs.
pub struct KeySet {
    keys: Vec<SigningKey>,
}

impl KeySet {
    /// Loads the keys in `data_dir/keys`, generating one when there is none.
    pub fn load_or_generate(data_dir: &Path, now_ms: i64) -> anyhow::Result<Self> {
        let dir = data_dir.join("keys");
        ensure_private_dir(&dir)?;
        let mut set = Self::load(&dir)?;
        if set.keys.is_empty() {
            generate_key_file(&dir, now_ms)?;
            set = Self::load(&dir)?;
        }
        Ok(set)
    }

    /// Loads the keys in `dir` (which may hold none).
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let mut keys = Vec::new();
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "pem") {
                keys.push(load_key_file(&path)?);
            }
        }
        keys.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then(a.kid.cmp(&b.kid)));
        Ok(KeySet { keys })
    }

    /// The key that signs new tokens.
    pub fn current(&self) -> Option<&SigningKey> {
        self.keys.first()
    }

    /// The key with this `kid`, if nod has it.
    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// All keys, newest first.
    pub fn all(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The public JWK set.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.keys.iter().map(|k| k.jwk.clone()).collect(),
        }
    }
}

/// The live key set of a running server. Readers take a cheap snapshot (`Arc` clone under a
/// read lock held for no await); `reload` swaps in a fresh set when the files on disk changed,
/// so `nod keys rotate` reaches a running server without a restart.
pub struct KeyRing {
    dir: PathBuf,
    current: RwLock<Arc<KeySet>>,
}

impl KeyRing {
    /// Loads `data_dir/keys`, generating a first key when there is none.
    pub fn load_or_generate(data_dir: &Path, now_ms: i64) -> anyhow::Result<Self> {
        let set = KeySet::load_or_generate(data_dir, now_ms)?;
        Ok(KeyRing {
            dir: data_dir.join("keys"),
            current: RwLock::new(Arc::new(set)),
        })
    }

    /// The keys as they are now.
    pub fn snapshot(&self) -> Arc<KeySet> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Re-reads the key directory; returns true when the set of keys changed. A directory that
    /// cannot be read, or that lost every key, keeps the current set (and reports the error).
    pub fn reload(&self) -> anyhow::Result<bool> {
        let fresh = KeySet::load(&self.dir)?;
        if fresh.keys.is_empty() {
            anyhow::bail!(
                "{} holds no key: keeping the loaded ones",
                self.dir.display()
            );
        }
        let kids = |set: &KeySet| set.keys.iter().map(|k| k.kid.clone()).collect::<Vec<_>>();
        let changed = kids(&fresh) != kids(&self.snapshot());
        if changed {
            *self
                .current
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(fresh);
        }
        Ok(changed)
    }
}

/// Writes a new Ed25519 key into `dir`, named after its creation time.
pub fn generate_key_file(dir: &Path, now_ms: i64) -> anyhow::Result<PathBuf> {
    let doc = Ed25519KeyPair::generate_pkcs8v1(&SystemRandom::new())
        .map_err(|_| anyhow::anyhow!("generating an Ed25519 key failed"))?;
    let path = dir.join(format!("ed25519-{now_ms}.pem"));
    create_secret_file(&path, pem("PRIVATE KEY", doc.as_ref()).as_bytes())?;
    Ok(path)
}

fn load_key_file(path: &Path) -> anyhow::Result<SigningKey> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading key {}", path.display()))?;
    let der = unpem(&text).with_context(|| format!("key {} is not PEM", path.display()))?;
    // Checks the key is a valid PKCS#8 Ed25519 key before jsonwebtoken sees it.
    Ed25519KeyPair::from_pkcs8(&der)
        .map_err(|e| anyhow::anyhow!("key {} is not an Ed25519 PKCS#8 key: {e}", path.display()))?;
    let created_ms = path
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.strip_prefix("ed25519-"))
        .and_then(|s| s.parse::<i64>().ok())
        .with_context(|| format!("key file {} is not named ed25519-<ms>.pem", path.display()))?;
    let algorithm = Algorithm::EdDSA;
    let encoding = EncodingKey::from_ed_der(&der);
    let mut jwk = Jwk::from_encoding_key(&encoding, algorithm)
        .with_context(|| format!("deriving the public key of {}", path.display()))?;
    let kid = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .context("computing the key thumbprint")?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_algorithm = Some(KeyAlgorithm::EdDSA);
    let decoding = DecodingKey::from_jwk(&jwk).context("building the verifying key")?;
    Ok(SigningKey {
        kid,
        algorithm,
        created_ms,
        path: path.to_owned(),
        encoding,
        decoding,
        jwk,
    })
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn unpem(text: &str) -> anyhow::Result<Vec<u8>> {
    let body: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .collect();
    if body.is_empty() {
        bail!("empty PEM body");
    }
    Ok(STANDARD.decode(body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_generated_once_and_published() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let first = KeySet::load_or_generate(dir.path(), 1_000)?;
        let again = KeySet::load_or_generate(dir.path(), 2_000)?;
        assert_eq!(first.all().len(), 1);
        let (a, b) = (first.current(), again.current());
        assert_eq!(a.map(|k| &k.kid), b.map(|k| &k.kid));
        let jwks = serde_json::to_value(first.jwks())?;
        assert_eq!(jwks["keys"][0]["kty"], "OKP");
        assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
        assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
        assert_eq!(jwks["keys"][0]["use"], "sig");
        assert!(jwks["keys"][0].get("d").is_none(), "private part published");
        Ok(())
    }

    #[test]
    fn the_newest_key_signs() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let keys = dir.path().join("keys");
        ensure_private_dir(&keys)?;
        generate_key_file(&keys, 1_000)?;
        generate_key_file(&keys, 5_000)?;
        let set = KeySet::load(&keys)?;
        assert_eq!(set.current().map(|k| k.created_ms), Some(5_000));
        assert_eq!(set.jwks().keys.len(), 2);
        Ok(())
    }
}
