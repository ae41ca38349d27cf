//! Using tokens: forward-auth, introspection, revocation, forged tokens — and the feed record
//! of every use. The refresh grant is tested with the token endpoint (`token::refresh`).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, access, all_at_once, claims_of, error_code, refresh_token, spawn_app, spawn_app_with,
};

#[tokio::test]
async fn a_verified_use_answers_with_the_user_and_lands_in_the_feed() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let tokens = app.sign_in(&phone).await;

    let response = app.verify(&access(&tokens)).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-auth-user"], "alice");
    assert_eq!(
        response.headers()["x-auth-subject"],
        app.user_id("alice").await.as_str()
    );
    let sid = response.headers()["x-auth-session"]
        .to_str()
        .unwrap()
        .to_owned();
    let uses = app.uses_of("alice").await;
    assert_eq!(uses.len(), 1);
    let used = &uses[0];
    assert_eq!(used.sid.as_deref(), Some(sid.as_str()));
    assert_eq!(used.method.as_deref(), Some("GET"));
    assert_eq!(used.host.as_deref(), Some("api.example"));
    assert_eq!(used.path.as_deref(), Some("/orders/42"));
    assert_eq!(used.ip.as_deref(), Some("127.0.0.1"));
    assert!(used.jti.is_some());
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
    let app = spawn_app_with(|s| {
        s.server.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let phone = app.user_with_phone("alice").await;
    let token = access(&app.sign_in(&phone).await);

    let response = app
        .client
        .get(app.url("/v1/verify"))
        .bearer_auth(&token)
        .header("x-forwarded-for", "203.0.113.7")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(
        app.uses_of("alice").await[0].ip.as_deref(),
        Some("203.0.113.7")
    );

    let untrusting = spawn_app().await;
    let phone = untrusting.user_with_phone("bob").await;
    let token = access(&untrusting.sign_in(&phone).await);
    untrusting
        .client
        .get(untrusting.url("/v1/verify"))
        .bearer_auth(&token)
        .header("x-forwarded-for", "203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_eq!(
        untrusting.uses_of("bob").await[0].ip.as_deref(),
        Some("127.0.0.1")
    );
}

#[tokio::test]
async fn introspection_answers_resource_servers_only() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let token = access(&app.sign_in(&phone).await);
    let secret = app.resource_server("orders").await;

    let denied = app.introspect(&token, ("orders", "wrong")).await;
    let unknown = app.introspect(&token, ("nobody", &secret)).await;
    let active = app.introspect(&token, ("orders", &secret)).await;

    assert_eq!(denied.status(), 401);
    assert!(denied.headers().contains_key("www-authenticate"));
    assert_eq!(unknown.status(), 401);
    assert_eq!(active.status(), 200);
    let body: Value = active.json().await.unwrap();
    assert_eq!(body["active"], true);
    assert_eq!(body["username"], "alice");
    for field in ["sub", "sid", "exp", "iat", "jti", "token_type", "scope"] {
        assert!(body.get(field).is_some(), "missing {field}: {body}");
    }
    let uses = app.uses_of("alice").await;
    assert_eq!(
        uses.len(),
        1,
        "only the authenticated introspection is a use"
    );
    assert_eq!(uses[0].resource_server.as_deref(), Some("orders"));
}

#[tokio::test]
async fn token_uses_answer_503_while_the_revocation_view_is_stale() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let token = access(&app.sign_in(&phone).await);
    let secret = app.resource_server("orders").await;
    assert_eq!(app.verify(&token).await.status(), 200);

    // What the cluster task does while it cannot hear other instances' revocations.
    app.state.sessions.set_current(false);
    let verify = app.verify(&token).await;
    assert_eq!(verify.status(), 503);
    assert_eq!(error_code(verify).await, "temporarily_unavailable");
    let introspect = app.introspect(&token, ("orders", &secret)).await;
    assert_eq!(introspect.status(), 503);
    // A token that is not ours is still plainly invalid.
    assert_eq!(app.verify("not.a.token").await.status(), 401);

    app.state.sessions.set_current(true);
    assert_eq!(app.verify(&token).await.status(), 200);
}

