//! The one rule for addresses a user or a phone chose (a webhook URL; later a Web Push endpoint):
//! nod may not be made to call into its own network. Such an address may not be, or resolve to,
//! loopback, private (RFC 1918), shared (CGNAT), link-local (cloud metadata at 169.254.169.254),
//! unique-local, multicast, unspecified, documentation or otherwise reserved space — nor an IPv6
//! address carrying one of those IPv4 addresses — unless `notify.allow_private_addresses = true`.
//! Otherwise a user could use nod as a blind port scanner of the inside, reading the answers'
//! kinds off their feed.
//!
//! The rule is applied twice: when the address is given (a clear 400 at pairing), and on the
//! addresses the name resolves to at each send, by the guarded HTTP client's resolver — the
//! connection goes only to addresses that were checked, so a name that resolved to a public
//! address at pairing and to 127.0.0.1 later (DNS rebinding) is refused. Addresses the operator
//! configured (ntfy, Twilio, FCM base URLs) are trusted and do not pass through here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// IPv4 ranges a user-chosen address may not reach: (network, prefix length, what it is).
const V4_REFUSED: &[([u8; 4], u8, &str)] = &[
    ([0, 0, 0, 0], 8, "\"this network\" (0.0.0.0/8)"),
    ([10, 0, 0, 0], 8, "private (10.0.0.0/8)"),
    ([100, 64, 0, 0], 10, "shared / CGNAT (100.64.0.0/10)"),
    ([127, 0, 0, 0], 8, "loopback (127.0.0.0/8)"),
    ([169, 254, 0, 0], 16, "link-local (169.254.0.0/16)"),
    ([172, 16, 0, 0], 12, "private (172.16.0.0/12)"),
    (
        [192, 0, 0, 0],
        24,
        "IETF protocol assignments (192.0.0.0/24)",
    ),
    ([192, 0, 2, 0], 24, "documentation (192.0.2.0/24)"),
    ([192, 88, 99, 0], 24, "6to4 relay anycast (192.88.99.0/24)"),
    ([192, 168, 0, 0], 16, "private (192.168.0.0/16)"),
    ([198, 18, 0, 0], 15, "benchmarking (198.18.0.0/15)"),
    ([198, 51, 100, 0], 24, "documentation (198.51.100.0/24)"),
    ([203, 0, 113, 0], 24, "documentation (203.0.113.0/24)"),
    ([224, 0, 0, 0], 4, "multicast (224.0.0.0/4)"),
    ([240, 0, 0, 0], 4, "reserved or broadcast (240.0.0.0/4)"),
];

/// IPv6 ranges a user-chosen address may not reach. IPv4-mapped, NAT64 and 6to4 addresses are
/// judged by the IPv4 address they carry (see [`embedded_v4`]) before this table.
const V6_REFUSED: &[([u16; 8], u8, &str)] = &[
    ([0, 0, 0, 0, 0, 0, 0, 0], 128, "unspecified (::)"),
    ([0, 0, 0, 0, 0, 0, 0, 1], 128, "loopback (::1)"),
    ([0, 0, 0, 0, 0, 0, 0, 0], 96, "IPv4-compatible (::/96)"),
    (
        [0x64, 0xff9b, 1, 0, 0, 0, 0, 0],
        48,
        "local-use NAT64 (64:ff9b:1::/48)",
    ),
    ([0x100, 0, 0, 0, 0, 0, 0, 0], 64, "discard-only (100::/64)"),
    (
        [0x2001, 0, 0, 0, 0, 0, 0, 0],
        23,
        "IETF protocol assignments (2001::/23)",
    ),
    (
        [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0],
        32,
        "documentation (2001:db8::/32)",
    ),
    (
        [0x3fff, 0, 0, 0, 0, 0, 0, 0],
        20,
        "documentation (3fff::/20)",
    ),
    ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, "unique-local (fc00::/7)"),
    ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, "link-local (fe80::/10)"),
    ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, "site-local (fec0::/10)"),
    ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "multicast (ff00::/8)"),
];

/// Why `ip` may not be reached through a user-chosen address, or `None` when it may.
pub fn refusal(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_refusal(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => v4_refusal(v4),
            None => V6_REFUSED
                .iter()
                .find(|(net, prefix, _)| in_v6(v6, Ipv6Addr::from(*net), *prefix))
                .map(|(_, _, what)| *what),
        },
    }
}

fn v4_refusal(ip: Ipv4Addr) -> Option<&'static str> {
    V4_REFUSED
        .iter()
        .find(|(net, prefix, _)| in_v4(ip, Ipv4Addr::from(*net), *prefix))
        .map(|(_, _, what)| *what)
}

/// The IPv4 address an IPv6 address stands for, where a router or the kernel would turn it
/// into that IPv4 address: IPv4-mapped (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) and 6to4
/// (`2002:AABB:CCDD::/48`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let bits = u128::from(ip);
    if in_v6(ip, Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96) {
        return Some(Ipv4Addr::from((bits & 0xffff_ffff) as u32));
    }
    if in_v6(ip, Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16) {
        return Some(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32));
    }
    None
}

fn in_v4(ip: Ipv4Addr, net: Ipv4Addr, prefix: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(net) & mask
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, prefix: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

/// A user-chosen address that leads somewhere it may not.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "the address {ip} is {what}, which addresses given at pairing may not reach \
     (notify.allow_private_addresses)"
)]
pub struct AddressRefused {
    ip: IpAddr,
    what: &'static str,
}

/// Applies the rule, or lets everything through with `notify.allow_private_addresses = true`.
#[derive(Debug, Clone, Copy)]
pub struct AddressGuard {
    allow_private: bool,
}

