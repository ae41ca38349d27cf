//! The live key set of a running server. Readers take a cheap snapshot (an `Arc` clone under a
//! read lock held for no await); `reload` retires expired key files and swaps in a fresh set when
//! the files on disk changed, so `nod keys rotate` reaches a running server without a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use anyhow::bail;

use super::{KeyConfig, KeySet, rotation};
use crate::clock::Clock;

/// A server's keys, kept in step with `data_dir/keys`.
pub struct KeyRing {
    dir: PathBuf,
    config: KeyConfig,
    /// When the ring was opened: the HS256 key's date, so that after a switch to HS256 the old
    /// algorithm's keys retire once its last tokens are gone.
    opened_ms: i64,
    clock: Arc<dyn Clock>,
    current: RwLock<Arc<KeySet>>,
}

impl KeyRing {
    /// Loads `data_dir/keys`, generating a key of the configured algorithm when there is none.
    pub fn load_or_generate(
        data_dir: &Path,
        config: KeyConfig,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let opened_ms = clock.now_ms();
        let set = KeySet::load_or_generate(data_dir, &config, opened_ms)?;
        Ok(KeyRing {
            dir: data_dir.join("keys"),
            config,
            opened_ms,
            clock,
            current: RwLock::new(Arc::new(set)),
        })
    }

    /// The keys as they are now.
    pub fn snapshot(&self) -> Arc<KeySet> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The directory the keys are read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the ring was built from.
    pub fn config(&self) -> &KeyConfig {
        &self.config
    }

    /// Retires expired key files and re-reads the directory, now; see [`KeyRing::reload_at`].
    pub fn reload(&self) -> anyhow::Result<bool> {
        self.reload_at(self.clock.now_ms())
    }

    /// Retires the key files no live token can need at `now_ms`, then re-reads the directory;
    /// returns true when the set of keys changed. A directory that cannot be read, or that holds
    /// no key of the configured algorithm, keeps the current set (and reports the error).
    pub fn reload_at(&self, now_ms: i64) -> anyhow::Result<bool> {
        for gone in rotation::prune(&self.dir, &self.config, self.opened_ms, now_ms)? {
            tracing::info!(file = %gone.path.display(), "retired a signing key: its tokens have expired");
        }
        let fresh = KeySet::load(&self.dir, &self.config, self.opened_ms)?;
        if fresh.current().is_none() {
            bail!(
                "{} holds no {:?} key: keeping the loaded keys",
                self.dir.display(),
                self.config.algorithm
            );
        }
        let kids = |set: &KeySet| set.all().iter().map(|k| k.kid.clone()).collect::<Vec<_>>();
        let changed = kids(&fresh) != kids(&self.snapshot());
        if changed {
            *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(fresh);
        }
        Ok(changed)
    }
}
