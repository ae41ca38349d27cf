//! The CLI run by an operator against the data of a running server (another process, as in
//! production): what it changes reaches the server within a second — on SQLite through the
//! database's change counter, on PostgreSQL through the change stream.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{Operator, PASSWORD, error_code, spawn_app};

/// Checks `condition` until it holds or `limit` has passed; how long it took, if it held.
async fn within<F, Fut>(limit: Duration, mut condition: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if condition().await {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn disabling_a_user_on_the_cli_ends_her_sessions_at_once_and_enabling_brings_none_back() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let tokens = app.sign_in(&phone).await;
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.verify(token).await.status(), 200);
    let operator = Operator::of(&app);

    let disabled = operator.run(&["user", "disable", "alice"], None);
    assert_eq!(disabled["sessions_ended"], 1);
    let refused = within(Duration::from_secs(2), || async {
        app.verify(token).await.status() == 401
    })
    .await;
    println!("the running server refused the token {refused:?} after `nod user disable`");
    assert!(
        refused.is_some(),
        "the disabled user's token still verifies"
    );
    let ended: Vec<_> = app
        .events_of("alice")
        .await
        .into_iter()
        .filter(|e| e.kind == "session_revoked")
        .collect();
    assert_eq!(ended.len(), 1);
    assert!(
        ended[0]
            .detail
            .as_deref()
            .unwrap()
            .contains(r#""by":"admin""#)
    );

    operator.run(&["user", "enable", "alice"], None);
    let refresh = app.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(error_code(refresh).await, "invalid_grant");
    assert_eq!(app.verify(token).await.status(), 401);
    // She can sign in again, with a new session.
    let again = app.sign_in(&phone).await;
    assert_eq!(
        app.verify(again["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_password_reset_on_the_cli_ends_every_session_unless_told_to_keep_them() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let first = app.sign_in(&phone).await;
    let second = app.sign_in(&phone).await;
    let operator = Operator::of(&app);
    let new_password = format!("{PASSWORD} 2\n");

    let kept = operator.run(
        &[
            "user",
            "passwd",
            "alice",
            "--password-stdin",
            "--keep-sessions",
        ],
        Some(&new_password),
    );
    assert_eq!(kept["sessions_ended"], 0);
    let refreshed = app.refresh(first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status(), 200, "--keep-sessions kept the session");

    let reset = operator.run(
        &["user", "passwd", "alice", "--password-stdin"],
        Some(&new_password),
    );
    assert_eq!(reset["sessions_ended"], 2);
    let token = second["access_token"].as_str().unwrap();
    let refused = within(Duration::from_secs(2), || async {
        app.verify(token).await.status() == 401
    })
    .await;
    assert!(
        refused.is_some(),
        "a token of the old password still verifies"
    );
    let refresh = app.refresh(second["refresh_token"].as_str().unwrap()).await;
    assert_eq!(error_code(refresh).await, "invalid_grant");
}

#[tokio::test]
async fn a_resource_server_added_on_the_cli_may_introspect_within_a_second() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let tokens = app.sign_in(&phone).await;
    let token = tokens["access_token"].as_str().unwrap();
    let operator = Operator::of(&app);

    // Twice: the second addition comes right after the first was picked up, so no periodic
    // reload that happens to be due soon can make it look fast.
    let mut lags = Vec::new();
    let mut secrets = Vec::new();
    for name in ["orders", "billing"] {
        let added = operator.run(&["resource-server", "add", name], None);
        let secret = added["secret"].as_str().unwrap().to_owned();
        let accepted = within(Duration::from_secs(8), || async {
            app.introspect(token, (name, &secret)).await.status() == 200
        })
        .await;
        lags.push(accepted);
        secrets.push(secret);
    }
    println!("resource servers accepted after {lags:?}");
    assert!(
        lags.iter()
            .all(|lag| lag.is_some_and(|lag| lag < Duration::from_secs(2))),
        "a resource server added on the CLI was refused for {lags:?}"
    );

    operator.run(&["resource-server", "remove", "orders"], None);
    let refused = within(Duration::from_secs(2), || async {
        app.introspect(token, ("orders", &secrets[0]))
            .await
            .status()
            == 401
    })
    .await;
    assert!(
        refused.is_some(),
        "a removed resource server still introspects"
    );
}

#[tokio::test]
async fn a_key_rotated_on_the_cli_is_published_within_a_second() {
    let app = spawn_app().await;
    let operator = Operator::of(&app);
    let published = |kid: String| {
        let app = &app;
        async move {
            let jwks: Value = app.get_json("/.well-known/jwks.json").await;
            jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kid"] == kid.as_str())
        }
    };

    // Twice, for the same reason as above: the second rotation follows the first pickup.
    let mut lags = Vec::new();
    for _ in 0..2 {
        let rotated = operator.run(&["keys", "rotate"], None);
        let kid = rotated["kid"].as_str().unwrap().to_owned();
        lags.push(within(Duration::from_secs(8), || published(kid.clone())).await);
    }
    println!("rotated keys published after {lags:?}");
    assert!(
        lags.iter()
            .all(|lag| lag.is_some_and(|lag| lag < Duration::from_secs(1))),
        "a rotated key reached the JWKS after {lags:?}"
    );
}