impl AddressGuard {
    /// A guard; with `allow_private_addresses` it allows every address (tests, intranets).
    pub fn new(allow_private_addresses: bool) -> Self {
        AddressGuard {
            allow_private: allow_private_addresses,
        }
    }

    /// Whether every address is allowed (no checks, no DNS lookups).
    pub fn allows_everything(&self) -> bool {
        self.allow_private
    }

    /// Refuses `ip` when the rule says so.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), AddressRefused> {
        match refusal(ip) {
            Some(what) if !self.allow_private => Err(AddressRefused { ip, what }),
            _ => Ok(()),
        }
    }

    /// The send-time check of a URL whose host is an IP address (such hosts are not resolved,
    /// so the resolver never sees them); a name is checked by [`GuardedResolver`] instead.
    pub fn check_literal(&self, url: &url::Url) -> Result<(), AddressRefused> {
        match url.host() {
            Some(url::Host::Ipv4(v4)) => self.check_ip(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => self.check_ip(IpAddr::V6(v6)),
            _ => Ok(()),
        }
    }

    /// The pairing-time check of a URL: its host, or every address its name resolves to now,
    /// must be allowed. The message says what is wrong, for the person pairing.
    pub async fn check_url(&self, address: &str) -> Result<(), String> {
        if self.allow_private {
            return Ok(());
        }
        let url = url::Url::parse(address).map_err(|_| "the address is not a URL".to_owned())?;
        let (host, port) = match (url.host(), url.port_or_known_default()) {
            (Some(url::Host::Domain(name)), Some(port)) => (name.to_owned(), port),
            (Some(_), _) => return self.check_literal(&url).map_err(|e| e.to_string()),
            (None, _) => return Err("the address has no host".into()),
        };
        let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| format!("the host `{host}` does not resolve"))?
            .collect();
        if resolved.is_empty() {
            return Err(format!("the host `{host}` does not resolve"));
        }
        for addr in resolved {
            self.check_ip(addr.ip())
                .map_err(|e| format!("the host `{host}` resolves to a refused address: {e}"))?;
        }
        Ok(())
    }
}

/// A DNS resolver for the HTTP client that calls user-chosen addresses: it resolves with the
/// system resolver and refuses a name when any of its addresses is refused, so the client
/// connects only to checked addresses.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver(pub AddressGuard);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.0;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            // Every address, not just the first: the connector may try any of them.
            for addr in &addrs {
                guard.check_ip(addr.ip())?;
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Whether `error` (from a send through the guarded client) is, somewhere in its chain, an
/// address the guard refused.
pub fn refused_in<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a AddressRefused> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(refused) = e.downcast_ref::<AddressRefused>() {
            return Some(refused);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_inside_are_refused_and_public_ones_allowed() {
        let refused = [
            "0.0.0.0",
            "10.1.2.3",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.255.255",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.251",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2002:c0a8:101::1",
            "2001:db8::1",
            "2001::1",
            "3fff::1",
            "100::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
        ];
        for ip in refused {
            let parsed: IpAddr = ip.parse().unwrap();
            assert!(refusal(parsed).is_some(), "{ip} should be refused");
        }
        let allowed = [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.215.14",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.3.1",
            "192.169.0.1",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ];
        for ip in allowed {
            let parsed: IpAddr = ip.parse().unwrap();
            assert_eq!(refusal(parsed), None, "{ip} should be allowed");
        }
    }

    #[test]
    fn the_refusal_names_the_range() {
        assert_eq!(
            refusal("169.254.169.254".parse().unwrap()),
            Some("link-local (169.254.0.0/16)")
        );
        assert_eq!(
            refusal("::ffff:127.0.0.1".parse().unwrap()),
            Some("loopback (127.0.0.0/8)")
        );
    }

    #[test]
    fn allowing_private_addresses_lets_everything_through() {
        let open = AddressGuard::new(true);
        let closed = AddressGuard::new(false);
        let metadata: IpAddr = "169.254.169.254".parse().unwrap();
        assert!(open.check_ip(metadata).is_ok());
        assert!(closed.check_ip(metadata).is_err());
    }

    #[test]
    fn ip_literal_urls_are_judged_by_their_host_whatever_its_spelling() {
        let guard = AddressGuard::new(false);
        for url in [
            "http://169.254.169.254/latest/meta-data",
            "http://[::ffff:7f00:1]:8080/",
            "http://0x7f.1/",
            "http://2130706433/",
            "http://[fd00::1]/hook",
        ] {
            let parsed = url::Url::parse(url).unwrap();
            assert!(guard.check_literal(&parsed).is_err(), "{url}");
        }
        let public = url::Url::parse("https://203.0.114.1/hook").unwrap();
        assert!(guard.check_literal(&public).is_ok());
    }

    #[tokio::test]
    async fn at_pairing_a_name_that_resolves_inside_is_refused() {
        let guard = AddressGuard::new(false);
        let refused = guard.check_url("http://localhost:8080/hook").await;
        assert!(
            refused.as_ref().is_err_and(|e| e.contains("loopback")),
            "{refused:?}"
        );
        assert!(
            guard
                .check_url("http://169.254.169.254/latest/meta-data")
                .await
                .is_err()
        );
        assert!(
            AddressGuard::new(true)
                .check_url("http://localhost/hook")
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_with_any_address_inside() {
        let resolver = GuardedResolver(AddressGuard::new(false));
        let name: Name = "localhost".parse().unwrap();
        let error = resolver.resolve(name).await.err().unwrap();
        assert!(refused_in(error.as_ref()).is_some(), "{error}");
    }
}
