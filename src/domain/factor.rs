//! The second factor that approved a login: the phone's answer to a push, or a code from its
//! authenticator app. It becomes the token's `amr`: `["pwd", factor]`.

use std::fmt;

/// How the phone's owner approved a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    /// The phone answered the push notification (or its approval link).
    Push,
    /// A code from the authenticator app, entered at `/v1/login/totp`.
    Otp,
}

impl Factor {
    /// The name stored in the database and used in `amr`.
    pub fn as_str(self) -> &'static str {
        match self {
            Factor::Push => "push",
            Factor::Otp => "otp",
        }
    }

    /// Reads a stored factor name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "push" => Some(Factor::Push),
            "otp" => Some(Factor::Otp),
            _ => None,
        }
    }
}

impl fmt::Display for Factor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Factor;

    #[test]
    fn factor_names_round_trip() {
        for factor in [Factor::Push, Factor::Otp] {
            assert_eq!(Factor::parse(factor.as_str()), Some(factor));
        }
        assert_eq!(Factor::parse("sms"), None);
    }
}
