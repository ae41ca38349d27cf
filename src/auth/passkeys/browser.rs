//! What goes to the browser and what comes back: the options as JSON, the user handle in them,
//! and the browser's answer parsed.

use aws_lc_rs::digest;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use webauthn_rs::prelude::Uuid;

use super::UserVerification;
use super::error::{Ceremony, PasskeyError};

/// webauthn-rs's options as the JSON the browser gets, asking for what the policy says. The
/// security-key ceremony would say "preferred" and hint at a USB key (on a phone the passkey is
/// the phone's own); under `Preferred` its credProtect request goes too: it makes a credential
/// unusable without verification, and browsers refuse it to authenticators that cannot verify.
pub(super) fn options<T: Serialize>(
    options: &T,
    ceremony: Ceremony,
    user_verification: UserVerification,
) -> Result<Value, PasskeyError> {
    let mut options = serde_json::to_value(options).map_err(|e| {
        PasskeyError::Start(ceremony, format!("its options could not be written: {e}"))
    })?;
    let Some(public_key) = options.get_mut("publicKey").and_then(Value::as_object_mut) else {
        return Err(PasskeyError::Start(
            ceremony,
            "its options have no publicKey".into(),
        ));
    };
    public_key.remove("hints");
    let wanted = Value::from(match user_verification {
        UserVerification::Required => "required",
        UserVerification::Preferred => "preferred",
    });
    match ceremony {
        Ceremony::Registration => {
            if let Some(selection) = public_key
                .get_mut("authenticatorSelection")
                .and_then(Value::as_object_mut)
            {
                selection.insert("userVerification".into(), wanted);
            }
            if user_verification == UserVerification::Preferred
                && let Some(extensions) = public_key
                    .get_mut("extensions")
                    .and_then(Value::as_object_mut)
            {
                extensions.remove("credentialProtectionPolicy");
                extensions.remove("enforceCredentialProtectionPolicy");
            }
        }
        Ceremony::Authentication => {
            public_key.insert("userVerification".into(), wanted);
        }
    }
    Ok(options)
}

/// The browser's answer, or where it stopped making sense (never its content).
pub(super) fn answer<T: DeserializeOwned>(
    response: &str,
    ceremony: Ceremony,
) -> Result<T, PasskeyError> {
    serde_json::from_str(response).map_err(|e| PasskeyError::BadResponse {
        ceremony,
        line: e.line(),
        column: e.column(),
    })
}

/// The WebAuthn user handle of a device: stable, 16 bytes, revealing nothing of the device id
/// (the phone stores the handle and returns it with each answer).
pub(super) fn user_handle(device_id: &str) -> Uuid {
    let hash = digest::digest(
        &digest::SHA256,
        format!("nod passkey user handle v1: {device_id}").as_bytes(),
    );
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash.as_ref()[..16]);
    // A version-8 (custom) UUID, RFC 9562.
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}
