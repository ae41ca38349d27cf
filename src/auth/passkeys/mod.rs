//! WebAuthn passkeys for paired phones: the one place nod talks to webauthn-rs. A phone's
//! browser registers a passkey when it pairs; each answer to an approval is then an assertion
//! by that passkey, so holding the link is not enough. Nothing here knows about HTTP, the
//! database or the configuration file: callers keep the ceremony state (a string, used once)
//! with the approval or the pairing, and each [`DevicePasskey`] (serialisable) with its device.
//!
//! webauthn-rs has two ceremonies for a credential used on its own: "passkey", which hard-codes
//! user verification as required (and records that in the credential), and "security key", the
//! same ceremony with verification preferred. nod runs the second so that
//! [`UserVerification::Preferred`] can mean something, and enforces `Required` itself: in the
//! options the browser gets (so it asks for the fingerprint, face or PIN) and on the flags that
//! come back (so a page that asked for less gets nothing).

mod browser;
mod error;
mod state;
mod stored;
#[cfg(test)]
mod tests;

use serde_json::Value;
use url::{Host, Url};
use webauthn_rs::prelude::{
    PublicKeyCredential, RegisterPublicKeyCredential, SecurityKey, Webauthn, WebauthnBuilder,
};

pub use error::{Ceremony, PasskeyError};
use state::KeptState;
pub use stored::DevicePasskey;

use crate::config::PublicUrl;

/// Whether an answer must come with the phone checking its owner (fingerprint, face or PIN).
/// Will be `approvals.user_verification`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserVerification {
    /// Refused without it, at registration and at every answer.
    Required,
    /// Asked for; an authenticator that cannot verify is accepted and reported as unverified.
    /// One that verified at registration must keep verifying (webauthn-rs's rule).
    Preferred,
}

/// What nod accepts as a phone's passkey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasskeyPolicy {
    pub user_verification: UserVerification,
    /// Will be `approvals.allow_synced_passkeys`: when false, a backup-eligible passkey (synced
    /// to a cloud keychain, so not bound to one phone) is refused at registration.
    pub allow_synced: bool,
}

/// Whom a new passkey is for. The names are what the phone's passkey manager shows; nothing is
/// ever looked up by them.
#[derive(Debug, Clone, Copy)]
pub struct PasskeyOwner<'a> {
    /// The device the passkey will prove; the WebAuthn user handle is derived from it.
    pub device_id: &'a str,
    pub username: &'a str,
    pub device_name: &'a str,
}

/// The start of a ceremony: what the browser needs, and what to keep until its answer comes.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// The argument of `navigator.credentials.create` or `.get` as JSON, binary fields in
    /// base64url (`static/passkey.js` turns them into buffers).
    pub options: Value,
    /// Opaque; hand it back to finish the ceremony, once. It holds the challenge, so it stays
    /// on the server.
    pub state: String,
}

/// An accepted answer.
#[derive(Debug, Clone)]
pub struct Assertion {
    /// Whether the phone checked its owner for this answer.
    pub user_verified: bool,
    /// The passkey that answered, its counter and backup flags brought up to date.
    pub passkey: DevicePasskey,
    /// Whether `passkey` differs from the stored one (then store it back).
    pub changed: bool,
}

/// nod as a WebAuthn relying party: the RP id is the host of `server.public_url`, the one
/// accepted origin that URL's origin.
#[derive(Debug, Clone)]
pub struct Passkeys {
    webauthn: Webauthn,
    rp_id: String,
    policy: PasskeyPolicy,
}

impl Passkeys {
    /// Refuses a public URL whose host is an IP address: browsers refuse WebAuthn there, so
    /// pairing would fail on every phone (`http://localhost:PORT` works for trying nod out).
    pub fn new(public_url: &PublicUrl, policy: PasskeyPolicy) -> Result<Passkeys, PasskeyError> {
        let refuse = |why| PasskeyError::PublicUrl {
            url: public_url.as_str().to_owned(),
            why,
        };
        let url = Url::parse(public_url.as_str()).map_err(|_| refuse("not a URL"))?;
        let rp_id = match url.host() {
            Some(Host::Domain(domain)) => domain.to_owned(),
            Some(Host::Ipv4(_) | Host::Ipv6(_)) => {
                return Err(refuse(
                    "its host is an IP address, which WebAuthn refuses; use a domain name \
                     (http://localhost:8080 on one machine)",
                ));
            }
            None => return Err(refuse("it has no host")),
        };
        let origin = Url::parse(&url.origin().ascii_serialization())
            .map_err(|_| refuse("it has no origin"))?;
        let webauthn = WebauthnBuilder::new(&rp_id, &origin)
            .and_then(|builder| builder.rp_name("nod").build())
            .map_err(|_| refuse("webauthn-rs refused it as a relying party"))?;
        Ok(Passkeys {
            webauthn,
            rp_id,
            policy,
        })
    }

