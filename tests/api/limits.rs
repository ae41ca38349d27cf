//! The limits that make push bombing and guessing useless.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    PASSWORD, Statuses, TestApp, all_at_once, error_code, spawn_app, spawn_app_with,
};

/// `POST /v1/login` with `body`, seen as coming through `X-Forwarded-For: forwarded_for`.
async fn login_via(app: &TestApp, forwarded_for: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/v1/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// `count` wrong passwords, one after another, each for a fresh name (`user{i}`) and from
/// `address(i)` as the proxy forwards it; the statuses.
async fn wrong_passwords_from(
    app: &TestApp,
    count: usize,
    address: impl Fn(usize) -> String,
) -> Vec<u16> {
    let mut statuses = Vec::new();
    for i in 0..count {
        let body = json!({"username": format!("user{i}"), "password": "wrong password"});
        let response = login_via(app, &address(i), body).await;
        statuses.push(response.status().as_u16());
    }
    statuses
}

/// Checks that the first `allowed` of `statuses` were checked (401) and the rest blocked (429).
fn assert_blocked_after(statuses: &[u16], allowed: usize) {
    assert!(
        statuses[..allowed].iter().all(|s| *s == 401),
        "{statuses:?}"
    );
    assert!(
        statuses[allowed..].iter().all(|s| *s == 429),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn ten_logins_in_a_row_push_once() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;

    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(app.login("alice", PASSWORD).await.status().as_u16());
    }

    assert_eq!(statuses[0], 202);
    assert!(statuses[1..].iter().all(|s| *s == 429), "{statuses:?}");
    app.next_notification("alice").await;
    assert_eq!(
        app.state.notifiers.mock().sent(Some("alice")).len(),
        1,
        "one push"
    );
}

#[tokio::test]
async fn after_a_fraud_report_logins_push_nothing_during_the_cool_down_and_the_feed_says_why() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    app.start_login("alice").await;
    let note = app.next_notification("alice").await;
    let fraud = app
        .decide(&phone, &note.approval_id, json!({"decision": "fraud"}))
        .await;
    assert_eq!(fraud.status(), 200);

    app.clock.advance(Duration::from_secs(60));
    let muted = app.login("alice", PASSWORD).await;

    assert_eq!(muted.status(), 429);
    let retry: u64 = muted.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 60 && retry <= 20 * 60, "{retry}");
    assert_eq!(error_code(muted).await, "rate_limited");
    assert_eq!(
        app.state.notifiers.mock().sent(Some("alice")).len(),
        1,
        "no new push"
    );
    let refused = app
        .events_of("alice")
        .await
        .into_iter()
        .find(|e| e.kind == "login_refused");
    let detail = refused.expect("a login_refused event").detail.unwrap();
    assert!(detail.contains("fraud_cooldown"), "{detail}");

    app.clock.advance(Duration::from_secs(20 * 60));
    assert_eq!(
        app.login("alice", PASSWORD).await.status(),
        202,
        "the cool-down ends"
    );
}

#[tokio::test]
async fn denials_in_a_row_pause_pushes() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let limit = app.state.settings.limits.denial_max;
    for _ in 0..limit {
        app.start_login("alice").await;
        let note = app.next_notification("alice").await;
        let denied = app
            .decide(&phone, &note.approval_id, json!({"decision": "deny"}))
            .await;
        assert_eq!(denied.status(), 200);
    }

    let paused = app.login("alice", PASSWORD).await;

    assert_eq!(paused.status(), 429);
    assert_eq!(
        app.state.notifiers.mock().sent(Some("alice")).len() as u32,
        limit
    );
    app.clock
        .advance(app.state.settings.limits.denial_block.0 + Duration::from_secs(1));
    assert_eq!(app.login("alice", PASSWORD).await.status(), 202);
}

#[tokio::test]
async fn twenty_wrong_passwords_from_rotating_forwarded_addresses_are_throttled() {
    let app = spawn_app().await; // no trusted proxies: X-Forwarded-For is ignored
    app.user_with_phone("alice").await;

    let mut statuses = Vec::new();
    for i in 0..20 {
        let body = json!({"username": "alice", "password": format!("guess number {i}")});
        let response = login_via(&app, &format!("198.51.100.{i}"), body).await;
        statuses.push(response.status().as_u16());
    }

    let allowed = app.state.settings.limits.password_max_failures as usize;
    assert_blocked_after(&statuses, allowed);
    // While blocked, even the right password waits (and nothing is pushed).
    let right = app.login("alice", PASSWORD).await;
    assert_eq!(right.status(), 429);
    assert!(right.headers().contains_key("retry-after"));
    assert!(app.state.notifiers.mock().sent(Some("alice")).is_empty());
    // The block ends.
    app.clock.advance(Duration::from_secs(3600));
    assert_eq!(app.login("alice", PASSWORD).await.status(), 202);
}

#[tokio::test]
async fn blocks_for_unknown_names_look_like_blocks_for_real_ones() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;
    let allowed = app.state.settings.limits.password_max_failures;
    let mut answers = Vec::new();
    for name in ["alice", "nobody"] {
        for _ in 0..allowed {
            assert_eq!(app.login(name, "wrong password").await.status(), 401);
        }
        let blocked = app.login(name, "wrong password").await;
        assert_eq!(blocked.status(), 429, "{name}");
        answers.push(blocked.text().await.unwrap());
    }
    assert_eq!(answers[0], answers[1]);
}

