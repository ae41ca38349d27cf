//! Tests of the verification core: RFC 8725 and OWASP JWT attacks, the cache, concurrency.

use super::*;
use crate::auth::keys::{KeyConfig, SigningKey};
use crate::auth::tokens::{AccessGrant, issue_access_token};
use crate::config::SigningAlgorithm;
use anyhow::anyhow;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use std::time::Duration;
use tempfile::TempDir;

const ISS: &str = "http://nod.test";
const AUD: &str = "nod";
const NOW: i64 = 1_700_000_000;
const TTL: i64 = 300;
const LEEWAY: i64 = 30;

fn policy() -> VerifyPolicy {
    VerifyPolicy {
        issuer: ISS.to_owned(),
        audience: AUD.to_owned(),
        leeway_secs: 30,
        max_ttl_secs: 300,
        max_token_bytes: 4096,
    }
}

fn verifier() -> TokenVerifier {
    TokenVerifier::new(policy(), 100)
}

/// A key set in its own temporary directory (kept alive by the returned `TempDir`).
fn key_set() -> anyhow::Result<(TempDir, KeySet)> {
    let dir = tempfile::tempdir()?;
    let config = KeyConfig::new(SigningAlgorithm::EdDSA, Duration::from_secs(300));
    let keys = KeySet::load_or_generate(dir.path(), &config, 0)?;
    Ok((dir, keys))
}

fn current(keys: &KeySet) -> anyhow::Result<&SigningKey> {
    keys.current().ok_or_else(|| anyhow!("no key"))
}

fn issue_at(keys: &KeySet, now_secs: i64) -> anyhow::Result<String> {
    let grant = AccessGrant {
        issuer: ISS,
        audience: AUD,
        user_id: "u1",
        username: "alice",
        session_id: "s1",
        client_id: "cli",
        amr: &["pwd", "push"],
        now_secs,
        ttl_secs: TTL,
        dpop_jkt: None,
    };
    Ok(issue_access_token(current(keys)?, &grant)?.token)
}

fn good_token(keys: &KeySet) -> anyhow::Result<String> {
    issue_at(keys, NOW)
}

/// The claims `issue_access_token` would produce at `NOW`, for hand-made variants.
fn claims() -> Value {
    json!({
        "iss": ISS, "sub": "u1", "aud": AUD,
        "exp": NOW + TTL, "iat": NOW, "nbf": NOW,
        "jti": "j1", "sid": "s1", "client_id": "cli",
        "amr": ["pwd", "push"], "preferred_username": "alice",
    })
}

/// Our header: the key's alg, `typ: at+jwt`, the key's kid.
fn header(key: &SigningKey) -> Header {
    let mut h = Header::new(key.algorithm);
    h.typ = Some(ACCESS_TOKEN_TYP.to_owned());
    h.kid = Some(key.kid.clone());
    h
}

fn sign(key: &SigningKey, header: &Header, claims: &Value) -> anyhow::Result<String> {
    Ok(encode(header, claims, &key.encoding)?)
}

fn sign_claims(keys: &KeySet, claims: &Value) -> anyhow::Result<String> {
    let key = current(keys)?;
    sign(key, &header(key), claims)
}

fn b64_json(value: &Value) -> anyhow::Result<String> {
    Ok(URL_SAFE_NO_PAD.encode(serde_json::to_vec(value)?))
}

/// Changes one header parameter.
type SetHeader = fn(&mut Header, &SigningKey);

/// The error a refused token gets; an accepted token fails the test.
fn refused(v: &TokenVerifier, keys: &KeySet, token: &str, now: i64) -> anyhow::Result<VerifyError> {
    match v.verify(keys, token, now) {
        Ok(claims) => Err(anyhow!("token was accepted: {claims:?}")),
        Err(e) => Ok(e),
    }
}

#[test]
fn a_good_token_verifies_and_its_second_use_hits_the_cache() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let token = good_token(&keys)?;
    let v = verifier();
    let first = v.verify(&keys, &token, NOW)?;
    assert_eq!(first.sub, "u1");
    assert_eq!(first.aud, AUD);
    assert_eq!(first.exp - first.iat, TTL);
    assert_eq!(v.cached(), 1);
    let second = v.verify(&keys, &token, NOW + 10)?;
    assert!(
        Arc::ptr_eq(&first, &second),
        "second use was not a cache hit"
    );
    assert_eq!(v.cached(), 1);
    Ok(())
}

