//! Opaque secrets a client hands back to nod: the `auth_req_id` of a pending login, a refresh
//! token, a device secret, the code of an approval link or of a pairing link. nod mints them
//! (43 characters of base64url) and only ever digests what comes back and looks the digest up,
//! so their one rule is a length bound: without it a made-up value of any size would cost a
//! digest and a store query. Each is parsed once, where it enters (a body, a cookie, a path),
//! and travels typed from there.

use std::fmt;

/// The kinds of opaque secret, named like their types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    AuthReqId,
    RefreshToken,
    DeviceSecret,
    PairingCode,
    LinkCode,
}

impl fmt::Display for SecretKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretKind::AuthReqId => "auth_req_id",
            SecretKind::RefreshToken => "refresh token",
            SecretKind::DeviceSecret => "device secret",
            SecretKind::PairingCode => "pairing code",
            SecretKind::LinkCode => "approval link",
        })
    }
}

/// A presented secret that cannot be one nod minted: empty, or longer than its kind allows.
/// Every edge answers it exactly as it answers an unknown secret of that kind, so a malformed
/// value and a wrong one look the same from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a well-formed {0}")]
pub struct MalformedSecret(pub SecretKind);

/// Declares one kind of opaque secret: the newtype, its bound, and a `Debug` that never shows
/// the value (these are credentials; a stray `{:?}` must not put one in a log).
macro_rules! opaque_secret {
    ($(#[$doc:meta])* $name:ident, max $max:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// The longest value accepted, in bytes.
            pub const MAX_LEN: usize = $max;

            /// Accepts 1 to `MAX_LEN` bytes, as presented (no trimming: a secret is exact).
            pub fn parse(raw: &str) -> Result<Self, MalformedSecret> {
                if raw.is_empty() || raw.len() > Self::MAX_LEN {
                    return Err(MalformedSecret(SecretKind::$name));
                }
                Ok($name(raw.to_owned()))
            }

            /// The secret, to digest or to hand back to its owner.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(**)"))
            }
        }
    };
}

opaque_secret!(
    /// The `auth_req_id` of a pending login (CIBA): it polls for and redeems the approval.
    AuthReqId, max 256
);
opaque_secret!(
    /// A refresh token as presented: to `/v1/token`, or in the web sign-in's cookie.
    RefreshToken, max 256
);
opaque_secret!(
    /// A paired phone's device secret: its bearer credential, or the pages' device cookie.
    DeviceSecret, max 256
);
opaque_secret!(
    /// The code of a pairing link (`nod enroll-link`), redeemed once by the phone.
    PairingCode, max 256
);
opaque_secret!(
    /// The code of an approval link (`/approve/{code}`), sent in a notification; single-use.
    LinkCode, max 128
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_one_to_max_bytes_taken_as_presented() {
        assert_eq!(
            AuthReqId::parse(" abc ").map(|id| id.as_str().to_owned()),
            Ok(" abc ".to_owned())
        );
        assert!(AuthReqId::parse(&"a".repeat(256)).is_ok());
        assert!(LinkCode::parse(&"a".repeat(128)).is_ok());
        for bad in [String::new(), "a".repeat(257)] {
            assert!(AuthReqId::parse(&bad).is_err(), "{} bytes", bad.len());
            assert!(RefreshToken::parse(&bad).is_err(), "{} bytes", bad.len());
            assert!(DeviceSecret::parse(&bad).is_err(), "{} bytes", bad.len());
            assert!(PairingCode::parse(&bad).is_err(), "{} bytes", bad.len());
        }
        assert!(LinkCode::parse(&"a".repeat(129)).is_err());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let token = RefreshToken::parse("hunter2-refresh").ok();
        assert_eq!(format!("{token:?}"), "Some(RefreshToken(**))");
    }
}
