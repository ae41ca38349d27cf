//! Proof checks: good proofs, wrong requests, wrong keys, nonces.

use super::*;
use crate::auth::keys::algorithms::generate_pkcs8;
use crate::config::SigningAlgorithm;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;

const NOW: i64 = 1_700_000_000;
const URL: &str = "https://nod.example/v1/token";

fn key(alg: SigningAlgorithm) -> anyhow::Result<(EncodingKey, Algorithm)> {
    let der = generate_pkcs8(alg)?;
    Ok(match alg {
        SigningAlgorithm::ES256 => (EncodingKey::from_ec_der(&der), Algorithm::ES256),
        _ => (EncodingKey::from_ed_der(&der), Algorithm::EdDSA),
    })
}

fn proof(key: &(EncodingKey, Algorithm), claims: serde_json::Value) -> anyhow::Result<String> {
    let mut header = Header::new(key.1);
    header.typ = Some(PROOF_TYP.into());
    header.jwk = Some(Jwk::from_encoding_key(&key.0, key.1)?);
    Ok(encode(&header, &claims, &key.0)?)
}

fn claims(jti: &str) -> serde_json::Value {
    json!({"jti": jti, "htm": "POST", "htu": URL, "iat": NOW})
}

fn target() -> ProofTarget<'static> {
    ProofTarget {
        method: "POST",
        url: URL,
        access_token: None,
        expected_jkt: None,
        nonces: None,
    }
}

#[test]
fn a_good_proof_of_either_algorithm_passes_once() -> anyhow::Result<()> {
    for alg in [SigningAlgorithm::ES256, SigningAlgorithm::EdDSA] {
        let k = key(alg)?;
        let checker = ProofChecker::new(60, 100);
        let p = proof(&k, claims("one"))?;
        let valid = checker.check(&p, &target(), NOW)?;
        let jwk = Jwk::from_encoding_key(&k.0, k.1)?;
        assert_eq!(valid.jkt, jwk.thumbprint(ThumbprintHash::SHA256)?);
        assert_eq!(checker.check(&p, &target(), NOW), Err(ProofError::Replayed));
    }
    Ok(())
}

#[test]
fn a_proof_for_another_request_or_time_is_refused() -> anyhow::Result<()> {
    let k = key(SigningAlgorithm::EdDSA)?;
    let checker = ProofChecker::new(60, 100);
    let cases = [
        (
            json!({"jti": "a", "htm": "GET", "htu": URL, "iat": NOW}),
            ProofError::WrongMethod,
        ),
        (
            json!({"jti": "b", "htm": "POST", "htu": "https://nod.example/v1/login", "iat": NOW}),
            ProofError::WrongUrl,
        ),
        (
            json!({"jti": "c", "htm": "POST", "htu": "http://nod.example/v1/token", "iat": NOW}),
            ProofError::WrongUrl,
        ),
        (
            json!({"jti": "d", "htm": "POST", "htu": URL, "iat": NOW - 61}),
            ProofError::Stale,
        ),
        (
            json!({"jti": "e", "htm": "POST", "htu": URL, "iat": NOW + 61}),
            ProofError::Stale,
        ),
        (
            json!({"jti": "", "htm": "POST", "htu": URL, "iat": NOW}),
            ProofError::Malformed,
        ),
        (
            json!({"htm": "POST", "htu": URL, "iat": NOW}),
            ProofError::Malformed,
        ),
    ];
    for (c, expected) in cases {
        let p = proof(&k, c.clone())?;
        assert_eq!(checker.check(&p, &target(), NOW), Err(expected), "{c}");
    }
    // Query and fragment do not count; default ports and host case do not either.
    let p = proof(
        &k,
        json!({"jti": "f", "htm": "POST", "htu": "https://NOD.example:443/v1/token?x=1#y", "iat": NOW}),
    )?;
    checker.check(&p, &target(), NOW)?;
    Ok(())
}

#[test]
fn ath_and_the_bound_key_are_checked() -> anyhow::Result<()> {
    let k = key(SigningAlgorithm::ES256)?;
    let checker = ProofChecker::new(60, 100);
    let mut c = claims("x");
    c["ath"] = json!(token_hash("the-token"));
    let p = proof(&k, c)?;
    let mut t = target();
    t.access_token = Some("another-token");
    assert_eq!(checker.check(&p, &t, NOW), Err(ProofError::WrongToken));
    t.access_token = Some("the-token");
    t.expected_jkt = Some("someone-else");
    assert_eq!(checker.check(&p, &t, NOW), Err(ProofError::WrongKey));
    // Refusals do not spend the jti.
    t.expected_jkt = None;
    checker.check(&p, &t, NOW)?;
    Ok(())
}

