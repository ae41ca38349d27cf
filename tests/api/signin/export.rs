//! `/activity/export` and `nod audit --format`: the file holds exactly what the page shows for
//! the same filters (every page of it) and what the device API lists, as CSV that Python's
//! `csv` module reads back and as JSON Lines; never another person's event; nothing without a
//! live web sign-in; and a history far larger than a page streams to its end.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, UNIX_EPOCH};

use nod::audit::{event, kind};
use nod::clock::Clock;
use nod::config::Ttl;
use nod::store::AuditEvent;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use serde_json::Value;

use super::browsing::web_sign_in;
use crate::feed::{events, feed_page};
use crate::helpers::{Jar, Operator, Phone, TestApp, location, spawn_app, spawn_app_with};

const HOUR: Duration = Duration::from_secs(3600);

/// A user agent a CSV writer must quote: a comma, quotes and a line break.
const AWKWARD_AGENT: &str = "Mozilla/5.0 (X11, Linux) \"Quoted\" 1.0\nsecond line";
/// A user agent a spreadsheet would run as a formula.
const FORMULA_AGENT: &str = "=HYPERLINK(\"http://evil.example\",\"click\")";

/// The rows of a CSV file as Python's `csv` module reads them, strictly (a quoting error
/// fails), with no newline translation, so a CR or LF inside a field stays what it was.
fn python_csv(body: &str) -> Vec<Vec<String>> {
    let script = "import csv, io, json, sys\n\
                  text = sys.stdin.buffer.read().decode('utf-8')\n\
                  rows = list(csv.reader(io.StringIO(text, newline=''), strict=True))\n\
                  print(json.dumps(rows))";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(body.as_bytes()).unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "Python's csv module refused the file: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The CSV's records as maps from the header's names, checked to have a header.
fn csv_records(body: &str) -> Vec<serde_json::Map<String, Value>> {
    let rows = python_csv(body);
    let (header, records) = rows.split_first().expect("a header row");
    assert_eq!(header[0], "id", "{header:?}");
    records
        .iter()
        .map(|row| {
            assert_eq!(row.len(), header.len(), "{row:?}");
            header
                .iter()
                .cloned()
                .zip(row.iter().map(|cell| Value::String(cell.clone())))
                .collect()
        })
        .collect()
}

fn csv_ids(body: &str) -> Vec<i64> {
    csv_records(body)
        .iter()
        .map(|r| r["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

fn json_lines(body: &str) -> Vec<Value> {
    assert!(body.is_empty() || body.ends_with('\n'), "{body}");
    body.lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object a line"))
        .collect()
}

fn ids_of(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["id"].as_i64().unwrap()).collect()
}

/// Every event row of `/activity?{query}`, following "Older" to the last page.
async fn page_ids(app: &TestApp, jar: &mut Jar, query: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut path = format!("/activity?{query}");
    loop {
        let response = jar.open(app, &path).await;
        assert_eq!(response.status(), 200, "{path}");
        let page = response.text().await.unwrap();
        ids.extend(
            page.split("data-id=\"")
                .skip(1)
                .map(|row| row.split('"').next().unwrap().parse::<i64>().unwrap()),
        );
        match link(&page, "rel=\"next\"") {
            Some(older) => path = older,
            None => return ids,
        }
    }
}

/// The `href` of the page's link whose tag holds `marker`, unescaped.
fn link(page: &str, marker: &str) -> Option<String> {
    let tag = page.split("<a ").find(|tag| {
        tag.split('>')
            .next()
            .is_some_and(|inside| inside.contains(marker))
    })?;
    let href = tag.split("href=\"").nth(1)?.split('"').next()?;
    Some(href.replace("&#38;", "&").replace("&amp;", "&"))
}

/// Every event of `phone`'s feed in the device API for `query`, newest first, all pages.
async fn api_events(app: &TestApp, phone: &Phone, query: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut page = feed_page(app, phone, &format!("limit=200&{query}")).await;
    loop {
        all.extend(events(&page));
        let Some(next) = page["next"].as_str() else {
            return all;
        };
        page = feed_page(app, phone, &format!("limit=200&{query}&before={next}")).await;
    }
}

/// The whole feed once nothing more arrives: notification events commit a moment after the
/// request that sent them.
async fn settled_feed(app: &TestApp, phone: &Phone) -> Vec<Value> {
    let mut last = api_events(app, phone, "").await;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = api_events(app, phone, "").await;
        if now == last {
            return now;
        }
        last = now;
    }
}

/// A download that must succeed, with the headers every export has; its body.
async fn download(app: &TestApp, jar: &mut Jar, path: &str, extension: &str) -> String {
    let response = jar.open(app, path).await;
    assert_eq!(response.status(), 200, "{path}");
    let media_type = match extension {
        "csv" => "text/csv; charset=utf-8",
        _ => "application/x-ndjson",
    };
    assert_eq!(response.headers()[CONTENT_TYPE], media_type);
    let today = humantime::format_rfc3339(app.clock.now()).to_string()[..10].replace('-', "");
    assert_eq!(
        response.headers()[CONTENT_DISPOSITION],
        format!("attachment; filename=\"nod-activity-{today}.{extension}\"").as_str()
    );
    response.text().await.unwrap()
}

/// `nod ARGS` as an operator runs it against the app's database; it must succeed.
fn operator(app: &TestApp, args: &[&str]) -> Output {
    let output = Operator::of(app).output(args, None);
    assert!(
        output.status.success(),
        "nod {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn used(user_id: &str, sid: &str, at: i64, user_agent: &str) -> AuditEvent {
    let mut e = event(user_id, kind::TOKEN_USED, at);
    e.sid = Some(sid.into());
    e.ip = Some("203.0.113.9".into());
    e.user_agent = Some(user_agent.into());
    e.method = Some("GET".into());
    e.host = Some("api.example".into());
    e.path = Some("/reports".into());
    e
}

/// `YYYY-MM-DDTHH:MM:SS` of `ms` shifted `ahead` of UTC: the wall clock there.
fn wall(ms: i64, ahead: Duration) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(ms as u64) + ahead;
    humantime::format_rfc3339_seconds(at).to_string()[..19].to_owned()
}

#[tokio::test]
async fn the_export_of_a_filtered_range_holds_exactly_the_events_the_page_and_the_api_show() {
    // Tokens that outlive the test's hours, so one sign-in serves every use.
    let app = spawn_app_with(|s| s.tokens.access_ttl = Ttl(24 * HOUR)).await;
    let phone = app.user_with_phone("alice").await;
    let token = app.sign_in(&phone).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut jar = Jar::default();
    let web_sid = web_sign_in(&app, &mut jar, &phone).await;
    let sid = app.live_session("alice", "test suite").await;
    let alice = app.user_id("alice").await;
    let bob_phone = app.user_with_phone("bob").await;
    app.sign_in(&bob_phone).await;
    let (bob, bobs_sid) = (
        app.user_id("bob").await,
        app.live_session("bob", "test suite").await,
    );
    for _ in 0..3 {
        assert_eq!(app.verify(&token).await.status(), 200, "before the range");
    }
    // The sign-ins' notification events are all in before the clock moves on.
    settled_feed(&app, &phone).await;

    // An hour later, the range: 30 uses of the API session written through the store (two
    // with awkward user agents), beside events the filters leave out — another kind, the web
    // session, another person — then 3 real uses over HTTP.
    app.clock.advance(HOUR);
    let start = app.clock.now_ms() / 1000 * 1000 + 1000;
    let mut batch = Vec::new();
    for i in 0..30 {
        let agent = match i {
            3 => AWKWARD_AGENT.to_owned(),
            7 => FORMULA_AGENT.to_owned(),
            _ => format!("agent/{i}"),
        };
        batch.push(used(&alice, &sid, start + i * 1000, &agent));
    }
    let mut rejected = used(&alice, &sid, start + 100, "rejected/1");
    rejected.kind = kind::TOKEN_REJECTED.into();
    batch.push(rejected);
    batch.push(used(&alice, &web_sid, start + 200, "web/1"));
    batch.push(used(&bob, &bobs_sid, start + 300, "bob/1"));
    batch.sort_by_key(|e| e.at);
    app.state.store.append_audit(batch).await.unwrap();
    app.clock.advance(Duration::from_secs(40));
    for _ in 0..3 {
        assert_eq!(app.verify(&token).await.status(), 200, "in the range");
    }
    app.clock.advance(2 * HOUR);
    for _ in 0..2 {
        assert_eq!(app.verify(&token).await.status(), 200, "after the range");
    }

    // The range in Sydney's wall-clock time (UTC+10), as the page's form sends it.
    let (from_ms, to_ms) = (start, start + 50_000);
    let sydney = 10 * HOUR;
    let filters = format!(
        "sid={sid}&kind=token_used&from={}&to={}&tz=-600",
        wall(from_ms, sydney),
        wall(to_ms, sydney)
    );
    let shown = page_ids(&app, &mut jar, &filters).await;
    assert_eq!(shown.len(), 33, "two pages of the page: {shown:?}");
    let listed: Vec<Value> = api_events(&app, &phone, &format!("sid={sid}&kind=token_used"))
        .await
        .into_iter()
        .filter(|e| (from_ms..to_ms + 1000).contains(&e["at"].as_i64().unwrap()))
        .collect();
    assert_eq!(ids_of(&listed), shown, "the page and the device API agree");

    // The page's own links carry its filters.
    let page = jar
        .open(&app, &format!("/activity?{filters}"))
        .await
        .text()
        .await
        .unwrap();
    let csv_link = page
        .split("href=\"")
        .find(|rest| rest.starts_with("/activity/export?") && rest.contains("format=csv"))
        .map(|rest| rest.split('"').next().unwrap().replace("&#38;", "&"))
        .expect("an export link on the page");
    assert!(
        csv_link.contains(&format!("sid={sid}")) && csv_link.contains("tz=-600"),
        "{csv_link}"
    );
    let jsonl_link = csv_link.replace("format=csv", "format=jsonl");

    let csv = download(&app, &mut jar, &csv_link, "csv").await;
    let records = csv_records(&csv);
    assert_eq!(csv_ids(&csv), shown, "the CSV holds what the page shows");
    assert!(
        records
            .iter()
            .all(|r| r["kind"] == "token_used" && r["sid"] == sid.as_str()),
        "{records:?}"
    );
    let cell = |agent: &str| {
        records
            .iter()
            .find(|r| r["user_agent"].as_str().unwrap().ends_with(agent))
            .map(|r| r["user_agent"].clone())
    };
    assert_eq!(cell(AWKWARD_AGENT), Some(Value::from(AWKWARD_AGENT)));
    assert_eq!(
        cell(FORMULA_AGENT),
        Some(Value::from(format!("'{FORMULA_AGENT}"))),
        "a formula is defused"
    );
    let http_use = records.iter().find(|r| r["path"] == "/orders/42").unwrap();
    assert_eq!(http_use["method"], "GET");
    assert!(
        http_use["at"].as_str().unwrap().ends_with('Z'),
        "{http_use:?}"
    );

    let jsonl = download(&app, &mut jar, &jsonl_link, "jsonl").await;
    let lines = json_lines(&jsonl);
    assert_eq!(
        lines, listed,
        "each line is the event as the device API prints it"
    );
    assert!(lines.iter().any(|e| e["user_agent"] == FORMULA_AGENT));

    // `nod audit` writes the same bytes for the same range (here in RFC 3339, one bound
    // with an offset).
    let since = format!("{}Z", wall(from_ms, Duration::ZERO));
    let until = format!("{}+10:00", wall(to_ms, sydney));
    let range = ["--since", &since, "--until", &until];
    let cli_csv = operator(
        &app,
        &[&["audit", "alice", "--format", "csv"], &range[..]].concat(),
    );
    let cli_jsonl = operator(
        &app,
        &[&["audit", "alice", "--format", "jsonl"], &range[..]].concat(),
    );
    let whole_range: Vec<i64> = api_events(&app, &phone, "")
        .await
        .iter()
        .filter(|e| (from_ms..to_ms + 1000).contains(&e["at"].as_i64().unwrap()))
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    let cli_csv = String::from_utf8(cli_csv.stdout).unwrap();
    assert_eq!(
        csv_ids(&cli_csv),
        whole_range,
        "the CLI: every kind, every session"
    );
    let cli_lines = json_lines(&String::from_utf8(cli_jsonl.stdout).unwrap());
    assert_eq!(ids_of(&cli_lines), whole_range);
    // The same writer: the page's file is the CLI's, less the rows its filters leave out.
    let (header, rows) = cli_csv.split_once("\r\n").unwrap();
    let kept: Vec<&str> = rows
        .split("\r\n")
        .filter(|row| shown.iter().any(|id| row.starts_with(&format!("{id},"))))
        .collect();
    assert_eq!(csv, format!("{header}\r\n{}\r\n", kept.join("\r\n")));
}

#[tokio::test]
async fn another_persons_events_are_never_in_an_export() {
    let app = spawn_app().await;
    let mut people = Vec::new();
    for name in ["alice", "bob"] {
        let phone = app.user_with_phone(name).await;
        let token = app.sign_in(&phone).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        for _ in 0..3 {
            assert_eq!(app.verify(&token).await.status(), 200);
        }
        let mut jar = Jar::default();
        web_sign_in(&app, &mut jar, &phone).await;
        people.push((phone, jar));
    }

    let mut feeds = Vec::new();
    for (phone, jar) in &mut people {
        let own = ids_of(&settled_feed(&app, phone).await);
        let csv = download(&app, jar, "/activity/export?format=csv", "csv").await;
        let jsonl = download(&app, jar, "/activity/export?format=jsonl", "jsonl").await;
        assert_eq!(csv_ids(&csv), own, "{}", phone.username);
        assert_eq!(ids_of(&json_lines(&jsonl)), own, "{}", phone.username);
        feeds.push(own);
    }
    assert!(
        feeds[0].iter().all(|id| !feeds[1].contains(id)),
        "{feeds:?}"
    );

    // Asking for the other person's session is "not found", as on the page.
    let bobs = app.live_session("bob", "test suite").await;
    let (_, alice_jar) = &mut people[0];
    let response = alice_jar
        .open(&app, &format!("/activity/export?format=csv&sid={bobs}"))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("Not found") && !body.contains(&bobs),
        "{body}"
    );
}

#[tokio::test]
async fn without_a_live_web_sign_in_there_is_no_export() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let mut jar = Jar::default();
    let web_sid = web_sign_in(&app, &mut jar, &phone).await;
    download(&app, &mut jar, "/activity/export?format=csv", "csv").await;

    app.revoke_session(&phone, &web_sid).await;
    for path in ["/activity/export?format=csv", "/activity"] {
        // The revoked session's cookie, and no cookie at all: both sent to sign in.
        for mut jar in [jar.clone(), Jar::default()] {
            let response = jar.open(&app, path).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
            assert_eq!(location(&response), "/login");
            let body = response.text().await.unwrap();
            assert!(
                !body.contains("token_used") && !body.contains("id,at"),
                "{body}"
            );
        }
    }
}

