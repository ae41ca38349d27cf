//! `AppState`: everything a request, a background task or a CLI command needs, built once from
//! the settings. Cheap to clone (`Arc`s inside); no globals, so two apps can share a process.

use std::sync::Arc;

use anyhow::Context;

use crate::auth::keys::{KeyConfig, KeyRing};
use crate::auth::password::Passwords;
use crate::auth::totp::TotpCipher;
use crate::clock::Clock;
use crate::config::Settings;
use crate::flows::wakeups::WakeUps;
use crate::notify::Registry;
use crate::store::{self, Store};

/// The shared state of one nod instance.
#[derive(Clone)]
pub struct AppState {
    /// Loaded configuration.
    pub settings: Arc<Settings>,
    /// Where everything is kept.
    pub store: Arc<dyn Store>,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
    /// argon2id, off the async runtime.
    pub passwords: Passwords,
    /// Signing keys (the newest of the configured algorithm signs) and the token encryption
    /// key; reloaded when the files change.
    pub keys: Arc<KeyRing>,
    /// Encrypts TOTP secrets at rest.
    pub totp: Arc<TotpCipher>,
    /// Notification providers.
    pub notifiers: Arc<Registry>,
    /// Long-polls waiting for a decision.
    pub wakeups: Arc<WakeUps>,
}

impl AppState {
    /// Opens the store, loads (or generates) keys and secrets, and sets up providers.
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        crate::auth::files::ensure_private_dir(&settings.server.data_dir)?;
        let store = store::open(&settings.database).await?;
        let key_config = KeyConfig::from_settings(&settings)?;
        let keys = KeyRing::load_or_generate(&settings.server.data_dir, key_config, clock.clone())
            .context("loading signing keys")?;
        let totp = TotpCipher::load(&settings.totp.encryption_key, &settings.server.data_dir)
            .context("loading the TOTP encryption key")?;
        let passwords = Passwords::new(
            settings.passwords.max_concurrent_hashes,
            settings.passwords.queue_timeout.0,
        )
        .await?;
        let notifiers = Registry::new(clock.clone());
        Ok(AppState {
            settings: Arc::new(settings),
            store,
            clock,
            passwords,
            keys: Arc::new(keys),
            totp: Arc::new(totp),
            notifiers: Arc::new(notifiers),
            wakeups: Arc::new(WakeUps::default()),
        })
    }
}
