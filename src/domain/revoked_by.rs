//! Who ended a session: stored with it (`sessions.revoked_by`) and named in the feed.

use std::fmt;

/// Who ended a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokedBy {
    /// A paired device (its id).
    Device(String),
    /// The session's own client (logout or token revocation).
    Client,
    /// The signed-in person on the web (`/activity`, or signing out there).
    User,
    /// nod itself, after a refresh token was presented twice.
    RefreshReuse,
    /// The operator's CLI: `nod user disable`, and `nod user passwd` unless `--keep-sessions`,
    /// end every session of the user (`flows::provision`); the feed says `admin`.
    Admin,
}

impl RevokedBy {
    /// The name stored in the database and shown in the feed: a device's id, or a word.
    pub fn as_str(&self) -> &str {
        match self {
            RevokedBy::Device(id) => id,
            RevokedBy::Client => "client",
            RevokedBy::User => "user",
            RevokedBy::RefreshReuse => "refresh_reuse",
            RevokedBy::Admin => "admin",
        }
    }

    /// Reads a stored name: one of the words, else the id of the device that revoked (device
    /// ids are 32 hex digits, never one of the words).
    pub fn parse(name: &str) -> Self {
        match name {
            "client" => RevokedBy::Client,
            "user" => RevokedBy::User,
            "refresh_reuse" => RevokedBy::RefreshReuse,
            "admin" => RevokedBy::Admin,
            id => RevokedBy::Device(id.to_owned()),
        }
    }

    /// Revoked by the device with this id.
    pub fn device(id: &str) -> Self {
        RevokedBy::Device(id.to_owned())
    }

    /// The id of the device that revoked, if a device did.
    pub fn device_id(&self) -> Option<&str> {
        match self {
            RevokedBy::Device(id) => Some(id),
            _ => None,
        }
    }
}

impl fmt::Display for RevokedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::RevokedBy;

    #[test]
    fn stored_names_round_trip() {
        for by in [
            RevokedBy::Device("dev_1".into()),
            RevokedBy::Client,
            RevokedBy::User,
            RevokedBy::RefreshReuse,
            RevokedBy::Admin,
        ] {
            assert_eq!(RevokedBy::parse(by.as_str()), by);
        }
    }
}