#[test]
fn hmac_none_rsa_and_foreign_keys_are_refused() -> anyhow::Result<()> {
    let checker = ProofChecker::new(60, 100);
    // HMAC, with the "public key" being the secret.
    let secret = EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef");
    let mut h = Header::new(Algorithm::HS256);
    h.typ = Some(PROOF_TYP.into());
    h.jwk = Some(Jwk::from_encoding_key(&secret, Algorithm::HS256)?);
    let p = encode(&h, &claims("h"), &secret)?;
    assert_eq!(
        checker.check(&p, &target(), NOW),
        Err(ProofError::UnsupportedAlgorithm)
    );
    // alg none.
    let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"dpop+jwt","alg":"none"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims("n").to_string());
    let p = format!("{header}.{body}.");
    assert!(checker.check(&p, &target(), NOW).is_err());
    // ES256 alg with an Ed25519 key.
    let ed = key(SigningAlgorithm::EdDSA)?;
    let es = key(SigningAlgorithm::ES256)?;
    let mut h = Header::new(Algorithm::ES256);
    h.typ = Some(PROOF_TYP.into());
    h.jwk = Some(Jwk::from_encoding_key(&ed.0, ed.1)?);
    let p = encode(&h, &claims("m"), &es.0)?;
    assert_eq!(checker.check(&p, &target(), NOW), Err(ProofError::BadKey));
    // Signed by one key, carrying another.
    let mut h = Header::new(Algorithm::EdDSA);
    h.typ = Some(PROOF_TYP.into());
    h.jwk = Some(Jwk::from_encoding_key(
        &key(SigningAlgorithm::EdDSA)?.0,
        ed.1,
    )?);
    let p = encode(&h, &claims("s"), &ed.0)?;
    assert_eq!(
        checker.check(&p, &target(), NOW),
        Err(ProofError::BadSignature)
    );
    // No jwk, a kid, or the wrong typ.
    let mut h = Header::new(Algorithm::EdDSA);
    h.typ = Some(PROOF_TYP.into());
    let p = encode(&h, &claims("k"), &ed.0)?;
    assert_eq!(checker.check(&p, &target(), NOW), Err(ProofError::BadKey));
    h.jwk = Some(Jwk::from_encoding_key(&ed.0, ed.1)?);
    h.kid = Some("k1".into());
    let p = encode(&h, &claims("k"), &ed.0)?;
    assert_eq!(checker.check(&p, &target(), NOW), Err(ProofError::BadKey));
    h.kid = None;
    h.typ = Some("JWT".into());
    let p = encode(&h, &claims("k"), &ed.0)?;
    assert_eq!(
        checker.check(&p, &target(), NOW),
        Err(ProofError::WrongType)
    );
    assert_eq!(checker.remembered(), 0);
    Ok(())
}

#[test]
fn a_nonce_is_needed_when_nonces_are_on_and_lasts_two_periods() -> anyhow::Result<()> {
    let k = key(SigningAlgorithm::EdDSA)?;
    let checker = ProofChecker::new(60, 100);
    let nonces = NonceIssuer::random(300)?;
    let mut t = target();
    t.nonces = Some(&nonces);
    assert_eq!(
        checker.check(&proof(&k, claims("a"))?, &t, NOW),
        Err(ProofError::NonceRequired)
    );
    let other = NonceIssuer::random(300)?;
    for (jti, nonce) in [("b", other.issue(NOW)), ("c", nonces.issue(NOW - 600))] {
        let mut c = claims(jti);
        c["nonce"] = json!(nonce);
        assert_eq!(
            checker.check(&proof(&k, c)?, &t, NOW),
            Err(ProofError::NonceRequired)
        );
    }
    for (jti, nonce) in [("d", nonces.issue(NOW)), ("e", nonces.issue(NOW - 300))] {
        let mut c = claims(jti);
        c["nonce"] = json!(nonce);
        checker.check(&proof(&k, c)?, &t, NOW)?;
    }
    Ok(())
}

#[test]
fn a_full_replay_cache_refuses_a_new_proof_and_keeps_refusing_the_old_ones() -> anyhow::Result<()> {
    let k = key(SigningAlgorithm::ES256)?;
    let checker = ProofChecker::new(60, 2);
    let first = proof(&k, claims("a"))?;
    checker.check(&first, &target(), NOW)?;
    checker.check(&proof(&k, claims("b"))?, &target(), NOW)?;

    assert_eq!(
        checker.check(&proof(&k, claims("c"))?, &target(), NOW + 30),
        Err(ProofError::Busy)
    );
    assert_eq!(
        checker.check(&first, &target(), NOW + 59),
        Err(ProofError::Replayed)
    );
    Ok(())
}

#[test]
fn an_inspected_proof_is_used_up_only_when_spent() -> anyhow::Result<()> {
    let k = key(SigningAlgorithm::EdDSA)?;
    let checker = ProofChecker::new(60, 100);
    let p = proof(&k, claims("later"))?;

    let looked_at = checker.inspect(&p, &target(), NOW)?;
    assert_eq!(checker.remembered(), 0);
    let again = checker.inspect(&p, &target(), NOW)?;
    let spent = checker.spend(looked_at, NOW)?;
    assert_eq!(spent.jkt, again.jkt());
    assert_eq!(checker.spend(again, NOW), Err(ProofError::Replayed));
    assert_eq!(checker.check(&p, &target(), NOW), Err(ProofError::Replayed));
    Ok(())
}
