//! Signing algorithms, encrypted tokens and key rotation, through a running app.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, decode_header};
use nod::auth::jwe;
use nod::auth::keys::rotate;
use nod::auth::verify::{TokenVerifier, VerifyPolicy};
use nod::clock::Clock;
use nod::config::{Secret, Settings, SigningAlgorithm};
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

/// A verifier holding tokens to what this app's settings say.
fn verifier_for(settings: &Settings) -> TokenVerifier {
    TokenVerifier::new(
        VerifyPolicy {
            issuer: settings.issuer().to_owned(),
            audience: settings.tokens.audience.clone(),
            leeway_secs: 60,
            max_ttl_secs: settings.tokens.access_ttl.0.as_secs(),
            max_token_bytes: 4096,
        },
        100,
    )
}

/// Signs alice in and returns her access token.
async fn access_token(app: &TestApp) -> String {
    let phone = app.user_with_phone("alice").await;
    access_token_of(app, &phone).await
}

async fn access_token_of(app: &TestApp, phone: &crate::helpers::Phone) -> String {
    let body = app.sign_in(phone).await;
    body["access_token"].as_str().unwrap().to_owned()
}

/// The token verifies against the app's current keys.
fn assert_verifies(app: &TestApp, token: &str) {
    let now = app.clock.now_ms() / 1000;
    let keys = app.state.keys.snapshot();
    let claims = verifier_for(&app.state.settings)
        .verify(&keys, token, now)
        .unwrap_or_else(|e| panic!("token refused: {e}"));
    assert_eq!(claims.preferred_username, "alice");
}

async fn jwks(app: &TestApp) -> Vec<Value> {
    let body: Value = app.get_json("/.well-known/jwks.json").await;
    body["keys"].as_array().unwrap().clone()
}

#[tokio::test]
async fn es256_tokens_are_signed_with_a_published_p256_key() {
    let app = spawn_app_with(|s| s.tokens.algorithm = SigningAlgorithm::ES256).await;
    let token = access_token(&app).await;
    let header = decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);
    assert_verifies(&app, &token);
    let keys = jwks(&app).await;
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "EC");
    assert_eq!(keys[0]["crv"], "P-256");
    assert_eq!(keys[0]["kid"].as_str(), header.kid.as_deref());
    assert!(keys[0].get("d").is_none());
}

#[tokio::test]
async fn rs256_tokens_are_signed_with_a_published_rsa_key() {
    let app = spawn_app_with(|s| s.tokens.algorithm = SigningAlgorithm::RS256).await;
    let token = access_token(&app).await;
    assert_eq!(decode_header(&token).unwrap().alg, Algorithm::RS256);
    assert_verifies(&app, &token);
    let keys = jwks(&app).await;
    assert_eq!(keys[0]["kty"], "RSA");
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(keys[0].get(private).is_none(), "{private} published");
    }
}

#[tokio::test]
async fn hs256_tokens_use_the_configured_secret_and_publish_no_key() {
    let app = spawn_app_with(|s| {
        s.tokens.algorithm = SigningAlgorithm::HS256;
        s.tokens.hmac_secret = Secret::new(STANDARD.encode([42u8; 32]));
    })
    .await;
    let token = access_token(&app).await;
    let header = decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::HS256);
    assert_eq!(header.kid.as_deref().map(str::len), Some(16));
    assert_verifies(&app, &token);
    assert!(jwks(&app).await.is_empty(), "HS256 key material published");
}

#[tokio::test]
async fn encrypted_tokens_are_a_jwe_around_an_eddsa_jwt() {
    let app = spawn_app_with(|s| s.tokens.encrypt = true).await;
    let token = access_token(&app).await;
    let segments: Vec<&str> = token.split('.').collect();
    assert_eq!(segments.len(), 5, "not a compact JWE");
    let outer: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segments[0]).unwrap()).unwrap();
    assert_eq!(outer["alg"], "dir");
    assert_eq!(outer["enc"], "A256GCM");
    assert_eq!(outer["cty"], "JWT");
    let keys = app.state.keys.snapshot();
    let inner = jwe::decrypt(keys.encryption().unwrap(), &token).unwrap();
    let inner = String::from_utf8(inner).unwrap();
    assert_eq!(decode_header(&inner).unwrap().alg, Algorithm::EdDSA);
    assert_verifies(&app, &token);
    assert!(
        app.state
            .settings
            .server
            .data_dir
            .join(jwe::KEY_FILE)
            .is_file(),
        "generated key kept in data_dir"
    );
}

#[tokio::test]
async fn a_rotated_key_signs_the_next_token_while_the_previous_one_still_verifies() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let before = access_token_of(&app, &phone).await;
    let old_kid = decode_header(&before).unwrap().kid.unwrap();

    let rotation = rotate(
        &app.state.settings.server.data_dir,
        app.state.keys.config(),
        app.clock.now_ms(),
    )
    .unwrap();
    assert!(
        app.state.keys.reload().unwrap(),
        "the new key was not picked up"
    );

    let after = access_token_of(&app, &phone).await;
    let new_kid = decode_header(&after).unwrap().kid.unwrap();
    assert_eq!(new_kid, rotation.kid);
    assert_ne!(new_kid, old_kid);
    assert_verifies(&app, &before);
    assert_verifies(&app, &after);
    let published: Vec<String> = jwks(&app)
        .await
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        published.contains(&old_kid) && published.contains(&new_kid),
        "{published:?}"
    );
}
