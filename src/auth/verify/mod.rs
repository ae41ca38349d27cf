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
mod tests;
