//! The background task that keeps a running server's keys in step with `data_dir/keys`: a key
//! written by `nod keys rotate` signs within one period, and retired keys leave the JWKS.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::MissedTickBehavior;

use super::KeyRing;

/// How often a running server looks at its key directory.
pub const RELOAD_PERIOD: Duration = Duration::from_secs(2);

/// Reloads `ring` every `period`, forever (the caller aborts it at shutdown). Logs the new
/// signing `kid` when it changes; a failing reload keeps the loaded keys and is logged once
/// until it succeeds again, not every period.
pub async fn reload_every(ring: Arc<KeyRing>, period: Duration) {
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // The first tick is immediate, and the ring was just loaded.
    ticker.tick().await;
    let mut failing = false;
    loop {
        ticker.tick().await;
        let before = signing_kid(&ring);
        let reloading = Arc::clone(&ring);
        // Reading and parsing key files is blocking work: keep it off the async workers.
        let outcome = tokio::task::spawn_blocking(move || reloading.reload()).await;
        match outcome {
            Ok(Ok(changed)) => {
                if failing {
                    tracing::info!("signing keys reload again");
                    failing = false;
                }
                let after = signing_kid(&ring);
                if changed && after != before {
                    tracing::info!(kid = after.as_deref().unwrap_or("none"), "new signing key");
                } else if changed {
                    tracing::info!("verifying keys changed");
                }
            }
            Ok(Err(e)) if !failing => {
                tracing::warn!(
                    error = format!("{e:#}"),
                    "reloading signing keys failed; keeping the loaded ones"
                );
                failing = true;
            }
            Ok(Err(_)) => {}
            Err(e) => tracing::warn!(error = %e, "the key reload task failed"),
        }
    }
}

fn signing_kid(ring: &KeyRing) -> Option<String> {
    ring.snapshot().current().map(|k| k.kid.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keys::{KeyConfig, rotate};
    use crate::clock::{Clock, TestClock};
    use crate::config::SigningAlgorithm;

    #[tokio::test]
    async fn the_task_picks_up_a_rotated_key_and_stops_when_aborted() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let clock = Arc::new(TestClock::starting_now());
        let config = KeyConfig::new(SigningAlgorithm::ES256, Duration::from_secs(300));
        let ring = Arc::new(KeyRing::load_or_generate(
            dir.path(),
            config.clone(),
            clock.clone(),
        )?);
        let task = tokio::spawn(reload_every(Arc::clone(&ring), Duration::from_millis(10)));
        let rotated = rotate(dir.path(), &config, clock.now_ms())?;
        // Waits for the task, not for a fixed time: done as soon as the key is picked up.
        let picked_up = tokio::time::timeout(Duration::from_secs(5), async {
            while signing_kid(&ring).as_deref() != Some(rotated.kid.as_str()) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(picked_up.is_ok(), "the rotated key was not picked up");
        task.abort();
        assert!(task.await.is_err_and(|e| e.is_cancelled()));
        Ok(())
    }
}
