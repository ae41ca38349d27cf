//! Encrypted access tokens: a signed JWT wrapped in a compact JWE (RFC 7516) with direct
//! encryption (`alg: dir`) under one shared AES-256-GCM key (`enc: A256GCM`), so clients and
//! anything on the path see an opaque string while nod (and servers holding the key) can still
//! read and verify the inner token.
//!
//! Written here rather than taken from a crate: the one shape nod produces is small, and a JWE
//! library would bring a second crypto stack. The compact form is
//! `BASE64URL(header) . "" . BASE64URL(iv) . BASE64URL(ciphertext) . BASE64URL(tag)`, the encrypted
//! key empty because the key is used directly. The associated data is the ASCII of the first
//! segment exactly as it travels (RFC 7516 §5.1 step 14), so a changed header fails like a changed
//! ciphertext. IVs are 96 random bits: with one key, fine for far more tokens than nod will mint
//! (NIST SP 800-38D bounds random IVs at 2^32 messages per key).

use std::path::Path;

use anyhow::Context;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;

use super::files::create_secret_file;
use super::secrets::random_bytes;
use crate::config::{ENCRYPTION_KEY_BYTES, Secret};

/// The protected header of every token nod encrypts.
const HEADER: &str = r#"{"alg":"dir","enc":"A256GCM","cty":"JWT"}"#;

/// Length of an AES-GCM authentication tag.
const TAG_LEN: usize = 16;

/// The file holding the generated key when `tokens.encryption_key` is empty.
pub const KEY_FILE: &str = "token-enc.key";

/// The content-encryption key of access tokens. `Debug` never shows it.
pub struct ContentKey {
    key: LessSafeKey,
}

/// Why a token could not be encrypted or decrypted. None carries token or key content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JweError {
    #[error("the system random number generator failed")]
    Rng,
    #[error("not a compact JWE nod can read")]
    Malformed,
    #[error("the JWE header asks for something nod does not do")]
    UnsupportedHeader,
    #[error("the JWE does not decrypt with this key")]
    Undecryptable,
}

impl ContentKey {
    /// A key from its 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> anyhow::Result<Self> {
        if bytes.len() != ENCRYPTION_KEY_BYTES {
            anyhow::bail!(
                "a token encryption key is {ENCRYPTION_KEY_BYTES} bytes, not {}",
                bytes.len()
            );
        }
        let key = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| anyhow::anyhow!("the token encryption key was rejected by AES-256-GCM"))?;
        Ok(ContentKey {
            key: LessSafeKey::new(key),
        })
    }

    /// The configured key (`tokens.encryption_key`), or the one in `data_dir/token-enc.key`,
    /// generated on first use: a single server needs no setup, several share the setting.
    pub fn load(configured: &Secret, data_dir: &Path) -> anyhow::Result<Self> {
        let key = if configured.is_empty() {
            let path = data_dir.join(KEY_FILE);
            if !path.exists() {
                let fresh = random_bytes::<ENCRYPTION_KEY_BYTES>()?;
                create_secret_file(&path, STANDARD.encode(fresh).as_bytes())?;
            }
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            Secret::new(text.trim())
                .decode_base64()
                .map_err(|why| anyhow::anyhow!("{}: {why}", path.display()))?
        } else {
            configured
                .decode_base64()
                .map_err(|why| anyhow::anyhow!("tokens.encryption_key: {why}"))?
        };
        Self::from_bytes(&key).context("tokens.encryption_key")
    }
}

impl std::fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContentKey(***)")
    }
}

/// Whether `token` has the five segments of a compact JWE (a JWS has three).
pub fn is_compact_jwe(token: &str) -> bool {
    token.bytes().filter(|&b| b == b'.').count() == 4
}

