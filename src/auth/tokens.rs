//! Access tokens: RFC 9068 JWTs (`typ: at+jwt`) signed with the current key, bound to a session,
//! and wrapped in a JWE when `tokens.encrypt` is on.

use jsonwebtoken::{Header, encode};
use serde::{Deserialize, Serialize};

use super::jwe::{self, JweError};
use super::keys::{KeySet, SigningKey};
use super::secrets::{RngError, new_id};

/// The media type of an RFC 9068 access token, as it appears in the `typ` header.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The claims of an access token (RFC 9068 §2.2, plus `sid` and the username).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer: `tokens.issuer`.
    pub iss: String,
    /// Subject: the user's id.
    pub sub: String,
    /// Audience: `tokens.audience`.
    pub aud: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Not before, Unix seconds (= `iat`).
    pub nbf: i64,
    /// Unique token id.
    pub jti: String,
    /// The session this token belongs to; revoking it stops the token.
    pub sid: String,
    /// The client the login came from (its `client_name`).
    pub client_id: String,
    /// How the user authenticated: `["pwd","push"]` or `["pwd","otp"]`.
    pub amr: Vec<String>,
    /// The username, so resource servers need no lookup.
    pub preferred_username: String,
    /// Confirmation (RFC 9449 §6.1): the DPoP key this token is bound to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// The `cnf` claim of a DPoP-bound token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// RFC 7638 SHA-256 thumbprint of the client's public key, base64url.
    pub jkt: String,
}

impl AccessClaims {
    /// The thumbprint of the key this token is bound to, if it is DPoP-bound.
    pub fn dpop_jkt(&self) -> Option<&str> {
        self.cnf.as_ref().map(|c| c.jkt.as_str())
    }
}

/// What a new access token is about.
pub struct AccessGrant<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub user_id: &'a str,
    pub username: &'a str,
    pub session_id: &'a str,
    pub client_id: &'a str,
    pub amr: &'a [&'a str],
    /// Issue time, Unix seconds.
    pub now_secs: i64,
    /// Lifetime in seconds.
    pub ttl_secs: i64,
    /// The DPoP key thumbprint to bind the token to (`cnf.jkt`), if any.
    pub dpop_jkt: Option<&'a str>,
}

/// An access token (signed, and encrypted when that is on) and its claims.
pub struct IssuedToken {
    pub token: String,
    pub claims: AccessClaims,
}

/// Why a token could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error(transparent)]
    Rng(#[from] RngError),
    #[error("signing the access token failed: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
    #[error("no signing key is loaded")]
    NoKey,
    #[error("encrypting the access token failed: {0}")]
    Encrypt(#[from] JweError),
}

/// Mints an access token with the key set's current signing key, encrypted when the key set
/// carries an encryption key: what the flows call.
pub fn mint(keys: &KeySet, grant: &AccessGrant) -> Result<IssuedToken, IssueError> {
    let key = keys.current().ok_or(IssueError::NoKey)?;
    let mut issued = issue_access_token(key, grant)?;
    if let Some(cek) = keys.encryption() {
        issued.token = jwe::encrypt(cek, issued.token.as_bytes())?;
    }
    Ok(issued)
}

/// Signs a new access token with `key`.
pub fn issue_access_token(
    key: &SigningKey,
    grant: &AccessGrant,
) -> Result<IssuedToken, IssueError> {
    let claims = AccessClaims {
        iss: grant.issuer.to_owned(),
        sub: grant.user_id.to_owned(),
        aud: grant.audience.to_owned(),
        exp: grant.now_secs + grant.ttl_secs,
        iat: grant.now_secs,
        nbf: grant.now_secs,
        jti: new_id()?,
        sid: grant.session_id.to_owned(),
        client_id: grant.client_id.to_owned(),
        amr: grant.amr.iter().map(|s| (*s).to_owned()).collect(),
        preferred_username: grant.username.to_owned(),
        cnf: grant.dpop_jkt.map(|jkt| Confirmation {
            jkt: jkt.to_owned(),
        }),
    };
    let mut header = Header::new(key.algorithm);
    header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
    header.kid = Some(key.kid.clone());
    let token = encode(&header, &claims, &key.encoding)?;
    Ok(IssuedToken { token, claims })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keys::{KeyConfig, KeySet};
    use crate::config::SigningAlgorithm;
    use jsonwebtoken::{Validation, decode, decode_header};
    use std::time::Duration;

    #[test]
    fn a_token_carries_rfc_9068_header_and_claims() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let config = KeyConfig::new(SigningAlgorithm::EdDSA, Duration::from_secs(300));
        let keys = KeySet::load_or_generate(dir.path(), &config, 0)?;
        let key = keys.current().ok_or_else(|| anyhow::anyhow!("no key"))?;
        let grant = AccessGrant {
            issuer: "http://nod.test",
            audience: "nod",
            user_id: "u1",
            username: "alice",
            session_id: "s1",
            client_id: "cli",
            amr: &["pwd", "push"],
            now_secs: 1_700_000_000,
            ttl_secs: 300,
            dpop_jkt: None,
        };
        let issued = issue_access_token(key, &grant)?;
        let header = decode_header(&issued.token)?;
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
        let mut v = Validation::new(jsonwebtoken::Algorithm::EdDSA);
        v.set_audience(&["nod"]);
        v.validate_exp = false;
        let data = decode::<AccessClaims>(&issued.token, &key.decoding, &v)?;
        assert_eq!(data.claims, issued.claims);
        assert_eq!(data.claims.exp - data.claims.iat, 300);
        Ok(())
    }
}
