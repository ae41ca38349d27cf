//! Using tokens: forward-auth, introspection, revocation, retention — and the feed record of
//! every use. Forged tokens are in `forged_tokens`; the refresh grant is tested with the token
//! endpoint (`token::refresh`).

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{access, all_at_once, error_code, refresh_token, spawn_app, spawn_app_with};

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

    statuses.assert_counts(&[(200, 150), (401, 50)]);
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

    let logout = |token: String| {
        app.client
            .post(app.url("/v1/logout"))
            .bearer_auth(token)
            .send()
    };
    let revoke = |token: String| {
        let form = [("token", token)];
        app.client.post(app.url("/v1/revoke")).form(&form).send()
    };

    let logged_out = logout(by_logout.clone()).await.unwrap();
    assert_eq!(logged_out.status(), 204);
    assert_eq!(app.verify(&by_logout).await.status(), 401);
    let again = logout(by_logout.clone()).await.unwrap();
    assert_eq!(again.status(), 401);

    let revoked = revoke(refresh_token(&by_revoke)).await.unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(app.verify(&access(&by_revoke)).await.status(), 401);
    let unknown = revoke("nope".into()).await.unwrap();
    assert_eq!(
        unknown.status(),
        200,
        "RFC 7009: unknown tokens are not an error"
    );
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
