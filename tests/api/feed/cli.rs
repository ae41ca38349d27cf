//! `nod audit`, run as an operator would, against the database of a running app.

use serde_json::Value;

use super::feed_with_at_least;
use crate::helpers::{Operator, spawn_app};

#[tokio::test]
async fn nod_audit_prints_a_users_events_oldest_first_as_json_lines() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    app.sign_in(&phone).await;
    feed_with_at_least(&app, &phone, 4).await;
    let operator = Operator::of(&app);
    let run = |args: &[&str]| operator.output(args, None);
    let json = run(&["audit", "alice", "--json"]);
    let text = run(&["audit", "alice", "--limit", "1"]);
    let unknown = run(&["audit", "nobody"]);

    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(json.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["kind"], "login_requested");
    assert!(
        lines
            .windows(2)
            .all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64())
    );
    let text = String::from_utf8(text.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains(lines[3]["kind"].as_str().unwrap()), "{text}");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no user"));
}
