//! The HTTP application: the caller hands in a bound listener and a shutdown future (tests bind
//! `127.0.0.1:0`), so the server is ready to accept the moment `build` returns.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum_server::tls_rustls::RustlsConfig;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::auth::keys::watch;
use crate::clock::Clock;
use crate::config::Settings;
use crate::state::AppState;
use crate::store::ChangeStream;

/// A built, not yet running, nod server.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    /// What other instances sharing the database commit (PostgreSQL).
    changes: Option<Box<dyn ChangeStream>>,
    /// Present when `server.tls` is configured: serve HTTPS.
    tls: Option<RustlsConfig>,
    /// `/metrics` on a listener of its own (`server.metrics.bind`).
    metrics: Option<TcpListener>,
}

impl Application {
    /// Builds the state and takes the listener.
    pub async fn build(
        settings: Settings,
        clock: Arc<dyn Clock>,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let tls = match settings.server.tls.files() {
            Some((cert, key)) => Some(
                RustlsConfig::from_pem_file(cert, key)
                    .await
                    .with_context(|| format!("server.tls: cannot load {cert} and {key}"))?,
            ),
            None => None,
        };
        let metrics = match settings.server.metrics.bind {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("server.metrics.bind: cannot listen on {addr}"))?,
            ),
            None => None,
        };
        let state = AppState::build(settings, clock).await?;
        // Listening before the first request is served, then reloading what was read before
        // listening began: from here on no other instance's revocation is missed.
        let changes = state
            .store
            .changes()
            .await
            .context("listening for other instances' changes")?;
        if changes.is_some() {
            state.refresh_sessions().await?;
        }
        Ok(Application {
            listener,
            state,
            changes,
            tls,
            metrics,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The address of the `/metrics` listener, when it has its own (`server.metrics.bind`).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Whether it serves HTTPS itself.
    pub fn serves_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The shared state (tests reach the store, the mock notifier and the clock through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then drains in-flight requests, stops the background
    /// tasks and flushes the audit writer.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let state = self.state;
        let mut background = spawn_background(&state);
        if let Some(changes) = self.changes {
            background.spawn(crate::cluster::follow(state.clone(), changes));
        }
        if let Some(listener) = self.metrics {
            let metrics = crate::routes::metrics_router(state.clone());
            background.spawn(async move {
                if let Err(e) = axum::serve(listener, metrics).await {
                    tracing::error!(error = %e, "the /metrics listener failed");
                }
            });
        }
        let router = crate::routes::router(state.clone());
        // Tell long-lived responses (feed streams) first: graceful shutdown waits for them.
        let stopping = state.shutting_down.clone();
        let shutdown = async move {
            shutdown.await;
            stopping.send_replace(true);
        };
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        // Once shutdown starts, draining gets `server.shutdown_timeout`; then the connections
        // still open are dropped — but the audit writer is flushed either way.
        let deadline = {
            let mut flag = state.shutting_down.subscribe();
            let limit = state.settings.server.shutdown_timeout.0;
            async move {
                let _ = flag.wait_for(|stopping| *stopping).await;
                tokio::time::sleep(limit).await;
            }
        };
        let serving = async move {
            match self.tls {
                None => {
                    axum::serve(self.listener, service)
                        .with_graceful_shutdown(shutdown)
                        .await
                }
                Some(tls) => {
                    let handle = axum_server::Handle::new();
                    let stopper = handle.clone();
                    tokio::spawn(async move {
                        shutdown.await;
                        stopper.graceful_shutdown(None);
                    });
                    match axum_server::from_tcp_rustls(self.listener.into_std()?, tls) {
                        Ok(server) => server.handle(handle).serve(service).await,
                        Err(e) => Err(e),
                    }
                }
            }
        };
        let served = tokio::select! {
            served = serving => served,
            () = deadline => {
                tracing::warn!("shutdown timeout reached: closing the connections still open");
                Ok(())
            }
        };
        background.shutdown().await;
        state.audit.close().await;
        served
    }
}

/// Housekeeping that runs beside the server: none of it is needed for correctness of a single
/// request, all of it keeps the in-memory views small and current. The set aborts its tasks
/// when dropped, so none outlives its server even if the serving future itself is dropped.
fn spawn_background(state: &AppState) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    let s = state.clone();
    tasks.spawn(every(Duration::from_secs(5), move || {
        crate::metrics::upkeep();
        crate::metrics::audit_queue(s.audit.queued());
        s.prune_sessions();
        std::future::ready(())
    }));
    // `nod keys rotate` reaches a running server through this watch.
    tasks.spawn(watch::reload_every(
        state.keys.clone(),
        watch::CHECK_PERIOD,
        watch::RELOAD_PERIOD,
    ));
    // What another process (the CLI) commits to an embedded database — revocations, resource
    // servers — reaches this server within a fraction of a second; its own changes take effect
    // at once, and a shared database announces changes through `cluster::follow` instead.
    tasks.spawn(crate::cluster::watch_version(
        state.clone(),
        crate::cluster::VERSION_CHECK_PERIOD,
    ));
    tasks.spawn(crate::audit::retention::run(
        state.retention(),
        Duration::from_secs(3600),
    ));
    // Attempt counters whose window and block are both over: without this every name ever
    // typed at the login would keep its row.
    let s = state.clone();
    tasks.spawn(every(Duration::from_secs(3600), move || {
        let s = s.clone();
        async move {
            match crate::flows::limits::forget_expired(&s).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(counters = n, "forgot expired attempt counters"),
                Err(e) => tracing::warn!(error = %e, "could not forget expired attempt counters"),
            }
        }
    }));
    tasks
}

/// Runs `job` every `period` (the first time after one period).
async fn every<F, Fut>(period: Duration, job: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tick.tick().await;
        job().await;
    }
}
