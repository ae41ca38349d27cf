//! `AppState`: everything a request, a background task or a CLI command needs, built once from
//! the settings. Cheap to clone (`Arc`s inside); no globals, so two apps can share a process.

use std::sync::Arc;

use anyhow::Context;

use crate::audit::{AuditWriter, CursorCodec, Feed};
use crate::auth::dpop::{NonceIssuer, ProofChecker};
use crate::auth::keys::{KeyConfig, KeyRing};
use crate::auth::password::Passwords;
use crate::auth::resource_servers::ResourceServers;
use crate::auth::sessions::SessionView;
use crate::auth::totp::TotpCipher;
use crate::auth::verify::{TokenVerifier, VerifyPolicy};
use crate::clock::Clock;
use crate::clock::duration_ms;
use crate::config::Settings;
use crate::notify::Registry;
use crate::store::{self, Store};
use crate::wakeups::WakeUps;

/// How often a DPoP nonce changes; each is good for two periods.
const DPOP_NONCE_PERIOD_SECS: u64 = 300;

/// The shared state of one nod instance: one `Arc`, so handing it to a request is a single
/// reference-count increment (it is cloned for every request on the hot path).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// Everything a request, a background task or a CLI command needs.
pub struct Services {
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
    /// Verifies access tokens, remembering the ones already verified.
    pub verifier: Arc<TokenVerifier>,
    /// Checks DPoP proofs and remembers recent ones (per instance) to refuse replays.
    pub dpop: Arc<ProofChecker>,
    /// Issues DPoP nonces (`tokens.dpop_nonce`), keyed by a key derived from
    /// `totp.encryption_key` (shared by every instance).
    pub dpop_nonces: Arc<NonceIssuer>,
    /// Live sessions with their owner, and recently revoked ones: every token use is checked
    /// against it, in memory.
    pub sessions: Arc<SessionView>,
    /// Callers of `/v1/introspect`.
    pub resource_servers: Arc<ResourceServers>,
    /// Writes feed events in batches.
    pub audit: AuditWriter,
    /// Committed feed events, live.
    pub feed: Feed,
    /// Signs feed page cursors, with a key derived from `totp.encryption_key`: cursors stay
    /// good across restarts and instances (docs/feed.md).
    pub cursors: CursorCodec,
    /// Flips to `true` when the server begins shutting down, so long-lived responses (feed
    /// streams) end and graceful shutdown does not wait on them forever.
    pub shutting_down: Arc<tokio::sync::watch::Sender<bool>>,
}

impl AppState {
    /// Opens the store, loads (or generates) keys and secrets, and sets up providers.
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        crate::auth::files::ensure_private_dir(&settings.server.data_dir)?;
        // Before anything records: the process-wide metrics recorder.
        crate::metrics::handle();
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
        let notifiers = Registry::from_settings(&settings.notify, clock.clone())
            .context("setting up notification providers")?;
        let verifier = TokenVerifier::new(
            VerifyPolicy {
                issuer: settings.issuer().to_owned(),
                audience: settings.tokens.audience.clone(),
                leeway_secs: settings.tokens.leeway.0.as_secs(),
                max_ttl_secs: settings.tokens.access_ttl.0.as_secs(),
                max_token_bytes: settings.tokens.max_token_bytes,
            },
            settings.tokens.verified_cache,
        );
        let dpop = ProofChecker::new(
            settings.tokens.dpop_proof_window.0.as_secs(),
            settings.tokens.dpop_replay_cache,
        );
        // Shared with other instances, the database announces every commit and followers read
        // from it; alone, the writer relays its own events.
        let feed = Feed::new(4096, !store.is_shared());
        let audit = AuditWriter::spawn(
            store.clone(),
            feed.clone(),
            settings.audit.durability,
            settings.audit.queue,
        );
        // Keys every instance must agree on, derived from the one secret they share.
        let cursor_key = totp.derive_key("feed cursors");
        let nonce_key = totp.derive_key("dpop nonces");
        let state = AppState(Arc::new(Services {
            settings: Arc::new(settings),
            store,
            clock,
            passwords,
            keys: Arc::new(keys),
            totp: Arc::new(totp),
            notifiers: Arc::new(notifiers),
            wakeups: Arc::new(WakeUps::default()),
            verifier: Arc::new(verifier),
            dpop: Arc::new(dpop),
            dpop_nonces: Arc::new(NonceIssuer::with_key(&nonce_key, DPOP_NONCE_PERIOD_SECS)),
            sessions: Arc::new(SessionView::default()),
            resource_servers: Arc::new(ResourceServers::default()),
            audit,
            feed,
            cursors: CursorCodec::with_key(&cursor_key),
            shutting_down: Arc::new(tokio::sync::watch::Sender::new(false)),
        }));
        state.refresh_sessions().await?;
        state.refresh_resource_servers().await?;
        Ok(state)
    }

    /// How long a revocation must be remembered: until every token of the session has expired.
    pub fn revocation_horizon_ms(&self) -> i64 {
        duration_ms(self.settings.tokens.access_ttl.0) + duration_ms(self.settings.tokens.leeway.0)
    }

    /// Reloads the session view from the store (live sessions and recent revocations, added
    /// to what it holds) and forgets what no live token needs.
    pub async fn refresh_sessions(&self) -> anyhow::Result<()> {
        let now = self.clock.now_ms();
        let since = now - self.revocation_horizon_ms();
        let revoked = self.store.revoked_since(since).await?;
        let live = self.store.live_sessions(now).await?;
        self.sessions.insert_revoked(revoked);
        self.sessions.insert_live(live);
        self.prune_sessions();
        Ok(())
    }

    /// What the retention task needs of the state.
    pub fn retention(&self) -> crate::audit::retention::Retention {
        crate::audit::retention::Retention {
            store: self.store.clone(),
            clock: self.clock.clone(),
            keep: self.settings.audit.retention.0,
        }
    }

    /// Forgets expired sessions and revocations whose tokens have all expired (in memory).
    pub fn prune_sessions(&self) {
        let now = self.clock.now_ms();
        self.sessions.prune(now, now - self.revocation_horizon_ms());
        crate::metrics::revoked_sessions(self.sessions.revoked_count());
        crate::metrics::live_sessions(self.sessions.live_count());
    }

    /// Reloads the resource servers from configuration and the store.
    pub async fn refresh_resource_servers(&self) -> anyhow::Result<()> {
        let mut entries: Vec<(String, String)> = self
            .settings
            .resource_servers
            .iter()
            .map(|(name, digest)| {
                let hex = digest.trim_start_matches("sha256:").to_ascii_lowercase();
                (name.clone(), hex)
            })
            .collect();
        for rs in self.store.list_resource_servers().await? {
            entries.push((rs.name, rs.secret_hash));
        }
        self.resource_servers.replace(entries);
        Ok(())
    }
}