#[test]
fn a_cached_token_still_expires_after_exp_and_leeway() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let token = good_token(&keys)?;
    let v = verifier();
    v.verify(&keys, &token, NOW)?;
    assert_eq!(v.cached(), 1);
    // Still good at the last second the leeway allows, from the cache.
    v.verify(&keys, &token, NOW + TTL + LEEWAY)?;
    assert_eq!(v.cached(), 1);
    assert_eq!(
        refused(&v, &keys, &token, NOW + TTL + LEEWAY + 1)?,
        VerifyError::Expired
    );
    assert_eq!(v.cached(), 0, "the expired entry was kept");
    // And without the cache too.
    assert_eq!(
        refused(&v, &keys, &token, NOW + TTL + LEEWAY + 1)?,
        VerifyError::Expired
    );
    assert_eq!(v.cached(), 0);
    Ok(())
}

#[test]
fn a_cached_token_is_refused_when_the_clock_is_before_its_nbf() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let token = good_token(&keys)?;
    let v = verifier();
    v.verify(&keys, &token, NOW)?;
    assert_eq!(
        refused(&v, &keys, &token, NOW - LEEWAY - 1)?,
        VerifyError::NotYetValid
    );
    v.verify(&keys, &token, NOW)?;
    Ok(())
}

#[test]
fn alg_none_in_any_capitalisation_is_refused() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let kid = current(&keys)?.kid.clone();
    let v = verifier();
    let payload = b64_json(&claims())?;
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64_json(&json!({"alg": alg, "typ": "at+jwt", "kid": kid}))?;
        for token in [
            format!("{header}.{payload}."),
            format!("{header}.{payload}"),
        ] {
            let err = refused(&v, &keys, &token, NOW)?;
            assert!(
                matches!(err, VerifyError::Malformed | VerifyError::WrongAlgorithm),
                "alg {alg}: {err:?}"
            );
        }
    }
    assert_eq!(v.cached(), 0);
    Ok(())
}

#[test]
fn an_hs256_token_keyed_with_our_public_key_is_refused() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let key = current(&keys)?;
    let jwk = serde_json::to_value(&key.jwk)?;
    let x = jwk["x"]
        .as_str()
        .ok_or_else(|| anyhow!("no x in the JWK"))?;
    let public = URL_SAFE_NO_PAD.decode(x)?;
    assert_eq!(public.len(), 32);
    let mut h = header(key);
    h.alg = Algorithm::HS256;
    let token = encode(&h, &claims(), &EncodingKey::from_secret(&public))?;
    let v = verifier();
    assert_eq!(
        refused(&v, &keys, &token, NOW)?,
        VerifyError::WrongAlgorithm
    );
    // The same with the base64url text of the key as the secret.
    let token = encode(&h, &claims(), &EncodingKey::from_secret(x.as_bytes()))?;
    assert_eq!(
        refused(&v, &keys, &token, NOW)?,
        VerifyError::WrongAlgorithm
    );
    Ok(())
}

#[test]
fn headers_that_bring_their_own_key_or_critical_extensions_are_refused() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let key = current(&keys)?;
    let v = verifier();
    let variants: [(&str, SetHeader); 5] = [
        ("jwk", |h, k| h.jwk = k.jwk.clone()),
        ("jku", |h, _| {
            h.jku = Some("https://evil.test/jwks.json".into())
        }),
        ("x5u", |h, _| {
            h.x5u = Some("https://evil.test/cert.pem".into())
        }),
        ("x5c", |h, _| h.x5c = Some(vec!["MIIB".into()])),
        ("crit", |h, _| h.crit = Some(vec!["exp".into()])),
    ];
    for (name, set) in variants {
        let mut h = header(key);
        set(&mut h, key);
        let token = sign(key, &h, &claims())?;
        assert_eq!(
            refused(&v, &keys, &token, NOW)?,
            VerifyError::UnsupportedHeader,
            "{name}"
        );
    }
    assert_eq!(v.cached(), 0);
    Ok(())
}

#[test]
fn an_unknown_missing_or_hostile_kid_is_refused() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let key = current(&keys)?;
    let v = verifier();
    for kid in [
        Some("not-a-key".to_owned()),
        None,
        Some("../../../dev/null".to_owned()),
        Some("../../etc/passwd".to_owned()),
        Some(String::new()),
        Some(format!("{}\0", key.kid)),
        Some(key.kid.to_uppercase()),
    ] {
        let mut h = header(key);
        h.kid = kid.clone();
        let token = sign(key, &h, &claims())?;
        assert_eq!(
            refused(&v, &keys, &token, NOW)?,
            VerifyError::UnknownKey,
            "{kid:?}"
        );
    }
    Ok(())
}

