//! DPoP proofs (RFC 9449): the one place a JWS brings its own key.
//!
//! A proof is a JWS with `typ: dpop+jwt`, signed with the client's private key, whose public
//! key travels in the header (`jwk`). It says which request it is for (`htm`, `htu`), when it
//! was made (`iat`), that it is unique (`jti`), and — when it accompanies an access token — which
//! token (`ath`, the base64url SHA-256 of the token). A valid proof yields the key's RFC 7638
//! thumbprint (`jkt`), which is what tokens and sessions are bound to.
//!
//! Only ES256 (P-256) and EdDSA (Ed25519) are accepted: never `none`, never HMAC, never RSA, and
//! the key type must match the algorithm. A header carrying other key references (`jku`, `x5u`,
//! `x5c`, `kid`) or `crit`, or a `jwk` carrying private material, is refused.
//!
//! Nonces (RFC 9449 §8, optional): with `tokens.dpop_nonce` on, proofs at nod's own endpoints
//! must carry a `nonce` nod issued. Nonces are stateless — the period number and an HMAC of it
//! under a per-process random key — good for the current and the previous period; a proof
//! without a good one is answered `use_dpop_nonce` with a fresh nonce in `DPoP-Nonce`.
//!
//! Replay: each accepted proof's `jti` (per key) is remembered until its `iat` window has passed,
//! in a bounded in-memory cache. The cache is per instance: behind a load balancer spreading one
//! client's requests over several nod instances, a proof could be replayed once per instance
//! within its window (docs/dpop.md). When the cache is full the oldest entries go first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

/// The `typ` of a DPoP proof (RFC 9449 §4.2).
pub const PROOF_TYP: &str = "dpop+jwt";

/// The algorithms a proof may use, as advertised in `dpop_signing_alg_values_supported` and in
/// `WWW-Authenticate: DPoP algs=…`.
pub const PROOF_ALGS: &str = "ES256 EdDSA";

/// Longest proof looked at, in bytes; a P-256 proof with a long URL is well under 2 KiB.
const MAX_PROOF_BYTES: usize = 8192;

/// Longest accepted `jti` (it is kept in the replay cache).
const MAX_JTI_BYTES: usize = 128;

/// How many characters of a thumbprint the feed shows.
pub const SHORT_JKT_CHARS: usize = 8;

/// Why a proof was refused. No variant carries proof content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofError {
    Malformed,
    TooLarge,
    WrongType,
    UnsupportedAlgorithm,
    BadKey,
    BadSignature,
    WrongMethod,
    WrongUrl,
    Stale,
    WrongToken,
    WrongKey,
    Replayed,
    NonceRequired,
}

impl ProofError {
    /// What to tell the client.
    pub fn message(self) -> &'static str {
        match self {
            ProofError::Malformed => "the DPoP proof is malformed",
            ProofError::TooLarge => "the DPoP proof is too large",
            ProofError::WrongType => "the DPoP proof must have typ dpop+jwt",
            ProofError::UnsupportedAlgorithm => "the DPoP proof must be signed with ES256 or EdDSA",
            ProofError::BadKey => "the DPoP proof header must carry exactly one public key, as jwk",
            ProofError::BadSignature => "the DPoP proof signature is invalid",
            ProofError::WrongMethod => "the DPoP proof is for another method",
            ProofError::WrongUrl => "the DPoP proof is for another URL",
            ProofError::Stale => "the DPoP proof is too old or from the future",
            ProofError::WrongToken => "the DPoP proof does not match the access token",
            ProofError::WrongKey => {
                "the DPoP proof is signed with another key than the token is bound to"
            }
            ProofError::Replayed => "the DPoP proof was already used",
            ProofError::NonceRequired => "the DPoP proof must carry the nonce nod issued",
        }
    }
}

impl std::fmt::Display for ProofError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ProofError {}

/// The request a proof must be for.
#[derive(Debug, Clone, Copy)]
pub struct ProofTarget<'a> {
    /// The HTTP method, compared exactly (`GET`, `POST`).
    pub method: &'a str,
    /// The request URL; scheme, host, port and path are compared, query and fragment ignored.
    pub url: &'a str,
    /// The access token presented with the proof, whose hash `ath` must be.
    pub access_token: Option<&'a str>,
    /// The thumbprint the proof's key must have (the token's `cnf.jkt`).
    pub expected_jkt: Option<&'a str>,
    /// When set, the proof must carry a `nonce` these issued and still accept.
    pub nonces: Option<&'a NonceIssuer>,
}

/// An accepted proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidProof {
    /// The RFC 7638 SHA-256 thumbprint of the proof's key, base64url.
    pub jkt: String,
}

