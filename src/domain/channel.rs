//! How a device is reached: an ordered list of channels, tried in turn.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One way to reach a device: a provider name and, for most providers, an address
/// (`webhook=https://…`, `ntfy=TOPIC`, `twilio=+15551234567`, `fcm=TOKEN`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// Provider name, e.g. `mock` or `log`.
    pub provider: String,
    /// Provider-specific address, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

impl Channel {
    /// Parses `PROVIDER[=ADDRESS]` (the CLI's and the tests' spelling).
    pub fn parse(spec: &str) -> Result<Self, String> {
        match spec.split_once('=') {
            Some((provider, address)) => Channel::new(provider, Some(address)),
            None => Channel::new(spec, None),
        }
    }

    /// A channel from its two parts, as a form or a JSON body gives them; both are trimmed.
    pub fn new(provider: &str, address: Option<&str>) -> Result<Self, String> {
        let (provider, address) = (provider.trim(), address.map(str::trim));
        let spec = || match address {
            Some(address) => format!("{provider}={address}"),
            None => provider.to_owned(),
        };
        let valid_name = !provider.is_empty()
            && provider.len() <= 32
            && provider
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !valid_name {
            return Err(format!("`{}` is not PROVIDER[=ADDRESS]", spec()));
        }
        if let Some(address) = address
            && (address.is_empty() || address.len() > 2048 || address.chars().any(char::is_control))
        {
            return Err(format!(
                "`{}`: the address is empty, too long or not text",
                spec()
            ));
        }
        Ok(Channel {
            provider: provider.to_owned(),
            address: address.map(str::to_owned),
        })
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.address {
            Some(a) => write!(f, "{}={}", self.provider, a),
            None => f.write_str(&self.provider),
        }
    }
}

/// A device's channels in fallthrough order (never empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChannelList(Vec<Channel>);

impl ChannelList {
    /// Builds a list; at least one channel is required.
    pub fn new(channels: Vec<Channel>) -> Result<Self, String> {
        if channels.is_empty() {
            return Err("a device needs at least one notification channel".into());
        }
        Self::possibly_empty(channels)
    }

    /// A list that may be empty: a phone paired with "none" is never pushed to and polls
    /// `/v1/device/approvals` itself.
    pub fn possibly_empty(channels: Vec<Channel>) -> Result<Self, String> {
        if channels.len() > 8 {
            return Err("a device has at most 8 notification channels".into());
        }
        Ok(ChannelList(channels))
    }

    /// The channels in order.
    pub fn iter(&self) -> impl Iterator<Item = &Channel> {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_parse_with_and_without_address() {
        let mock = Channel::parse("mock");
        assert_eq!(mock.map(|c| c.address), Ok(None));
        let hook = Channel::parse("webhook=https://example.test/h");
        assert_eq!(
            hook.map(|c| c.to_string()),
            Ok("webhook=https://example.test/h".into())
        );
        for bad in ["", "=x", "Mock", "web hook", "ntfy="] {
            assert!(Channel::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_channel_from_its_parts_is_checked_like_a_spec() {
        assert_eq!(
            Channel::new(" ntfy ", Some(" alerts ")),
            Channel::parse("ntfy=alerts")
        );
        let url = Channel::new("webhook", Some("https://example.test/h?a=b"));
        assert_eq!(
            url.map(|c| c.address),
            Ok(Some("https://example.test/h?a=b".into()))
        );
        for (provider, address) in [("ntfy=x", Some("y")), ("ntfy", Some(" ")), ("", None)] {
            assert!(Channel::new(provider, address).is_err(), "{provider:?}");
        }
    }

    #[test]
    fn a_device_needs_a_channel() {
        assert!(ChannelList::new(vec![]).is_err());
    }
}
