//! The notifier registry: maps provider names to the providers this server has configured and
//! delivers a notification along a device's channels in order — a per-call timeout, bounded
//! retries with exponential backoff on temporary failures only, then the next channel —
//! reporting every attempt (each retry included) so the caller can write one feed event each.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::{
    AddressGuard, FcmNotifier, LogNotifier, MockNotifier, Notification, Notifier, NotifyError,
    NtfyNotifier, TwilioNotifier, WebhookNotifier, http,
};
use crate::clock::Clock;
use crate::config::NotifySettings;
use crate::domain::{Channel, ChannelList};

/// Providers nod can be configured with but which are off by default.
const CONFIGURABLE: [&str; 4] = ["webhook", "ntfy", "twilio", "fcm"];

/// How hard the registry tries one channel.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Longest one provider call may take.
    pub timeout: Duration,
    /// Extra attempts after a temporary failure.
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            timeout: Duration::from_secs(10),
            retries: 2,
            backoff: Duration::from_millis(500),
        }
    }
}

/// The outcome of one delivery attempt.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Provider tried.
    pub provider: String,
    /// 1 for the first call on this channel, 2 for the first retry, …
    pub attempt: u32,
    /// What happened.
    pub outcome: Result<(), NotifyError>,
}

/// The providers this server can use, by name.
pub struct Registry {
    providers: HashMap<&'static str, Arc<dyn Notifier>>,
    mock: Arc<MockNotifier>,
    policy: RetryPolicy,
}