#[tokio::test]
async fn a_bad_format_is_a_400_before_anyone_is_asked_to_sign_in() {
    // The document requires `format` to be csv or jsonl: a request that breaks that is refused
    // as such, not sent to /login as if it could succeed after signing in (schemathesis ST201).
    let app = spawn_app().await;
    for query in ["", "format=", "format=xlsx"] {
        let response = Jar::default()
            .open(&app, &format!("/activity/export?{query}"))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body = response.text().await.unwrap();
        assert!(
            body.contains("format must be csv or jsonl"),
            "{query}: {body}"
        );
    }
    let response = Jar::default()
        .open(&app, "/activity/export?format=csv")
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn bad_export_parameters_are_the_pages_400() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let mut jar = Jar::default();
    web_sign_in(&app, &mut jar, &phone).await;

    for (query, status, says) in [
        ("", 400, "format must be csv or jsonl"),
        ("format=xlsx", 400, "format must be csv or jsonl"),
        ("format=CSV", 400, "format must be csv or jsonl"),
        ("format=csv&kind=everything", 400, "kind must be one of"),
        (
            "format=csv&from=yesterday",
            400,
            "from must be a date and time",
        ),
        (
            "format=jsonl&to=2026-11-30T25:00",
            400,
            "to must be a date and time",
        ),
        ("format=csv&tz=east", 400, "tz must be the offset from UTC"),
        ("format=csv&kind=a&kind=b", 400, "That did not work"),
        ("format=csv&sid=nobodys", 404, "Not found"),
    ] {
        let response = jar.open(&app, &format!("/activity/export?{query}")).await;
        assert_eq!(response.status().as_u16(), status, "{query}");
        assert!(
            response.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{query}"
        );
        let body = response.text().await.unwrap();
        assert!(body.contains(says), "{query}: {body}");
    }
}

