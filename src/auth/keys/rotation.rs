//! Rotation: a new key signs at once; the keys it replaced keep verifying until every token
//! they signed has expired, and are then retired (their files removed).
//!
//! When may a key go? A token lives at most `access_ttl` (plus the verifier's clock leeway).
//! A key stopped signing no later than the moment a newer key that replaced it appeared, so once
//! such a newer key has existed for longer than `access_ttl` + [`RETIRE_LEEWAY`], no live token
//! can be signed by the old one. "Replaced it" means a newer key of its own algorithm, or, once
//! its algorithm is no longer the configured one, a newer key of any algorithm. The signing key
//! itself is never retired.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};

use super::files::{self, KeyFile};
use super::{KeyConfig, algorithms};
use crate::auth::files::ensure_private_dir;
use crate::config::SigningAlgorithm;

/// Added to `access_ttl` before a replaced key is retired: covers the verifier's clock skew
/// allowance and the seconds a running server takes to notice a new key.
pub const RETIRE_LEEWAY: Duration = Duration::from_secs(60);

/// What `rotate` did.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// The new key's file.
    pub created: KeyFile,
    /// The new key's `kid`.
    pub kid: String,
    /// Key files retired along the way.
    pub retired: Vec<KeyFile>,
}

/// Writes a new key of the configured algorithm into `data_dir/keys` (it signs from the next
/// reload on) and retires the keys no live token can need any more.
pub fn rotate(data_dir: &Path, config: &KeyConfig, now_ms: i64) -> anyhow::Result<Rotation> {
    if config.algorithm == SigningAlgorithm::HS256 {
        bail!(
            "tokens.algorithm is HS256: its key is tokens.hmac_secret, which nod cannot rotate; \
             change that setting on every server instead"
        );
    }
    let dir = data_dir.join("keys");
    ensure_private_dir(&dir)?;
    let der = algorithms::generate_pkcs8(config.algorithm)?;
    let created = files::write(&dir, config.algorithm, now_ms, &der)?;
    let key = algorithms::from_pkcs8(config.algorithm, &der, created.created_ms, &created.path)
        .context("loading the new key")?;
    let retired = prune(&dir, config, now_ms, now_ms)?;
    Ok(Rotation {
        created,
        kid: key.kid,
        retired,
    })
}

/// Removes the key files in `dir` that are retired at `now_ms` and returns them. With HS256
/// configured, the secret counts as a key created at `hmac_since_ms`. A file that cannot be
/// removed is reported and left for the next attempt.
pub fn prune(
    dir: &Path,
    config: &KeyConfig,
    hmac_since_ms: i64,
    now_ms: i64,
) -> anyhow::Result<Vec<KeyFile>> {
    let found = files::list(dir)?;
    let mut keys: Vec<(SigningAlgorithm, i64)> =
        found.iter().map(|f| (f.algorithm, f.created_ms)).collect();
    if config.algorithm == SigningAlgorithm::HS256 {
        keys.push((SigningAlgorithm::HS256, hmac_since_ms));
    }
    let mut gone = Vec::new();
    for file in found {
        if !is_retired(
            (file.algorithm, file.created_ms),
            &keys,
            config.algorithm,
            config.retire_after_ms(),
            now_ms,
        ) {
            continue;
        }
        match std::fs::remove_file(&file.path) {
            Ok(()) => gone.push(file),
            // Another process (a server's reload, `nod keys rotate`) retired it first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(file = %file.path.display(), error = %e,
                "could not remove a retired signing key"),
        }
    }
    Ok(gone)
}