/// Encrypts `payload` (a compact JWS) into a compact JWE.
pub fn encrypt(key: &ContentKey, payload: &[u8]) -> Result<String, JweError> {
    let header = URL_SAFE_NO_PAD.encode(HEADER);
    let iv = random_bytes::<NONCE_LEN>().map_err(|_| JweError::Rng)?;
    let mut body = payload.to_vec();
    let tag = key
        .key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(iv),
            Aad::from(header.as_bytes()),
            &mut body,
        )
        .map_err(|_| JweError::Rng)?;
    Ok(format!(
        "{header}..{}.{}.{}",
        URL_SAFE_NO_PAD.encode(iv),
        URL_SAFE_NO_PAD.encode(&body),
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    ))
}

/// The header parameters nod looks at; anything else is covered by the tag but ignored.
#[derive(Deserialize)]
struct ProtectedHeader {
    alg: String,
    enc: String,
    cty: Option<String>,
    zip: Option<serde_json::Value>,
    crit: Option<serde_json::Value>,
}

/// Decrypts a compact JWE made by [`encrypt`] with the same key, returning the inner token.
pub fn decrypt(key: &ContentKey, token: &str) -> Result<Vec<u8>, JweError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, encrypted_key, iv, ciphertext, tag] = parts.as_slice() else {
        return Err(JweError::Malformed);
    };
    let header: ProtectedHeader =
        serde_json::from_slice(&unbase64(header_b64)?).map_err(|_| JweError::Malformed)?;
    let cty_ok = header
        .cty
        .as_deref()
        .is_none_or(|c| c.eq_ignore_ascii_case("JWT"));
    // `dir` carries no encrypted key; compression and critical extensions nod never sets.
    if header.alg != "dir"
        || header.enc != "A256GCM"
        || !cty_ok
        || header.zip.is_some()
        || header.crit.is_some()
        || !encrypted_key.is_empty()
    {
        return Err(JweError::UnsupportedHeader);
    }
    let iv = Nonce::try_assume_unique_for_key(&unbase64(iv)?).map_err(|_| JweError::Malformed)?;
    let tag = unbase64(tag)?;
    if tag.len() != TAG_LEN {
        return Err(JweError::Malformed);
    }
    let mut body = unbase64(ciphertext)?;
    body.extend_from_slice(&tag);
    let plain = key
        .key
        .open_in_place(iv, Aad::from(header_b64.as_bytes()), &mut body)
        .map_err(|_| JweError::Undecryptable)?;
    Ok(plain.to_vec())
}

