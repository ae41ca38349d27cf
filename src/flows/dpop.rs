//! DPoP at login and token time: the `tokens.dpop` policy applied to a request's proof.

use crate::auth::dpop::{ProofError, ProofTarget, UnspentProof};
use crate::config::DpopMode;
use crate::error::{Error, Result};
use crate::state::AppState;

/// The key thumbprint a `POST` to `path` (on nod's public URL) proves possession of, or `None`
/// when there is no proof and none is required; the proof is spent. With `tokens.dpop = "off"`
/// proofs are ignored.
pub fn request_key(state: &AppState, proof: Option<&str>, path: &str) -> Result<Option<String>> {
    let unspent = request_proof(state, proof, path)?;
    spend(state, unspent)
}

/// Spends a proof [`request_proof`] let through (none: nothing to spend), once the request has
/// shown it is genuine: the key thumbprint.
pub fn spend(state: &AppState, proof: Option<UnspentProof>) -> Result<Option<String>> {
    let Some(proof) = proof else {
        return Ok(None);
    };
    let now_secs = state.clock.now_ms().div_euclid(1000);
    match state.dpop.spend(proof, now_secs) {
        Ok(valid) => Ok(Some(valid.jkt)),
        Err(e) => Err(refusal(state, e, now_secs, Error::InvalidDpopProof)),
    }
}

/// Like [`request_key`], but the proof is only checked, not spent: the caller spends it with
/// [`spend`] once the request has proved itself (e.g. after the password check), so clients
/// without credentials cannot fill the replay cache.
pub fn request_proof(
    state: &AppState,
    proof: Option<&str>,
    path: &str,
) -> Result<Option<UnspentProof>> {
    let mode = state.settings.tokens.dpop;
    let proof = match (mode, proof) {
        (DpopMode::Off, _) => return Ok(None),
        (DpopMode::Required, None) => {
            return Err(Error::InvalidDpopProof(
                "a DPoP proof is required (tokens.dpop = required)",
            ));
        }
        (DpopMode::Optional, None) => return Ok(None),
        (_, Some(proof)) => proof,
    };
    let url = own_url(state, path);
    let now_secs = state.clock.now_ms().div_euclid(1000);
    let target = ProofTarget {
        method: "POST",
        url: &url,
        access_token: None,
        expected_jkt: None,
        nonces: own_nonces(state),
    };
    match state.dpop.inspect(proof, &target, now_secs) {
        Ok(unspent) => Ok(Some(unspent)),
        Err(e) => Err(refusal(state, e, now_secs, Error::InvalidDpopProof)),
    }
}

/// The URL of `path` on nod, as a proof's `htu` names it.
pub fn own_url(state: &AppState, path: &str) -> String {
    let base = state.settings.server.public_url.as_str();
    format!("{}{path}", base.trim_end_matches('/'))
}

/// The nonces proofs at nod's own endpoints must carry, when `tokens.dpop_nonce` is on.
pub fn own_nonces(state: &AppState) -> Option<&crate::auth::dpop::NonceIssuer> {
    state
        .settings
        .tokens
        .dpop_nonce
        .then_some(&*state.dpop_nonces)
}

/// The answer to a refused proof at one of nod's own endpoints: a fresh nonce when one was
/// missing, 503 when the replay cache is full, else `refused` (400 at login and token time,
/// 401 with a challenge on the device API).
pub fn refusal(
    state: &AppState,
    e: ProofError,
    now_secs: i64,
    refused: fn(&'static str) -> Error,
) -> Error {
    match e {
        ProofError::NonceRequired => Error::UseDpopNonce(state.dpop_nonces.issue(now_secs)),
        // Not the client's fault: nod cannot remember one more proof right now (503).
        ProofError::Busy => Error::Unavailable(e.message().into()),
        _ => refused(e.message()),
    }
}

/// The `DPoP-Nonce` to send with a login or token answer, when nonces are on.
pub fn current_nonce(state: &AppState) -> Option<String> {
    let tokens = &state.settings.tokens;
    (tokens.dpop_nonce && tokens.dpop != DpopMode::Off).then(|| {
        state
            .dpop_nonces
            .issue(state.clock.now_ms().div_euclid(1000))
    })
}