#[test]
fn a_10_kb_kid_is_refused() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let key = current(&keys)?;
    let mut h = header(key);
    h.kid = Some("k".repeat(10 * 1024));
    let token = sign(key, &h, &claims())?;
    // Under the normal size limit the token is too large to look at.
    assert_eq!(
        refused(&verifier(), &keys, &token, NOW)?,
        VerifyError::TooLarge
    );
    // With room for it, the kid is simply unknown.
    let roomy = TokenVerifier::new(
        VerifyPolicy {
            max_token_bytes: 64 * 1024,
            ..policy()
        },
        10,
    );
    assert_eq!(
        refused(&roomy, &keys, &token, NOW)?,
        VerifyError::UnknownKey
    );
    // Even a long kid that starts with ours.
    h.kid = Some(format!("{}{}", key.kid, "k".repeat(200)));
    let token = sign(key, &h, &claims())?;
    assert_eq!(
        refused(&roomy, &keys, &token, NOW)?,
        VerifyError::UnknownKey
    );
    Ok(())
}

#[test]
fn a_token_without_the_access_token_type_is_refused() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let key = current(&keys)?;
    let v = verifier();
    for typ in [
        Some("JWT"),
        None,
        Some(""),
        Some("at+jwt "),
        Some("application/jwt"),
    ] {
        let mut h = header(key);
        h.typ = typ.map(str::to_owned);
        let token = sign(key, &h, &claims())?;
        assert_eq!(
            refused(&v, &keys, &token, NOW)?,
            VerifyError::WrongType,
            "{typ:?}"
        );
    }
    Ok(())
}

#[test]
fn both_forms_of_the_access_token_type_are_accepted_in_any_case() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let key = current(&keys)?;
    let v = verifier();
    for typ in [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/AT+JWT",
    ] {
        let mut h = header(key);
        h.typ = Some(typ.to_owned());
        let token = sign(key, &h, &claims())?;
        assert!(v.verify(&keys, &token, NOW).is_ok(), "{typ}");
    }
    Ok(())
}

#[test]
fn a_token_for_another_audience_is_refused() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let v = verifier();
    let mut c = claims();
    c["aud"] = json!("someone-else");
    let token = sign_claims(&keys, &c)?;
    assert_eq!(refused(&v, &keys, &token, NOW)?, VerifyError::WrongAudience);
    // A list with ours in it is not the single string nod issues.
    c["aud"] = json!([AUD, "someone-else"]);
    let token = sign_claims(&keys, &c)?;
    assert_eq!(refused(&v, &keys, &token, NOW)?, VerifyError::Malformed);
    // Missing.
    if let Some(map) = c.as_object_mut() {
        map.remove("aud");
    }
    let token = sign_claims(&keys, &c)?;
    assert_eq!(refused(&v, &keys, &token, NOW)?, VerifyError::Malformed);
    Ok(())
}

#[test]
fn a_token_from_another_issuer_is_refused() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let v = verifier();
    let mut c = claims();
    c["iss"] = json!("http://evil.test");
    let token = sign_claims(&keys, &c)?;
    assert_eq!(refused(&v, &keys, &token, NOW)?, VerifyError::WrongIssuer);
    c["iss"] = json!(format!("{ISS}/"));
    let token = sign_claims(&keys, &c)?;
    assert_eq!(refused(&v, &keys, &token, NOW)?, VerifyError::WrongIssuer);
    Ok(())
}

#[test]
fn a_token_whose_nbf_is_in_the_future_is_refused() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let v = verifier();
    let mut c = claims();
    c["nbf"] = json!(NOW + LEEWAY + 1);
    let token = sign_claims(&keys, &c)?;
    assert_eq!(refused(&v, &keys, &token, NOW)?, VerifyError::NotYetValid);
    // Within the leeway it passes.
    c["nbf"] = json!(NOW + LEEWAY);
    let token = sign_claims(&keys, &c)?;
    v.verify(&keys, &token, NOW)?;
    Ok(())
}

#[test]
fn a_token_issued_in_the_future_is_refused() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let v = verifier();
    let token = issue_at(&keys, NOW + LEEWAY + 1)?;
    assert_eq!(refused(&v, &keys, &token, NOW)?, VerifyError::NotYetValid);
    let mut c = claims();
    c["iat"] = json!(NOW + LEEWAY + 1);
    let token = sign_claims(&keys, &c)?;
    assert_eq!(refused(&v, &keys, &token, NOW)?, VerifyError::NotYetValid);
    Ok(())
}