/// Strict base64url without padding, as JOSE writes it.
fn unbase64(segment: &str) -> Result<Vec<u8>, JweError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JweError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INNER: &[u8] = b"eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl";

    fn key() -> ContentKey {
        ContentKey::from_bytes(&[7u8; 32]).expect("key")
    }

    /// `token` with segment `index` replaced by `f(segment)`.
    fn with_segment(token: &str, index: usize, f: impl Fn(&str) -> String) -> String {
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[index] = f(&parts[index]);
        parts.join(".")
    }

    /// Flips one bit of a base64url segment's decoded bytes.
    fn flip(segment: &str) -> String {
        let mut bytes = URL_SAFE_NO_PAD.decode(segment).expect("segment");
        bytes[0] ^= 1;
        URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn a_token_round_trips_in_rfc_7516_compact_form() -> anyhow::Result<()> {
        let k = key();
        let jwe = encrypt(&k, INNER)?;
        assert!(is_compact_jwe(&jwe));
        let parts: Vec<&str> = jwe.split('.').collect();
        assert_eq!(parts.len(), 5);
        assert_eq!(parts[1], "", "dir has an empty encrypted key");
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2])?.len(), 12, "96-bit IV");
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[4])?.len(), 16, "128-bit tag");
        let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0])?)?;
        assert_eq!(header["alg"], "dir");
        assert_eq!(header["enc"], "A256GCM");
        assert_eq!(header["cty"], "JWT");
        assert!(
            !jwe.contains(std::str::from_utf8(INNER)?),
            "plaintext leaked"
        );
        assert_eq!(decrypt(&k, &jwe)?, INNER);
        // A fresh IV each time.
        assert_ne!(encrypt(&k, INNER)?, jwe);
        Ok(())
    }

    #[test]
    fn a_tampered_ciphertext_tag_iv_or_header_fails() -> anyhow::Result<()> {
        let k = key();
        let jwe = encrypt(&k, INNER)?;
        for index in [2, 3, 4] {
            let tampered = with_segment(&jwe, index, flip);
            assert_eq!(
                decrypt(&k, &tampered),
                Err(JweError::Undecryptable),
                "segment {index}"
            );
        }
        // A header that still says the same, spelled differently: the AAD differs.
        let respelled = with_segment(&jwe, 0, |_| {
            URL_SAFE_NO_PAD.encode(r#"{"alg":"dir", "enc":"A256GCM","cty":"JWT"}"#)
        });
        assert_eq!(decrypt(&k, &respelled), Err(JweError::Undecryptable));
        // A truncated tag or ciphertext.
        let short_tag = with_segment(&jwe, 4, |s| s[..s.len() - 4].to_owned());
        assert!(decrypt(&k, &short_tag).is_err());
        let no_body = with_segment(&jwe, 3, |_| String::new());
        assert!(decrypt(&k, &no_body).is_err());
        Ok(())
    }

    #[test]
    fn another_key_cannot_decrypt() -> anyhow::Result<()> {
        let jwe = encrypt(&key(), INNER)?;
        let other = ContentKey::from_bytes(&[8u8; 32])?;
        assert_eq!(decrypt(&other, &jwe), Err(JweError::Undecryptable));
        Ok(())
    }

    #[test]
    fn headers_nod_does_not_write_are_refused() -> anyhow::Result<()> {
        let k = key();
        let jwe = encrypt(&k, INNER)?;
        for header in [
            r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#,
            r#"{"alg":"dir","enc":"A128GCM"}"#,
            r#"{"alg":"dir","enc":"A256GCM","zip":"DEF"}"#,
            r#"{"alg":"dir","enc":"A256GCM","crit":["exp"]}"#,
            r#"{"alg":"dir","enc":"A256GCM","cty":"text/plain"}"#,
        ] {
            let changed = with_segment(&jwe, 0, |_| URL_SAFE_NO_PAD.encode(header));
            assert_eq!(
                decrypt(&k, &changed),
                Err(JweError::UnsupportedHeader),
                "{header}"
            );
        }
        let with_key = with_segment(&jwe, 1, |_| "AAAA".to_owned());
        assert_eq!(decrypt(&k, &with_key), Err(JweError::UnsupportedHeader));
        Ok(())
    }

    #[test]
    fn garbage_is_malformed() {
        let k = key();
        for token in [
            "",
            "....",
            "a.b.c.d.e",
            "a.b.c",
            "e30....",
            "e30..AAAA.AAAA.AAAA",
        ] {
            let result = decrypt(&k, token);
            assert!(
                matches!(
                    result,
                    Err(JweError::Malformed | JweError::UnsupportedHeader)
                ),
                "{token:?}: {result:?}"
            );
        }
    }

    #[test]
    fn a_generated_key_is_kept_private_and_reused() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let first = ContentKey::load(&Secret::default(), dir.path())?;
        let jwe = encrypt(&first, INNER)?;
        let again = ContentKey::load(&Secret::default(), dir.path())?;
        assert_eq!(decrypt(&again, &jwe)?, INNER);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))?
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let configured = ContentKey::load(&Secret::new(STANDARD.encode([7u8; 32])), dir.path())?;
        assert_eq!(decrypt(&configured, &encrypt(&key(), INNER)?)?, INNER);
        assert!(ContentKey::load(&Secret::new("AAAA"), dir.path()).is_err());
        assert_eq!(format!("{first:?}"), "ContentKey(***)");
        Ok(())
    }
}
