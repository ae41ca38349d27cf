//! Tokens nod did not issue as they are, forged or tampered with: refused at `/v1/verify`
//! and at introspection, and never recorded as a use.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, access, claims_of, refresh_token, spawn_app, spawn_app_with};

/// Signs `claims` with nod's own current key and the given header tweaks.
fn forge(app: &TestApp, claims: &Value, tweak: impl FnOnce(&mut Header)) -> String {
    let keys = app.state.keys.snapshot();
    let key = keys.current().unwrap();
    let mut header = Header::new(key.algorithm);
    header.typ = Some("at+jwt".into());
    header.kid = Some(key.kid.clone());
    tweak(&mut header);
    encode(&header, claims, &key.encoding).unwrap()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test]
async fn hostile_and_invalid_tokens_are_refused_and_never_recorded_as_uses() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let tokens = app.sign_in(&phone).await;
    let good = access(&tokens);
    let secret = app.resource_server("orders").await;
    let parts: Vec<&str> = good.split('.').collect();
    let claims = claims_of(&good);
    let keys = app.state.keys.snapshot();
    let key = keys.current().unwrap();
    let now = claims["iat"].as_i64().unwrap();
    let with = |field: &str, value: Value| {
        let mut c = claims.clone();
        c[field] = value;
        c
    };

    let mut hostile: Vec<(&str, String)> = Vec::new();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": key.kid});
        hostile.push(("alg none", format!("{}.{}.", b64(&header), parts[1])));
    }
    // HS256 keyed with nod's public key (the JWK's x).
    let public = URL_SAFE_NO_PAD
        .decode(
            serde_json::to_value(&key.jwk).unwrap()["x"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let mut hs = Header::new(Algorithm::HS256);
    hs.typ = Some("at+jwt".into());
    hs.kid = Some(key.kid.clone());
    hostile.push((
        "HS256 with the public key",
        encode(&hs, &claims, &EncodingKey::from_secret(&public)).unwrap(),
    ));
    for (name, extra) in [
        ("header jwk", json!({"jwk": key.jwk})),
        (
            "header jku",
            json!({"jku": "https://evil.example/jwks.json"}),
        ),
        (
            "header x5u",
            json!({"x5u": "https://evil.example/cert.pem"}),
        ),
    ] {
        let mut header = serde_json::to_value(decode_header_value(&good)).unwrap();
        for (k, v) in extra.as_object().unwrap() {
            header[k] = v.clone();
        }
        // Signed for real with nod's key: only the header's extra field is wrong.
        let signing_input = format!("{}.{}", b64(&header), parts[1]);
        let sig =
            jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key.encoding, key.algorithm)
                .unwrap();
        hostile.push((name, format!("{signing_input}.{sig}")));
    }
    hostile.push((
        "unknown kid",
        forge(&app, &claims, |h| h.kid = Some("nope".into())),
    ));
    hostile.push((
        "path kid",
        forge(&app, &claims, |h| {
            h.kid = Some("../../../../dev/null".into())
        }),
    ));
    hostile.push((
        "huge kid",
        forge(&app, &claims, |h| h.kid = Some("k".repeat(10_000))),
    ));
    hostile.push(("no kid", forge(&app, &claims, |h| h.kid = None)));
    hostile.push((
        "expired",
        forge(&app, &with("exp", json!(now - 120)), |_| {}),
    ));
    hostile.push((
        "not yet valid",
        forge(&app, &with("nbf", json!(now + 600)), |_| {}),
    ));
    hostile.push((
        "wrong aud",
        forge(&app, &with("aud", json!("someone-else")), |_| {}),
    ));
    hostile.push((
        "wrong iss",
        forge(&app, &with("iss", json!("https://evil.example")), |_| {}),
    ));
    hostile.push((
        "endless",
        forge(&app, &with("exp", json!(i64::MAX / 2)), |_| {}),
    ));
    hostile.push((
        "typ JWT",
        forge(&app, &claims, |h| h.typ = Some("JWT".into())),
    ));
    hostile.push(("no typ", forge(&app, &claims, |h| h.typ = None)));
    hostile.push(("refresh token", refresh_token(&tokens)));
    let tampered_claims = with("preferred_username", json!("admin"));
    hostile.push((
        "tampered payload",
        format!("{}.{}.{}", parts[0], b64(&tampered_claims), parts[2]),
    ));
    hostile.push((
        "100 KB",
        format!("{}.{}.{}", parts[0], "A".repeat(100_000), parts[2]),
    ));
    hostile.push(("garbage", "not.a.token".into()));

    for (name, token) in &hostile {
        let verify = app.verify(token).await;
        assert_eq!(verify.status(), 401, "verify: {name}");
        let introspect = app.introspect(token, ("orders", &secret)).await;
        if token.len() > app.state.settings.server.max_body_bytes {
            // Bigger than any request body nod reads: refused before it is looked at.
            assert_eq!(introspect.status(), 413, "introspect: {name}");
            continue;
        }
        assert_eq!(introspect.status(), 200, "introspect: {name}");
        let body: Value = introspect.json().await.unwrap();
        assert_eq!(body, json!({"active": false}), "introspect: {name}");
    }
    assert!(
        app.uses_of("alice").await.is_empty(),
        "a refused token was recorded as a use"
    );
    // The good token still works: none of the above poisoned the cache.
    assert_eq!(app.verify(&good).await.status(), 200);
    // And time runs out for it like for any other.
    app.clock.advance(Duration::from_secs(300 + 31));
    assert_eq!(app.verify(&good).await.status(), 401);
}

