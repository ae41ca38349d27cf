//! Number matching: the two digits the login screen shows and the phone must send back.

use std::fmt;

use subtle::ConstantTimeEq;

/// A two-digit code, `00`–`99`.
#[derive(Clone, PartialEq, Eq)]
pub struct BindingCode(String);

impl BindingCode {
    /// Makes a code from a random byte (uniform: bytes ≥ 200 are rejected by the caller's loop).
    pub fn from_number(n: u8) -> Option<Self> {
        (n < 100).then(|| BindingCode(format!("{n:02}")))
    }

    /// Parses what a phone sent: exactly two ASCII digits.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.len() == 2 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(BindingCode(raw.to_owned()))
        } else {
            Err("binding_code must be two digits".into())
        }
    }

    /// The code as shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares without leaking by timing how many characters matched.
    pub fn matches(&self, other: &BindingCode) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl fmt::Debug for BindingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BindingCode(**)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_two_digits() {
        assert_eq!(BindingCode::from_number(7).map(|c| c.0), Some("07".into()));
        assert!(BindingCode::from_number(100).is_none());
        assert!(BindingCode::parse("47").is_ok());
        for bad in ["", "4", "470", "4a", "-1", "٤٧"] {
            assert!(BindingCode::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn matching_is_exact() {
        let code = BindingCode::parse("47").ok();
        let same = BindingCode::parse("47").ok();
        let other = BindingCode::parse("74").ok();
        assert!(
            code.as_ref()
                .zip(same.as_ref())
                .is_some_and(|(a, b)| a.matches(b))
        );
        assert!(
            !code
                .as_ref()
                .zip(other.as_ref())
                .is_some_and(|(a, b)| a.matches(b))
        );
    }
}
