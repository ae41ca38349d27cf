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
//! under a key derived from `totp.encryption_key`, so every instance accepts every instance's
//! nonces — good for the current and the previous period; a proof
//! without a good one is answered `use_dpop_nonce` with a fresh nonce in `DPoP-Nonce`.
//!
//! Replay: each accepted proof's `jti` (per key) is remembered until its `iat` window has passed,
//! in a bounded in-memory cache. The cache is per instance: behind a load balancer spreading one
//! client's requests over several nod instances, a proof could be replayed once per instance
//! within its window (docs/dpop.md). A live entry is never dropped to make room: when the cache is
//! full of them a new proof is refused as [`ProofError::Busy`] (answered 503), since forgetting
//! one would let it be replayed. Callers that must not let unauthenticated clients fill the
//! cache check a proof first ([`ProofChecker::inspect`]) and spend it only once the request has
//! proved itself ([`ProofChecker::spend`]).

mod enrolled_key;
mod nonce;
mod replay;
#[cfg(test)]
mod tests;

use std::sync::{Mutex, PoisonError};

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

pub use enrolled_key::{KeyRefused, enrolled_key_thumbprint};
pub use nonce::NonceIssuer;
use replay::{Refused, ReplayCache};

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
    /// The replay cache is full of proofs still inside their window: try again later.
    Busy,
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
            ProofError::Busy => "too many recent DPoP proofs to remember another; retry shortly",
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

/// A proof that passed every check but the replay check; [`ProofChecker::spend`] uses it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnspentProof {
    jkt: String,
    /// `<jkt>:<jti>`.
    replay_key: String,
    /// The last second the proof's `iat` window accepts it.
    forget_at: i64,
}

impl UnspentProof {
    /// The RFC 7638 SHA-256 thumbprint of the proof's key, base64url.
    pub fn jkt(&self) -> &str {
        &self.jkt
    }
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
        let unspent = self.inspect(proof, target, now_secs)?;
        self.spend(unspent, now_secs)
    }

    /// Every check but the replay check: the proof is good, but not yet used up. Only
    /// [`ProofChecker::spend`] makes it count, so a caller can first make sure the request is
    /// otherwise genuine (a right password) and keep strangers' proofs out of the cache.
    pub fn inspect(
        &self,
        proof: &str,
        target: &ProofTarget<'_>,
        now_secs: i64,
    ) -> Result<UnspentProof, ProofError> {
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
        Ok(UnspentProof {
            replay_key: format!("{jkt}:{}", claims.jti),
            forget_at: claims.iat.saturating_add(self.window_secs),
            jkt,
        })
    }

    /// Uses up an inspected proof: from now on until its window ends, it is a replay. Refused
    /// when it was already spent, or when the cache is full of proofs still inside their window.
    pub fn spend(&self, proof: UnspentProof, now_secs: i64) -> Result<ValidProof, ProofError> {
        self.replay
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(proof.replay_key, proof.forget_at, now_secs)
            .map_err(|refused| match refused {
                Refused::Replayed => ProofError::Replayed,
                Refused::Full => ProofError::Busy,
            })?;
        Ok(ValidProof { jkt: proof.jkt })
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
