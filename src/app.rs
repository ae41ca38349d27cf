//! The HTTP application: the caller hands in a bound listener and a shutdown future (tests bind
//! `127.0.0.1:0`), so the server is ready to accept the moment `build` returns.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::auth::keys::watch;
use crate::clock::Clock;
use crate::config::Settings;
use crate::state::AppState;

/// A built, not yet running, nod server.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Builds the state and takes the listener.
    pub async fn build(
        settings: Settings,
        clock: Arc<dyn Clock>,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let state = AppState::build(settings, clock).await?;
        Ok(Application { listener, state })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The shared state (tests reach the store, the mock notifier and the clock through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then drains in-flight requests. Background tasks
    /// (the signing-key reload) run while serving and end with it.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let _key_reload = AbortOnDrop(tokio::spawn(watch::reload_every(
            self.state.keys.clone(),
            watch::RELOAD_PERIOD,
        )));
        let router = crate::api::router(self.state);
        axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}

/// Aborts a background task when dropped: when serving ends, and also when the serving future
/// itself is dropped, so no task outlives its server.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
