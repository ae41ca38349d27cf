//! `/activity`'s time range in the viewer's wall-clock time: `from` and `to` are read with `tz`
//! (the browser's `getTimezoneOffset()`, so UTC+10 is `-600`), or as UTC without it; the
//! filter survives the "Older" link and the live stream's URL, and bad values are a 400 page.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nod::clock::Clock;
use nod::config::Ttl;

use super::browsing::web_sign_in;
use crate::helpers::{Jar, TestApp, spawn_app_with, text_after};

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// The `datetime` of every event row on a page, in page order.
fn event_times(page: &str) -> Vec<String> {
    page.split("<li class=\"event")
        .skip(1)
        .map(|row| text_after(row, "<time datetime=\"", '"'))
        .collect()
}

async fn page(app: &TestApp, jar: &mut Jar, path: &str) -> String {
    let response = jar.open(app, path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

/// Moves the test clock forward to `at`.
fn move_to(app: &TestApp, at: SystemTime) {
    app.clock
        .advance(at.duration_since(app.clock.now()).unwrap());
}

#[tokio::test]
async fn a_time_range_selects_the_events_of_the_viewers_local_window() {
    // Tokens that outlive the test's day, so one sign-in serves every use.
    let app = spawn_app_with(|s| s.tokens.access_ttl = Ttl(2 * DAY)).await;
    // Midnight UTC of a day D two to three days ahead: a whole day of clock to move through.
    let now = app.clock.now().duration_since(UNIX_EPOCH).unwrap();
    let day = now.as_secs() / DAY.as_secs() + 3;
    let midnight = UNIX_EPOCH + DAY * u32::try_from(day).unwrap();
    let d = humantime::format_rfc3339(midnight).to_string()[..10].to_owned();

    // Signing in happens at 22:00 UTC the day before (08:00 on D in UTC+10): outside both
    // windows below.
    move_to(&app, midnight - 2 * HOUR);
    let phone = app.user_with_phone("alice").await;
    let tokens = app.sign_in(&phone).await;
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let mut jar = Jar::default();
    web_sign_in(&app, &mut jar, &phone).await;

    // 26 uses at 01:00 UTC on D (11:00 in UTC+10), one at 10:00 UTC (20:00 in UTC+10), one at
    // 13:00 UTC (23:00 in UTC+10).
    move_to(&app, midnight + HOUR);
    for _ in 0..26 {
        assert_eq!(app.verify(&token).await.status(), 200);
    }
    move_to(&app, midnight + 10 * HOUR);
    assert_eq!(app.verify(&token).await.status(), 200);
    move_to(&app, midnight + 13 * HOUR);
    assert_eq!(app.verify(&token).await.status(), 200);
    let one_am = format!("{d}T01:00:00Z");
    let ten_am = format!("{d}T10:00:00Z");
    let one_pm = format!("{d}T13:00:00Z");

    // 09:00 to 12:00 on D in Sydney is 23:00 the day before to 02:00 UTC: the 01:00 uses only,
    // a full page of them and an "Older" link that keeps the range and the zone.
    let sydney = format!("from={d}T09:00&to={d}T12:00&tz=-600");
    let first = page(&app, &mut jar, &format!("/activity?{sydney}")).await;
    assert_eq!(event_times(&first), vec![one_am.clone(); 25]);
    assert!(
        first.contains(&format!("name=\"from\" value=\"{d}T09:00\""))
            && first.contains(&format!("name=\"to\" value=\"{d}T12:00\""))
            && first.contains("name=\"tz\" id=\"tz\" value=\"-600\"")
            && first.contains("From and To are UTC+10:00 times."),
        "the form shows the filter back: {first}"
    );
    let older = first
        .split("href=\"")
        .find(|rest| rest.contains("rel=\"next\""))
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&");
    assert!(older.contains("tz=-600"), "{older}");
    let second = page(&app, &mut jar, &older).await;
    assert_eq!(event_times(&second), vec![one_am.clone()]);

    // The same wall-clock range read as UTC (tz=0, or no tz at all as without the script) is
    // 09:00 to 12:00 UTC: the 10:00 use only.
    for utc in [
        format!("from={d}T09:00&to={d}T12:00&tz=0"),
        format!("from={d}T09:00&to={d}T12:00&tz="),
        format!("from={d}T09:00:00&to={d}T12:00"),
    ] {
        let shown = page(&app, &mut jar, &format!("/activity?{utc}")).await;
        assert_eq!(event_times(&shown), vec![ten_am.clone()], "{utc}");
        assert!(shown.contains("From and To are UTC times."), "{utc}");
    }

    // An old bare-day link still works: D from its midnight, here in UTC — every use on D, and
    // a live stream (no end) that carries the zone too.
    let day_link = page(&app, &mut jar, &format!("/activity?from={d}&tz=0")).await;
    assert_eq!(
        event_times(&day_link),
        [
            vec![one_pm.clone(), ten_am.clone()],
            vec![one_am.clone(); 23]
        ]
        .concat()
    );
    assert!(day_link.contains(&format!("name=\"from\" value=\"{d}T00:00\"")));
    assert!(
        day_link.contains(&format!(
            "data-stream=\"/activity/stream?from={d}&#38;tz=0\""
        )),
        "{day_link}"
    );
}

#[tokio::test]
async fn bad_times_and_offsets_are_a_clear_400_page() {
    let app = spawn_app_with(|_| {}).await;
    let phone = app.user_with_phone("alice").await;
    let mut jar = Jar::default();
    web_sign_in(&app, &mut jar, &phone).await;

    for (query, says) in [
        ("from=yesterday", "from must be a date and time"),
        ("to=2026-11-30T25:00", "to must be a date and time"),
        ("from=2026-02-30T10:00", "from must be a date and time"),
        (
            "from=2026-11-30T10:00&tz=-900",
            "tz must be the offset from UTC",
        ),
        (
            "from=2026-11-30T10:00&tz=east",
            "tz must be the offset from UTC",
        ),
        ("tz=99999999999999999999", "tz must be the offset from UTC"),
    ] {
        let response = jar.open(&app, &format!("/activity?{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        let body = response.text().await.unwrap();
        assert!(body.contains(says), "{query}: {body}");
        assert!(body.contains("That did not work"), "the error page: {body}");
    }
}
