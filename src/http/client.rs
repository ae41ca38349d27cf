//! Who is calling: the client's address, believed from `X-Forwarded-For` only as far as trusted
//! proxies vouch for it, and its `User-Agent`. The API and the pages both take it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use crate::config::{ProxyRange, is_trusted};
use crate::error::Error;
use crate::state::AppState;
/// Who is calling: the client IP (believing `X-Forwarded-For` only from trusted proxies) and
/// the `User-Agent`.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub ip: IpAddr,
    pub user_agent: Option<String>,
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let ip = client_ip(peer, &parts.headers, &state.settings.server.trusted_proxies);
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        Ok(ClientInfo { ip, user_agent })
    }
}

/// The client address. Each proxy appends the address it received the request from to
/// `X-Forwarded-For` (several header lines are one list, in order), so the list is read from
/// the right, starting at the socket peer: while the hop we are at is a trusted proxy, the entry
/// it appended names the hop before it. The walk stops at
/// - the first address that is not a trusted proxy: that is the client (everything to its left
///   was written by the client or by proxies we do not know, and may be forged);
/// - an entry that is not an IP address (or a header line that is not text): the trusted hop
///   that passed it on is the last one whose view we can read, so its address is the answer —
///   the entry to the right of the garbage, or the peer itself. Never anything to the left;
/// - the end of the list: the left-most hop, a trusted proxy, is all we know.
///
/// So the result is always an address a trusted proxy (or the socket) vouched for. Addresses
/// come back in canonical form (`::ffff:192.0.2.1` is `192.0.2.1`), so limits keyed by them
/// cannot be dodged by spelling.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[ProxyRange]) -> IpAddr {
    let mut hop = peer.to_canonical();
    if !is_trusted(trusted, hop) {
        return hop;
    }
    let lines: Vec<Option<&str>> = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().ok())
        .collect();
    for line in lines.into_iter().rev() {
        let Some(line) = line else {
            return hop;
        };
        for entry in line.rsplit(',') {
            let Ok(previous) = entry.trim().parse::<IpAddr>() else {
                return hop;
            };
            hop = previous.to_canonical();
            if !is_trusted(trusted, hop) {
                return hop;
            }
        }
    }
    hop
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    /// Headers with one `X-Forwarded-For` line per element of `lines`.
    fn forwarded(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append("x-forwarded-for", HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    fn ranges(list: &[&str]) -> Vec<ProxyRange> {
        list.iter().filter_map(|r| r.parse().ok()).collect()
    }

    /// (peer, X-Forwarded-For lines, trusted, expected client, why)
    type Case<'a> = (&'a str, &'a [&'a str], &'a [ProxyRange], &'a str, &'a str);

    #[test]
    fn the_client_address_is_the_right_most_hop_no_trusted_proxy_vouches_for() {
        let proxies = ranges(&["10.0.0.1", "10.0.0.2"]);
        let cluster = ranges(&["10.0.0.0/8", "fd00::/8"]);
        let cases: &[Case] = &[
            (
                "198.51.100.1",
                &["203.0.113.9"],
                &proxies,
                "198.51.100.1",
                "an untrusted peer is the client",
            ),
            (
                "10.0.0.1",
                &[],
                &proxies,
                "10.0.0.1",
                "a proxy that forwarded nothing",
            ),
            (
                "10.0.0.1",
                &["203.0.113.9"],
                &proxies,
                "203.0.113.9",
                "one proxy",
            ),
            (
                "10.0.0.1",
                &["203.0.113.9, 10.0.0.2"],
                &proxies,
                "203.0.113.9",
                "two proxies",
            ),
            (
                "10.0.0.1",
                &["1.2.3.4, 203.0.113.9"],
                &proxies,
                "203.0.113.9",
                "a forged left entry is not read",
            ),
            (
                "10.0.0.1",
                &["198.51.100.77, x, 203.0.113.9"],
                &proxies,
                "203.0.113.9",
                "garbage left of the client is not read",
            ),
            (
                "10.0.0.1",
                &["198.51.100.77, x, 10.0.0.2"],
                &proxies,
                "10.0.0.2",
                "garbage from a trusted hop: its address",
            ),
            (
                "10.0.0.1",
                &["198.51.100.77, x"],
                &proxies,
                "10.0.0.1",
                "garbage from the peer: the peer",
            ),
            (
                "10.0.0.1",
                &["198.51.100.77,"],
                &proxies,
                "10.0.0.1",
                "an empty entry stops the walk",
            ),
            (
                "10.0.0.1",
                &["198.51.100.77, 203.0.113.9:443"],
                &proxies,
                "10.0.0.1",
                "an address with a port is not an address",
            ),
            (
                "10.0.0.1",
                &["10.0.0.2"],
                &proxies,
                "10.0.0.2",
                "only proxies: the left-most",
            ),
            (
                "10.0.0.1",
                &["1.2.3.4", "203.0.113.9"],
                &proxies,
                "203.0.113.9",
                "a second header line comes last",
            ),
            (
                "10.0.0.1",
                &["203.0.113.9", "10.0.0.2"],
                &proxies,
                "203.0.113.9",
                "lines are one list",
            ),
            (
                "10.0.0.1",
                &["203.0.113.9", "x"],
                &proxies,
                "10.0.0.1",
                "a garbled last line stops the walk",
            ),
            (
                "10.9.8.7",
                &["203.0.113.9, 10.1.2.3"],
                &cluster,
                "203.0.113.9",
                "ranges",
            ),
            (
                "fd00::5",
                &["2001:db8::7, fd00::9"],
                &cluster,
                "2001:db8::7",
                "IPv6 ranges",
            ),
            (
                "::ffff:10.0.0.1",
                &["::ffff:203.0.113.9"],
                &proxies,
                "203.0.113.9",
                "mapped addresses are IPv4",
            ),
            (
                "10.0.0.1",
                &[" 203.0.113.9 ,10.0.0.2 "],
                &proxies,
                "203.0.113.9",
                "spaces around entries",
            ),
        ];
        for (peer, lines, trusted, expected, why) in cases {
            let got = client_ip(ip(peer), &forwarded(lines), trusted);
            assert_eq!(got, ip(expected), "{why}: {peer} {lines:?}");
        }
    }

    #[test]
    fn a_forwarded_line_that_is_not_text_stops_the_walk() {
        let mut headers = forwarded(&["1.2.3.4"]);
        let raw = HeaderValue::from_bytes(b"1.2.3.4, \xff").unwrap();
        assert!(raw.to_str().is_err());
        headers.append("x-forwarded-for", raw);
        let got = client_ip(ip("10.0.0.1"), &headers, &ranges(&["10.0.0.1"]));
        assert_eq!(got, ip("10.0.0.1"));
    }
}
