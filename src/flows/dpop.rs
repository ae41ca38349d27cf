//! DPoP at login and token time: the `tokens.dpop` policy applied to a request's proof.

use crate::auth::dpop::{ProofError, ProofTarget};
use crate::config::DpopMode;
use crate::error::{Error, Result};
use crate::state::AppState;

/// The key thumbprint a `POST` to `path` (on nod's public URL) proves possession of, or `None`
/// when there is no proof and none is required. With `tokens.dpop = "off"` proofs are ignored.
pub fn request_key(state: &AppState, proof: Option<&str>, path: &str) -> Result<Option<String>> {
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
    let url = format!(
        "{}{path}",
        state
            .settings
            .server
            .public_url
            .as_str()
            .trim_end_matches('/')
    );
    let now_secs = state.clock.now_ms().div_euclid(1000);
    let target = ProofTarget {
        method: "POST",
        url: &url,
        access_token: None,
        expected_jkt: None,
        nonces: state
            .settings
            .tokens
            .dpop_nonce
            .then_some(&*state.dpop_nonces),
    };
    match state.dpop.check(proof, &target, now_secs) {
        Ok(valid) => Ok(Some(valid.jkt)),
        Err(ProofError::NonceRequired) => {
            Err(Error::UseDpopNonce(state.dpop_nonces.issue(now_secs)))
        }
        Err(e) => Err(Error::InvalidDpopProof(e.message())),
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
