//! Signing in through the API as a client does: log in, wait for the phone, redeem.

use std::time::Duration;

use nod::notify::mock::SentNotification;
use serde_json::{Value, json};

use super::{PASSWORD, Phone, TestApp};

pub const CIBA: &str = "urn:openid:params:grant-type:ciba";

/// What `/v1/login` answered.
#[derive(Debug, Clone)]
pub struct Pending {
    pub auth_req_id: String,
    pub binding_code: String,
    pub expires_in: u64,
}

impl Pending {
    /// Reads a `202` answer of `/v1/login`.
    pub async fn from_login(response: reqwest::Response) -> Pending {
        let body: Value = response.json().await.expect("login json");
        Pending {
            auth_req_id: body["auth_req_id"]
                .as_str()
                .expect("auth_req_id")
                .to_owned(),
            binding_code: body["binding_code"]
                .as_str()
                .expect("binding_code")
                .to_owned(),
            expires_in: body["expires_in"].as_u64().expect("expires_in"),
        }
    }
}

impl TestApp {
    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/v1/login"))
            .json(&json!({"username": username, "password": password, "client_name": "test suite"}))
            .send()
            .await
            .expect("login request")
    }

    /// Logs in with the right password and expects a pending approval.
    pub async fn start_login(&self, username: &str) -> Pending {
        let response = self.login(username, PASSWORD).await;
        assert_eq!(response.status(), 202, "login of {username}");
        Pending::from_login(response).await
    }

    /// The next notification the mock captured for `username`.
    pub async fn next_notification(&self, username: &str) -> SentNotification {
        self.state
            .notifiers
            .mock()
            .next_for(username, Duration::from_secs(5))
            .await
            .expect("a notification within 5 s")
    }

    /// The path of the one-time approval link in the next notification for `username`.
    pub async fn approval_path(&self, username: &str) -> String {
        let note = self.next_notification(username).await;
        let path = note
            .approve_url
            .trim_start_matches(self.state.settings.server.public_url.as_str())
            .to_owned();
        assert!(path.starts_with("/approve/"), "{path}");
        path
    }

    /// Polls `/v1/token` (form-encoded, as RFC 6749 clients do).
    pub async fn poll_token(&self, auth_req_id: &str, wait: Option<u64>) -> reqwest::Response {
        let mut form = vec![
            ("grant_type", CIBA.to_owned()),
            ("auth_req_id", auth_req_id.to_owned()),
        ];
        if let Some(wait) = wait {
            form.push(("wait", wait.to_string()));
        }
        self.client
            .post(self.url("/v1/token"))
            .form(&form)
            .send()
            .await
            .expect("token request")
    }

    /// `POST /v1/login/totp` with an authenticator code.
    pub async fn send_totp(&self, auth_req_id: &str, code: &str) -> reqwest::Response {
        self.client
            .post(self.url("/v1/login/totp"))
            .json(&json!({"auth_req_id": auth_req_id, "code": code}))
            .send()
            .await
            .expect("totp request")
    }

    /// The phone approves `pending` (from the next notification for its user) with the right
    /// number, and the approval says so.
    pub async fn approve_on_phone(&self, phone: &Phone, pending: &Pending) {
        let note = self.next_notification(&phone.username).await;
        let approved = self.approve(phone, pending, &note.approval_id).await;
        assert_eq!(approved.status(), 200);
        let body: Value = approved.json().await.expect("decision json");
        assert_eq!(body["state"], "approved", "{body}");
    }

    /// Logs in and approves on the phone; the approval is not redeemed yet.
    pub async fn approved_login(&self, phone: &Phone) -> Pending {
        let pending = self.start_login(&phone.username).await;
        self.approve_on_phone(phone, &pending).await;
        pending
    }

    /// Logs in, approves on the phone with the right number, and redeems: the token response.
    pub async fn sign_in(&self, phone: &Phone) -> Value {
        let pending = self.approved_login(phone).await;
        let token = self.poll_token(&pending.auth_req_id, None).await;
        assert_eq!(token.status(), 200);
        token.json().await.expect("token json")
    }
}

/// The access token of a token response.
pub fn access(tokens: &Value) -> String {
    tokens["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// The refresh token of a token response.
pub fn refresh_token(tokens: &Value) -> String {
    tokens["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned()
}
