//! `GET /v1/device/feed/stream`: Server-Sent Events, resumable with `Last-Event-ID`.

use std::time::Duration;

use nod::audit::{event, kind};
use nod::clock::Clock;
use reqwest::Response;
use serde_json::Value;

use super::record_use;
use crate::helpers::{Phone, TestApp, error_code, spawn_app};

/// One received event.
#[derive(Debug)]
pub(crate) struct Received {
    pub(crate) id: i64,
    pub(crate) kind: String,
    pub(crate) data: Value,
}

/// An open stream, read chunk by chunk.
pub(crate) struct Stream {
    response: Response,
    buffer: String,
}

async fn open(app: &TestApp, phone: &Phone, query: &str, last_event_id: Option<&str>) -> Response {
    open_at(&app.address, &phone.secret, query, last_event_id).await
}

/// Opens a stream on the server at `address` with a device secret.
async fn open_at(address: &str, secret: &str, query: &str, last: Option<&str>) -> Response {
    let mut request = reqwest::Client::new()
        .get(format!("{address}/v1/device/feed/stream?{query}"))
        .bearer_auth(secret);
    if let Some(id) = last {
        request = request.header("Last-Event-ID", id);
    }
    request.send().await.expect("stream request")
}

impl Stream {
    pub(crate) async fn connect(
        app: &TestApp,
        phone: &Phone,
        query: &str,
        last: Option<i64>,
    ) -> Self {
        let last = last.map(|l| l.to_string());
        Self::from(open(app, phone, query, last.as_deref()).await)
    }

    fn from(response: Response) -> Self {
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Stream {
            response,
            buffer: String::new(),
        }
    }

    /// The next event within `within` (heartbeat comments skipped); `None` if the stream ended.
    pub(crate) async fn next(&mut self, within: Duration) -> Option<Received> {
        tokio::time::timeout(within, self.read_event())
            .await
            .expect("an event (or the end) in time")
    }

    async fn read_event(&mut self) -> Option<Received> {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(received) = parse(&block) {
                    return Some(received);
                }
            }
            let chunk = self.response.chunk().await.expect("stream body")?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

fn parse(block: &str) -> Option<Received> {
    let (mut id, mut kind, mut data) = (None, None, None);
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => id = value.parse().ok(),
            "event" => kind = Some(value.to_owned()),
            "data" => data = serde_json::from_str(value).ok(),
            _ => {} // "" is a comment: a heartbeat
        }
    }
    Some(Received {
        id: id?,
        kind: kind?,
        data: data?,
    })
}

const SOON: Duration = Duration::from_secs(2);

#[tokio::test]
async fn a_recorded_event_arrives_on_the_stream_with_its_id_and_kind() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let alice = app.user_id("alice").await;
    let mut stream = Stream::connect(&app, &phone, "", None).await;

    record_use(&app, &alice, "/live").await;
    let received = stream.next(SOON).await.unwrap();

    assert_eq!(received.kind, "token_used");
    assert_eq!(received.data["id"], received.id);
    assert_eq!(received.data["path"], "/live");
}

#[tokio::test]
async fn reconnecting_with_last_event_id_replays_the_missed_events_then_goes_on_live() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let alice = app.user_id("alice").await;
    let mut first = Stream::connect(&app, &phone, "", None).await;
    record_use(&app, &alice, "/1").await;
    let seen = first.next(SOON).await.unwrap();
    drop(first);
    record_use(&app, &alice, "/2").await;
    record_use(&app, &alice, "/3").await;

    let mut again = Stream::connect(&app, &phone, "", Some(seen.id)).await;
    let mut paths = Vec::new();
    let mut ids = vec![seen.id];
    for step in 0..3 {
        if step == 2 {
            record_use(&app, &alice, "/4").await;
        }
        let received = again.next(SOON).await.unwrap();
        ids.push(received.id);
        paths.push(received.data["path"].as_str().unwrap().to_owned());
    }

    assert_eq!(paths, ["/2", "/3", "/4"]);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

#[tokio::test]
async fn a_catch_up_longer_than_one_store_page_arrives_whole_and_in_order() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let alice = app.user_id("alice").await;
    for i in 0..230 {
        record_use(&app, &alice, &format!("/{i}")).await;
    }

    let mut stream = Stream::connect(&app, &phone, "", Some(0)).await;
    for i in 0..230 {
        let received = stream.next(SOON).await.unwrap();
        assert_eq!(received.data["path"], format!("/{i}"));
    }
}

#[tokio::test]
async fn another_users_events_never_appear_on_the_stream() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    app.user_with_phone("bob").await;
    let (alice, bob) = (app.user_id("alice").await, app.user_id("bob").await);
    let mut stream = Stream::connect(&app, &phone, "", Some(0)).await;

    record_use(&app, &bob, "/bob").await;
    record_use(&app, &alice, "/alice").await;

    assert_eq!(stream.next(SOON).await.unwrap().data["path"], "/alice");
}

#[tokio::test]
async fn a_kind_filter_applies_to_the_stream() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let alice = app.user_id("alice").await;
    let mut stream = Stream::connect(&app, &phone, "kind=approved", None).await;

    record_use(&app, &alice, "/ignored").await;
    let approved = event(&alice, kind::APPROVED, app.clock.now_ms());
    app.state.audit.record(approved).await.unwrap();

    assert_eq!(stream.next(SOON).await.unwrap().kind, "approved");
}

#[tokio::test]
async fn a_malformed_last_event_id_is_an_invalid_request() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;

    // Only digits, at most 18 (the document's pattern; no feed has longer ids).
    for bad in ["abc", "-1", "+1", "1.5", "12 13", "1000000000000000000"] {
        let response = open(&app, &phone, "", Some(bad)).await;
        assert_eq!(response.status(), 400, "{bad}");
        assert_eq!(error_code(response).await, "invalid_request");
    }
    let foreign_sid = open(&app, &phone, "sid=nope", None).await;
    assert_eq!(foreign_sid.status(), 404);
}

#[tokio::test]
async fn an_open_stream_ends_when_the_server_shuts_down() {
    let mut app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let mut stream = Stream::from(open_at(&app.address, &phone.secret, "", None).await);

    app.shut_down().await;

    assert!(stream.next(Duration::from_secs(5)).await.is_none());
}
