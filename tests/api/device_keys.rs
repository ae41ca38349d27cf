//! Apps hold a key: a device enrolled with a public key answers only with DPoP proofs by it
//! (RFC 9449, `ath` over its secret); a device without one answers with its secret, unless
//! `approvals.allow_secret_devices` is off. The feed says how each answer was proven.

use nod::config::SigningAlgorithm;
use nod::domain::Username;
use nod::flows::enroll::create_link;
use serde_json::{Value, json};

use crate::helpers::{ClientKey, Pending, Phone, TestApp, error_code, spawn_app, spawn_app_with};

impl TestApp {
    /// Pairs an app holding `key` with a new user `name`, through `POST /v1/enroll`.
    async fn enroll_with_key(&self, name: &str, key: &ClientKey) -> Phone {
        let code = self.new_user_with_code(name).await;
        let response = self
            .client
            .post(self.url("/v1/enroll"))
            .json(
                &json!({"code": code, "name": "app", "notify": {"provider": "mock"},
                "public_key": key.jwk}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let device: Value = response.json().await.unwrap();
        Phone {
            username: name.to_owned(),
            device_id: device["device_id"].as_str().unwrap().to_owned(),
            secret: device["device_secret"].as_str().unwrap().to_owned(),
        }
    }

    /// A new user `name` and a pairing code for them.
    async fn new_user_with_code(&self, name: &str) -> String {
        self.add_user(name).await;
        let link = create_link(&self.state, &Username::parse(name).unwrap()).await;
        link.unwrap().code
    }

    /// A fresh proof by `key` for `method path` on nod, over `secret`.
    fn device_proof(&self, key: &ClientKey, method: &str, path: &str, secret: &str) -> String {
        let base = self.state.settings.server.public_url.as_str();
        let url = format!("{}{path}", base.trim_end_matches('/'));
        key.proof_at(method, &url, self.now_secs(), Some(secret))
    }

    /// A decision sent as `Authorization: DPoP <secret>` with `proof`, if any.
    async fn decide_with_proof(
        &self,
        phone: &Phone,
        approval_id: &str,
        body: Value,
        proof: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url(&format!("/v1/device/approvals/{approval_id}")))
            .header("authorization", format!("DPoP {}", phone.secret))
            .json(&body);
        if let Some(proof) = proof {
            request = request.header("dpop", proof);
        }
        request.send().await.unwrap()
    }

    /// Whether the login still waits for the phone.
    async fn still_pending(&self, pending: &Pending) -> bool {
        let response = self.poll_token(&pending.auth_req_id, None).await;
        response.status() == 400 && error_code(response).await == "authorization_pending"
    }

    /// The detail of the user's one decision event of `kind`.
    async fn decision_detail(&self, username: &str, kind: &str) -> Value {
        let events = self.events_of(username).await;
        let event = events
            .iter()
            .find(|e| e.kind == kind)
            .unwrap_or_else(|| panic!("no {kind} event in {events:?}"));
        serde_json::from_str(event.detail.as_deref().unwrap()).unwrap()
    }
}

/// A refusal of the device API: 401, the documented error shape, a `DPoP` challenge.
async fn assert_refused(response: reqwest::Response, why: &str) {
    assert_eq!(response.status(), 401, "{why}");
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("DPoP "), "{why}: {challenge}");
    assert_eq!(error_code(response).await, "invalid_dpop_proof", "{why}");
}

