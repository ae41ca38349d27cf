//! The background task that keeps a running server's keys in step with `data_dir/keys`: a key
//! written by `nod keys rotate` signs within one check period, and retired keys leave the JWKS.
//!
//! Looking is cheap, reloading is not: every `CHECK_PERIOD` the task lists the directory (names,
//! sizes, modification times — no file is opened) and reloads only when that listing changed,
//! or when `RELOAD_PERIOD` has passed (keys also retire with time, not only with files).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::MissedTickBehavior;

use super::KeyRing;

/// How often a running server looks at its key directory's listing.
pub const CHECK_PERIOD: Duration = Duration::from_millis(250);

/// How often it reloads the keys even when the listing did not change.
pub const RELOAD_PERIOD: Duration = Duration::from_secs(2);

/// What the directory holds, as cheaply as it can be read: (name, size, modified), sorted.
/// `None` when it cannot be listed (then a reload reports why).
type Listing = Option<Vec<(std::ffi::OsString, u64, Option<SystemTime>)>>;

fn listing(dir: &Path) -> Listing {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).ok()? {
        let entry = entry.ok()?;
        let meta = entry.metadata().ok()?;
        files.push((entry.file_name(), meta.len(), meta.modified().ok()));
    }
    files.sort();
    Some(files)
}

/// Looks at `ring`'s directory every `check` and reloads it when the listing changed or
/// `reload` has passed, forever (the caller aborts it at shutdown). Logs the new signing `kid`
/// when it changes; a failing reload keeps the loaded keys and is logged once until it
/// succeeds again, not every period.
pub async fn reload_every(ring: Arc<KeyRing>, check: Duration, reload: Duration) {
    let mut ticker = tokio::time::interval(check);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // The first tick is immediate, and the ring was just loaded.
    ticker.tick().await;
    let dir = ring.dir().to_owned();
    // Nothing seen yet: the first check reloads, so a key written between the ring's load and
    // this task's start is not left to the periodic reload.
    let mut seen: Listing = None;
    let mut reloaded_at = tokio::time::Instant::now();
    let mut failing = false;
    loop {
        ticker.tick().await;
        let looked = {
            let dir = dir.clone();
            // Listing a directory is blocking work too, if small: off the async workers.
            tokio::task::spawn_blocking(move || listing(&dir))
                .await
                .ok()
                .flatten()
        };
        let due = reloaded_at.elapsed() >= reload;
        if looked.is_some() && looked == seen && !due {
            continue;
        }
        let before = signing_kid(&ring);
        let reloading = Arc::clone(&ring);
        // Reading and parsing key files is blocking work: keep it off the async workers.
        let outcome = tokio::task::spawn_blocking(move || reloading.reload()).await;
        reloaded_at = tokio::time::Instant::now();
        // The listing from before the reload: a file still being written when it was taken
        // (or one the reload retired) differs from the next listing, which reloads again.
        seen = looked;
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
                    "reloading signing keys failed; keeping the loaded keys"
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
        // A full reload only every hour: the rotated key must be found by the listing.
        let task = tokio::spawn(reload_every(
            Arc::clone(&ring),
            Duration::from_millis(10),
            Duration::from_secs(3600),
        ));
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
