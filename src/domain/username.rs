//! `Username`: the normalised name a person signs in with.

use std::fmt;

/// A username: 1–64 characters of lowercase ASCII letters, digits, `.`, `_`, `-` and `@`.
/// Input is trimmed and lowercased first, so `Alice` and `alice ` are the same person (and the
/// same key for rate limits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Normalises and checks a username.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim().to_ascii_lowercase();
        if name.is_empty() || name.len() > 64 {
            return Err("username must be 1 to 64 characters".into());
        }
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-@".contains(c);
        if !name.chars().all(allowed) {
            return Err("username may hold only letters, digits and . _ - @".into());
        }
        Ok(Username(name))
    }

    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_lowercased() {
        assert_eq!(Username::parse("  Alice ").map(|u| u.0), Ok("alice".into()));
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in ["", "   ", "al ice", "bob<script>", &"x".repeat(65), "ünï"] {
            assert!(Username::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
