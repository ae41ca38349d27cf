//! The keys counters are stored under. Each is short and bounded whatever the request held:
//! a typed name is normalised and hashed (a 64 KB name is a 73-byte key, and the table never
//! holds what people type into the name field — sometimes their password), and an IPv6 client
//! is counted per /64, the block one subscriber is given (counting per address would hand
//! every subscriber 2^64 fresh counters).

use std::net::{IpAddr, Ipv6Addr};

use crate::auth::secrets::digest_secret;

/// Wrong passwords for a name as typed: trimmed and ASCII-lowercased as `Username::parse`
/// does (so `Alice ` and `alice` share a counter, and an unknown name is counted like a real
/// one), then hashed.
pub fn password_user(typed: &str) -> String {
    format!(
        "pwd-user:{}",
        digest_secret(&typed.trim().to_ascii_lowercase())
    )
}

/// Wrong passwords from a client address (`LoginContext::ip`).
pub fn password_address(ip: &str) -> String {
    format!("pwd-ip:{}", address_group(ip))
}

/// Wrong codes from the authenticator app for a user.
pub fn totp(user_id: &str) -> String {
    format!("totp:{user_id}")
}

/// Wrong pairing codes from a client address.
pub fn enroll_address(ip: IpAddr) -> String {
    format!("enroll-ip:{}", group(ip))
}

/// The group an address is counted in, from its text form: see [`group`]. Text that is not an
/// address (it never should be) is hashed, so it is bounded too.
fn address_group(ip: &str) -> String {
    match ip.trim().parse::<IpAddr>() {
        Ok(ip) => group(ip),
        Err(_) => format!("#{}", digest_secret(ip)),
    }
}

/// An IPv4 address counts alone (also when written IPv4-mapped, `::ffff:192.0.2.1`); an IPv6
/// address counts with the rest of its /64.
pub fn group(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !u128::from(u64::MAX);
            format!("{}/64", Ipv6Addr::from(network))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_name_is_a_short_key_whatever_its_length_and_case() {
        let huge = "A".repeat(64 * 1024);
        let key = password_user(&huge);
        assert_eq!(key.len(), "pwd-user:".len() + 64, "{}", &key[..80]);
        assert_eq!(key, password_user(&huge.to_ascii_lowercase()));
        assert_eq!(password_user("  Alice "), password_user("alice"));
        assert_ne!(password_user("alice"), password_user("alicf"));
        assert!(
            !password_user("alice").contains("alice"),
            "the name is not stored"
        );
    }

    #[test]
    fn ipv6_clients_count_per_64_and_ipv4_per_address() {
        let cases: &[(&str, &str)] = &[
            ("198.51.100.7", "198.51.100.7"),
            ("::ffff:198.51.100.7", "198.51.100.7"),
            ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
            ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
            ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
            ("::1", "::/64"),
        ];
        for (ip, expected) in cases {
            assert_eq!(address_group(ip), *expected, "{ip}");
        }
        assert_eq!(
            password_address("2001:db8:1:2:aaaa::1"),
            password_address("2001:db8:1:2:bbbb::2")
        );
        assert_ne!(
            password_address("2001:db8:1:2::1"),
            password_address("2001:db8:1:3::1")
        );
        let odd = password_address(&"x".repeat(10_000));
        assert!(odd.len() < 80, "{odd}");
    }
}
