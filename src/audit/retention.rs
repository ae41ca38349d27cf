//! Retention: events older than `audit.retention` are deleted in the background, in small
//! batches, so the writer and readers never wait long behind a big delete.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, duration_ms};
use crate::store::Store;

/// Rows deleted per statement.
const BATCH: u32 = 1000;

/// What pruning needs: the store, the time, and how long events are kept.
#[derive(Clone)]
pub struct Retention {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub keep: Duration,
}

/// Deletes everything older than the retention period; returns how many events went.
pub async fn prune_once(retention: &Retention) -> anyhow::Result<u64> {
    let cutoff = retention.clock.now_ms() - duration_ms(retention.keep);
    let mut total = 0;
    loop {
        let deleted = retention.store.prune_audit(cutoff, BATCH).await?;
        total += deleted;
        if deleted < u64::from(BATCH) {
            return Ok(total);
        }
        // Let other writers in between batches.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Prunes at start and then every `every`, until the task is dropped.
pub async fn run(retention: Retention, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match prune_once(&retention).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(events = n, "pruned audit events past retention"),
            Err(e) => tracing::warn!(error = %e, "audit retention failed; will retry"),
        }
    }
}
