//! Two nod instances on one PostgreSQL database: what one commits, the other learns at once.
//! Needs `TEST_POSTGRES_URL`; without it each test says it was skipped.

use std::io::Write;
use std::time::{Duration, Instant};

use nod::config::Secret;
use serde_json::Value;

use crate::feed::get_feed;
use crate::feed::stream::Stream;
use crate::helpers::{TestApp, TestDatabase, access, claims_of, refresh_token, spawn_app_with};

/// Two instances sharing one fresh database and one data directory (keys, TOTP key), as
/// docs/deploy.md asks; and the database's guard, dropped after them.
struct Pair {
    a: TestApp,
    b: TestApp,
    _database: TestDatabase,
}

async fn two_instances(test: &str) -> Option<Pair> {
    let Some(database) = TestDatabase::create().await else {
        // Past the test harness's capture, so the run shows it.
        let _ = writeln!(
            std::io::stderr(),
            "cluster: {test} skipped: TEST_POSTGRES_URL is not set — two-instance test not run"
        );
        return None;
    };
    let url = database.url().to_owned();
    let a = spawn_app_with(|s| s.database.url = Secret::new(url.clone())).await;
    let shared_dir = a.state.settings.server.data_dir.clone();
    let b = spawn_app_with(|s| {
        s.database.url = Secret::new(url.clone());
        s.server.data_dir = shared_dir;
    })
    .await;
    Some(Pair {
        a,
        b,
        _database: database,
    })
}

/// The session id a token response's access token names.
fn sid_of(tokens: &Value) -> String {
    claims_of(&access(tokens))["sid"]
        .as_str()
        .expect("sid")
        .to_owned()
}

#[tokio::test]
async fn an_approval_on_b_wakes_the_long_poll_on_a_before_its_wait_runs_out() {
    let Some(Pair { a, b, _database }) = two_instances("long-poll across instances").await else {
        return;
    };
    let phone = a.user_with_phone("alice").await;
    let pending = a.start_login("alice").await;
    let note = a.next_notification("alice").await;
    let poll = a.park_long_poll(&pending.auth_req_id, 30).await;

    let approved = b.approve(&phone, &pending, &note.approval_id).await;
    assert_eq!(approved.status(), 200);

    // A's clock never moves, so its 30 s wait cannot run out: only B's approval, reaching A
    // through the database, answers the poll. The timeout only turns a miss into a failure.
    let (status, body) = tokio::time::timeout(Duration::from_secs(20), poll)
        .await
        .expect("B's approval wakes the poll on A")
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string());
}

#[tokio::test]
async fn a_session_revoked_on_b_is_refused_by_a_on_the_next_call() {
    let Some(Pair { a, b, _database }) = two_instances("revocation across instances").await else {
        return;
    };
    let phone = a.user_with_phone("alice").await;
    let tokens = a.sign_in(&phone).await;
    let token = tokens["access_token"].as_str().unwrap();
    // Both instances accept it (and A has it in its verified-token cache).
    assert_eq!(a.verify(token).await.status(), 200);
    assert_eq!(b.verify(token).await.status(), 200);

    b.revoke_session(&phone, &sid_of(&tokens)).await;
    assert_eq!(a.verify(token).await.status(), 401, "A's very next verify");
    assert_eq!(b.verify(token).await.status(), 401);
    let refreshed = a.refresh(&refresh_token(&tokens)).await;
    assert_eq!(refreshed.status(), 400);
}

#[tokio::test]
async fn an_event_written_on_a_reaches_a_stream_held_on_b() {
    let Some(Pair { a, b, _database }) = two_instances("feed across instances").await else {
        return;
    };
    let phone = a.user_with_phone("alice").await;
    let tokens = a.sign_in(&phone).await;
    let token = tokens["access_token"].as_str().unwrap();
    let mut stream = Stream::connect(&b, &phone, "kind=token_used", None).await;

    // Uses on both instances, interleaved: the stream on B gets each once, in order.
    for (app, path) in [(&a, "/first"), (&b, "/second"), (&a, "/third")] {
        assert_eq!(app.verify_use(token, path).await.status(), 200);
    }
    let mut paths = Vec::new();
    let mut last_id = 0;
    for _ in 0..3 {
        let event = stream.next(Duration::from_secs(5)).await.unwrap();
        assert_eq!(event.kind, "token_used");
        assert!(event.id > last_id, "ids ascend on the stream");
        last_id = event.id;
        paths.push(event.data["path"].as_str().unwrap().to_owned());
    }
    assert_eq!(paths, ["/first", "/second", "/third"]);
}

#[tokio::test]
async fn a_feed_cursor_from_a_pages_on_b() {
    let Some(Pair { a, b, _database }) = two_instances("feed cursors across instances").await
    else {
        return;
    };
    let phone = a.user_with_phone("alice").await;
    a.sign_in(&phone).await;
    let first: Value = get_feed(&a, &phone, "limit=1").await.json().await.unwrap();
    let cursor = first["next"].as_str().expect("a next cursor").to_owned();
    let second = get_feed(&b, &phone, &format!("limit=1&before={cursor}")).await;
    assert_eq!(second.status(), 200);
    let second: Value = second.json().await.unwrap();
    let (newest, older) = (&first["events"][0]["id"], &second["events"][0]["id"]);
    assert!(older.as_i64().unwrap() < newest.as_i64().unwrap());
    assert_eq!(first["events"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_session_made_on_b_verifies_on_a_and_a_forged_sid_does_not() {
    let Some(Pair { a, b, _database }) = two_instances("sessions across instances").await else {
        return;
    };
    let phone = b.user_with_phone("alice").await;
    // Signed in on B, used on A at once: whether A heard the session's notification yet or
    // had to look it up, the token verifies.
    let tokens = b.sign_in(&phone).await;
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(a.verify(token).await.status(), 200, "A's first verify");
    assert_eq!(a.verify(token).await.status(), 200);
    // A hears of B's sessions through the change stream (no lookup needed): wait for it.
    let second = b.sign_in(&phone).await;
    let sid = sid_of(&second);
    let now = a.state.clock.now_ms();
    let user = a.user_id("alice").await;
    let heard = Instant::now() + Duration::from_secs(5);
    while a.state.sessions.standing(&sid, &user, now) != nod::auth::sessions::Standing::Live {
        assert!(Instant::now() < heard, "A never heard of B's session");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(a.verify(&access(&second)).await.status(), 200);
    // Revoked on A, refused on B.
    a.revoke_session(&phone, &sid).await;
    assert_eq!(b.verify(&access(&second)).await.status(), 401);
}
