//! The form that answers a sign-in — from the approval link's page and from the phone's home
//! alike: the same three buttons, the same number field, read into one [`Decision`].

use serde::Deserialize;

use super::form::WithCsrf;
use crate::domain::{Decision, DecisionError};
use crate::error::{Error, Result};

/// What an answer posts.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct AnswerForm {
    /// The form's CSRF token.
    #[schema(nullable = false)]
    pub csrf: Option<String>,
    /// `approve`, `deny` ("it was me, cancel") or `fraud` ("this wasn't me").
    #[schema(value_type = Button)]
    pub decision: String,
    /// The number from the login screen (required to approve).
    #[schema(nullable = false, pattern = "^\\s*[0-9]{2}\\s*$")]
    pub binding_code: Option<String>,
}

// Only describes `AnswerForm::decision` in the document.
/// The button pressed.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum Button {
    Approve,
    Deny,
    Fraud,
}

impl WithCsrf for AnswerForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

impl AnswerForm {
    /// The decision the buttons and the number field say; a clear 400 when they say nothing.
    pub fn decision(&self) -> Result<Decision> {
        // An empty number field arrives as `Some("")`: to a person both are "no number".
        Decision::parse(&self.decision, self.binding_code.as_deref()).map_err(|e| {
            Error::InvalidRequest(match e {
                DecisionError::MissingCode | DecisionError::BadCode(_) => {
                    "type the two-digit number shown on the login screen".into()
                }
                DecisionError::UnknownChoice => "choose Approve, cancel, or This wasn't me".into(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(decision: &str, code: Option<&str>) -> AnswerForm {
        AnswerForm {
            csrf: None,
            decision: decision.into(),
            binding_code: code.map(Into::into),
        }
    }

    #[test]
    fn each_button_reads_as_its_decision() {
        assert!(matches!(
            form("approve", Some("47")).decision(),
            Ok(Decision::Approve(_))
        ));
        assert!(matches!(form("deny", None).decision(), Ok(Decision::Deny)));
        assert!(matches!(
            form("fraud", None).decision(),
            Ok(Decision::Fraud)
        ));
    }

    #[test]
    fn approve_without_a_number_or_an_unknown_button_is_a_bad_request() {
        for bad in [
            form("approve", None),
            form("approve", Some("x")),
            form("yes", None),
        ] {
            assert!(matches!(bad.decision(), Err(Error::InvalidRequest(_))));
        }
    }
}
