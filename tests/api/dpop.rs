//! Sender-constrained tokens (DPoP, RFC 9449): a client key pair binds the login, the tokens
//! and every use; a copied token or auth_req_id alone gets nothing.

use nod::config::{DpopMode, SigningAlgorithm};
use serde_json::{Value, json};

use crate::helpers::{
    API_URL, ClientKey, TestApp, access, claims_of, error_code, spawn_app, spawn_app_with,
};

async fn bound_tokens_verify_only_with_fresh_proofs_from_their_key(alg: SigningAlgorithm) {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let key = ClientKey::new(alg);
    let other = ClientKey::new(alg);

    let tokens = app.bound_sign_in(&phone, &key).await;
    assert_eq!(tokens["token_type"], "DPoP");
    let token = access(&tokens);
    assert_eq!(claims_of(&token)["cnf"]["jkt"], key.jkt.as_str());

    // A fresh proof from the key: a use, recorded with the key's short thumbprint.
    let proof = app.api_proof(&key, &token);
    let ok = app.verify_dpop(&token, Some(&proof), "GET").await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["x-auth-user"], "alice");
    let uses = app.uses_of("alice").await;
    assert_eq!(uses.len(), 1);
    let detail: Value = serde_json::from_str(uses[0].detail.as_deref().unwrap()).unwrap();
    assert_eq!(detail, json!({"dpop": true, "jkt": &key.jkt[..8]}));

    let now = app.now_secs();
    let refusals: Vec<(&str, reqwest::Response)> = vec![
        ("no proof", app.verify_dpop(&token, None, "GET").await),
        ("as bearer", app.verify(&token).await),
        (
            "another key",
            app.verify_dpop(&token, Some(&app.api_proof(&other, &token)), "GET")
                .await,
        ),
        (
            "another URI",
            app.verify_dpop(
                &token,
                Some(&key.proof_at("GET", "https://api.example/admin", now, Some(&token))),
                "GET",
            )
            .await,
        ),
        (
            "another method",
            app.verify_dpop(&token, Some(&app.api_proof(&key, &token)), "DELETE")
                .await,
        ),
        (
            "replayed",
            app.verify_dpop(&token, Some(&proof), "GET").await,
        ),
        (
            "10 minutes old",
            app.verify_dpop(
                &token,
                Some(&key.proof_at("GET", API_URL, now - 600, Some(&token))),
                "GET",
            )
            .await,
        ),
        (
            "for another token",
            app.verify_dpop(&token, Some(&app.api_proof(&key, "another-token")), "GET")
                .await,
        ),
    ];
    for (what, response) in refusals {
        assert_eq!(response.status(), 401, "{what}");
        assert!(
            response.headers().contains_key("www-authenticate"),
            "{what}"
        );
    }
    assert_eq!(
        app.uses_of("alice").await.len(),
        1,
        "no refused presentation is a use"
    );

    // Introspection tells resource servers the binding.
    let secret = app.resource_server("orders").await;
    let body: Value = app
        .introspect(&token, ("orders", &secret))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(body["cnf"]["jkt"], key.jkt.as_str());
}

#[tokio::test]
async fn an_es256_bound_token_verifies_only_with_a_fresh_proof_from_its_key() {
    bound_tokens_verify_only_with_fresh_proofs_from_their_key(SigningAlgorithm::ES256).await;
}

#[tokio::test]
async fn an_eddsa_bound_token_verifies_only_with_a_fresh_proof_from_its_key() {
    bound_tokens_verify_only_with_fresh_proofs_from_their_key(SigningAlgorithm::EdDSA).await;
}

