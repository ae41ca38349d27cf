//! `POST /v1/token` with the refresh-token grant: rotation, reuse, and the session's own end.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{access, error_code, refresh_token, spawn_app, spawn_app_with};

#[tokio::test]
async fn refresh_rotates_and_a_reused_refresh_token_kills_the_session() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let first = app.sign_in(&phone).await;
    let old_refresh = refresh_token(&first);

    let rotated = app.refresh(&old_refresh).await;
    assert_eq!(rotated.status(), 200);
    let second: Value = rotated.json().await.unwrap();
    let new_refresh = refresh_token(&second);
    assert_ne!(new_refresh, old_refresh);
    assert_eq!(app.verify(&access(&second)).await.status(), 200);

    let reuse = app.refresh(&old_refresh).await;
    assert_eq!(error_code(reuse).await, "invalid_grant");

    assert_eq!(
        error_code(app.refresh(&new_refresh).await).await,
        "invalid_grant"
    );
    assert_eq!(app.verify(&access(&second)).await.status(), 401);
    assert_eq!(app.verify(&access(&first)).await.status(), 401);
    let kinds = app.kinds_of("alice").await;
    assert!(kinds.contains(&"refresh_reuse".to_owned()), "{kinds:?}");
    assert!(kinds.contains(&"session_revoked".to_owned()), "{kinds:?}");
    assert!(kinds.contains(&"token_refreshed".to_owned()), "{kinds:?}");
}

#[tokio::test]
async fn a_token_of_an_expired_session_is_refused_while_the_token_itself_is_alive() {
    let app = spawn_app_with(|s| {
        s.tokens.session_ttl = nod::config::Ttl(Duration::from_secs(600));
    })
    .await;
    let phone = app.user_with_phone("alice").await;
    let tokens = app.sign_in(&phone).await;
    // Nine minutes on, a refresh gives a token good for five more minutes ...
    app.clock.advance(Duration::from_secs(9 * 60));
    let refreshed: Value = app
        .refresh(&refresh_token(&tokens))
        .await
        .json()
        .await
        .unwrap();
    let token = access(&refreshed);
    assert_eq!(app.verify(&token).await.status(), 200);
    // ... but the session ends at ten.
    app.clock.advance(Duration::from_secs(61));
    assert_eq!(app.verify(&token).await.status(), 401);
}

#[tokio::test]
async fn a_disabled_users_refresh_is_refused_before_rotation_so_it_is_not_reuse() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let tokens = app.sign_in(&phone).await;
    let token = refresh_token(&tokens);

    // The flag alone (as a script on the database might set it), sessions untouched.
    assert!(
        app.state
            .store
            .set_user_disabled("alice", true)
            .await
            .unwrap()
    );
    let refused = app.refresh(&token).await;
    assert_eq!(error_code(refused).await, "invalid_grant");
    assert!(
        app.state
            .store
            .set_user_disabled("alice", false)
            .await
            .unwrap()
    );

    // The token was not spent: it refreshes now, and nothing was taken for reuse.
    assert_eq!(app.refresh(&token).await.status(), 200);
    let events = app.events_of("alice").await;
    assert!(
        !events.iter().any(|e| e.kind == "refresh_reuse"),
        "{events:?}"
    );
}
