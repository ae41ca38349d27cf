//! The phone's API (`/v1/device/…`) as a paired phone calls it, with its device secret.

use serde_json::Value;

use super::{Pending, Phone, TestApp};

impl TestApp {
    /// The phone's answer to an approval.
    pub async fn decide(&self, phone: &Phone, approval_id: &str, body: Value) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/v1/device/approvals/{approval_id}")))
            .bearer_auth(&phone.secret)
            .json(&body)
            .send()
            .await
            .expect("decision request")
    }

    /// The phone approves with the number the login screen shows.
    pub async fn approve(
        &self,
        phone: &Phone,
        pending: &Pending,
        approval_id: &str,
    ) -> reqwest::Response {
        self.approve_with_number(phone, approval_id, &pending.binding_code)
            .await
    }

    /// The phone approves with `number` (what the person typed in).
    pub async fn approve_with_number(
        &self,
        phone: &Phone,
        approval_id: &str,
        number: &str,
    ) -> reqwest::Response {
        self.decide(
            phone,
            approval_id,
            serde_json::json!({"decision": "approve", "binding_code": number}),
        )
        .await
    }

    /// `GET /v1/device/{what}` as `phone`.
    pub async fn phone_get(&self, phone: &Phone, what: &str) -> reqwest::Response {
        self.client
            .get(self.url(&format!("/v1/device/{what}")))
            .bearer_auth(&phone.secret)
            .send()
            .await
            .expect("device request")
    }

    /// `POST /v1/device/{what}` (without a body) as `phone`.
    pub async fn phone_post(&self, phone: &Phone, what: &str) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/v1/device/{what}")))
            .bearer_auth(&phone.secret)
            .send()
            .await
            .expect("device request")
    }

    /// The phone's list of pending approvals.
    pub async fn pending_on(&self, phone: &Phone) -> Vec<Value> {
        self.phone_list(phone, "approvals").await
    }

    /// The live sessions of the phone's user.
    pub async fn sessions_of(&self, phone: &Phone) -> Vec<Value> {
        self.phone_list(phone, "sessions").await
    }

    /// `GET /v1/device/{what}`, which must succeed: the array under the key `what`.
    async fn phone_list(&self, phone: &Phone, what: &str) -> Vec<Value> {
        let response = self.phone_get(phone, what).await;
        assert_eq!(response.status(), 200, "{what}");
        let body: Value = response.json().await.expect("device json");
        body[what]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("no `{what}` list: {body}"))
    }

    /// The phone revokes the session `sid`, which must succeed.
    pub async fn revoke_session(&self, phone: &Phone, sid: &str) {
        let revoked = self
            .phone_post(phone, &format!("sessions/{sid}/revoke"))
            .await;
        assert_eq!(revoked.status(), 200, "revoking {sid}");
    }
}
