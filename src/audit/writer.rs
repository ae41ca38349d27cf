//! The audit writer: one task owns the channel, takes whatever is queued (`recv_many`), writes
//! it as one transaction with multi-row statements, then acknowledges each caller. Batches form
//! by themselves under load; at low load a batch is one event and latency is one commit.
//!
//! In `commit` durability a handler awaits the acknowledgement before answering, so a use
//! answered 200 is on disk. In `async` durability it does not wait. On shutdown the writer
//! drains what is queued before it exits.

use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::{Feed, FeedItem};
use crate::config::Durability;
use crate::store::{AuditEvent, Store};

/// Most events taken into one batch.
const MAX_BATCH: usize = 1024;

struct Job {
    event: AuditEvent,
    ack: Option<oneshot::Sender<bool>>,
}

/// Why an event was not recorded; a request that needed it answers 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotRecorded {
    #[error("the audit writer has stopped")]
    WriterStopped,
    #[error("the audit record could not be written")]
    NotCommitted,
}

/// The handle requests use to record events.
#[derive(Clone)]
pub struct AuditWriter {
    jobs: mpsc::Sender<Job>,
    durability: Durability,
    stop: Arc<watch::Sender<bool>>,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl AuditWriter {
    /// Starts the writer task. `queue` bounds the channel: when full, callers wait.
    pub fn spawn(store: Arc<dyn Store>, feed: Feed, durability: Durability, queue: usize) -> Self {
        let (jobs, receiver) = mpsc::channel(queue.max(1));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(store, feed, receiver, stopped));
        AuditWriter {
            jobs,
            durability,
            stop: Arc::new(stop),
            task: Arc::new(Mutex::new(Some(task))),
        }
    }

    /// Records an event with the configured durability: in `commit` mode, returns once it is
    /// committed; an error means it was not, and the request must not answer success.
    pub async fn record(&self, event: AuditEvent) -> Result<(), NotRecorded> {
        match self.durability {
            Durability::Commit => self.record_durably(event).await,
            Durability::Async => self.enqueue(event).await,
        }
    }

    /// Records an event and waits for its commit, whatever the configured durability.
    pub async fn record_durably(&self, event: AuditEvent) -> Result<(), NotRecorded> {
        let (ack, committed) = oneshot::channel();
        self.jobs
            .send(Job {
                event,
                ack: Some(ack),
            })
            .await
            .map_err(|_| NotRecorded::WriterStopped)?;
        match committed.await {
            Ok(true) => Ok(()),
            _ => Err(NotRecorded::NotCommitted),
        }
    }

    /// Queues an event without waiting for its commit (background events: notifications,
    /// refused tokens).
    pub async fn enqueue(&self, event: AuditEvent) -> Result<(), NotRecorded> {
        self.jobs
            .send(Job { event, ack: None })
            .await
            .map_err(|_| NotRecorded::WriterStopped)
    }

    /// Stops taking events, writes everything queued, and returns when the writer has ended.
    pub async fn close(&self) {
        let _ = self.stop.send(true);
        let task = self.task.lock().await.take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// Events waiting for the writer (back-pressure shows here first).
    pub fn queued(&self) -> usize {
        self.jobs.max_capacity() - self.jobs.capacity()
    }
}

async fn run(
    store: Arc<dyn Store>,
    feed: Feed,
    mut receiver: mpsc::Receiver<Job>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    loop {
        tokio::select! {
            biased;
            received = receiver.recv_many(&mut batch, MAX_BATCH) => {
                if received == 0 {
                    break; // every sender is gone
                }
                if received > 1 {
                    // Under load, give the handlers already running one turn to enqueue their
                    // events too: bigger batches, fewer commits (each commit rewrites whole
                    // pages), and no timer, so a lone event at low load is never delayed.
                    tokio::task::yield_now().await;
                    while batch.len() < MAX_BATCH {
                        match receiver.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                }
                write(&*store, &feed, &mut batch).await;
            }
            _ = stopped.changed() => {
                // Refuse new work, then write everything already queued.
                receiver.close();
                while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
                    write(&*store, &feed, &mut batch).await;
                }
                break;
            }
        }
    }
    tracing::debug!("audit writer stopped");
}

/// Writes one batch, then acknowledges every job. A failed batch is not retried here: SQLite
/// already waited out a busy writer lock (`busy_timeout`), so a failure is an outage; callers
/// in `commit` durability then answer 503 and nothing was claimed that is not on disk.
async fn write(store: &dyn Store, feed: &Feed, batch: &mut Vec<Job>) {
    let mut events = Vec::with_capacity(batch.len());
    let mut acks = Vec::with_capacity(batch.len());
    for job in batch.drain(..) {
        events.push(job.event);
        acks.push(job.ack);
    }
    // Copies only when a stream is listening; otherwise the strings move into the statement.
    let watched = feed.wants_events().then(|| events.clone());
    let count = events.len();
    let started = std::time::Instant::now();
    let outcome = store.append_audit(events).await;
    crate::metrics::audit_batch(count, started.elapsed(), outcome.is_ok());
    let committed = match outcome {
        Ok(ids) => {
            for (mut event, id) in watched.into_iter().flatten().zip(ids) {
                event.id = id;
                feed.publish(FeedItem::Event(Arc::new(event)));
            }
            true
        }
        Err(e) => {
            tracing::error!(error = %e, events = count, "audit batch could not be written");
            false
        }
    };
    for ack in acks.into_iter().flatten() {
        let _ = ack.send(committed);
    }
}