/// The claims of a proof (RFC 9449 §4.2).
#[derive(Deserialize)]
struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    #[serde(default)]
    ath: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

/// Checks proofs and remembers their `jti`s. Shared by all requests (`&self`).
pub struct ProofChecker {
    /// Seconds a proof's `iat` may differ from now, either way.
    window_secs: i64,
    replay: Mutex<ReplayCache>,
}

impl ProofChecker {
    /// A checker accepting proofs within `window_secs` of now and remembering up to
    /// `replay_capacity` recent proofs.
    pub fn new(window_secs: u64, replay_capacity: usize) -> Self {
        Self {
            window_secs: i64::try_from(window_secs).unwrap_or(i64::MAX),
            replay: Mutex::new(ReplayCache::new(replay_capacity.max(1))),
        }
    }

    /// Checks `proof` for `target` at `now_secs`; on success its `jti` is spent.
    pub fn check(
        &self,
        proof: &str,
        target: &ProofTarget<'_>,
        now_secs: i64,
    ) -> Result<ValidProof, ProofError> {
        if proof.len() > MAX_PROOF_BYTES {
            return Err(ProofError::TooLarge);
        }
        let (claims, jkt) = verify_signature(proof)?;
        if claims.htm != target.method {
            return Err(ProofError::WrongMethod);
        }
        if !same_url(&claims.htu, target.url) {
            return Err(ProofError::WrongUrl);
        }
        if claims.iat.abs_diff(now_secs) > self.window_secs.unsigned_abs() {
            return Err(ProofError::Stale);
        }
        if let Some(token) = target.access_token {
            let expected = token_hash(token);
            if claims.ath.as_deref() != Some(expected.as_str()) {
                return Err(ProofError::WrongToken);
            }
        }
        if let Some(expected) = target.expected_jkt
            && expected != jkt
        {
            return Err(ProofError::WrongKey);
        }
        if claims.jti.is_empty() || claims.jti.len() > MAX_JTI_BYTES {
            return Err(ProofError::Malformed);
        }
        if let Some(nonces) = target.nonces
            && !claims
                .nonce
                .as_deref()
                .is_some_and(|n| nonces.accepts(n, now_secs))
        {
            return Err(ProofError::NonceRequired);
        }
        // Last: only a proof good in every other way spends its jti.
        let key = format!("{jkt}:{}", claims.jti);
        let forget_at = claims.iat.saturating_add(self.window_secs);
        if !self
            .replay
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, forget_at, now_secs)
        {
            return Err(ProofError::Replayed);
        }
        Ok(ValidProof { jkt })
    }

    /// Proofs currently remembered, for tests.
    pub fn remembered(&self) -> usize {
        self.replay
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl std::fmt::Debug for ProofChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProofChecker")
            .field("window_secs", &self.window_secs)
            .field("remembered", &self.remembered())
            .finish()
    }
}

/// Issues and checks DPoP nonces: `<period>.<HMAC of the period>`, stateless, per process.
pub struct NonceIssuer {
    key: hmac::Key,
    period_secs: i64,
}

impl NonceIssuer {
    /// An issuer with a random key whose nonces change every `period_secs` and are good for
    /// the current and the previous period.
    pub fn random(period_secs: u64) -> Result<Self, super::secrets::RngError> {
        let key = super::secrets::random_bytes::<32>()?;
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, &key),
            period_secs: i64::try_from(period_secs.max(1)).unwrap_or(60),
        })
    }

    /// The nonce to hand out at `now_secs`.
    pub fn issue(&self, now_secs: i64) -> String {
        self.nonce_for(now_secs.div_euclid(self.period_secs))
    }

    fn nonce_for(&self, period: i64) -> String {
        let tag = hmac::sign(&self.key, &period.to_be_bytes());
        format!("{period}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// Whether `nonce` was issued by us in the current or the previous period.
    pub fn accepts(&self, nonce: &str, now_secs: i64) -> bool {
        let Some((period, tag)) = nonce.split_once('.') else {
            return false;
        };
        let Ok(period) = period.parse::<i64>() else {
            return false;
        };
        let current = now_secs.div_euclid(self.period_secs);
        if period != current && period != current - 1 {
            return false;
        }
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return false;
        };
        hmac::verify(&self.key, &period.to_be_bytes(), &tag).is_ok()
    }
}

impl std::fmt::Debug for NonceIssuer {
    // Never prints the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceIssuer")
            .field("period_secs", &self.period_secs)
            .finish_non_exhaustive()
    }
}

