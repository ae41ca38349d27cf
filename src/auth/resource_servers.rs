//! Callers of `/v1/introspect`: names with the SHA-256 digest of their secret, from
//! configuration and from the store. Held in memory (introspection is a hot path) and
//! reloaded when the store says they changed (`crate::cluster`), so `nod resource-server
//! add|remove` takes effect within a second.

use std::collections::HashMap;
use std::sync::RwLock;

use subtle::ConstantTimeEq;

use super::secrets::digest_secret;

/// Known resource servers: name → hex digest of the secret.
#[derive(Debug, Default)]
pub struct ResourceServers {
    digests: RwLock<HashMap<String, String>>,
}

impl ResourceServers {
    /// Replaces the whole set.
    pub fn replace(&self, entries: impl IntoIterator<Item = (String, String)>) {
        let fresh: HashMap<String, String> = entries.into_iter().collect();
        *self.digests.write().unwrap_or_else(|p| p.into_inner()) = fresh;
    }

    /// Whether `name` exists and `secret` is its secret. The digests are compared in constant
    /// time; an unknown name costs the same hash as a known one.
    pub fn authenticate(&self, name: &str, secret: &str) -> bool {
        let presented = digest_secret(secret);
        let digests = self.digests.read().unwrap_or_else(|p| p.into_inner());
        match digests.get(name) {
            Some(stored) => presented.as_bytes().ct_eq(stored.as_bytes()).into(),
            None => false,
        }
    }

    /// How many are known.
    pub fn len(&self) -> usize {
        self.digests.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether none is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_right_name_and_secret_pass() {
        let servers = ResourceServers::default();
        servers.replace([("api".to_owned(), digest_secret("s3cret"))]);
        assert!(servers.authenticate("api", "s3cret"));
        assert!(!servers.authenticate("api", "s3cre"));
        assert!(!servers.authenticate("other", "s3cret"));
    }
}