#[test]
fn an_expired_token_is_refused() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let v = verifier();
    let token = issue_at(&keys, NOW - TTL - LEEWAY - 1)?;
    assert_eq!(refused(&v, &keys, &token, NOW)?, VerifyError::Expired);
    let mut c = claims();
    c["exp"] = json!(NOW - LEEWAY - 1);
    c["iat"] = json!(NOW - 100);
    c["nbf"] = json!(NOW - 100);
    let token = sign_claims(&keys, &c)?;
    assert_eq!(refused(&v, &keys, &token, NOW)?, VerifyError::Expired);
    assert_eq!(v.cached(), 0);
    Ok(())
}

#[test]
fn a_token_living_longer_than_the_access_ttl_is_refused() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let v = verifier();
    let mut c = claims();
    c["exp"] = json!(NOW + TTL + 1);
    let token = sign_claims(&keys, &c)?;
    assert_eq!(refused(&v, &keys, &token, NOW)?, VerifyError::BadLifetime);
    c["exp"] = json!(i64::MAX);
    let token = sign_claims(&keys, &c)?;
    assert_eq!(refused(&v, &keys, &token, NOW)?, VerifyError::BadLifetime);
    // exp - iat would overflow.
    c["iat"] = json!(i64::MIN);
    let token = sign_claims(&keys, &c)?;
    let err = refused(&v, &keys, &token, NOW)?;
    assert!(
        matches!(err, VerifyError::Malformed | VerifyError::BadLifetime),
        "{err:?}"
    );
    // Beyond i64: not even a claim nod can read.
    c["iat"] = json!(NOW);
    c["exp"] = json!(u64::MAX);
    let token = sign_claims(&keys, &c)?;
    assert_eq!(refused(&v, &keys, &token, NOW)?, VerifyError::Malformed);
    // exp before iat.
    c["exp"] = json!(NOW - 1);
    c["iat"] = json!(NOW);
    let token = sign_claims(&keys, &c)?;
    assert_eq!(refused(&v, &keys, &token, NOW)?, VerifyError::BadLifetime);
    assert_eq!(v.cached(), 0);
    Ok(())
}

#[test]
fn a_token_missing_a_time_claim_is_malformed() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let v = verifier();
    for claim in ["exp", "nbf", "iat", "sub", "iss"] {
        let mut c = claims();
        if let Some(map) = c.as_object_mut() {
            map.remove(claim);
        }
        let token = sign_claims(&keys, &c)?;
        assert_eq!(
            refused(&v, &keys, &token, NOW)?,
            VerifyError::Malformed,
            "{claim}"
        );
    }
    let mut c = claims();
    c["exp"] = json!(format!("{}", NOW + TTL));
    let token = sign_claims(&keys, &c)?;
    assert_eq!(refused(&v, &keys, &token, NOW)?, VerifyError::Malformed);
    Ok(())
}

#[test]
fn a_tampered_payload_fails_the_signature() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let token = good_token(&keys)?;
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let mut payload: Vec<char> = parts[1].chars().collect();
    let mid = payload.len() / 2;
    payload[mid] = if payload[mid] == 'A' { 'B' } else { 'A' };
    let payload: String = payload.into_iter().collect();
    let tampered = format!("{}.{}.{}", parts[0], payload, parts[2]);
    assert_ne!(tampered, token);
    let v = verifier();
    let err = refused(&v, &keys, &tampered, NOW)?;
    assert!(
        matches!(err, VerifyError::BadSignature | VerifyError::Malformed),
        "{err:?}"
    );
    // A readable but different payload under the old signature.
    let mut c = claims();
    c["sub"] = json!("admin");
    let forged = format!("{}.{}.{}", parts[0], b64_json(&c)?, parts[2]);
    assert_eq!(refused(&v, &keys, &forged, NOW)?, VerifyError::BadSignature);
    assert_eq!(v.cached(), 0);
    Ok(())
}

#[test]
fn an_oversized_token_is_refused_before_parsing() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let v = verifier();
    let huge = "a".repeat(100 * 1024);
    assert_eq!(refused(&v, &keys, &huge, NOW)?, VerifyError::TooLarge);
    let just_over = "a".repeat(policy().max_token_bytes + 1);
    assert_eq!(refused(&v, &keys, &just_over, NOW)?, VerifyError::TooLarge);
    Ok(())
}

#[test]
fn garbage_is_malformed() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let v = verifier();
    for token in ["", ".", "..", "a.b.c", "a.b", "eyJ9.e30.", "Bearer x"] {
        assert_eq!(
            refused(&v, &keys, token, NOW)?,
            VerifyError::Malformed,
            "{token:?}"
        );
    }
    Ok(())
}