#[tokio::test]
async fn a_revoked_session_fails_on_the_very_next_use_everywhere() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let tokens = app.sign_in(&phone).await;
    let token = access(&tokens);
    let secret = app.resource_server("orders").await;
    assert_eq!(app.verify(&token).await.status(), 200);

    let sid = app.uses_of("alice").await[0].sid.clone().unwrap();
    app.revoke_session(&phone, &sid).await;

    let verify = app.verify(&token).await;
    assert_eq!(verify.status(), 401);
    assert!(
        verify.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let introspect: Value = app
        .introspect(&token, ("orders", &secret))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(introspect, json!({"active": false}));
    let refresh = app.refresh(&refresh_token(&tokens)).await;
    assert_eq!(error_code(refresh).await, "invalid_grant");
    assert_eq!(
        app.uses_of("alice").await.len(),
        1,
        "refused uses are not uses"
    );
    let events = app.events_of("alice").await;
    assert!(
        events.iter().any(|e| e.kind == "session_revoked"
            && e.device_id.as_deref() == Some(phone.device_id.as_str()))
    );
    assert!(events.iter().any(|e| e.kind == "token_rejected"));
}

#[tokio::test]
async fn under_concurrency_every_200_has_exactly_one_use_and_no_401_has_one() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let good = access(&app.sign_in(&phone).await);
    let mut bad = good.clone();
    bad.push('x');

    let calls = (0..200).map(|i| {
        let token = if i % 4 == 3 { &bad } else { &good };
        app.client
            .get(app.url("/v1/verify"))
            .bearer_auth(token)
            .header("x-forwarded-uri", format!("/call/{i}"))
    });
    let statuses = all_at_once(calls).await;

    assert_eq!((statuses.count(200), statuses.count(401)), (150, 50));
    let ok: Vec<usize> = (0..200).filter(|i| statuses.0[*i] == 200).collect();
    let mut used_paths: Vec<String> = app
        .uses_of("alice")
        .await
        .into_iter()
        .map(|e| e.path.unwrap())
        .collect();
    used_paths.sort();
    let mut expected: Vec<String> = ok.iter().map(|i| format!("/call/{i}")).collect();
    expected.sort();
    assert_eq!(used_paths, expected, "one event per 200, none for a 401");
}

#[tokio::test]
async fn logout_and_rfc_7009_revocation_end_the_session() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let by_logout = access(&app.sign_in(&phone).await);
    let by_revoke = app.sign_in(&phone).await;

    let logout = app
        .client
        .post(app.url("/v1/logout"))
        .bearer_auth(&by_logout)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    assert_eq!(app.verify(&by_logout).await.status(), 401);
    let again = app
        .client
        .post(app.url("/v1/logout"))
        .bearer_auth(&by_logout)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 401);

    let revoke = app
        .client
        .post(app.url("/v1/revoke"))
        .form(&[("token", by_revoke["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 200);
    assert_eq!(app.verify(&access(&by_revoke)).await.status(), 401);
    let unknown = app
        .client
        .post(app.url("/v1/revoke"))
        .form(&[("token", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        unknown.status(),
        200,
        "RFC 7009: unknown tokens are not an error"
    );
}

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
async fn events_past_retention_are_pruned_and_the_newest_always_stays() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let user = app.user_id("alice").await;
    let now = app.state.clock.now_ms();
    let day = 86_400_000;
    for (i, age_days) in [200, 120, 91, 10, 1].into_iter().enumerate() {
        let mut e = nod::audit::event(&user, "token_used", now - age_days * day);
        e.path = Some(format!("/{i}"));
        app.state.audit.record_durably(e).await.unwrap();
    }

    let pruned = nod::audit::retention::prune_once(&app.state.retention())
        .await
        .unwrap();

    assert_eq!(pruned, 3, "the three events older than 90 days go");
    let left: Vec<String> = app
        .uses_of("alice")
        .await
        .into_iter()
        .map(|e| e.path.unwrap())
        .collect();
    assert_eq!(left, ["/3", "/4"]);

    // Even when everything is old, the newest event stays, so event ids never restart.
    app.clock.advance(Duration::from_secs(400 * 86_400));
    nod::audit::retention::prune_once(&app.state.retention())
        .await
        .unwrap();
    let last: Vec<String> = app
        .uses_of("alice")
        .await
        .into_iter()
        .map(|e| e.path.unwrap())
        .collect();
    assert_eq!(last, ["/4"]);
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
