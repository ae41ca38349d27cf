//! Device authentication, written once for the API's `Authorization` header and the pages'
//! device cookie: the secret must name an unrevoked device of an enabled user. Both are checked
//! against the store on every request, so revoking the device or disabling the user stops it
//! at once.
//!
//! A device that enrolled with a key (an app) is sender-constrained (RFC 9449): its secret is
//! presented as `Authorization: DPoP <secret>` with a `DPoP` proof by that key for this request
//! (`ath` over the secret), checked by the one proof checker (`auth::dpop`), replay cache and
//! nonces included. Its secret alone is refused. A device without a key presents
//! `Authorization: Bearer <secret>`.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use crate::auth::dpop::{ProofError, ProofTarget};
use crate::auth::secrets::digest_secret;
use crate::domain::DeviceSecret;
use crate::error::{Error, Result};
use crate::flows::dpop;
use crate::state::AppState;
use crate::store::Device;

/// The active device `secret` belongs to, if any.
pub async fn authenticate(state: &AppState, secret: &DeviceSecret) -> Result<Option<Device>> {
    let device = state
        .store
        .device_by_secret_hash(&digest_secret(secret.as_str()))
        .await?
        .filter(|d| d.revoked_at.is_none());
    let Some(device) = device else {
        return Ok(None);
    };
    let owner_active = state
        .store
        .user_by_id(&device.user_id)
        .await?
        .is_some_and(|u| u.is_active());
    Ok(owner_active.then_some(device))
}

/// An authenticated, active device: `Authorization: Bearer <device secret>`, or for a device
/// with a key `Authorization: DPoP <device secret>` and a proof by its key.
pub struct DeviceAuth(pub Device);

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = Error;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let (scheme, secret) =
            credential(&parts.headers).ok_or(Error::InvalidToken("missing device credentials"))?;
        let secret = DeviceSecret::parse(secret)?;
        // The secret is looked up before any proof is spent, so strangers cannot fill the
        // replay cache.
        let device = authenticate(state, &secret)
            .await?
            .ok_or(Error::InvalidToken("unknown or revoked device"))?;
        match (device.jkt.as_deref(), scheme) {
            (None, Scheme::Bearer) => {}
            (None, Scheme::Dpop) => {
                return Err(Error::InvalidToken(
                    "this device holds no key: present its secret as Bearer",
                ));
            }
            (Some(_), Scheme::Bearer) => {
                return Err(Error::InvalidDpopUse(
                    "this device holds a key: present its secret with the DPoP scheme and a proof",
                ));
            }
            (Some(jkt), Scheme::Dpop) => check_proof(state, parts, &secret, jkt)?,
        }
        Ok(DeviceAuth(device))
    }
}

/// The device's `DPoP` proof for this request, by its key, over its secret; spent once good.
fn check_proof(state: &AppState, parts: &Parts, secret: &DeviceSecret, jkt: &str) -> Result<()> {
    let mut proofs = parts.headers.get_all("dpop").iter();
    let proof = match (proofs.next(), proofs.next()) {
        (Some(one), None) => one
            .to_str()
            .map_err(|_| Error::InvalidDpopUse(ProofError::Malformed.message()))?,
        (None, _) => {
            return Err(Error::InvalidDpopUse(
                "a DPoP proof by this device's key is required",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(Error::InvalidDpopUse("exactly one DPoP proof is allowed"));
        }
    };
    // Nested routers see a shortened URI; the proof is for the one the client called.
    let path = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(parts.uri.path(), |original| original.0.path());
    let url = dpop::own_url(state, path);
    let now_secs = state.clock.now_ms().div_euclid(1000);
    let target = ProofTarget {
        method: parts.method.as_str(),
        url: &url,
        access_token: Some(secret.as_str()),
        expected_jkt: Some(jkt),
        nonces: dpop::own_nonces(state),
    };
    state
        .dpop
        .check(proof, &target, now_secs)
        .map(|_| ())
        .map_err(|e| dpop::refusal(state, e, now_secs, Error::InvalidDpopUse))
}

/// How the device secret was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Bearer,
    Dpop,
}

/// The scheme and credential of an `Authorization: Bearer …` or `Authorization: DPoP …` header.
fn credential(headers: &HeaderMap) -> Option<(Scheme, &str)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credential) = value.split_once(' ')?;
    let credential = credential.trim();
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        return None;
    };
    (!credential.is_empty()).then_some((scheme, credential))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn credentials_are_parsed_strictly() {
        let mut headers = HeaderMap::new();
        assert_eq!(credential(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(credential(&headers), Some((Scheme::Bearer, "abc")));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("DPoP abc"));
        assert_eq!(credential(&headers), Some((Scheme::Dpop, "abc")));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(credential(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(credential(&headers), None);
    }
}