#[tokio::test]
async fn a_leaked_auth_req_id_is_worthless_without_the_login_key() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let key = ClientKey::new(SigningAlgorithm::ES256);
    let thief = ClientKey::new(SigningAlgorithm::EdDSA);
    let pending = app.bound_login(&phone, &key).await;

    let with_other_key = app.redeem_with(&pending.auth_req_id, Some(&thief)).await;
    let without_proof = app.redeem_with(&pending.auth_req_id, None).await;

    assert_eq!(with_other_key.status(), 400);
    assert_eq!(error_code(with_other_key).await, "invalid_grant");
    assert_eq!(without_proof.status(), 400);
    assert_eq!(error_code(without_proof).await, "invalid_grant");
    let rightful = app.redeem_with(&pending.auth_req_id, Some(&key)).await;
    assert_eq!(rightful.status(), 200);
    let tokens: Value = rightful.json().await.unwrap();
    assert_eq!(tokens["token_type"], "DPoP");
    assert_eq!(claims_of(&access(&tokens))["cnf"]["jkt"], key.jkt.as_str());
}

#[tokio::test]
async fn refreshing_a_bound_session_needs_its_key_and_a_failed_try_rotates_nothing() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let key = ClientKey::new(SigningAlgorithm::EdDSA);
    let thief = ClientKey::new(SigningAlgorithm::EdDSA);
    let tokens = app.bound_sign_in(&phone, &key).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let without_proof = app.refresh_with(&refresh, None).await;
    let with_other_key = app.refresh_with(&refresh, Some(&thief)).await;

    assert_eq!(error_code(without_proof).await, "invalid_grant");
    assert_eq!(error_code(with_other_key).await, "invalid_grant");
    let kinds = app.kinds_of("alice").await;
    assert!(
        !kinds
            .iter()
            .any(|k| k == "token_refreshed" || k == "refresh_reuse"),
        "{kinds:?}"
    );
    // The same refresh token still works, with the key.
    let rotated = app.refresh_with(&refresh, Some(&key)).await;
    assert_eq!(rotated.status(), 200);
    let fresh: Value = rotated.json().await.unwrap();
    assert_eq!(fresh["token_type"], "DPoP");
    assert_eq!(claims_of(&access(&fresh))["cnf"]["jkt"], key.jkt.as_str());
    assert_ne!(fresh["refresh_token"], refresh.as_str());
}

#[tokio::test]
async fn a_proof_at_the_token_endpoint_alone_binds_the_session() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let key = ClientKey::new(SigningAlgorithm::ES256);
    let pending = app.start_login("alice").await;
    let note = app.next_notification("alice").await;
    app.decide(
        &phone,
        &note.approval_id,
        json!({"decision": "approve", "binding_code": pending.binding_code}),
    )
    .await;

    let tokens: Value = app
        .redeem_with(&pending.auth_req_id, Some(&key))
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(tokens["token_type"], "DPoP");
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(
        error_code(app.refresh_with(refresh, None).await).await,
        "invalid_grant"
    );
    assert_eq!(app.refresh_with(refresh, Some(&key)).await.status(), 200);
}

#[tokio::test]
async fn a_bearer_token_presented_with_the_dpop_scheme_is_refused() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let key = ClientKey::new(SigningAlgorithm::ES256);
    let tokens = app.sign_in(&phone).await;
    assert_eq!(tokens["token_type"], "Bearer");
    let token = access(&tokens);
    assert!(claims_of(&token).get("cnf").is_none());

    let as_dpop = app
        .verify_dpop(&token, Some(&app.api_proof(&key, &token)), "GET")
        .await;

    assert_eq!(as_dpop.status(), 401);
    assert!(app.uses_of("alice").await.is_empty());
    assert_eq!(app.verify(&token).await.status(), 200);
    let uses = app.uses_of("alice").await;
    assert_eq!(uses.len(), 1);
    assert!(uses[0].detail.is_none());
}

#[tokio::test]
async fn logging_out_with_a_bound_token_needs_a_proof_from_its_key() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let key = ClientKey::new(SigningAlgorithm::EdDSA);
    let token = access(&app.bound_sign_in(&phone, &key).await);
    let logout = |scheme: &'static str, proof: Option<String>| {
        let mut request = app
            .client
            .post(app.url("/v1/logout"))
            .header("authorization", format!("{scheme} {token}"));
        if let Some(proof) = proof {
            request = request.header("dpop", proof);
        }
        request.send()
    };

    assert_eq!(logout("Bearer", None).await.unwrap().status(), 401);
    assert_eq!(logout("DPoP", None).await.unwrap().status(), 401);
    let url = format!(
        "{}/v1/logout",
        app.state.settings.server.public_url.as_str()
    );
    let proof = key.proof_at("POST", &url, app.now_secs(), Some(&token));
    assert_eq!(logout("DPoP", Some(proof)).await.unwrap().status(), 204);
}

