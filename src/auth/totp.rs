//! TOTP secrets for authenticator apps (RFC 6238: SHA-1, 6 digits, 30 s): generated per device,
//! encrypted at rest with AES-256-GCM under a key from configuration or `data_dir/totp.key`.

use std::path::Path;

use anyhow::{Context, bail};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::files::create_secret_file;
use super::secrets::{RngError, random_bytes};
use crate::config::Secret;

/// The key that encrypts TOTP secrets at rest.
pub struct TotpCipher {
    key: LessSafeKey,
    /// Derives the other keys every instance must agree on (feed cursors, DPoP nonces) from
    /// the same configured secret, so sharing this one key is enough.
    derive: hmac::Key,
}

impl TotpCipher {
    /// Uses the configured base64 key, or the one in `data_dir/totp.key` (generated when absent).
    pub fn load(configured: &Secret, data_dir: &Path) -> anyhow::Result<Self> {
        let key_b64 = if configured.is_empty() {
            let path = data_dir.join("totp.key");
            if !path.exists() {
                create_secret_file(&path, STANDARD.encode(random_bytes::<32>()?).as_bytes())?;
            }
            std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?
        } else {
            configured.expose().to_owned()
        };
        let bytes = STANDARD
            .decode(key_b64.trim())
            .context("totp.encryption_key: not base64")?;
        if bytes.len() != 32 {
            bail!(
                "totp.encryption_key: must be 32 bytes, found {}",
                bytes.len()
            );
        }
        let key = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| anyhow::anyhow!("totp.encryption_key: rejected by AES-256-GCM"))?;
        Ok(TotpCipher {
            key: LessSafeKey::new(key),
            derive: hmac::Key::new(hmac::HMAC_SHA256, &bytes),
        })
    }

    /// A 32-byte key for `purpose`, derived from the configured secret (HMAC-SHA256 as a PRF
    /// over a purpose label, so no derived key reveals another or the secret itself). Every
    /// instance with the same `totp.encryption_key` derives the same keys.
    pub fn derive_key(&self, purpose: &str) -> [u8; 32] {
        let tag = hmac::sign(
            &self.derive,
            format!("nod derived key v1: {purpose}").as_bytes(),
        );
        let mut key = [0u8; 32];
        key.copy_from_slice(&tag.as_ref()[..32]);
        key
    }

    /// Encrypts a secret for the device `device_id` (bound as associated data, so a ciphertext
    /// moved to another row does not decrypt).
    pub fn seal(&self, device_id: &str, secret: &[u8]) -> Result<String, RngError> {
        let nonce = random_bytes::<NONCE_LEN>()?;
        let mut buf = secret.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(device_id.as_bytes()),
                &mut buf,
            )
            .map_err(|_| RngError)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(STANDARD.encode(out))
    }

    /// Decrypts what `seal` produced for the same device.
    pub fn open(&self, device_id: &str, sealed: &str) -> anyhow::Result<Vec<u8>> {
        let raw = STANDARD
            .decode(sealed)
            .context("stored TOTP secret is not base64")?;
        if raw.len() < NONCE_LEN {
            bail!("stored TOTP secret is truncated");
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| anyhow::anyhow!("stored TOTP nonce is malformed"))?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(device_id.as_bytes()), &mut body)
            .map_err(|_| anyhow::anyhow!("stored TOTP secret does not decrypt with this key"))?;
        Ok(plain.to_vec())
    }
}

/// A fresh 160-bit TOTP secret (RFC 4226's recommended length).
pub fn new_totp_secret() -> Result<Vec<u8>, RngError> {
    Ok(random_bytes::<20>()?.to_vec())
}

/// The `otpauth://totp/…` URI an authenticator app scans.
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> anyhow::Result<String> {
    let totp = totp_rs::Builder::new()
        .with_secret(secret.to_vec())
        .with_account_name(account)
        .with_issuer(Some(issuer))
        .build()
        .map_err(|e| anyhow::anyhow!("building TOTP parameters: {e:?}"))?;
    totp.to_url()
        .map_err(|e| anyhow::anyhow!("building otpauth URI: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_agree_across_loads_and_differ_by_purpose_and_secret() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let one = TotpCipher::load(&Secret::default(), dir.path())?;
        let same = TotpCipher::load(&Secret::default(), dir.path())?;
        assert_eq!(
            one.derive_key("feed cursors"),
            same.derive_key("feed cursors")
        );
        assert_ne!(
            one.derive_key("feed cursors"),
            one.derive_key("dpop nonces")
        );
        let other_dir = tempfile::tempdir()?;
        let other = TotpCipher::load(&Secret::default(), other_dir.path())?;
        assert_ne!(
            one.derive_key("feed cursors"),
            other.derive_key("feed cursors")
        );
        Ok(())
    }

    #[test]
    fn secrets_round_trip_only_for_their_device() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let cipher = TotpCipher::load(&Secret::default(), dir.path())?;
        let sealed = cipher.seal("dev1", b"0123456789abcdefghij")?;
        assert_eq!(cipher.open("dev1", &sealed)?, b"0123456789abcdefghij");
        assert!(cipher.open("dev2", &sealed).is_err());
        // The generated key is reused on the next start.
        let again = TotpCipher::load(&Secret::default(), dir.path())?;
        assert_eq!(again.open("dev1", &sealed)?, b"0123456789abcdefghij");
        Ok(())
    }

    #[test]
    fn a_short_configured_key_is_refused() {
        let dir = tempfile::tempdir().ok();
        let short = Secret::new(STANDARD.encode([0u8; 16]));
        let path = dir
            .as_ref()
            .map(|d| d.path().to_owned())
            .unwrap_or_default();
        assert!(TotpCipher::load(&short, &path).is_err());
    }

    #[test]
    fn the_uri_names_issuer_and_account() -> anyhow::Result<()> {
        let uri = otpauth_uri(&new_totp_secret()?, "nod", "alice")?;
        assert!(uri.starts_with("otpauth://totp/nod:alice?"), "{uri}");
        assert!(uri.contains("issuer=nod"), "{uri}");
        Ok(())
    }
}
