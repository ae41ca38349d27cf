//! `server.trusted_proxies`: the peers whose `X-Forwarded-For` is believed, as single addresses
//! (`127.0.0.1`, `::1`) or CIDR ranges (`10.0.0.0/8`, `fd00::/8`) — load balancers and
//! Kubernetes hand out ranges, not addresses.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// One trusted address or range, parsed at load time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyRange {
    /// The network address (host bits all zero).
    network: IpAddr,
    /// Leading bits that must match: 32 or 128 for a single address.
    prefix: u8,
}

impl ProxyRange {
    /// Parses `ADDRESS` or `NETWORK/PREFIX`. A range with host bits set (`10.0.0.1/8`) is
    /// refused rather than silently widened or narrowed: it is almost always a typo.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address.parse().map_err(|_| {
            format!("`{text}` is not an IP address or a CIDR range like \"10.0.0.0/8\"")
        })?;
        let address = address.to_canonical();
        let width = bits(&address);
        let prefix = match prefix {
            None => width,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(|| format!("`{text}`: the prefix length must be 0 to {width}"))?,
        };
        let range = ProxyRange {
            network: address,
            prefix,
        };
        if range.mask(address) != address {
            return Err(format!(
                "`{text}` has bits set after the /{prefix}: write the network, \"{}/{prefix}\"",
                range.mask(address)
            ));
        }
        Ok(range)
    }

    /// Whether `ip` lies in this range (an IPv4-mapped IPv6 address counts as its IPv4 form).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.network.is_ipv4() && self.mask(ip) == self.network
    }

    /// `ip` with every bit after the prefix cleared (same family as `ip`).
    fn mask(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => {
                let keep = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::from((u32::from(v4) & keep).to_be_bytes())
            }
            IpAddr::V6(v6) => {
                let keep = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::from((u128::from(v6) & keep).to_be_bytes())
            }
        }
    }
}

/// Address width in bits.
fn bits(ip: &IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

impl FromStr for ProxyRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ProxyRange::parse(text)
    }
}

impl fmt::Display for ProxyRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl<'de> Deserialize<'de> for ProxyRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ProxyRange::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Whether any range holds `ip`.
pub fn is_trusted(trusted: &[ProxyRange], ip: IpAddr) -> bool {
    trusted.iter().any(|range| range.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn addresses_and_ranges_hold_what_they_say() {
        let cases: &[(&str, &str, bool)] = &[
            ("127.0.0.1", "127.0.0.1", true),
            ("127.0.0.1", "127.0.0.2", false),
            ("127.0.0.1", "::ffff:127.0.0.1", true),
            ("10.0.0.0/8", "10.255.3.4", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("10.0.0.0/8", "::ffff:10.1.2.3", true),
            ("0.0.0.0/0", "198.51.100.7", true),
            ("0.0.0.0/0", "2001:db8::1", false),
            ("fd00::/8", "fd12:3456::1", true),
            ("fd00::/8", "fe80::1", false),
            ("::1", "::1", true),
            ("2001:db8::/32", "10.0.0.1", false),
            ("192.168.1.0/24", "192.168.1.255", true),
            ("192.168.1.0/24", "192.168.2.0", false),
        ];
        for (range, address, expected) in cases {
            let parsed = ProxyRange::parse(range);
            assert!(parsed.is_ok(), "{range}: {parsed:?}");
            let contains = parsed.is_ok_and(|r| r.contains(ip(address)));
            assert_eq!(contains, *expected, "{range} ∋ {address}");
        }
    }

    #[test]
    fn a_bad_range_is_refused_with_the_reason() {
        let cases: &[(&str, &str)] = &[
            ("", "not an IP address"),
            ("localhost", "not an IP address"),
            ("10.0.0.0/33", "0 to 32"),
            ("fd00::/129", "0 to 128"),
            ("10.0.0.0/", "0 to 32"),
            ("10.0.0.0/-1", "0 to 32"),
            ("10.0.0.1/8", "\"10.0.0.0/8\""),
            ("fd00::1/8", "\"fd00::/8\""),
            ("10.0.0.0/8/8", "0 to 32"),
        ];
        for (text, reason) in cases {
            let err = ProxyRange::parse(text).err().unwrap_or_default();
            assert!(err.contains(reason), "{text:?}: {err}");
        }
    }
}