impl Registry {
    /// Only the built-in providers, `log` and `mock`, with the default retry policy.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        let mock = Arc::new(MockNotifier::new(clock));
        let mut registry = Registry {
            providers: HashMap::new(),
            mock: mock.clone(),
            policy: RetryPolicy::default(),
        };
        registry.register(Arc::new(LogNotifier));
        registry.register(mock);
        registry
    }

    /// The built-ins plus every provider `settings` enables, sharing one HTTP client. Fails
    /// when an enabled provider cannot be set up (e.g. an unreadable FCM key file).
    pub fn from_settings(settings: &NotifySettings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let mut registry = Registry::new(clock.clone());
        registry.policy = RetryPolicy {
            timeout: settings.timeout.0,
            retries: settings.retries,
            backoff: settings.backoff.0,
        };
        let client = http::client(settings.timeout.0)?;
        if settings.webhook.enabled {
            let guard = AddressGuard::new(settings.allow_private_addresses);
            registry.register(Arc::new(WebhookNotifier::new(
                &settings.webhook,
                http::guarded_client(settings.timeout.0, guard)?,
                guard,
                clock.clone(),
            )));
        }
        if settings.ntfy.enabled {
            registry.register(Arc::new(NtfyNotifier::new(&settings.ntfy, client.clone())));
        }
        if settings.twilio.enabled {
            registry.register(Arc::new(TwilioNotifier::new(
                &settings.twilio,
                client.clone(),
            )));
        }
        if settings.fcm.enabled {
            registry.register(Arc::new(FcmNotifier::new(&settings.fcm, client, clock)?));
        }
        Ok(registry)
    }

    /// Adds (or replaces) a provider.
    pub fn register(&mut self, provider: Arc<dyn Notifier>) {
        self.providers.insert(provider.name(), provider);
    }

    /// Replaces the retry policy.
    pub fn set_policy(&mut self, policy: RetryPolicy) {
        self.policy = policy;
    }

    /// The in-memory mock provider, for tests.
    pub fn mock(&self) -> &Arc<MockNotifier> {
        &self.mock
    }

    /// Checks that a channel names a provider this server has configured, with an acceptable
    /// address.
    pub fn check(&self, channel: &Channel) -> Result<(), String> {
        let name = channel.provider.as_str();
        let provider = self.providers.get(name).ok_or_else(|| {
            let mut known: Vec<_> = self.providers.keys().copied().collect();
            known.sort_unstable();
            if CONFIGURABLE.contains(&name) {
                format!(
                    "notification provider `{name}` is not configured on this server (set \
                     notify.{name}.enabled = true and its keys; available: {})",
                    known.join(", ")
                )
            } else {
                format!(
                    "unknown notification provider `{name}` (available: {})",
                    known.join(", ")
                )
            }
        })?;
        provider.check_address(channel.address.as_deref())
    }

    /// [`Registry::check`], then whether the channel's address leads somewhere nod may call
    /// (a user-supplied URL may not reach internal addresses; src/notify/address_guard.rs).
    pub async fn check_reachable(&self, channel: &Channel) -> Result<(), String> {
        self.check(channel)?;
        match self.providers.get(channel.provider.as_str()) {
            Some(provider) => provider.check_destination(channel.address.as_deref()).await,
            None => Ok(()),
        }
    }

    /// Tries each channel in order until one delivers, retrying temporary failures within the
    /// policy's bounds; returns every attempt.
    pub async fn deliver(&self, channels: &ChannelList, note: &Notification) -> Vec<Delivery> {
        let mut attempts = Vec::new();
        for channel in channels.iter() {
            let Some(provider) = self.providers.get(channel.provider.as_str()) else {
                attempts.push(Delivery {
                    provider: channel.provider.clone(),
                    attempt: 1,
                    outcome: Err(NotifyError::Permanent(format!(
                        "provider `{}` is not available in this server",
                        channel.provider
                    ))),
                });
                continue;
            };
            if self
                .try_channel(provider.as_ref(), channel, note, &mut attempts)
                .await
            {
                break;
            }
        }
        attempts
    }

    /// Up to `1 + retries` calls on one channel; whether one of them delivered.
    async fn try_channel(
        &self,
        provider: &dyn Notifier,
        channel: &Channel,
        note: &Notification,
        attempts: &mut Vec<Delivery>,
    ) -> bool {
        let mut backoff = self.policy.backoff;
        for attempt in 1..=self.policy.retries.saturating_add(1) {
            if attempt > 1 {
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
            }
            let call = provider.send(note, channel.address.as_deref());
            let outcome = match tokio::time::timeout(self.policy.timeout, call).await {
                Ok(result) => result,
                Err(_) => Err(NotifyError::Temporary(format!(
                    "{}: timed out",
                    provider.name()
                ))),
            };
            let done = outcome.is_ok();
            let retry = matches!(outcome, Err(NotifyError::Temporary(_)));
            attempts.push(Delivery {
                provider: channel.provider.clone(),
                attempt,
                outcome,
            });
            if done {
                return true;
            }
            if !retry {
                return false;
            }
        }
        false
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

    /// Fails the first `failures` calls with `error`, then delivers; counts calls.
    struct Flaky {
        calls: std::sync::atomic::AtomicU32,
        failures: u32,
        error: NotifyError,
    }

    #[async_trait::async_trait]
    impl Notifier for Flaky {
        fn name(&self) -> &'static str {
            "flaky"
        }

        fn check_address(&self, _: Option<&str>) -> Result<(), String> {
            Ok(())
        }

        async fn send(&self, _: &Notification, _: Option<&str>) -> Result<(), NotifyError> {
            let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if n < self.failures {
                Err(self.error.clone())
            } else {
                Ok(())
            }
        }
    }

    async fn deliver_with(failures: u32, error: NotifyError) -> Vec<(String, u32, bool)> {
        let mut registry = Registry::new(Arc::new(TestClock::starting_now()));
        registry.set_policy(RetryPolicy {
            timeout: Duration::from_secs(1),
            retries: 2,
            backoff: Duration::from_millis(1),
        });
        registry.register(Arc::new(Flaky {
            calls: Default::default(),
            failures,
            error,
        }));
        let channels = ChannelList::new(vec![
            Channel {
                provider: "flaky".into(),
                address: None,
            },
            Channel {
                provider: "mock".into(),
                address: None,
            },
        ])
        .unwrap_or_else(|_| unreachable!());
        registry
            .deliver(&channels, &note())
            .await
            .into_iter()
            .map(|d| (d.provider, d.attempt, d.outcome.is_ok()))
            .collect()
    }

    #[tokio::test]
    async fn temporary_failures_are_retried_within_bounds_permanent_ones_are_not() {
        let temporary = || NotifyError::Temporary("503".into());
        let flaky = |attempt, ok| ("flaky".to_owned(), attempt, ok);
        let mock = ("mock".to_owned(), 1, true);
        assert_eq!(
            deliver_with(1, temporary()).await,
            [flaky(1, false), flaky(2, true)]
        );
        assert_eq!(
            deliver_with(5, temporary()).await,
            [
                flaky(1, false),
                flaky(2, false),
                flaky(3, false),
                mock.clone()
            ]
        );
        assert_eq!(
            deliver_with(5, NotifyError::Permanent("404".into())).await,
            [flaky(1, false), mock]
        );
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
        let err = registry
            .check(&Channel::parse("ntfy=alerts")?)
            .err()
            .unwrap_or_default();
        assert!(err.contains("notify.ntfy.enabled"), "{err}");
        Ok(())
    }
}