    /// The relying party id: passkeys are bound to it, so changing the public URL's host
    /// orphans every registered passkey.
    pub fn rp_id(&self) -> &str {
        &self.rp_id
    }

    /// Starts registering a passkey for `owner`'s device; `existing` (its passkeys so far) are
    /// excluded, so one phone does not register twice.
    pub fn start_registration(
        &self,
        owner: PasskeyOwner<'_>,
        existing: &[DevicePasskey],
    ) -> Result<Challenge, PasskeyError> {
        let exclude = existing.iter().map(|p| p.0.cred_id().clone()).collect();
        let display_name = format!("{} on {}", owner.username, owner.device_name);
        let (options, state) = self
            .webauthn
            .start_securitykey_registration(
                browser::user_handle(owner.device_id),
                owner.username,
                &display_name,
                Some(exclude),
                None,
                None,
            )
            .map_err(|e| PasskeyError::Start(Ceremony::Registration, e.to_string()))?;
        Ok(Challenge {
            options: browser::options(
                &options,
                Ceremony::Registration,
                self.policy.user_verification,
            )?,
            state: KeptState::Registration(state).write()?,
        })
    }

    /// Finishes a registration with the browser's answer (JSON): the passkey to store with the
    /// device. Refuses an unverified one when verification is required, and a synced one when
    /// synced passkeys are not allowed.
    pub fn finish_registration(
        &self,
        state: &str,
        response: &str,
    ) -> Result<DevicePasskey, PasskeyError> {
        let state = match KeptState::read(state)? {
            KeptState::Registration(state) => state,
            other => return Err(other.mismatch(Ceremony::Registration)),
        };
        let response: RegisterPublicKeyCredential =
            browser::answer(response, Ceremony::Registration)?;
        let passkey = self
            .webauthn
            .finish_securitykey_registration(&response, &state)
            .map(DevicePasskey)
            .map_err(error::refused)?;
        let credential = passkey.credential();
        if self.policy.user_verification == UserVerification::Required && !credential.user_verified
        {
            return Err(PasskeyError::UserNotVerified);
        }
        if !self.policy.allow_synced && credential.backup_eligible {
            return Err(PasskeyError::Synced);
        }
        Ok(passkey)
    }

    /// Starts asking one of `passkeys` (a device's) to sign.
    pub fn start_authentication(
        &self,
        passkeys: &[DevicePasskey],
    ) -> Result<Challenge, PasskeyError> {
        if passkeys.is_empty() {
            return Err(PasskeyError::NoPasskeys);
        }
        let keys: Vec<SecurityKey> = passkeys.iter().map(|p| p.0.clone()).collect();
        let (options, state) = self
            .webauthn
            .start_securitykey_authentication(&keys)
            .map_err(|e| PasskeyError::Start(Ceremony::Authentication, e.to_string()))?;
        Ok(Challenge {
            options: browser::options(
                &options,
                Ceremony::Authentication,
                self.policy.user_verification,
            )?,
            state: KeptState::Authentication(state).write()?,
        })
    }

    /// Finishes an authentication with the browser's answer (JSON). `passkeys` are the
    /// device's as stored now; the one that answered comes back updated.
    pub fn finish_authentication(
        &self,
        state: &str,
        response: &str,
        passkeys: &[DevicePasskey],
    ) -> Result<Assertion, PasskeyError> {
        let state = match KeptState::read(state)? {
            KeptState::Authentication(state) => state,
            other => return Err(other.mismatch(Ceremony::Authentication)),
        };
        let response: PublicKeyCredential = browser::answer(response, Ceremony::Authentication)?;
        let result = self
            .webauthn
            .finish_securitykey_authentication(&response, &state)
            .map_err(error::refused)?;
        if self.policy.user_verification == UserVerification::Required && !result.user_verified() {
            return Err(PasskeyError::UserNotVerified);
        }
        let mut passkey = passkeys
            .iter()
            .find(|p| p.0.cred_id() == result.cred_id())
            .cloned()
            .ok_or(PasskeyError::UnknownPasskey)?;
        // webauthn-rs compares the counter with the one copied into the state at the start, so
        // a state finished twice would pass; against the stored passkey a replay does not.
        // (Passkeys that keep no counter, 0 on both sides, rely on the state being used once.)
        let stored = passkey.credential().counter;
        if (result.counter() > 0 || stored > 0) && result.counter() <= stored {
            return Err(PasskeyError::CounterWentBack);
        }
        let changed = passkey.0.update_credential(&result).unwrap_or(false);
        Ok(Assertion {
            user_verified: result.user_verified(),
            passkey,
            changed,
        })
    }
}
