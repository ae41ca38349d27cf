//! Access token verification: the one place that decides whether a presented JWT is an access
//! token nod issued, unaltered and current.
//!
//! jsonwebtoken checks the signature, the required claims, `iss` and `aud`. Everything it leaves
//! out is done here: the size limit, refusing headers that bring their own key (`jwk`, `jku`,
//! `x5u`, `x5c`) or extensions we do not understand (`crit`), the RFC 9068 `typ`, the `kid` →
//! key → `alg` binding, and every time check against the caller's clock (jsonwebtoken would read
//! the system clock), including a bound on the lifetime so `exp = u64::MAX`-style tokens fail.
//!
//! An encrypted token (a five-segment compact JWE, when `tokens.encrypt` is on) is decrypted first
//! and its inner JWS then verified exactly like a plain one; with encryption off a JWE is refused.
//! A plain JWS still verifies with encryption on: it is the signature, not the encryption, that
//! shows nod issued a token, and tokens minted just before encryption was switched on stay good.
//!
//! Verified tokens are remembered (bounded, keyed by the whole token string) so a token presented
//! many times in its few minutes is signature-checked once; a remembered token is still checked
//! against the clock, and against the key set, on every use. Failures are never remembered.

use std::collections::HashMap;

/// Verified tokens by their whole string. foldhash (randomly seeded per process) instead of
/// SipHash: a key is a ~600-byte token hashed on every use, and only tokens that passed full
/// verification are ever inserted, so nobody can stuff the map with chosen collisions.
type TokenMap = HashMap<Box<str>, Entry, foldhash::fast::RandomState>;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Validation, decode, decode_header};

use super::jwe;
use super::keys::KeySet;
use super::tokens::{ACCESS_TOKEN_TYP, AccessClaims};

/// The media-type form of [`ACCESS_TOKEN_TYP`] (RFC 9068 §2.1 allows both).
const ACCESS_TOKEN_MEDIA_TYPE: &str = "application/at+jwt";

/// Longest `kid` worth looking up; nod's are 43-character thumbprints.
const MAX_KID_BYTES: usize = 128;

/// What a token must satisfy besides a good signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// The only accepted `iss`.
    pub issuer: String,
    /// The only accepted `aud`.
    pub audience: String,
    /// Clock skew allowed on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_secs: u64,
    /// Longest accepted lifetime, `exp - iat`: the access token TTL.
    pub max_ttl_secs: u64,
    /// Longest accepted token, in bytes, checked before any parsing (e.g. 4096).
    pub max_token_bytes: usize,
}

/// Why a token was refused. Every variant is a client error; none carries token content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the access token is too large")]
    TooLarge,
    #[error("the access token is malformed")]
    Malformed,
    #[error("the access token header carries an unsupported parameter")]
    UnsupportedHeader,
    #[error("the token is not an access token")]
    WrongType,
    #[error("the access token is signed with an unknown key")]
    UnknownKey,
    #[error("the access token algorithm does not match its key")]
    WrongAlgorithm,
    #[error("the access token signature is invalid")]
    BadSignature,
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is not valid yet")]
    NotYetValid,
    #[error("the access token has the wrong issuer")]
    WrongIssuer,
    #[error("the access token is for another audience")]
    WrongAudience,
    #[error("the access token lifetime is not acceptable")]
    BadLifetime,
    #[error("the access token cannot be decrypted")]
    Undecryptable,
}

/// A verified token, remembered.
struct Entry {
    claims: Arc<AccessClaims>,
    /// The key that verified it: a hit counts only while that key is still in the key set.
    kid: Box<str>,
}

/// Verifies access tokens and remembers the ones that passed. Shared by all requests (`&self`).
pub struct TokenVerifier {
    policy: VerifyPolicy,
    capacity: usize,
    cache: RwLock<TokenMap>,
}

/// What the cache says about a token.
enum Lookup {
    Hit(Arc<AccessClaims>),
    Miss,
    Refused(VerifyError),
}

impl TokenVerifier {
    /// A verifier remembering at most `cache_capacity` tokens (0 disables the cache).
    pub fn new(policy: VerifyPolicy, cache_capacity: usize) -> Self {
        Self {
            policy,
            capacity: cache_capacity,
            cache: RwLock::new(TokenMap::default()),
        }
    }