async fn a_device_with_a_key_answers_only_with_a_fresh_proof_by_it(alg: SigningAlgorithm) {
    let app = spawn_app().await;
    let key = ClientKey::new(alg);
    let phone = app.enroll_with_key("alice", &key).await;
    let pending = app.start_login("alice").await;
    let approval = app.next_notification("alice").await.approval_id;
    let path = format!("/v1/device/approvals/{approval}");
    let approve = json!({"decision": "approve", "binding_code": pending.binding_code});

    let secret_alone = app.approve(&phone, &pending, &approval).await;
    assert_refused(secret_alone, "the secret as Bearer").await;
    let no_proof = app
        .decide_with_proof(&phone, &approval, approve.clone(), None)
        .await;
    assert_refused(no_proof, "DPoP without a proof").await;
    let stranger = ClientKey::new(alg);
    let other_key = app.device_proof(&stranger, "POST", &path, &phone.secret);
    let by_other_key = app
        .decide_with_proof(&phone, &approval, approve.clone(), Some(&other_key))
        .await;
    assert_refused(by_other_key, "a proof by another key").await;
    let wrong_ath = app.device_proof(&key, "POST", &path, "another secret");
    let for_other_secret = app
        .decide_with_proof(&phone, &approval, approve.clone(), Some(&wrong_ath))
        .await;
    assert_refused(for_other_secret, "a proof whose ath is another secret's").await;
    // A good proof spent on a malformed decision (the handler refuses it after the proof was
    // accepted), then replayed with a good one.
    let spent = app.device_proof(&key, "POST", &path, &phone.secret);
    let malformed = app
        .decide_with_proof(
            &phone,
            &approval,
            json!({"decision": "maybe"}),
            Some(&spent),
        )
        .await;
    assert_eq!(malformed.status(), 400);
    let replayed = app
        .decide_with_proof(&phone, &approval, approve.clone(), Some(&spent))
        .await;
    assert_refused(replayed, "a replayed proof").await;
    assert!(
        app.still_pending(&pending).await,
        "no refused answer decided anything"
    );

    let fresh = app.device_proof(&key, "POST", &path, &phone.secret);
    let approved = app
        .decide_with_proof(&phone, &approval, approve, Some(&fresh))
        .await;
    assert_eq!(approved.status(), 200);
    let tokens = app.poll_token(&pending.auth_req_id, None).await;
    assert_eq!(tokens.status(), 200, "the login gets its tokens");

    let detail = app.decision_detail("alice", "approved").await;
    assert_eq!(detail["proof"], "key");
    assert_eq!(detail["jkt"], key.jkt[..8]);
    assert_eq!(detail["amr"], json!(["pwd", "push"]), "older fields stay");

    let listing = app
        .client
        .get(app.url("/v1/device/devices"))
        .header("authorization", format!("DPoP {}", phone.secret))
        .header(
            "dpop",
            app.device_proof(&key, "GET", "/v1/device/devices", &phone.secret),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(listing.status(), 200);
    let listing: Value = listing.json().await.unwrap();
    assert_eq!(listing["devices"][0]["proof"], "key");
}

#[tokio::test]
async fn a_p256_device_answers_only_with_a_fresh_proof_by_its_key() {
    a_device_with_a_key_answers_only_with_a_fresh_proof_by_it(SigningAlgorithm::ES256).await;
}

#[tokio::test]
async fn an_ed25519_device_answers_only_with_a_fresh_proof_by_its_key() {
    a_device_with_a_key_answers_only_with_a_fresh_proof_by_it(SigningAlgorithm::EdDSA).await;
}

#[tokio::test]
async fn the_feed_stream_of_a_device_with_a_key_needs_a_proof() {
    let app = spawn_app().await;
    let key = ClientKey::new(SigningAlgorithm::ES256);
    let phone = app.enroll_with_key("alice", &key).await;
    let path = "/v1/device/feed/stream";
    let without = app
        .client
        .get(app.url(path))
        .bearer_auth(&phone.secret)
        .send()
        .await
        .unwrap();
    assert_refused(without, "the stream with the secret alone").await;
    let with = app
        .client
        .get(app.url(path))
        .header("authorization", format!("DPoP {}", phone.secret))
        .header("dpop", app.device_proof(&key, "GET", path, &phone.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 200);
    assert_eq!(with.headers()["content-type"], "text/event-stream");
}

#[tokio::test]
async fn enrolment_refuses_private_and_unsupported_keys_saying_why() {
    let app = spawn_app().await;
    let code = app.new_user_with_code("alice").await;
    let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    for (key, why) in [
        (
            json!({"kty": "OKP", "crv": "Ed25519", "x": x, "d": x}),
            "private material",
        ),
        (
            json!({"kty": "EC", "crv": "P-384", "x": x, "y": x}),
            "EC P-256",
        ),
        (
            json!({"kty": "EC", "crv": "P-256", "x": x, "y": x}),
            "not a point",
        ),
    ] {
        let response = app
            .client
            .post(app.url("/v1/enroll"))
            .json(&json!({"code": code, "name": "app", "public_key": key}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{key}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");
        let said = body["error_description"].as_str().unwrap();
        assert!(said.contains(why), "{said}");
    }
}

#[tokio::test]
async fn a_device_without_a_key_answers_with_its_secret_and_the_feed_says_so() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    app.sign_in(&phone).await;
    let detail = app.decision_detail("alice", "approved").await;
    assert_eq!(detail["proof"], "secret");
    assert_eq!(detail.get("jkt"), None);
    let listing = app
        .client
        .get(app.url("/v1/device/devices"))
        .bearer_auth(&phone.secret)
        .send()
        .await
        .unwrap();
    let listing: Value = listing.json().await.unwrap();
    assert_eq!(listing["devices"][0]["proof"], "secret");
}

#[tokio::test]
async fn without_secret_devices_only_a_device_with_a_key_answers() {
    let app = spawn_app_with(|s| s.approvals.allow_secret_devices = false).await;
    let key = ClientKey::new(SigningAlgorithm::EdDSA);
    let app_phone = app.enroll_with_key("alice", &key).await;
    // `nod device add`: no key.
    let added = app.add_phone("alice").await;
    let pending = app.start_login("alice").await;
    let approval = app.next_notification("alice").await.approval_id;

    let refused = app.approve(&added, &pending, &approval).await;
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "forbidden");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("allow_secret_devices"),
        "{body}"
    );
    for decision in ["deny", "fraud"] {
        let refused = app
            .decide(&added, &approval, json!({"decision": decision}))
            .await;
        assert_eq!(refused.status(), 403, "{decision}");
    }
    assert!(app.still_pending(&pending).await);

    let path = format!("/v1/device/approvals/{approval}");
    let proof = app.device_proof(&key, "POST", &path, &app_phone.secret);
    let approve = json!({"decision": "approve", "binding_code": pending.binding_code});
    let approved = app
        .decide_with_proof(&app_phone, &approval, approve, Some(&proof))
        .await;
    assert_eq!(approved.status(), 200);
    assert_eq!(
        app.poll_token(&pending.auth_req_id, None).await.status(),
        200
    );
}
