//! Password hashing with argon2id (OWASP parameters: m=19 MiB, t=2, p=1), run on the blocking
//! pool behind a semaphore so a login flood queues instead of starving the async runtime.
//! Unknown users are checked against a dummy hash with the same parameters: equal work, equal
//! answer.

use std::sync::Arc;
use std::time::Duration;

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

/// Why a hash could not be computed or checked.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Every hashing slot stayed busy for the whole queue timeout.
    #[error("password hashing is saturated")]
    Busy,
    /// Hashing itself failed (bad stored hash, RNG failure, panicked worker).
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// A password as typed: never printed.
pub struct Password(String);

impl Password {
    /// Wraps a password after checking its length (8–1024 characters).
    pub fn parse(raw: String) -> Result<Self, String> {
        let n = raw.chars().count();
        if n < 8 {
            return Err("password must have at least 8 characters".into());
        }
        if raw.len() > 1024 {
            return Err("password must have at most 1024 bytes".into());
        }
        Ok(Password(raw))
    }

    /// Wraps a password presented at login: any length up to the limit is checked, so a
    /// too-short password fails like a wrong one.
    pub fn presented(raw: String) -> Self {
        Password(raw)
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// The password hasher shared by the whole application.
#[derive(Clone)]
pub struct Passwords {
    slots: Arc<Semaphore>,
    queue_timeout: Duration,
    dummy_hash: Arc<str>,
}

impl Passwords {
    /// A hasher running at most `concurrency` hashes at once (0: one per core).
    pub async fn new(concurrency: usize, queue_timeout: Duration) -> Result<Self, PasswordError> {
        let concurrency = if concurrency == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            concurrency
        };
        let mut hasher = Passwords {
            slots: Arc::new(Semaphore::new(concurrency)),
            queue_timeout,
            dummy_hash: Arc::from(""),
        };
        let dummy = Password(format!("dummy-{}", std::process::id()));
        hasher.dummy_hash = Arc::from(hasher.hash(dummy).await?);
        Ok(hasher)
    }

    /// Hashes a new password into a PHC string.
    pub async fn hash(&self, password: Password) -> Result<String, PasswordError> {
        self.run(move || {
            Argon2::default()
                .hash_password(password.0.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| PasswordError::Failed(e.to_string()))
        })
        .await
    }

    /// Checks a password against a stored hash; `None` (unknown or disabled user) checks
    /// against the dummy hash and always answers false, after the same work.
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<String>,
    ) -> Result<bool, PasswordError> {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let matched = self
            .run(move || {
                let parsed =
                    PasswordHash::new(&hash).map_err(|e| PasswordError::Failed(e.to_string()))?;
                Ok(Argon2::default()
                    .verify_password(password.0.as_bytes(), &parsed)
                    .is_ok())
            })
            .await?;
        Ok(known && matched)
    }

    async fn run<T, F>(&self, work: F) -> Result<T, PasswordError>
    where
        F: FnOnce() -> Result<T, PasswordError> + Send + 'static,
        T: Send + 'static,
    {
        let permit = tokio::time::timeout(self.queue_timeout, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| PasswordError::Busy)?
            .map_err(|_| PasswordError::Busy)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| PasswordError::Failed(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() -> Result<(), PasswordError> {
        let pw = Passwords::new(2, Duration::from_secs(5)).await?;
        let hash = pw.hash(Password::presented("correct horse".into())).await?;
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            pw.verify(
                Password::presented("correct horse".into()),
                Some(hash.clone())
            )
            .await?
        );
        assert!(
            !pw.verify(Password::presented("wrong horse".into()), Some(hash))
                .await?
        );
        Ok(())
    }

    #[tokio::test]
    async fn an_unknown_user_never_matches() -> Result<(), PasswordError> {
        let pw = Passwords::new(1, Duration::from_secs(5)).await?;
        let guess = format!("dummy-{}", std::process::id());
        assert!(!pw.verify(Password::presented(guess), None).await?);
        Ok(())
    }

    #[test]
    fn short_passwords_are_refused_at_creation() {
        assert!(Password::parse("short".into()).is_err());
        assert!(Password::parse("long enough".into()).is_ok());
    }
}
