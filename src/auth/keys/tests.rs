//! Key sets of every algorithm, end to end: minted by `tokens::mint`, verified by
//! `TokenVerifier`, published (or not) in the JWKS; and a ring reloading from disk.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use jsonwebtoken::decode_header;
use serde_json::Value;
use tempfile::TempDir;

use super::*;
use crate::auth::jwe::{self, ContentKey};
use crate::auth::tokens::{AccessGrant, mint};
use crate::auth::verify::{TokenVerifier, VerifyError, VerifyPolicy};
use crate::clock::{Clock, TestClock};

const NOW: i64 = 1_700_000_000;
const HMAC_SECRET: [u8; 32] = [0x5a; 32];

fn config(algorithm: SigningAlgorithm) -> KeyConfig {
    let config = KeyConfig::new(algorithm, Duration::from_secs(300));
    if algorithm == SigningAlgorithm::HS256 {
        config.with_hmac_secret(&HMAC_SECRET)
    } else {
        config
    }
}

fn key_set(config: &KeyConfig) -> anyhow::Result<(TempDir, KeySet)> {
    let dir = tempfile::tempdir()?;
    let keys = KeySet::load_or_generate(dir.path(), config, NOW * 1000)?;
    Ok((dir, keys))
}

fn grant(now_secs: i64) -> AccessGrant<'static> {
    AccessGrant {
        issuer: "http://nod.test",
        audience: "nod",
        user_id: "u1",
        username: "alice",
        session_id: "s1",
        client_id: "cli",
        amr: &["pwd", "push"],
        now_secs,
        ttl_secs: 300,
        dpop_jkt: None,
    }
}

fn verifier() -> TokenVerifier {
    TokenVerifier::new(
        VerifyPolicy {
            issuer: "http://nod.test".to_owned(),
            audience: "nod".to_owned(),
            leeway_secs: 30,
            max_ttl_secs: 300,
            max_token_bytes: 4096,
        },
        100,
    )
}

fn jwks(keys: &KeySet) -> anyhow::Result<Vec<Value>> {
    let value = serde_json::to_value(keys.jwks())?;
    Ok(value["keys"].as_array().cloned().unwrap_or_default())
}

/// Mints with `mint`, checks the header, verifies with `TokenVerifier`; returns the JWKS.
fn round_trip(algorithm: SigningAlgorithm) -> anyhow::Result<Vec<Value>> {
    let (_dir, keys) = key_set(&config(algorithm))?;
    let key = keys
        .current()
        .ok_or_else(|| anyhow::anyhow!("no signing key"))?;
    assert_eq!(key.algorithm, algorithms::jws_algorithm(algorithm));
    let token = mint(&keys, &grant(NOW))?.token;
    let header = decode_header(&token)?;
    assert_eq!(header.alg, key.algorithm, "{algorithm:?}");
    assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
    let claims = verifier().verify(&keys, &token, NOW)?;
    assert_eq!(claims.sub, "u1");
    let published = jwks(&keys)?;
    for jwk in &published {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(
                jwk.get(private).is_none(),
                "{algorithm:?} published {private}"
            );
        }
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["kid"], key.kid.as_str());
        assert_eq!(jwk["alg"], format!("{:?}", key.algorithm));
    }
    Ok(published)
}

#[test]
fn eddsa_signs_verifies_and_publishes_an_okp_key() -> anyhow::Result<()> {
    let jwks = round_trip(SigningAlgorithm::EdDSA)?;
    assert_eq!(jwks.len(), 1);
    assert_eq!(jwks[0]["kty"], "OKP");
    assert_eq!(jwks[0]["crv"], "Ed25519");
    assert!(jwks[0]["x"].is_string());
    Ok(())
}

#[test]
fn es256_signs_verifies_and_publishes_a_p256_key() -> anyhow::Result<()> {
    let jwks = round_trip(SigningAlgorithm::ES256)?;
    assert_eq!(jwks.len(), 1);
    assert_eq!(jwks[0]["kty"], "EC");
    assert_eq!(jwks[0]["crv"], "P-256");
    assert!(jwks[0]["x"].is_string() && jwks[0]["y"].is_string());
    assert_eq!(jwks[0]["kid"].as_str().map(str::len), Some(43));
    Ok(())
}

#[test]
fn rs256_signs_verifies_and_publishes_a_2048_bit_rsa_key() -> anyhow::Result<()> {
    let jwks = round_trip(SigningAlgorithm::RS256)?;
    assert_eq!(jwks.len(), 1);
    assert_eq!(jwks[0]["kty"], "RSA");
    assert_eq!(jwks[0]["e"], "AQAB");
    let n = jwks[0]["n"].as_str().unwrap_or_default();
    assert_eq!(
        n.len(),
        342,
        "a 2048-bit modulus is 256 bytes, 342 base64url characters"
    );
    Ok(())
}

