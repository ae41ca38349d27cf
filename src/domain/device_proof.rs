//! How a device proves it is itself when it answers an approval.

use serde::Serialize;

/// What a device answers with, strongest first. Shown by `nod device list` and the device API,
/// and written into the feed with each decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeviceProof {
    /// A WebAuthn passkey of a paired browser (not issued yet).
    Passkey,
    /// A DPoP proof (RFC 9449) by the key the app enrolled with.
    Key,
    /// The device secret alone: whoever copied it can answer (`approvals.allow_secret_devices`).
    Secret,
}

impl DeviceProof {
    /// The proof of a device that holds a key thumbprint (`jkt`), or not.
    pub fn of_device(jkt: Option<&str>) -> Self {
        if jkt.is_some() {
            DeviceProof::Key
        } else {
            DeviceProof::Secret
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceProof::Passkey => "passkey",
            DeviceProof::Key => "key",
            DeviceProof::Secret => "secret",
        }
    }
}
