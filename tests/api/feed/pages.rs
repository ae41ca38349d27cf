//! `GET /v1/device/feed`: newest first, keyset pages, cursors and filters scoped to the owner.

use std::collections::HashSet;

use super::{events, feed_page, feed_with_at_least, get_feed, record_use};
use crate::helpers::{error_code, spawn_app};

#[tokio::test]
async fn the_feed_lists_a_logins_events_newest_first_for_its_owner() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    app.sign_in(&phone).await;

    let list = feed_with_at_least(&app, &phone, 4).await;

    let kinds: HashSet<&str> = list.iter().filter_map(|e| e["kind"].as_str()).collect();
    let expected = [
        "login_requested",
        "notification_sent",
        "approved",
        "token_issued",
    ];
    assert_eq!(kinds, expected.into_iter().collect(), "{list:?}");
    assert_eq!(list.len(), 4);
    let ids: Vec<i64> = list.iter().filter_map(|e| e["id"].as_i64()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    assert_eq!(list[3]["kind"], "login_requested");
    let issued = list.iter().find(|e| e["kind"] == "token_issued").unwrap();
    assert!(issued["sid"].is_string() && issued["at"].is_i64());
    assert!(issued["detail"].is_object(), "detail is JSON, not text");
    assert!(issued.get("method").is_none(), "absent fields are omitted");
    assert!(issued.get("user_id").is_none());
}

#[tokio::test]
async fn paging_with_next_returns_every_event_exactly_once_while_new_ones_arrive() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let alice = app.user_id("alice").await;
    for i in 0..25 {
        record_use(&app, &alice, &format!("/old/{i}")).await;
    }

    let mut seen = Vec::new();
    let mut page = feed_page(&app, &phone, "limit=10").await;
    loop {
        seen.extend(events(&page));
        // New events between page fetches land above the first page, never in a later one.
        record_use(&app, &alice, "/new").await;
        let Some(next) = page["next"].as_str() else {
            break;
        };
        page = feed_page(&app, &phone, &format!("limit=10&before={next}")).await;
    }

    let paths: Vec<&str> = seen.iter().filter_map(|e| e["path"].as_str()).collect();
    let expected: Vec<String> = (0..25).rev().map(|i| format!("/old/{i}")).collect();
    assert_eq!(paths, expected);
    let fresh = events(&feed_page(&app, &phone, "").await);
    assert_eq!(fresh.len(), 28, "the default limit holds all of them");
    assert_eq!(fresh[0]["path"], "/new");
}

#[tokio::test]
async fn the_last_page_says_next_null() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let alice = app.user_id("alice").await;
    for _ in 0..4 {
        record_use(&app, &alice, "/x").await;
    }

    let first = feed_page(&app, &phone, "limit=2").await;
    let next = first["next"].as_str().unwrap();
    let second = feed_page(&app, &phone, &format!("limit=2&before={next}")).await;

    assert_eq!(events(&second).len(), 2);
    assert!(second["next"].is_null(), "{second}");
}

#[tokio::test]
async fn a_tampered_forged_or_foreign_cursor_is_not_found() {
    let app = spawn_app().await;
    let alices_phone = app.user_with_phone("alice").await;
    let bobs_phone = app.user_with_phone("bob").await;
    for name in ["alice", "bob"] {
        let id = app.user_id(name).await;
        for _ in 0..3 {
            record_use(&app, &id, "/x").await;
        }
    }
    let alices = feed_page(&app, &alices_phone, "limit=1").await["next"]
        .as_str()
        .unwrap()
        .to_owned();
    let bobs = feed_page(&app, &bobs_phone, "limit=1").await["next"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut flipped: Vec<char> = alices.chars().collect();
    flipped[20] = if flipped[20] == 'A' { 'B' } else { 'A' };
    let flipped: String = flipped.into_iter().collect();

    for cursor in [flipped.as_str(), bobs.as_str(), "garbage", "MTIz", "%00"] {
        let response = get_feed(&app, &alices_phone, &format!("before={cursor}")).await;
        assert_eq!(response.status(), 404, "cursor {cursor}");
        assert_eq!(error_code(response).await, "not_found");
    }
    let genuine = get_feed(&app, &alices_phone, &format!("before={alices}")).await;
    assert_eq!(genuine.status(), 200);
}

#[tokio::test]
async fn bad_limits_and_unknown_kinds_are_invalid_requests() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;

    for query in [
        "limit=0",
        "limit=201",
        "limit=-3",
        "limit=ten",
        "kind=made_up",
    ] {
        let response = get_feed(&app, &phone, query).await;
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(error_code(response).await, "invalid_request", "{query}");
    }
    assert_eq!(get_feed(&app, &phone, "limit=200").await.status(), 200);
}

#[tokio::test]
async fn kind_and_sid_filters_narrow_the_feed_to_the_owners_data() {
    let app = spawn_app().await;
    let alices_phone = app.user_with_phone("alice").await;
    let bobs_phone = app.user_with_phone("bob").await;
    app.sign_in(&alices_phone).await;
    app.sign_in(&bobs_phone).await;
    let issued = feed_page(&app, &alices_phone, "kind=token_issued").await;
    let alices_sid = events(&issued)[0]["sid"].as_str().unwrap().to_owned();
    let bobs_sid = events(&feed_page(&app, &bobs_phone, "kind=token_issued").await)[0]["sid"]
        .as_str()
        .unwrap()
        .to_owned();

    let by_sid = feed_page(&app, &alices_phone, &format!("sid={alices_sid}")).await;
    let foreign = get_feed(&app, &alices_phone, &format!("sid={bobs_sid}")).await;
    let unknown = get_feed(&app, &alices_phone, "sid=nope").await;

    assert_eq!(events(&issued).len(), 1);
    assert!(
        events(&by_sid)
            .iter()
            .all(|e| e["sid"] == alices_sid.as_str())
    );
    assert!(!events(&by_sid).is_empty());
    assert_eq!(foreign.status(), 404);
    assert_eq!(error_code(foreign).await, "not_found");
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn a_device_never_sees_another_users_events() {
    let app = spawn_app().await;
    let alices_phone = app.user_with_phone("alice").await;
    let bobs_phone = app.user_with_phone("bob").await;
    app.sign_in(&alices_phone).await;
    feed_with_at_least(&app, &alices_phone, 4).await;

    let bobs = events(&feed_page(&app, &bobs_phone, "limit=200").await);
    let unauthenticated = app
        .client
        .get(app.url("/v1/device/feed"))
        .send()
        .await
        .unwrap();

    assert!(bobs.is_empty(), "{bobs:?}");
    assert_eq!(unauthenticated.status(), 401);
}
