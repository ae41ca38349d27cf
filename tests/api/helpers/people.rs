//! Users and their phones, provisioned as the CLI would (no HTTP), and what the store holds of
//! them.

use nod::domain::{Channel, ChannelList, Username};
use nod::flows::provision;

use super::TestApp;

pub const PASSWORD: &str = "correct horse battery staple";

/// A paired phone, as a test holds it.
#[derive(Debug, Clone)]
pub struct Phone {
    pub username: String,
    pub device_id: String,
    pub secret: String,
}

impl TestApp {
    /// Adds a user with `PASSWORD`.
    pub async fn add_user(&self, name: &str) {
        let username = Username::parse(name).expect("username");
        let password = nod::auth::password::Password::parse(PASSWORD.into()).expect("password");
        provision::add_user(&self.state, &username, password)
            .await
            .expect("add user");
    }

    /// Pairs a mock-notified phone with `name`.
    pub async fn add_phone(&self, name: &str) -> Phone {
        self.add_phone_with(name, &["mock"]).await
    }

    /// Pairs a phone reached through `channels` (`PROVIDER[=ADDRESS]`, in fallthrough order).
    pub async fn add_phone_with(&self, name: &str, channels: &[&str]) -> Phone {
        let username = Username::parse(name).expect("username");
        let channels = ChannelList::new(
            channels
                .iter()
                .map(|c| Channel::parse(c).expect("channel"))
                .collect(),
        )
        .expect("list");
        let device = provision::add_device(&self.state, &username, "test phone", &channels)
            .await
            .expect("add device");
        Phone {
            username: name.to_owned(),
            device_id: device.device_id,
            secret: device.device_secret,
        }
    }

    /// The code of a fresh single-use pairing link for `name` (`nod enroll-link`).
    pub async fn pairing_code(&self, name: &str) -> String {
        let username = Username::parse(name).expect("username");
        nod::flows::enroll::create_link(&self.state, &username)
            .await
            .expect("pairing link")
            .code
    }

    /// A user with one mock phone.
    pub async fn user_with_phone(&self, name: &str) -> Phone {
        self.user_with_phone_on(name, &["mock"]).await
    }

    /// A user with one phone reached through `channels` (as for `add_phone_with`).
    pub async fn user_with_phone_on(&self, name: &str, channels: &[&str]) -> Phone {
        self.add_user(name).await;
        self.add_phone_with(name, channels).await
    }

    /// The stored user named `username`.
    pub async fn user(&self, username: &str) -> nod::store::User {
        self.state
            .store
            .user_by_name(username)
            .await
            .expect("store")
            .expect("user")
    }

    /// The id of the user named `username`.
    pub async fn user_id(&self, username: &str) -> String {
        self.user(username).await.id
    }

    /// The id of `username`'s live session signed in by `client_name`.
    pub async fn live_session(&self, username: &str, client_name: &str) -> String {
        let user = self.user_id(username).await;
        self.state
            .store
            .active_sessions(&user, self.state.clock.now_ms())
            .await
            .expect("store")
            .into_iter()
            .find(|s| s.client_name == client_name)
            .unwrap_or_else(|| panic!("no live session of {client_name}"))
            .id
    }

    /// The stored session `sid`, live or ended.
    pub async fn session(&self, sid: &str) -> nod::store::Session {
        self.state
            .store
            .session_by_id(sid)
            .await
            .expect("store")
            .expect("session stored")
    }
}