#[tokio::test]
async fn a_bad_proof_at_login_is_an_invalid_dpop_proof() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;
    let key = ClientKey::new(SigningAlgorithm::EdDSA);
    let public = app.state.settings.server.public_url.as_str().to_owned();
    let now = app.now_secs();

    for (what, proof) in [
        (
            "for the token endpoint",
            key.proof_at("POST", &format!("{public}/v1/token"), now, None),
        ),
        (
            "an hour old",
            key.proof_at("POST", &format!("{public}/v1/login"), now - 3600, None),
        ),
        ("not a JWT", "not-a-proof".to_owned()),
    ] {
        let response = app.login_with_proof("alice", Some(proof)).await;
        assert_eq!(response.status(), 400, "{what}");
        assert_eq!(error_code(response).await, "invalid_dpop_proof", "{what}");
    }
}

#[tokio::test]
async fn with_dpop_required_a_login_or_token_request_without_a_proof_is_refused() {
    let app = spawn_app_with(|s| s.tokens.dpop = DpopMode::Required).await;
    let phone = app.user_with_phone("alice").await;
    let key = ClientKey::new(SigningAlgorithm::ES256);

    let login = app.login_with_proof("alice", None).await;
    assert_eq!(login.status(), 400);
    assert_eq!(error_code(login).await, "invalid_dpop_proof");

    let pending = app.bound_login(&phone, &key).await;
    let token = app.redeem_with(&pending.auth_req_id, None).await;
    assert_eq!(token.status(), 400);
    assert_eq!(error_code(token).await, "invalid_dpop_proof");
    let refresh = app.refresh_with("whatever", None).await;
    assert_eq!(error_code(refresh).await, "invalid_dpop_proof");
    assert_eq!(
        app.redeem_with(&pending.auth_req_id, Some(&key))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn with_dpop_off_proofs_are_ignored_and_tokens_are_bearer() {
    let app = spawn_app_with(|s| s.tokens.dpop = DpopMode::Off).await;
    let phone = app.user_with_phone("alice").await;
    let key = ClientKey::new(SigningAlgorithm::ES256);

    let tokens = app.bound_sign_in(&phone, &key).await;

    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(app.verify(&access(&tokens)).await.status(), 200);
}

#[tokio::test]
async fn with_nonces_on_a_proof_without_the_server_nonce_gets_use_dpop_nonce() {
    let app = spawn_app_with(|s| s.tokens.dpop_nonce = true).await;
    app.user_with_phone("alice").await;
    let key = ClientKey::new(SigningAlgorithm::ES256);
    let url = format!("{}/v1/login", app.state.settings.server.public_url.as_str());

    let first = app
        .login_with_proof("alice", Some(app.proof_for(&key, "/v1/login")))
        .await;

    assert_eq!(first.status(), 400);
    let nonce = first.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    assert_eq!(error_code(first).await, "use_dpop_nonce");
    // The retry with the nonce in the proof goes through and hands out the nonce again.
    let proof = key.sign(&json!({
        "jti": "retry-1", "htm": "POST", "htu": url, "iat": app.now_secs(), "nonce": nonce,
    }));
    let retry = app.login_with_proof("alice", Some(proof)).await;
    assert_eq!(retry.status(), 202);
    assert!(retry.headers().contains_key("dpop-nonce"));
}

/// An app whose replay cache holds `capacity` proofs, with room for many pending logins and
/// many wrong passwords (so the limits do not answer first).
async fn spawn_small_replay_cache(capacity: usize) -> TestApp {
    spawn_app_with(|s| {
        s.tokens.dpop_replay_cache = capacity;
        s.approvals.max_pending = 50;
        s.limits.password_max_failures = 1000;
        s.limits.ip_max_failures = 1000;
    })
    .await
}

#[tokio::test]
async fn a_captured_login_proof_replayed_after_a_flood_of_proofs_is_refused() {
    let app = spawn_small_replay_cache(4).await;
    app.user_with_phone("alice").await;
    let alice = ClientKey::new(SigningAlgorithm::ES256);
    let captured = app.proof_for(&alice, "/v1/login");
    assert_eq!(
        app.login_with_proof("alice", Some(captured.clone()))
            .await
            .status(),
        202
    );

    // Without the password, a client floods /v1/login with proofs of its own.
    let mallory = ClientKey::new(SigningAlgorithm::ES256);
    for i in 0..20 {
        let response = app
            .client
            .post(app.url("/v1/login"))
            .header("dpop", app.proof_for(&mallory, "/v1/login"))
            .json(&json!({"username": format!("nobody{i}"), "password": "guess"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }

    let replay = app.login_with_proof("alice", Some(captured)).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(error_code(replay).await, "invalid_dpop_proof");
}

#[tokio::test]
async fn a_full_replay_cache_refuses_new_proofs_with_503_and_forgets_none_before_its_window_ends() {
    let app = spawn_small_replay_cache(3).await;
    app.user_with_phone("alice").await;
    let key = ClientKey::new(SigningAlgorithm::EdDSA);
    let first = app.proof_for(&key, "/v1/login");
    assert_eq!(
        app.login_with_proof("alice", Some(first.clone()))
            .await
            .status(),
        202
    );
    for _ in 0..2 {
        let proof = app.proof_for(&key, "/v1/login");
        assert_eq!(
            app.login_with_proof("alice", Some(proof)).await.status(),
            202
        );
    }

    // Full of live proofs: a new one is refused, not let in at the price of an old one.
    let refused = app
        .login_with_proof("alice", Some(app.proof_for(&key, "/v1/login")))
        .await;
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(error_code(refused).await, "temporarily_unavailable");
    let replay = app.login_with_proof("alice", Some(first)).await;
    assert_eq!(error_code(replay).await, "invalid_dpop_proof");

    // Once the proofs' window has passed, they are forgotten and new proofs are taken again.
    let window = app.state.settings.tokens.dpop_proof_window.0;
    app.clock
        .advance(window * 2 + std::time::Duration::from_secs(1));
    let later = app
        .login_with_proof("alice", Some(app.proof_for(&key, "/v1/login")))
        .await;
    assert_eq!(later.status(), 202);
}

#[tokio::test]
async fn proofs_sent_with_made_up_auth_req_ids_are_not_remembered() {
    let app = spawn_small_replay_cache(4).await;
    let phone = app.user_with_phone("alice").await;
    let mallory = ClientKey::new(SigningAlgorithm::ES256);

    for i in 0..20 {
        let id = format!("made-up-{i}");
        let response = app.redeem_with(&id, Some(&mallory)).await;
        assert_eq!(error_code(response).await, "invalid_grant");
    }

    assert_eq!(app.state.dpop.remembered(), 0);
    let key = ClientKey::new(SigningAlgorithm::ES256);
    assert_eq!(app.bound_sign_in(&phone, &key).await["token_type"], "DPoP");
}

#[tokio::test]
async fn the_refresh_token_of_a_bound_session_is_no_web_sign_in() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let key = ClientKey::new(SigningAlgorithm::ES256);
    let tokens = app.bound_sign_in(&phone, &key).await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();

    // Its live refresh token, shown as a session cookie, without the key.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = browser
        .get(app.url("/activity"))
        .header("cookie", format!("nod_session={refresh_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303, "a bound session signed in on the web");
    assert_eq!(page.headers()["location"], "/login");
    // Nothing was spent: the rightful client refreshes with its key.
    assert_eq!(
        app.refresh_with(refresh_token, Some(&key)).await.status(),
        200
    );
}