#[test]
fn a_token_from_another_key_set_is_refused() -> anyhow::Result<()> {
    let (_dir, ours) = key_set()?;
    let (_other_dir, theirs) = key_set()?;
    let v = verifier();
    // Their kid: not ours.
    let token = good_token(&theirs)?;
    assert_eq!(refused(&v, &ours, &token, NOW)?, VerifyError::UnknownKey);
    // Their key under our kid: the signature does not match.
    let their_key = current(&theirs)?;
    let mut h = header(their_key);
    h.kid = Some(current(&ours)?.kid.clone());
    let token = sign(their_key, &h, &claims())?;
    assert_eq!(refused(&v, &ours, &token, NOW)?, VerifyError::BadSignature);
    assert_eq!(v.cached(), 0);
    Ok(())
}

#[test]
fn failures_are_not_cached() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let v = verifier();
    let token = issue_at(&keys, NOW - TTL - LEEWAY - 1)?;
    assert_eq!(refused(&v, &keys, &token, NOW)?, VerifyError::Expired);
    assert_eq!(v.cached(), 0);
    let mut c = claims();
    c["aud"] = json!("someone-else");
    let token = sign_claims(&keys, &c)?;
    assert_eq!(refused(&v, &keys, &token, NOW)?, VerifyError::WrongAudience);
    assert_eq!(v.cached(), 0);
    Ok(())
}

#[test]
fn a_different_string_is_a_cache_miss() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let token = good_token(&keys)?;
    let v = verifier();
    v.verify(&keys, &token, NOW)?;
    for other in [
        format!("{token}="),
        format!("{token} "),
        format!(" {token}"),
        format!("{token}."),
    ] {
        assert!(v.verify(&keys, &other, NOW).is_err(), "{other:?}");
    }
    assert_eq!(v.cached(), 1);
    Ok(())
}

#[test]
fn a_cached_token_is_refused_once_its_key_is_retired() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let (_other_dir, rotated) = key_set()?;
    let token = good_token(&keys)?;
    let v = verifier();
    v.verify(&keys, &token, NOW)?;
    assert_eq!(v.cached(), 1);
    assert_eq!(refused(&v, &rotated, &token, NOW)?, VerifyError::UnknownKey);
    assert_eq!(v.cached(), 0);
    Ok(())
}

#[test]
fn the_cache_never_grows_past_its_capacity() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let v = TokenVerifier::new(policy(), 8);
    let mut tokens = Vec::new();
    for i in 0..40 {
        let token = good_token(&keys)?;
        v.verify(&keys, &token, NOW + i % 5)?;
        assert!(v.cached() <= 8, "{} entries", v.cached());
        tokens.push(token);
    }
    // Evicted tokens still verify, on the full path.
    for token in &tokens {
        v.verify(&keys, token, NOW)?;
    }
    assert!(v.cached() <= 8);
    // Expired entries are the first to go.
    let small = TokenVerifier::new(policy(), 4);
    for token in &tokens[..4] {
        small.verify(&keys, token, NOW)?;
    }
    assert_eq!(small.cached(), 4);
    let later = issue_at(&keys, NOW + 1000)?;
    small.verify(&keys, &later, NOW + 1000)?;
    assert_eq!(small.cached(), 1);
    // No cache at all.
    let none = TokenVerifier::new(policy(), 0);
    none.verify(&keys, &tokens[0], NOW)?;
    assert_eq!(none.cached(), 0);
    Ok(())
}

#[test]
fn many_threads_verify_the_same_tokens() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let tokens = (0..4)
        .map(|_| good_token(&keys))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let v = TokenVerifier::new(policy(), 3);
    let ok = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let (v, keys, tokens) = (&v, &keys, &tokens);
                s.spawn(move || {
                    (0..50).all(|i| {
                        let token = &tokens[(t + i) % tokens.len()];
                        v.verify(keys, token, NOW).is_ok()
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .all(|h| h.join().is_ok_and(|all_ok| all_ok))
    });
    assert!(ok);
    assert!(v.cached() <= 3);
    Ok(())
}

#[test]
fn debug_output_does_not_show_cached_tokens() -> anyhow::Result<()> {
    let (_dir, keys) = key_set()?;
    let token = good_token(&keys)?;
    let v = verifier();
    v.verify(&keys, &token, NOW)?;
    let shown = format!("{v:?}");
    assert!(!shown.contains(&token));
    assert!(shown.contains("cached: 1"), "{shown}");
    Ok(())
}
