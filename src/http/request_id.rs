//! Request ids: every request gets an `x-request-id` (kept when it arrives with one, e.g. from a proxy),
//! echoed in the response and recorded on the request's log span, so every log line of one
//! request can be found together. Ids are a per-process random prefix plus a counter: unique,
//! and cheap on the hot path (no RNG call per request).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

/// The header carrying the id.
pub const HEADER: &str = "x-request-id";

/// Makes `<prefix>-<counter>` ids.
#[derive(Clone)]
pub struct Counter {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl Counter {
    /// A counter with a fresh random prefix.
    pub fn new() -> Self {
        let prefix = crate::auth::secrets::random_bytes::<4>()
            .map(|b| crate::auth::secrets::hex(&b))
            .unwrap_or_else(|_| format!("{:08x}", std::process::id()));
        Counter {
            prefix: Arc::from(prefix),
            next: Arc::new(AtomicU64::new(1)),
        }
    }
}

impl Default for Counter {
    fn default() -> Self {
        Self::new()
    }
}

impl MakeRequestId for Counter {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n:x}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}
