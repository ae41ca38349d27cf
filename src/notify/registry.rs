//! The notifier registry: maps provider names to implementations and delivers a notification
//! along a device's channels in order, with a per-call timeout, stopping at the first success.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::{LogNotifier, MockNotifier, Notification, Notifier, NotifyError};
use crate::clock::Clock;
use crate::domain::{Channel, ChannelList};

/// Longest one provider call may take before it counts as a temporary failure.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The outcome of one delivery attempt.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Provider tried.
    pub provider: String,
    /// What happened.
    pub outcome: Result<(), NotifyError>,
}

/// Every provider nod knows, by name.
pub struct Registry {
    providers: HashMap<&'static str, Arc<dyn Notifier>>,
    mock: Arc<MockNotifier>,
}

impl Registry {
    /// The built-in providers: `log` and `mock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        let mock = Arc::new(MockNotifier::new(clock));
        let mut registry = Registry {
            providers: HashMap::new(),
            mock: mock.clone(),
        };
        registry.register(Arc::new(LogNotifier));
        registry.register(mock);
        registry
    }

    /// Adds (or replaces) a provider.
    pub fn register(&mut self, provider: Arc<dyn Notifier>) {
        self.providers.insert(provider.name(), provider);
    }

    /// The in-memory mock provider, for tests.
    pub fn mock(&self) -> &Arc<MockNotifier> {
        &self.mock
    }

    /// Checks that a channel names a known provider with an acceptable address.
    pub fn check(&self, channel: &Channel) -> Result<(), String> {
        let provider = self
            .providers
            .get(channel.provider.as_str())
            .ok_or_else(|| {
                let mut known: Vec<_> = self.providers.keys().copied().collect();
                known.sort_unstable();
                format!(
                    "unknown notification provider `{}` (known: {})",
                    channel.provider,
                    known.join(", ")
                )
            })?;
        provider.check_address(channel.address.as_deref())
    }

    /// Tries each channel in order until one delivers; returns every attempt.
    pub async fn deliver(&self, channels: &ChannelList, note: &Notification) -> Vec<Delivery> {
        let mut attempts = Vec::new();
        for channel in channels.iter() {
            let outcome = match self.providers.get(channel.provider.as_str()) {
                None => Err(NotifyError::Permanent(format!(
                    "provider `{}` is not available in this server",
                    channel.provider
                ))),
                Some(provider) => {
                    match tokio::time::timeout(
                        CALL_TIMEOUT,
                        provider.send(note, channel.address.as_deref()),
                    )
                    .await
                    {
                        Ok(result) => result,
                        Err(_) => Err(NotifyError::Temporary("timed out".into())),
                    }
                }
            };
            let delivered = outcome.is_ok();
            attempts.push(Delivery {
                provider: channel.provider.clone(),
                outcome,
            });
            if delivered {
                break;
            }
        }
        attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TestClock;
    use crate::domain::LoginContext;

    fn note() -> Notification {
        Notification {
            device_id: "d1".into(),
            device_name: "phone".into(),
            username: "alice".into(),
            approval_id: "a1".into(),
            approve_url: "http://nod.test/approve/x".into(),
            context: LoginContext::new(None, "127.0.0.1".into(), None),
            requested_at: 0,
            expires_at: 1,
            text: "hello".into(),
        }
    }

    #[tokio::test]
    async fn an_unknown_provider_falls_through_to_the_next_channel() -> Result<(), String> {
        let registry = Registry::new(Arc::new(TestClock::starting_now()));
        let channels = ChannelList::new(vec![
            Channel::parse("pigeon")?,
            Channel::parse("mock")?,
            Channel::parse("log")?,
        ])?;
        let attempts = registry.deliver(&channels, &note()).await;
        let tried: Vec<_> = attempts.iter().map(|a| a.provider.as_str()).collect();
        assert_eq!(tried, ["pigeon", "mock"]);
        assert!(attempts[0].outcome.is_err() && attempts[1].outcome.is_ok());
        assert_eq!(registry.mock().sent(Some("alice")).len(), 1);
        Ok(())
    }

    #[test]
    fn unknown_providers_are_refused_up_front() -> Result<(), String> {
        let registry = Registry::new(Arc::new(TestClock::starting_now()));
        assert!(registry.check(&Channel::parse("mock")?).is_ok());
        assert!(registry.check(&Channel::parse("log=x")?).is_err());
        let err = registry
            .check(&Channel::parse("pigeon")?)
            .err()
            .unwrap_or_default();
        assert!(err.contains("log, mock"), "{err}");
        Ok(())
    }
}