/// The header checks, the key, and the signature: the claims and the key's thumbprint.
fn verify_signature(proof: &str) -> Result<(ProofClaims, String), ProofError> {
    let header = decode_header(proof).map_err(|_| ProofError::Malformed)?;
    if !header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(PROOF_TYP))
    {
        return Err(ProofError::WrongType);
    }
    if header.jku.is_some()
        || header.x5u.is_some()
        || header.x5c.is_some()
        || header.kid.is_some()
        || header.crit.is_some()
        || header.enc.is_some()
        || header.zip.is_some()
    {
        return Err(ProofError::BadKey);
    }
    let jwk = header.jwk.as_ref().ok_or(ProofError::BadKey)?;
    check_key_fits(header.alg, jwk)?;
    if carries_private_key(proof) {
        return Err(ProofError::BadKey);
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|_| ProofError::BadKey)?;
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = decode::<ProofClaims>(proof, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => ProofError::BadSignature,
            _ => ProofError::Malformed,
        })?
        .claims;
    let jkt = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| ProofError::BadKey)?;
    Ok((claims, jkt))
}

/// ES256 needs a P-256 key, EdDSA an Ed25519 key; every other algorithm is refused.
fn check_key_fits(alg: Algorithm, jwk: &Jwk) -> Result<(), ProofError> {
    match (alg, &jwk.algorithm) {
        (Algorithm::ES256, AlgorithmParameters::EllipticCurve(p))
            if p.curve == EllipticCurve::P256 =>
        {
            Ok(())
        }
        (Algorithm::EdDSA, AlgorithmParameters::OctetKeyPair(p))
            if p.curve == EllipticCurve::Ed25519 =>
        {
            Ok(())
        }
        (Algorithm::ES256 | Algorithm::EdDSA, _) => Err(ProofError::BadKey),
        _ => Err(ProofError::UnsupportedAlgorithm),
    }
}

/// Whether the header's `jwk` has a private part (`d`), which RFC 9449 §4.3 forbids; the typed
/// `Jwk` would silently drop it.
fn carries_private_key(proof: &str) -> bool {
    let Some(encoded) = proof.split('.').next() else {
        return true;
    };
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(encoded) else {
        return true;
    };
    let Ok(header) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return true;
    };
    header["jwk"].get("d").is_some()
}

/// `ath`: base64url of the SHA-256 of the access token (RFC 9449 §4.2).
pub fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes()))
}

/// The short form of a thumbprint shown in the feed.
pub fn short_jkt(jkt: &str) -> &str {
    jkt.get(..SHORT_JKT_CHARS).unwrap_or(jkt)
}

/// RFC 9449 §4.3: the `htu` matches the request URL, ignoring query and fragment, after the
/// normalisation of RFC 3986 §6.2.2–6.2.3 (case of scheme and host, default ports, dot segments)
/// that URL parsing applies.
pub fn same_url(claimed: &str, actual: &str) -> bool {
    let (Ok(a), Ok(b)) = (url::Url::parse(claimed), url::Url::parse(actual)) else {
        return false;
    };
    a.scheme() == b.scheme()
        && a.host_str().is_some()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
        && a.path() == b.path()
}

/// Recently accepted proofs: (thumbprint, jti) → when it may be forgotten, bounded, oldest
/// first out.
struct ReplayCache {
    capacity: usize,
    seen: HashMap<String, i64, foldhash::fast::RandomState>,
    order: VecDeque<(String, i64)>,
}

impl ReplayCache {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            seen: HashMap::default(),
            order: VecDeque::new(),
        }
    }

    fn len(&self) -> usize {
        self.seen.len()
    }

    /// Records `key` until `forget_at`; false if it is already remembered.
    fn insert(&mut self, key: String, forget_at: i64, now: i64) -> bool {
        // Entries are inserted in roughly increasing forget_at order: drop the expired front.
        while let Some((old, at)) = self.order.front() {
            if *at >= now && self.order.len() < self.capacity {
                break;
            }
            if self.seen.get(old) == Some(at) {
                self.seen.remove(old);
            }
            self.order.pop_front();
        }
        if self.seen.get(&key).is_some_and(|at| *at >= now) {
            return false;
        }
        self.seen.insert(key.clone(), forget_at);
        self.order.push_back((key, forget_at));
        true
    }
}

#[cfg(test)]
mod tests {
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
    fn the_replay_cache_stays_bounded_and_forgets_expired_proofs() {
        let mut cache = ReplayCache::new(4);
        for i in 0..10 {
            assert!(cache.insert(format!("k{i}"), NOW + 60, NOW));
            assert!(cache.len() <= 4);
        }
        assert!(!cache.insert("k9".into(), NOW + 60, NOW));
        // Later, everything has expired and goes on the next insert.
        assert!(cache.insert("k9".into(), NOW + 200, NOW + 100));
        assert_eq!(cache.len(), 1);
    }
}