/// The retirement rule (see the module documentation) for `key` among `all` keys, each an
/// (algorithm, creation ms) pair.
fn is_retired(
    key: (SigningAlgorithm, i64),
    all: &[(SigningAlgorithm, i64)],
    configured: SigningAlgorithm,
    retire_after_ms: i64,
    now_ms: i64,
) -> bool {
    let (algorithm, created_ms) = key;
    let signer = all
        .iter()
        .filter(|(a, _)| *a == configured)
        .map(|&(_, c)| c)
        .max();
    if algorithm == configured && signer == Some(created_ms) {
        return false;
    }
    all.iter().any(|&(other, other_created)| {
        other_created > created_ms
            && (other == algorithm || algorithm != configured)
            && now_ms.saturating_sub(other_created) > retire_after_ms
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keys::KeySet;
    use SigningAlgorithm::{ES256, EdDSA, HS256};

    /// access_ttl 300 s + 60 s leeway, in ms.
    const RETIRE_MS: i64 = 360_000;
    const T0: i64 = 1_700_000_000_000;

    fn config(algorithm: SigningAlgorithm) -> KeyConfig {
        KeyConfig::new(algorithm, Duration::from_secs(300))
    }

    fn retired(
        key: (SigningAlgorithm, i64),
        all: &[(SigningAlgorithm, i64)],
        configured: SigningAlgorithm,
        now: i64,
    ) -> bool {
        is_retired(key, all, configured, RETIRE_MS, now)
    }

    #[test]
    fn a_replaced_key_retires_only_once_its_successor_is_older_than_ttl_plus_leeway() {
        let all = [(EdDSA, T0), (EdDSA, T0 + 1_000)];
        let old = all[0];
        assert!(!retired(old, &all, EdDSA, T0 + 1_000));
        assert!(!retired(old, &all, EdDSA, T0 + 1_000 + RETIRE_MS));
        assert!(retired(old, &all, EdDSA, T0 + 1_000 + RETIRE_MS + 1));
        // The signing key never retires, however old.
        assert!(!retired(all[1], &all, EdDSA, i64::MAX));
        assert!(!retired(old, &[old], EdDSA, i64::MAX));
    }

    #[test]
    fn after_an_algorithm_change_the_old_keys_retire_behind_the_new_one() {
        let all = [(EdDSA, T0), (ES256, T0 + 1_000)];
        assert!(!retired(all[0], &all, ES256, T0 + 1_000 + RETIRE_MS));
        assert!(retired(all[0], &all, ES256, T0 + 1_000 + RETIRE_MS + 1));
        // Rolled back: the EdDSA key signs again and the ES256 key waits for its own successor.
        assert!(!retired(all[0], &all, EdDSA, i64::MAX));
        assert!(!retired(all[1], &all, EdDSA, i64::MAX));
        // A configured-algorithm key is replaced only by a newer key of its own algorithm.
        let all = [(EdDSA, T0), (ES256, T0 + 1_000), (EdDSA, T0 + 2_000)];
        assert!(!retired(all[0], &all, EdDSA, T0 + 1_000 + RETIRE_MS + 1));
        assert!(retired(all[0], &all, EdDSA, T0 + 2_000 + RETIRE_MS + 1));
    }

    #[test]
    fn rotation_signs_with_the_new_key_and_keeps_the_old_one_verifying() -> anyhow::Result<()> {
        let data = tempfile::tempdir()?;
        let config = config(ES256);
        let before = KeySet::load_or_generate(data.path(), &config, T0)?;
        let old = before.current().map(|k| k.kid.clone());
        let done = rotate(data.path(), &config, T0 + 1_000)?;
        assert!(done.retired.is_empty());
        assert_eq!(done.created.algorithm, ES256);
        let after = KeySet::load(&data.path().join("keys"), &config, T0)?;
        assert_eq!(
            after.current().map(|k| k.kid.clone()),
            Some(done.kid.clone())
        );
        assert_ne!(old, Some(done.kid));
        assert!(after.find(old.as_deref().unwrap_or_default()).is_some());
        assert_eq!(after.jwks().keys.len(), 2);
        Ok(())
    }

    #[test]
    fn rotate_and_prune_remove_a_key_only_after_ttl_plus_leeway() -> anyhow::Result<()> {
        let data = tempfile::tempdir()?;
        let keys = data.path().join("keys");
        let config = config(EdDSA);
        KeySet::load_or_generate(data.path(), &config, T0)?;
        let first = rotate(data.path(), &config, T0 + 1_000)?;
        // The second rotation comes just too early to retire the first key.
        let second = rotate(data.path(), &config, T0 + 1_000 + RETIRE_MS)?;
        assert!(second.retired.is_empty());
        assert_eq!(files::list(&keys)?.len(), 3);
        // The original key retires behind `first`; `first` is not yet retired behind `second`.
        let gone = prune(&keys, &config, 0, T0 + 1_000 + RETIRE_MS + 1)?;
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].created_ms, T0);
        let left: Vec<i64> = files::list(&keys)?.iter().map(|f| f.created_ms).collect();
        assert_eq!(
            left,
            vec![second.created.created_ms, first.created.created_ms]
        );
        // Far in the future only the signing key is left.
        prune(&keys, &config, 0, i64::MAX)?;
        assert_eq!(files::list(&keys)?, vec![second.created]);
        Ok(())
    }

    #[test]
    fn with_hs256_the_old_key_files_retire_behind_the_secret() -> anyhow::Result<()> {
        let data = tempfile::tempdir()?;
        let keys = data.path().join("keys");
        KeySet::load_or_generate(data.path(), &config(EdDSA), T0)?;
        let hs = config(HS256).with_hmac_secret(&[9u8; 32]);
        let since = T0 + 5_000;
        assert!(prune(&keys, &hs, since, since + RETIRE_MS)?.is_empty());
        assert_eq!(prune(&keys, &hs, since, since + RETIRE_MS + 1)?.len(), 1);
        let err = rotate(data.path(), &hs, since).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("tokens.hmac_secret")));
        Ok(())
    }
}
