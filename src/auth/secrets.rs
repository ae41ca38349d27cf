//! Random secrets handed out by nod (auth_req_id, device secrets, refresh tokens, link codes):
//! 256 bits from the OS RNG, shown once, stored only as a SHA-256 digest. They are high-entropy,
//! so a fast hash is enough; lookups go by digest, so no comparison of secrets happens at all.

use aws_lc_rs::{digest, rand};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The OS random number generator failed (practically never; a startup-class fault).
#[derive(Debug, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RngError;

/// `N` random bytes from the OS RNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RngError> {
    let mut out = [0u8; N];
    rand::fill(&mut out).map_err(|_| RngError)?;
    Ok(out)
}

/// A fresh 256-bit secret, base64url without padding (43 characters).
pub fn new_secret() -> Result<String, RngError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// A fresh 128-bit public identifier, as 32 lowercase hex digits.
pub fn new_id() -> Result<String, RngError> {
    Ok(hex(&random_bytes::<16>()?))
}

/// A uniformly random number below `bound` (`bound` ≤ 256), by rejection sampling.
pub fn random_below(bound: u16) -> Result<u8, RngError> {
    let bound = bound.clamp(1, 256);
    // The largest multiple of `bound` that fits in a byte: values at or above it are redrawn.
    let limit = 256 - (256 % bound);
    loop {
        let [b] = random_bytes::<1>()?;
        if u16::from(b) < limit {
            return Ok((u16::from(b) % bound) as u8);
        }
    }
}

/// The digest under which a secret is stored and looked up.
pub fn digest_secret(secret: &str) -> String {
    hex(digest::digest(&digest::SHA256, secret.as_bytes()).as_ref())
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_and_distinct() {
        let a = new_secret().ok();
        let b = new_secret().ok();
        assert_eq!(a.as_ref().map(String::len), Some(43));
        assert_ne!(a, b);
        assert_eq!(new_id().ok().map(|i| i.len()), Some(32));
    }

    #[test]
    fn digests_are_stable_sha256() {
        assert_eq!(
            digest_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn random_below_stays_in_range() {
        for _ in 0..1000 {
            assert!(random_below(100).is_ok_and(|n| n < 100));
        }
    }
}
