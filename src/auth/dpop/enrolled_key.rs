//! The public key an app gives at enrolment (`POST /v1/enroll`'s `public_key`): the same kinds
//! of key a proof may carry (P-256 for ES256, Ed25519 for EdDSA), checked to be a real public
//! key before its thumbprint is stored, so a device is never bound to a key no proof can match.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ED25519, ParsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, ThumbprintHash};

/// Why an enrolment key was refused, as told to the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyRefused {
    #[error("public_key must be a JSON Web Key object")]
    NotAJwk,
    #[error("public_key must not carry private material (d)")]
    Private,
    #[error("public_key must be an EC P-256 (ES256) or OKP Ed25519 (EdDSA) key")]
    Unsupported,
    #[error("public_key has coordinates that are not a point of its curve")]
    BadCoordinates,
}

/// The RFC 7638 SHA-256 thumbprint (`jkt`) of an app's public JWK — the value a proof's key
/// must have — once the key is known to be a usable P-256 or Ed25519 public key.
pub fn enrolled_key_thumbprint(jwk: &serde_json::Value) -> Result<String, KeyRefused> {
    if !jwk.is_object() {
        return Err(KeyRefused::NotAJwk);
    }
    // The typed `Jwk` would silently drop a private part.
    if jwk.get("d").is_some() {
        return Err(KeyRefused::Private);
    }
    let typed: Jwk = serde_json::from_value(jwk.clone()).map_err(|_| KeyRefused::Unsupported)?;
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| KeyRefused::BadCoordinates)
    };
    let parsed = match &typed.algorithm {
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
            let (x, y) = (decode(&p.x)?, decode(&p.y)?);
            if x.len() != 32 || y.len() != 32 {
                return Err(KeyRefused::BadCoordinates);
            }
            let point = [&[0x04][..], &x, &y].concat();
            ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
        }
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            let x = decode(&p.x)?;
            if x.len() != 32 {
                return Err(KeyRefused::BadCoordinates);
            }
            ParsedPublicKey::new(&ED25519, x)
        }
        _ => return Err(KeyRefused::Unsupported),
    };
    parsed.map_err(|_| KeyRefused::BadCoordinates)?;
    typed
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| KeyRefused::Unsupported)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // RFC 8037 A.1's Ed25519 public key and its RFC 8037 A.3 thumbprint.
    const ED25519_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    #[test]
    fn an_ed25519_key_gives_its_rfc_8037_thumbprint() {
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": ED25519_X});
        assert_eq!(
            enrolled_key_thumbprint(&jwk),
            Ok("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k".to_owned())
        );
    }

    #[test]
    fn private_parts_other_curves_and_bad_points_are_refused() {
        let private = json!({"kty": "OKP", "crv": "Ed25519", "x": ED25519_X, "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"});
        assert_eq!(enrolled_key_thumbprint(&private), Err(KeyRefused::Private));
        let p384 = json!({"kty": "EC", "crv": "P-384", "x": ED25519_X, "y": ED25519_X});
        assert_eq!(enrolled_key_thumbprint(&p384), Err(KeyRefused::Unsupported));
        let rsa = json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"});
        assert_eq!(enrolled_key_thumbprint(&rsa), Err(KeyRefused::Unsupported));
        let off_curve = json!({"kty": "EC", "crv": "P-256", "x": ED25519_X, "y": ED25519_X});
        assert_eq!(
            enrolled_key_thumbprint(&off_curve),
            Err(KeyRefused::BadCoordinates)
        );
        let short = json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"});
        assert_eq!(
            enrolled_key_thumbprint(&short),
            Err(KeyRefused::BadCoordinates)
        );
        assert_eq!(
            enrolled_key_thumbprint(&json!("key")),
            Err(KeyRefused::NotAJwk)
        );
    }
}
