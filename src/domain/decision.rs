//! `Decision`: what a phone answers to a sign-in. The device API's JSON and the pages' form
//! carry the same two fields (`decision`, `binding_code`); both are read here, and each edge
//! words a [`DecisionError`] for its own reader (a client developer, a person at a form).

use super::BindingCode;

/// What a phone can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Approve, with the number shown on the login screen.
    Approve(BindingCode),
    /// "It was me, cancel."
    Deny,
    /// "This wasn't me."
    Fraud,
}

/// Why an answer is not a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionError {
    /// `decision` is none of `approve`, `deny`, `fraud`.
    UnknownChoice,
    /// `approve` without a number.
    MissingCode,
    /// `approve` with something that is not two digits (the [`BindingCode`] message).
    BadCode(String),
}

impl Decision {
    /// Reads a `choice` (`approve`, `deny` or `fraud`) and, to approve, the number typed.
    pub fn parse(choice: &str, binding_code: Option<&str>) -> Result<Self, DecisionError> {
        match choice {
            "approve" => {
                let code = binding_code.ok_or(DecisionError::MissingCode)?;
                BindingCode::parse(code)
                    .map(Decision::Approve)
                    .map_err(DecisionError::BadCode)
            }
            "deny" => Ok(Decision::Deny),
            "fraud" => Ok(Decision::Fraud),
            _ => Err(DecisionError::UnknownChoice),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_choice_reads_as_its_decision() {
        assert!(matches!(
            Decision::parse("approve", Some(" 47 ")),
            Ok(Decision::Approve(_))
        ));
        assert_eq!(Decision::parse("deny", None), Ok(Decision::Deny));
        assert_eq!(Decision::parse("fraud", Some("47")), Ok(Decision::Fraud));
    }

    #[test]
    fn approve_needs_two_digits_and_other_choices_are_unknown() {
        assert_eq!(
            Decision::parse("approve", None),
            Err(DecisionError::MissingCode)
        );
        assert!(matches!(
            Decision::parse("approve", Some("4x")),
            Err(DecisionError::BadCode(_))
        ));
        for unknown in ["", "Approve", "yes"] {
            assert_eq!(
                Decision::parse(unknown, None),
                Err(DecisionError::UnknownChoice),
                "{unknown:?}"
            );
        }
    }
}