#[test]
fn hs256_signs_verifies_and_publishes_nothing() -> anyhow::Result<()> {
    let jwks = round_trip(SigningAlgorithm::HS256)?;
    assert!(jwks.is_empty(), "{jwks:?}");
    let (_dir, keys) = key_set(&config(SigningAlgorithm::HS256))?;
    assert_eq!(serde_json::to_string(&keys.jwks())?, r#"{"keys":[]}"#);
    // No key file either: the key is configuration.
    assert!(keys.all().iter().all(|k| k.path.is_none()));
    Ok(())
}

#[test]
fn an_hs256_token_is_refused_by_an_eddsa_configured_verifier() -> anyhow::Result<()> {
    let (_hs_dir, hs) = key_set(&config(SigningAlgorithm::HS256))?;
    let token = mint(&hs, &grant(NOW))?.token;
    let (_ed_dir, ed) = key_set(&config(SigningAlgorithm::EdDSA))?;
    let refused = verifier().verify(&ed, &token, NOW).err();
    assert!(
        matches!(
            refused,
            Some(VerifyError::UnknownKey | VerifyError::WrongAlgorithm)
        ),
        "{refused:?}"
    );
    Ok(())
}

#[test]
fn after_an_algorithm_change_the_new_algorithm_signs_and_the_old_key_still_verifies()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ed = KeySet::load_or_generate(dir.path(), &config(SigningAlgorithm::EdDSA), 1_000)?;
    let old_token = mint(&ed, &grant(NOW))?.token;
    let es = KeySet::load_or_generate(dir.path(), &config(SigningAlgorithm::ES256), 2_000)?;
    let signer = es.current().map(|k| k.algorithm);
    assert_eq!(signer, Some(jsonwebtoken::Algorithm::ES256));
    assert_eq!(es.all().len(), 2);
    verifier().verify(&es, &old_token, NOW)?;
    let new_token = mint(&es, &grant(NOW))?.token;
    assert_eq!(
        decode_header(&new_token)?.alg,
        jsonwebtoken::Algorithm::ES256
    );
    Ok(())
}

#[test]
fn encrypted_tokens_round_trip_and_a_tampered_one_fails() -> anyhow::Result<()> {
    let config =
        config(SigningAlgorithm::EdDSA).with_encryption(ContentKey::from_bytes(&[3u8; 32])?);
    let (_dir, keys) = key_set(&config)?;
    let token = mint(&keys, &grant(NOW))?.token;
    assert!(jwe::is_compact_jwe(&token), "{token}");
    let v = verifier();
    assert_eq!(v.verify(&keys, &token, NOW)?.sub, "u1");
    // A signed but unencrypted token of ours still verifies.
    let key = keys.current().ok_or_else(|| anyhow::anyhow!("no key"))?;
    let plain = crate::auth::tokens::issue_access_token(key, &grant(NOW))?.token;
    v.verify(&keys, &plain, NOW)?;
    // One changed character in the ciphertext, and in the tag.
    for segment in [3, 4] {
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let first = if parts[segment].starts_with('A') {
            "B"
        } else {
            "A"
        };
        parts[segment].replace_range(0..1, first);
        let tampered = parts.join(".");
        assert_eq!(
            v.verify(&keys, &tampered, NOW).err(),
            Some(VerifyError::Undecryptable)
        );
    }
    // Without encryption configured, a JWE is refused outright.
    let (_plain_dir, unencrypted) = key_set(&self::config(SigningAlgorithm::EdDSA))?;
    assert!(verifier().verify(&unencrypted, &token, NOW).is_err());
    Ok(())
}

#[test]
fn a_reload_picks_up_a_new_key_file_and_retires_the_old_one_later() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(TestClock::at(UNIX_EPOCH + Duration::from_secs(NOW as u64)));
    let config = config(SigningAlgorithm::EdDSA);
    let ring = KeyRing::load_or_generate(dir.path(), config.clone(), clock.clone())?;
    let first = ring.snapshot().current().map(|k| k.kid.clone());
    assert!(!ring.reload()?, "nothing changed on disk");
    let rotated = rotate(dir.path(), &config, clock.now_ms())?;
    assert!(ring.reload()?);
    let snapshot = ring.snapshot();
    assert_eq!(snapshot.current().map(|k| &k.kid), Some(&rotated.kid));
    assert!(
        snapshot
            .find(first.as_deref().unwrap_or_default())
            .is_some()
    );
    // Once the new key is older than access_ttl + leeway, the next reload retires the old one.
    clock.advance(config.retire_after + Duration::from_millis(2));
    assert!(ring.reload()?);
    assert_eq!(ring.snapshot().all().len(), 1);
    assert!(
        ring.snapshot()
            .find(first.as_deref().unwrap_or_default())
            .is_none()
    );
    Ok(())
}

#[test]
fn a_reload_that_finds_no_key_keeps_the_loaded_ones() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(TestClock::at(UNIX_EPOCH + Duration::from_secs(NOW as u64)));
    let ring = KeyRing::load_or_generate(dir.path(), config(SigningAlgorithm::EdDSA), clock)?;
    for file in std::fs::read_dir(dir.path().join("keys"))? {
        std::fs::remove_file(file?.path())?;
    }
    assert!(ring.reload().is_err());
    assert!(ring.snapshot().current().is_some());
    Ok(())
}
