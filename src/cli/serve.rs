//! `nod serve`: bind, build, serve until Ctrl-C or SIGTERM.

use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::app::Application;
use crate::clock::SystemClock;
use crate::config::Settings;

/// Runs the server with real time until a shutdown signal.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let bind = settings.server.bind;
    let listener = TcpListener::bind(bind)
        .await
        .with_context(|| format!("server.bind: cannot listen on {bind}"))?;
    let database = crate::store::redact_url(settings.database.url.expose());
    let data_dir = settings.server.data_dir.clone();
    let app = Application::build(settings, Arc::new(SystemClock), listener).await?;
    let addr = app.local_addr()?;
    let state = app.state();
    let kid = state
        .keys
        .snapshot()
        .current()
        .map(|k| k.kid.clone())
        .unwrap_or_default();
    tracing::info!(%database, data_dir = %data_dir.display(), signing_kid = %kid, "storage ready");
    if app.serves_tls() {
        tracing::info!(
            "nod listening on https://{addr} (TLS 1.2/1.3), public URL {}",
            state.settings.server.public_url.as_str()
        );
    } else {
        tracing::info!(
            "nod listening on http://{addr} (plain HTTP: put a TLS-terminating proxy in front), public URL {}",
            state.settings.server.public_url.as_str()
        );
    }
    app.run_until(shutdown_signal()).await?;
    tracing::info!("nod stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested: draining in-flight requests");
}