    /// The policy tokens are held to.
    pub fn policy(&self) -> &VerifyPolicy {
        &self.policy
    }

    /// Verifies `token` at `now_secs` against `keys`. A cache hit skips the signature but still
    /// checks time (and that the verifying key is still in `keys`).
    pub fn verify(
        &self,
        keys: &KeySet,
        token: &str,
        now_secs: i64,
    ) -> Result<Arc<AccessClaims>, VerifyError> {
        if token.len() > self.policy.max_token_bytes {
            return Err(VerifyError::TooLarge);
        }
        match self.lookup(keys, token, now_secs) {
            Lookup::Hit(claims) => return Ok(claims),
            Lookup::Refused(e) => return Err(e),
            Lookup::Miss => {}
        }
        let (claims, kid) = self.verify_outer(keys, token, now_secs)?;
        let claims = Arc::new(claims);
        self.remember(token, kid, Arc::clone(&claims), now_secs);
        Ok(claims)
    }

    /// Tokens currently remembered, for tests and metrics.
    pub fn cached(&self) -> usize {
        self.read().len()
    }

    fn leeway(&self) -> i64 {
        i64::try_from(self.policy.leeway_secs).unwrap_or(i64::MAX)
    }

    /// The cache's verdict. Expired entries and entries whose key left the key set are removed.
    fn lookup(&self, keys: &KeySet, token: &str, now_secs: i64) -> Lookup {
        let stale = {
            let map = self.read();
            let Some(entry) = map.get(token) else {
                return Lookup::Miss;
            };
            if keys.find(&entry.kid).is_none() {
                // The key was retired: forget the token and let the full path refuse it.
                None
            } else {
                match check_time(&entry.claims, now_secs, self.leeway()) {
                    Ok(()) => return Lookup::Hit(Arc::clone(&entry.claims)),
                    // The clock may move forward again: keep the entry.
                    Err(VerifyError::NotYetValid) => {
                        return Lookup::Refused(VerifyError::NotYetValid);
                    }
                    Err(e) => Some(e),
                }
            }
        };
        self.write().remove(token);
        match stale {
            Some(e) => Lookup::Refused(e),
            None => Lookup::Miss,
        }
    }

