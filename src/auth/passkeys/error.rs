//! What can go wrong in a passkey ceremony, named so a log line says it without showing the
//! state, the challenge or the browser's answer.

use std::fmt;

use webauthn_rs::prelude::WebauthnError;

/// The two ceremonies; a state written for one is refused by the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    Registration,
    Authentication,
}

impl fmt::Display for Ceremony {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ceremony::Registration => "registration",
            Ceremony::Authentication => "authentication",
        })
    }
}

/// Why a passkey ceremony could not start or was refused.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// `server.public_url` cannot be a WebAuthn relying party (found at start).
    #[error("server.public_url `{url}`: {why}")]
    PublicUrl { url: String, why: &'static str },
    /// webauthn-rs could not start the ceremony, or its options or state could not be written.
    #[error("the passkey {0} could not start: {1}")]
    Start(Ceremony, String),
    /// Authentication asked of a device that has no passkey.
    #[error("the device has no passkey to ask for")]
    NoPasskeys,
    /// The kept state is not one nod wrote (damaged, or from another version of webauthn-rs).
    #[error("the passkey ceremony state is unreadable")]
    BadState,
    /// The kept state belongs to the other ceremony.
    #[error("the passkey ceremony state is for {found}, not {expected}")]
    WrongCeremony { expected: Ceremony, found: Ceremony },
    /// The browser's answer is not a WebAuthn credential of that ceremony.
    #[error("the browser's answer is not a WebAuthn {ceremony} response (at {line}:{column})")]
    BadResponse {
        ceremony: Ceremony,
        line: usize,
        column: usize,
    },
    /// Verification is required, and the authenticator did not perform it.
    #[error("the passkey did not verify its user (fingerprint, face or PIN), which is required")]
    UserNotVerified,
    /// A synced passkey, while only passkeys bound to one phone are allowed.
    #[error(
        "the passkey is synced (backup-eligible); only passkeys bound to the phone are allowed"
    )]
    Synced,
    /// The signature counter is not past the stored one.
    #[error("the passkey's counter did not advance: a replayed answer, or a cloned passkey")]
    CounterWentBack,
    /// The passkey that answered is not among the device's (removed since the ceremony began).
    #[error("the passkey that answered is not one of the device's")]
    UnknownPasskey,
    /// The answer failed WebAuthn's checks: another ceremony's challenge, another origin, a bad
    /// signature.
    #[error("the passkey answer was refused: {0}")]
    Refused(WebauthnError),
}

/// webauthn-rs's refusal of an answer, with the one case nod names itself.
pub(super) fn refused(error: WebauthnError) -> PasskeyError {
    match error {
        WebauthnError::UserNotVerified => PasskeyError::UserNotVerified,
        other => PasskeyError::Refused(other),
    }
}
