//! DPoP at login and token time: the `tokens.dpop` policy applied to a request's proof.

use crate::auth::dpop::ProofTarget;
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
    let target = ProofTarget {
        method: "POST",
        url: &url,
        access_token: None,
        expected_jkt: None,
    };
    let now_secs = state.clock.now_ms().div_euclid(1000);
    state
        .dpop
        .check(proof, &target, now_secs)
        .map(|valid| Some(valid.jkt))
        .map_err(|e| Error::InvalidDpopProof(e.message()))
}
