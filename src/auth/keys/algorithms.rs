//! The four signing algorithms: generating a private key, and turning key material into a
//! [`SigningKey`] with its `kid` and public JWK.
//!
//! Asymmetric keys are PKCS#8 documents from aws-lc-rs (the one crypto stack). jsonwebtoken takes
//! Ed25519 and P-256 keys as PKCS#8 DER, but RSA keys as PKCS#1 DER, which aws-lc-rs does not
//! export: its PEM reader (`from_rsa_pem`) unwraps the PKCS#1 key from our PKCS#8 file. The `kid`
//! of an asymmetric key is its RFC 7638 thumbprint. An HS256 key is the configured secret; its
//! JWK would be the secret itself, so it has none, and its `kid` is a short hash that every
//! server sharing the secret computes alike.

use std::path::Path;

use anyhow::{Context, bail};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

use super::SigningKey;
use super::files::pem;
use crate::config::{MIN_HMAC_SECRET_BYTES, SigningAlgorithm};

/// Smallest RSA modulus accepted from a key file, in bytes (2048 bits).
const MIN_RSA_MODULUS_BYTES: usize = 256;

/// Length of an HS256 `kid`: 96 bits of the hash, plenty to tell secrets apart.
const HMAC_KID_CHARS: usize = 16;

/// The JWS `alg` of a configured algorithm.
pub fn jws_algorithm(algorithm: SigningAlgorithm) -> Algorithm {
    match algorithm {
        SigningAlgorithm::EdDSA => Algorithm::EdDSA,
        SigningAlgorithm::ES256 => Algorithm::ES256,
        SigningAlgorithm::RS256 => Algorithm::RS256,
        SigningAlgorithm::HS256 => Algorithm::HS256,
    }
}

/// A fresh private key for `algorithm`, as PKCS#8 DER.
pub fn generate_pkcs8(algorithm: SigningAlgorithm) -> anyhow::Result<Vec<u8>> {
    let failed = |what: &str| anyhow::anyhow!("generating {what} key failed");
    let rng = SystemRandom::new();
    Ok(match algorithm {
        SigningAlgorithm::EdDSA => Ed25519KeyPair::generate_pkcs8v1(&rng)
            .map_err(|_| failed("an Ed25519"))?
            .as_ref()
            .to_vec(),
        SigningAlgorithm::ES256 => {
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| failed("a P-256"))?
                .as_ref()
                .to_vec()
        }
        SigningAlgorithm::RS256 => aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa2048)
            .and_then(|pair| pair.as_der())
            .map_err(|_| failed("an RSA"))?
            .as_ref()
            .to_vec(),
        SigningAlgorithm::HS256 => bail!("HS256 keys come from tokens.hmac_secret"),
    })
}

/// The key in a PKCS#8 document for `algorithm`, checked by aws-lc-rs before jsonwebtoken sees
/// it, with its thumbprint as `kid` and its public JWK.
pub fn from_pkcs8(
    algorithm: SigningAlgorithm,
    der: &[u8],
    created_ms: i64,
    path: &Path,
) -> anyhow::Result<SigningKey> {
    let bad = |what: &str| format!("key {} is not {what}", path.display());
    let encoding = match algorithm {
        SigningAlgorithm::EdDSA => {
            Ed25519KeyPair::from_pkcs8(der)
                .map_err(|e| anyhow::anyhow!("{}: {e}", bad("an Ed25519 PKCS#8 key")))?;
            EncodingKey::from_ed_der(der)
        }
        SigningAlgorithm::ES256 => {
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                .map_err(|e| anyhow::anyhow!("{}: {e}", bad("a P-256 PKCS#8 key")))?;
            EncodingKey::from_ec_der(der)
        }
        SigningAlgorithm::RS256 => {
            let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(der)
                .map_err(|e| anyhow::anyhow!("{}: {e}", bad("an RSA PKCS#8 key")))?;
            if pair.public_modulus_len() < MIN_RSA_MODULUS_BYTES {
                bail!("{}", bad("an RSA key of at least 2048 bits"));
            }
            EncodingKey::from_rsa_pem(pem("PRIVATE KEY", der).as_bytes())
                .with_context(|| bad("an RSA key jsonwebtoken can use"))?
        }
        SigningAlgorithm::HS256 => bail!("HS256 keys come from tokens.hmac_secret"),
    };
    let alg = jws_algorithm(algorithm);
    let mut jwk = Jwk::from_encoding_key(&encoding, alg)
        .with_context(|| format!("deriving the public key of {}", path.display()))?;
    let kid = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .context("computing the key thumbprint")?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    let decoding = DecodingKey::from_jwk(&jwk).context("building the verifying key")?;
    Ok(SigningKey {
        kid,
        algorithm: alg,
        created_ms,
        path: Some(path.to_owned()),
        encoding,
        decoding,
        jwk: Some(jwk),
    })
}

/// The HS256 key for a shared secret. `created_ms` is when this process started using it: the
/// secret has no creation time of its own.
pub fn from_hmac_secret(secret: &[u8], created_ms: i64) -> anyhow::Result<SigningKey> {
    if secret.len() < MIN_HMAC_SECRET_BYTES {
        bail!("tokens.hmac_secret: must be at least {MIN_HMAC_SECRET_BYTES} bytes");
    }
    Ok(SigningKey {
        kid: hmac_kid(secret),
        algorithm: Algorithm::HS256,
        created_ms,
        path: None,
        encoding: EncodingKey::from_secret(secret),
        decoding: DecodingKey::from_secret(secret),
        jwk: None,
    })
}

/// A stable, non-revealing id for an HMAC secret: the start of the base64url SHA-256 of the
/// secret under a nod-specific label (so it matches no other system's hash of the same bytes).
fn hmac_kid(secret: &[u8]) -> String {
    let mut labelled = b"nod-hs256:".to_vec();
    labelled.extend_from_slice(secret);
    let mut kid = URL_SAFE_NO_PAD.encode(digest(&SHA256, &labelled));
    kid.truncate(HMAC_KID_CHARS);
    kid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hmac_kid_is_stable_short_and_secret_dependent() -> anyhow::Result<()> {
        let a = from_hmac_secret(&[1u8; 32], 0)?;
        let again = from_hmac_secret(&[1u8; 32], 99)?;
        let b = from_hmac_secret(&[2u8; 32], 0)?;
        assert_eq!(a.kid.len(), 16);
        assert_eq!(a.kid, again.kid);
        assert_ne!(a.kid, b.kid);
        assert!(a.jwk.is_none() && a.path.is_none());
        assert!(from_hmac_secret(&[1u8; 31], 0).is_err());
        Ok(())
    }

    #[test]
    fn a_key_of_one_algorithm_does_not_load_as_another() -> anyhow::Result<()> {
        let ed = generate_pkcs8(SigningAlgorithm::EdDSA)?;
        let ec = generate_pkcs8(SigningAlgorithm::ES256)?;
        let path = Path::new("k.pem");
        assert!(from_pkcs8(SigningAlgorithm::ES256, &ed, 0, path).is_err());
        assert!(from_pkcs8(SigningAlgorithm::RS256, &ec, 0, path).is_err());
        assert!(from_pkcs8(SigningAlgorithm::EdDSA, &ec, 0, path).is_err());
        assert!(generate_pkcs8(SigningAlgorithm::HS256).is_err());
        Ok(())
    }
}
