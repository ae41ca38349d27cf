//! What every HTTP provider shares: one `reqwest::Client` (rustls, timeouts) and the rules that
//! turn a transport error or an HTTP status into a [`NotifyError`] without echoing URLs, tokens
//! or other secrets.

use std::time::Duration;

use reqwest::StatusCode;

use super::NotifyError;
use super::address_guard::{AddressGuard, GuardedResolver, refused_in};

/// Builds the one client every provider uses: rustls, HTTP/2 when offered, and a whole-request
/// timeout equal to the registry's per-call timeout.
pub fn client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .user_agent(concat!("nod/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        .build()?)
}

/// The client for addresses users chose (webhooks): like [`client`], but it follows no
/// redirect (a redirect is another address, unchecked), and unless the guard allows everything
/// it connects only to addresses its resolver checked, and never through a proxy (which would
/// resolve and connect on its own).
pub fn guarded_client(timeout: Duration, guard: AddressGuard) -> anyhow::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .user_agent(concat!("nod/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none());
    let builder = if guard.allows_everything() {
        builder
    } else {
        builder.no_proxy().dns_resolver(GuardedResolver(guard))
    };
    Ok(builder.build()?)
}

/// A transport failure: always temporary. `reqwest::Error`'s `Display` includes the URL (which
/// may carry a secret, e.g. a webhook URL with a token in it), so only its kind is reported.
pub fn transport_error(provider: &str, e: &reqwest::Error) -> NotifyError {
    // Refused by the address guard: retrying will not help, and the feed says why.
    if let Some(refused) = refused_in(e) {
        return NotifyError::Permanent(format!("{provider}: {refused}"));
    }
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "sent an unreadable answer"
    } else {
        "request failed"
    };
    NotifyError::Temporary(format!("{provider}: {what}"))
}

/// A non-success HTTP answer: 5xx and 429 are temporary (worth a retry), every other status is
/// permanent. `detail` is a short, secret-free code taken from the answer (or empty).
pub fn status_error(provider: &str, status: StatusCode, detail: &str) -> NotifyError {
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    };
    let text = format!("{provider} answered HTTP {}{detail}", status.as_u16());
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        NotifyError::Temporary(text)
    } else {
        NotifyError::Permanent(text)
    }
}

/// Keeps only printable ASCII (HTTP header values and GSM-7 SMS text), replacing the rest.
pub fn ascii(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_and_throttling_are_temporary_other_client_errors_are_not() {
        let temporary = |s: u16| {
            matches!(
                status_error("p", StatusCode::from_u16(s).unwrap_or_default(), ""),
                NotifyError::Temporary(_)
            )
        };
        assert!(temporary(500) && temporary(503) && temporary(429));
        assert!(!temporary(400) && !temporary(401) && !temporary(404));
    }

    #[test]
    fn ascii_replaces_what_headers_cannot_carry() {
        assert_eq!(ascii("Zoë's\nphone"), "Zo?'s?phone");
    }
}