/// Posts `bodies` to `/v1/login` all at once.
async fn parallel_logins(app: &TestApp, bodies: Vec<Value>) -> Statuses {
    all_at_once(
        bodies
            .iter()
            .map(|body| app.client.post(app.url("/v1/login")).json(body)),
    )
    .await
}

#[tokio::test]
async fn thirty_parallel_wrong_passwords_for_one_user_get_exactly_the_limit_checked() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;
    let allowed = app.state.settings.limits.password_max_failures as usize;
    let bodies = (0..30)
        .map(|i| json!({"username": "alice", "password": format!("guess number {i}")}))
        .collect();

    let statuses = parallel_logins(&app, bodies).await;

    // Every 401 is one argon2 check; nothing else was checked.
    statuses.assert_counts(&[(401, allowed), (429, 30 - allowed)]);
    let right = app.login("alice", PASSWORD).await;
    assert_eq!(
        right.status(),
        429,
        "the block holds for the right password too"
    );
}

#[tokio::test]
async fn thirty_parallel_wrong_passwords_from_one_address_get_exactly_its_limit_checked() {
    let app = spawn_app().await;
    let allowed = app.state.settings.limits.ip_max_failures as usize;
    // A different name each time, so only the per-address limit applies.
    let bodies = (0..30)
        .map(|i| json!({"username": format!("user{i}"), "password": "wrong password"}))
        .collect();

    let statuses = parallel_logins(&app, bodies).await;

    statuses.assert_counts(&[(401, allowed), (429, 30 - allowed)]);
}

#[tokio::test]
async fn a_right_password_under_the_limit_signs_in_and_clears_the_count() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;
    let allowed = app.state.settings.limits.password_max_failures;
    for _ in 1..allowed {
        assert_eq!(app.login("alice", "wrong password").await.status(), 401);
    }

    assert_eq!(app.login("alice", PASSWORD).await.status(), 202);

    // The count starts again: `allowed` more wrong passwords are checked before the block.
    app.clock.advance(Duration::from_secs(121)); // let the pending approval expire
    for _ in 0..allowed {
        assert_eq!(app.login("alice", "wrong password").await.status(), 401);
    }
    assert_eq!(app.login("alice", "wrong password").await.status(), 429);
}

#[tokio::test]
async fn a_forwarded_address_cannot_be_chosen_by_the_client_behind_an_appending_proxy() {
    // nod behind one proxy at 127.0.0.1 that appends the address it saw (203.0.113.9) to
    // whatever the client sent.
    let app = spawn_app_with(|s| {
        s.server.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    app.user_with_phone("alice").await;
    let allowed = app.state.settings.limits.ip_max_failures as usize;

    let statuses = wrong_passwords_from(&app, allowed + 5, |i| {
        format!("198.51.100.{i}, x, 203.0.113.9")
    })
    .await;

    assert_blocked_after(&statuses, allowed);
    // The address the phone is shown is the one the proxy saw.
    app.clock.advance(Duration::from_secs(3600));
    let body = json!({"username": "alice", "password": PASSWORD});
    let started = login_via(&app, "198.51.100.77, x, 203.0.113.9", body).await;
    assert_eq!(started.status(), 202);
    let note = app.next_notification("alice").await;
    assert!(note.text.contains("from 203.0.113.9"), "{}", note.text);
    assert!(!note.text.contains("198.51.100.77"), "{}", note.text);
}

#[tokio::test]
async fn an_ipv6_client_is_counted_per_64_whatever_address_it_takes_in_it() {
    let app = spawn_app_with(|s| {
        s.server.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let allowed = app.state.settings.limits.ip_max_failures as usize;

    let statuses =
        wrong_passwords_from(&app, allowed + 3, |i| format!("2001:db8:1:2:{i:x}::{i:x}")).await;

    assert_blocked_after(&statuses, allowed);
    // Another /64 is another subscriber.
    let body = json!({"username": "someone", "password": "wrong password"});
    let other = login_via(&app, "2001:db8:1:3::1", body).await;
    assert_eq!(other.status(), 401);
}

#[tokio::test]
async fn a_huge_typed_name_is_counted_under_a_short_key_that_expires() {
    let app = spawn_app().await;
    let huge = "N".repeat(60_000);

    let response = app.login(&huge, "wrong password").await;

    assert_eq!(response.status(), 401);
    let key = nod::flows::limits::keys::password_user(&huge);
    assert!(key.len() < 100, "{key}");
    let counter = app.state.store.limit_state(&key).await.unwrap();
    assert_eq!(counter.map(|c| c.failures), Some(1));
    // Housekeeping leaves it while its window runs, and forgets it after.
    assert_eq!(
        nod::flows::limits::forget_expired(&app.state)
            .await
            .unwrap(),
        0
    );
    app.clock.advance(Duration::from_secs(2 * 3600));
    let forgotten = nod::flows::limits::forget_expired(&app.state)
        .await
        .unwrap();
    assert_eq!(forgotten, 2, "the name's counter and the address's");
    assert_eq!(app.state.store.limit_state(&key).await.unwrap(), None);
}
