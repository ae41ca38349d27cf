//! Server nonces for DPoP proofs (RFC 9449 §8): stateless, keyed by a secret every instance
//! shares (derived from `totp.encryption_key`), so a nonce from one instance is good at all.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::auth::secrets::{RngError, random_bytes};

/// Issues and checks DPoP nonces: `<period>.<HMAC of the period>`, stateless.
pub struct NonceIssuer {
    key: hmac::Key,
    period_secs: i64,
}

impl NonceIssuer {
    /// An issuer with a random key whose nonces change every `period_secs` and are good for
    /// the current and the previous period.
    pub fn random(period_secs: u64) -> Result<Self, RngError> {
        Ok(Self::with_key(&random_bytes::<32>()?, period_secs))
    }

    /// An issuer with a given key: instances with the same key accept each other's nonces.
    pub fn with_key(key: &[u8; 32], period_secs: u64) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            period_secs: i64::try_from(period_secs.max(1)).unwrap_or(60),
        }
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