fn decode_header_value(token: &str) -> Value {
    let head = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).unwrap()).unwrap()
}

#[tokio::test]
async fn with_a_shared_hs256_key_a_token_must_name_a_live_session_of_its_subject() {
    let app = spawn_app_with(|s| {
        s.tokens.algorithm = nod::config::SigningAlgorithm::HS256;
        s.tokens.hmac_secret =
            nod::config::Secret::new(base64::engine::general_purpose::STANDARD.encode([7u8; 32]));
    })
    .await;
    let alice = app.user_with_phone("alice").await;
    let bob = app.user_with_phone("bob").await;
    let alices = access(&app.sign_in(&alice).await);
    let bobs = access(&app.sign_in(&bob).await);
    let secret = app.resource_server("orders").await;
    let (alice_claims, bob_claims) = (claims_of(&alices), claims_of(&bobs));

    let mut unknown_sid = alice_claims.clone();
    unknown_sid["sid"] = json!(nod::auth::secrets::new_id().unwrap());
    unknown_sid["jti"] = json!("forged-1");
    // Alice's session, Bob's identity.
    let mut crossed = alice_claims.clone();
    crossed["sub"] = bob_claims["sub"].clone();
    crossed["preferred_username"] = bob_claims["preferred_username"].clone();
    crossed["jti"] = json!("forged-2");
    for (name, claims) in [
        ("unknown sid", unknown_sid),
        ("alice's sid, bob's sub", crossed),
    ] {
        // Signed as any server holding the shared HS256 key could.
        let forged = forge(&app, &claims, |_| {});
        // Twice: the second answer comes from what the first one learnt.
        for attempt in 0..2 {
            let verify = app.verify(&forged).await;
            assert_eq!(verify.status(), 401, "verify: {name} ({attempt})");
            let introspect = app.introspect(&forged, ("orders", &secret)).await;
            assert_eq!(introspect.status(), 200);
            let body: Value = introspect.json().await.unwrap();
            assert_eq!(body, json!({"active": false}), "introspect: {name}");
        }
    }
    assert!(app.uses_of("alice").await.is_empty());
    assert!(app.uses_of("bob").await.is_empty());
    // The real tokens, signed the same way, still verify.
    assert_eq!(app.verify(&alices).await.status(), 200);
    assert_eq!(app.verify(&bobs).await.status(), 200);
}
