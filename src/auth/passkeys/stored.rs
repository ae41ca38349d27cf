//! A device's passkey as nod stores it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{Credential, SecurityKey};

/// A registered passkey of one device: its credential id, public key, signature counter and
/// the flags seen at registration, serialised as webauthn-rs writes it. Not a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DevicePasskey(pub(super) SecurityKey);

impl DevicePasskey {
    /// The credential id, base64url. Store it with a unique index: WebAuthn leaves refusing a
    /// credential registered twice (to two devices) to the relying party.
    pub fn id(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.cred_id())
    }

    /// The flags and counter webauthn-rs keeps to itself without `danger-credential-internals`.
    pub(super) fn credential(&self) -> Credential {
        Credential::from(self.0.clone())
    }
}
