//! `webhook`: a receiver written here, independently of nod's code, verifies the
//! `Nod-Signature` header the way docs/webhooks.md tells receivers to, and refuses replays.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::{constant_time, hmac};
use serde_json::Value;
use wiremock::matchers::{header as has_header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::{approve_prefix, header, spawn_app_with};

const SECRET: &str = "whsec_test_0123456789";
/// How old a signed timestamp may be before the receiver refuses it.
const TOLERANCE_SECS: i64 = 300;

/// The receiver's check: `t=<unix>,v1=<hex>` where the hex is HMAC-SHA256(secret, "t.body"),
/// compared in constant time, and `t` within the tolerance of the receiver's clock.
fn verify(secret: &[u8], signature: &str, body: &[u8], now: i64) -> Result<(), &'static str> {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in signature.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1.push(value),
            _ => {}
        }
    }
    let t = t.ok_or("no timestamp")?;
    if (now - t).abs() > TOLERANCE_SECS {
        return Err("timestamp outside the tolerance: a replay");
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(body);
    let expected: String = hmac::sign(&key, &signed)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let matches = v1
        .iter()
        .any(|v| constant_time::verify_slices_are_equal(v.as_bytes(), expected.as_bytes()).is_ok());
    if matches {
        Ok(())
    } else {
        Err("bad signature")
    }
}

/// A wiremock responder that verifies like a real receiver: 204 when the signature holds,
/// 400 otherwise. `skew` moves the receiver's clock (seconds) to play a later replay.
struct Receiver {
    skew: Arc<AtomicI64>,
}

impl Respond for Receiver {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + self.skew.load(Ordering::SeqCst);
        let signature = header(request, "nod-signature");
        match verify(SECRET.as_bytes(), signature, &request.body, now) {
            Ok(()) => ResponseTemplate::new(204),
            Err(why) => ResponseTemplate::new(400).set_body_string(why),
        }
    }
}

#[tokio::test]
async fn a_signed_webhook_verifies_and_a_replay_with_an_old_timestamp_is_refused() {
    let receiver = MockServer::start().await;
    let skew = Arc::new(AtomicI64::new(0));
    Mock::given(method("POST"))
        .and(path("/hooks/nod"))
        .and(has_header("content-type", "application/json"))
        .respond_with(Receiver { skew: skew.clone() })
        .mount(&receiver)
        .await;
    let app = spawn_app_with(|s| {
        s.notify.webhook.enabled = true;
        s.notify.webhook.secret = nod::config::Secret::new(SECRET);
    })
    .await;
    app.add_user("alice").await;
    let hook = format!("webhook={}/hooks/nod", receiver.uri());
    let phone = app.add_phone_with("alice", &[&hook]).await;
    app.start_login("alice").await;

    // Delivered, and the receiver accepted the signature (a 400 would be a failed attempt).
    let attempts = app.delivery_attempts("alice", 1).await;
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(
        (attempts[0].kind.as_str(), attempts[0].provider.as_str()),
        ("notification_sent", "webhook"),
        "{attempts:?}"
    );
    let sent = receiver.received_requests().await.unwrap();
    let original = &sent[0];
    let body: Value = serde_json::from_slice(&original.body).unwrap();
    assert_eq!(body["event"], "approval.requested");
    assert_eq!(body["username"], "alice");
    assert_eq!(body["device_id"], phone.device_id.as_str());
    assert_eq!(body["context"]["client_name"], "test suite");
    assert!(body["approval_id"].is_string() && body["expires_at"].is_i64());
    let approve_url = body["approve_url"].as_str().unwrap();
    assert!(
        approve_url.starts_with(&approve_prefix(&app)),
        "{approve_url}"
    );
    let signature = header(original, "nod-signature").to_owned();
    assert!(
        signature.starts_with("t=") && signature.contains(",v1="),
        "{signature}"
    );

    // The same body and header replayed ten minutes later: refused.
    skew.store(600, Ordering::SeqCst);
    let replay = reqwest::Client::new()
        .post(format!("{}/hooks/nod", receiver.uri()))
        .header("content-type", "application/json")
        .header("nod-signature", &signature)
        .body(original.body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400);
    assert_eq!(
        replay.text().await.unwrap(),
        "timestamp outside the tolerance: a replay"
    );

    // A fresh timestamp pasted onto the old signature does not verify either.
    skew.store(0, Ordering::SeqCst);
    let (t, v1) = signature.split_once(",v1=").unwrap();
    let later: i64 = t.trim_start_matches("t=").parse::<i64>().unwrap() + 1;
    let forged = reqwest::Client::new()
        .post(format!("{}/hooks/nod", receiver.uri()))
        .header("content-type", "application/json")
        .header("nod-signature", format!("t={later},v1={v1}"))
        .body(original.body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    assert_eq!(forged.text().await.unwrap(), "bad signature");

    // Nor does a tampered body under the original header (within the window).
    assert_eq!(
        verify(SECRET.as_bytes(), &signature, b"{\"event\":\"x\"}", later),
        Err("bad signature")
    );
    // The secret never reaches the feed.
    let feed = format!("{:?}", app.events_of("alice").await);
    assert!(!feed.contains(SECRET));
}
