//! Prometheus metrics: what an operator watches. The `metrics` facade is process-wide by design
//! (like the tracing subscriber), so the recorder is installed once per process and every app in
//! it reports into the same registry; all names and labels are defined here.
//!
//! Series: `nod_http_requests_total{route,status}` and `nod_http_request_duration_seconds{route}`;
//! `nod_approvals_total{outcome}`; `nod_notifications_total{provider,outcome}`;
//! `nod_audit_batch_size`, `nod_audit_commit_seconds`, `nod_audit_events_total`,
//! `nod_audit_failed_batches_total`, `nod_audit_queue_depth`; `nod_revoked_sessions`, `nod_live_sessions`;
//! `nod_change_stream_lost_total` (PostgreSQL: the connection that hears other instances).

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Latency buckets (seconds): sub-millisecond verify up to the 60 s long-poll.
const SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0, 60.0,
];
/// Audit batch sizes.
const BATCH: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

/// The process's Prometheus handle, installing the recorder on first use. `None` if another
/// recorder was installed first (then nod's metrics go there).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let built = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full("nod_audit_batch_size".into()), BATCH)
                });
            match built.map(PrometheusBuilder::install_recorder) {
                Ok(Ok(handle)) => Some(handle),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics buckets rejected");
                    None
                }
            }
        })
        .as_ref()
}

/// The Prometheus text exposition of everything recorded.
pub fn render() -> String {
    handle().map(PrometheusHandle::render).unwrap_or_default()
}

/// Housekeeping the exporter needs now and then (drains histogram buffers).
pub fn upkeep() {
    if let Some(handle) = handle() {
        handle.run_upkeep();
    }
}

/// One answered HTTP request.
pub fn http_request(route: &str, status: u16, took: Duration) {
    let route = route.to_owned();
    counter!("nod_http_requests_total", "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    histogram!("nod_http_request_duration_seconds", "route" => route).record(took.as_secs_f64());
}

/// A phone's decision: `approved`, `denied`, `fraud` or `wrong_code`.
pub fn approval(outcome: &'static str) {
    counter!("nod_approvals_total", "outcome" => outcome).increment(1);
}

/// One delivery attempt: outcome `sent` or `failed`.
pub fn notification(provider: &str, outcome: &'static str) {
    counter!("nod_notifications_total", "provider" => provider.to_owned(), "outcome" => outcome)
        .increment(1);
}

/// One audit batch written (or not).
pub fn audit_batch(size: usize, took: Duration, committed: bool) {
    histogram!("nod_audit_batch_size").record(size as f64);
    histogram!("nod_audit_commit_seconds").record(took.as_secs_f64());
    if committed {
        counter!("nod_audit_events_total").increment(size as u64);
    } else {
        counter!("nod_audit_failed_batches_total").increment(1);
    }
}

/// Events waiting for the audit writer (back-pressure shows here first).
pub fn audit_queue(depth: usize) {
    gauge!("nod_audit_queue_depth").set(depth as f64);
}

/// Revoked sessions in the session view (their tokens may still be alive).
pub fn revoked_sessions(count: usize) {
    gauge!("nod_revoked_sessions").set(count as f64);
}

/// Live sessions in the session view.
pub fn live_sessions(count: usize) {
    gauge!("nod_live_sessions").set(count as f64);
}

/// The connection hearing other instances' changes failed (PostgreSQL outage).
pub fn change_stream_lost() {
    counter!("nod_change_stream_lost_total").increment(1);
}