#[tokio::test]
async fn a_history_of_twenty_thousand_events_streams_to_its_end() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let mut jar = Jar::default();
    let sid = web_sign_in(&app, &mut jar, &phone).await;
    let alice = app.user_id("alice").await;
    let at = app.clock.now_ms();
    for chunk in 0..20 {
        let batch = (0..1_000)
            .map(|i| used(&alice, &sid, at + chunk * 1_000 + i, &format!("agent/{i}")))
            .collect();
        app.state.store.append_audit(batch).await.unwrap();
    }

    let response = jar
        .open(&app, "/activity/export?format=csv&kind=token_used")
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get(CONTENT_LENGTH).is_none(),
        "streamed, not built first"
    );
    let csv = response.text().await.unwrap();
    let ids = csv_ids(&csv);
    assert_eq!(ids.len(), 20_000);
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, once each"
    );

    let jsonl = download(
        &app,
        &mut jar,
        "/activity/export?format=jsonl&kind=token_used",
        "jsonl",
    )
    .await;
    assert_eq!(ids_of(&json_lines(&jsonl)), ids);
}

#[tokio::test]
async fn nod_audit_refuses_a_range_it_cannot_read_or_without_a_format() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;
    for (args, says) in [
        (
            &["--format", "csv", "--since", "2026-01-31T12:00"][..],
            "neither a UTC day (YYYY-MM-DD) nor an RFC 3339 time",
        ),
        (&["--format", "xlsx"], "must be csv or jsonl"),
        (&["--until", "2026-01-31"], "--format"),
        (&["--format", "csv", "--follow"], "cannot be used with"),
        (&["--format", "csv", "--limit", "5"], "cannot be used with"),
    ] {
        let output = Operator::of(&app).output(&[&["audit", "alice"], args].concat(), None);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    // An empty range is a file with its header only.
    let empty = operator(
        &app,
        &["audit", "alice", "--format", "csv", "--until", "1970-01-01"],
    );
    assert_eq!(
        String::from_utf8(empty.stdout).unwrap(),
        "id,at,kind,sid,jti,device_id,ip,user_agent,method,host,path,resource_server,detail\r\n"
    );
}