    /// The full check of a token the cache does not know: a JWE is decrypted, then its inner JWS
    /// (or the token itself, when it is a JWS) verified.
    fn verify_outer<'k>(
        &self,
        keys: &'k KeySet,
        token: &str,
        now_secs: i64,
    ) -> Result<(AccessClaims, &'k str), VerifyError> {
        if !jwe::is_compact_jwe(token) {
            return self.verify_fresh(keys, token, now_secs);
        }
        let cek = keys.encryption().ok_or(VerifyError::Malformed)?;
        let inner = jwe::decrypt(cek, token).map_err(|e| match e {
            jwe::JweError::Undecryptable => VerifyError::Undecryptable,
            _ => VerifyError::Malformed,
        })?;
        let inner = String::from_utf8(inner).map_err(|_| VerifyError::Malformed)?;
        self.verify_fresh(keys, &inner, now_secs)
    }

    /// The full check of a signed token. Returns its claims and the kid of the key that
    /// verified it.
    fn verify_fresh<'k>(
        &self,
        keys: &'k KeySet,
        token: &str,
        now_secs: i64,
    ) -> Result<(AccessClaims, &'k str), VerifyError> {
        let header = decode_header(token).map_err(|_| VerifyError::Malformed)?;
        if header.jwk.is_some()
            || header.jku.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
            || header.crit.is_some()
            // JWE parameters have no place in a JWS.
            || header.enc.is_some()
            || header.zip.is_some()
        {
            return Err(VerifyError::UnsupportedHeader);
        }
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP)
                || t.eq_ignore_ascii_case(ACCESS_TOKEN_MEDIA_TYPE)
        });
        if !typ_ok {
            return Err(VerifyError::WrongType);
        }
        let key = header
            .kid
            .as_deref()
            .filter(|kid| kid.len() <= MAX_KID_BYTES)
            .and_then(|kid| keys.find(kid))
            .ok_or(VerifyError::UnknownKey)?;
        if header.alg != key.algorithm {
            return Err(VerifyError::WrongAlgorithm);
        }

        let mut validation = Validation::new(key.algorithm);
        validation.leeway = self.policy.leeway_secs;
        // jsonwebtoken compares exp/nbf with the system clock; nod's clock is `now_secs`, so the
        // time checks are done below (`check_time`) instead.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = true;
        validation.set_audience(&[self.policy.audience.as_str()]);
        validation.set_issuer(&[self.policy.issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        let claims = decode::<AccessClaims>(token, &key.decoding, &validation)
            .map_err(|e| map_jwt_error(e.kind()))?
            .claims;

        // `AccessClaims` has single-string iss/aud, so these hold already; kept as a guard
        // against a change of claim types.
        if claims.iss != self.policy.issuer {
            return Err(VerifyError::WrongIssuer);
        }
        if claims.aud != self.policy.audience {
            return Err(VerifyError::WrongAudience);
        }
        check_time(&claims, now_secs, self.leeway())?;
        let max_ttl = i64::try_from(self.policy.max_ttl_secs).unwrap_or(i64::MAX);
        match claims.exp.checked_sub(claims.iat) {
            Some(lifetime) if (0..=max_ttl).contains(&lifetime) => {}
            _ => return Err(VerifyError::BadLifetime),
        }
        Ok((claims, key.kid.as_str()))
    }

    /// Remembers a verified token, making room first when the cache is full: expired entries go,
    /// then arbitrary ones until a quarter of the capacity is free, so a sweep is rare.
    fn remember(&self, token: &str, kid: &str, claims: Arc<AccessClaims>, now_secs: i64) {
        if self.capacity == 0 {
            return;
        }
        let earliest_live_exp = now_secs.saturating_sub(self.leeway());
        let mut map = self.write();
        if !map.contains_key(token) && map.len() >= self.capacity {
            let target = self.capacity - (self.capacity / 4).max(1);
            map.retain(|_, e| e.claims.exp >= earliest_live_exp);
            let mut excess = map.len().saturating_sub(target);
            if excess > 0 {
                map.retain(|_, _| {
                    if excess > 0 {
                        excess -= 1;
                        false
                    } else {
                        true
                    }
                });
            }
        }
        map.insert(
            token.into(),
            Entry {
                claims,
                kid: kid.into(),
            },
        );
    }

    // The map is consistent after any panic (each update is a single HashMap call), so a
    // poisoned lock is taken over rather than propagated.
    fn read(&self) -> RwLockReadGuard<'_, TokenMap> {
        self.cache.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, TokenMap> {
        self.cache.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for TokenVerifier {
    // Never prints the cached tokens: they are bearer credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("policy", &self.policy)
            .field("capacity", &self.capacity)
            .field("cached", &self.cached())
            .finish()
    }
}

/// `exp`, `nbf` and `iat` against `now_secs`, each with `leeway` seconds of skew.
fn check_time(claims: &AccessClaims, now_secs: i64, leeway: i64) -> Result<(), VerifyError> {
    if claims.exp < now_secs.saturating_sub(leeway) {
        return Err(VerifyError::Expired);
    }
    let latest_start = now_secs.saturating_add(leeway);
    if claims.nbf > latest_start || claims.iat > latest_start {
        return Err(VerifyError::NotYetValid);
    }
    Ok(())
}

fn map_jwt_error(kind: &ErrorKind) -> VerifyError {
    match kind {
        ErrorKind::InvalidSignature => VerifyError::BadSignature,
        ErrorKind::ExpiredSignature => VerifyError::Expired,
        ErrorKind::ImmatureSignature => VerifyError::NotYetValid,
        ErrorKind::InvalidIssuer => VerifyError::WrongIssuer,
        ErrorKind::InvalidAudience => VerifyError::WrongAudience,
        ErrorKind::InvalidAlgorithm => VerifyError::WrongAlgorithm,
        _ => VerifyError::Malformed,
    }
}

#[cfg(test)]
mod tests {
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
    fn refused(
        v: &TokenVerifier,
        keys: &KeySet,
        token: &str,
        now: i64,
    ) -> anyhow::Result<VerifyError> {
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
}
