//! What is kept between the start of a ceremony and the browser's answer: webauthn-rs's state
//! (the challenge, the policy, the allowed credentials) as a JSON string, tagged with its
//! ceremony so that a state is only ever finished by the ceremony that wrote it.

use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{SecurityKeyAuthentication, SecurityKeyRegistration};

use super::error::{Ceremony, PasskeyError};

#[derive(Serialize, Deserialize)]
#[serde(tag = "ceremony", content = "state", rename_all = "snake_case")]
pub(super) enum KeptState {
    Registration(SecurityKeyRegistration),
    Authentication(SecurityKeyAuthentication),
}

impl KeptState {
    pub(super) fn ceremony(&self) -> Ceremony {
        match self {
            KeptState::Registration(_) => Ceremony::Registration,
            KeptState::Authentication(_) => Ceremony::Authentication,
        }
    }

    pub(super) fn write(&self) -> Result<String, PasskeyError> {
        serde_json::to_string(self).map_err(|e| {
            PasskeyError::Start(
                self.ceremony(),
                format!("its state could not be written: {e}"),
            )
        })
    }

    pub(super) fn read(text: &str) -> Result<KeptState, PasskeyError> {
        serde_json::from_str(text).map_err(|_| PasskeyError::BadState)
    }

    /// The error for finishing `expected` with this state.
    pub(super) fn mismatch(&self, expected: Ceremony) -> PasskeyError {
        PasskeyError::WrongCeremony {
            expected,
            found: self.ceremony(),
        }
    }
}
