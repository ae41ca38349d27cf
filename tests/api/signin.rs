//! `/login`, `/activity` and `/phone` over plain HTTP, with a hand-kept cookie jar: the web
//! sign-in is a real session that dies with its revocation, secrets stay in cookies, and every
//! form refuses a post without its CSRF token and changes nothing.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE, USER_AGENT};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Phone, TestApp, spawn_app};

/// One browser's cookies, kept by hand (reqwest's jar is not built in); redirects are not
/// followed, so each answer can be checked.
#[derive(Clone)]
pub struct Jar {
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
    /// Every `Set-Cookie` seen, for checking attributes.
    pub set: Vec<String>,
}

impl Default for Jar {
    fn default() -> Self {
        Jar {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
            set: Vec::new(),
        }
    }
}

impl Jar {
    fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let text = value.to_str().unwrap().to_owned();
            let (pair, attributes) = text.split_once(';').unwrap_or((&text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
            self.set.push(text);
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    pub fn insert(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.to_owned(), value.to_owned());
    }

    pub async fn open(&mut self, app: &TestApp, path: &str) -> reqwest::Response {
        let response = self
            .client
            .get(app.url(path))
            .header(COOKIE, self.header())
            .header(USER_AGENT, "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0")
            .send()
            .await
            .unwrap();
        self.keep(&response);
        response
    }

    pub async fn post(
        &mut self,
        app: &TestApp,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let response = self
            .client
            .post(app.url(path))
            .header(COOKIE, self.header())
            .header(USER_AGENT, "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0")
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(&response);
        response
    }
}

/// The page's CSRF field.
pub fn csrf_field(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

fn location(response: &reqwest::Response) -> &str {
    response.headers()[LOCATION].to_str().unwrap()
}

/// Posts the sign-in form; the browser is then waiting for the phone. Returns the number the
/// waiting page shows and the waiting page itself.
async fn start_web_login(app: &TestApp, jar: &mut Jar, username: &str) -> (String, String) {
    let form = jar.open(app, "/login").await.text().await.unwrap();
    let csrf = csrf_field(&form);
    let posted = jar
        .post(
            app,
            "/login",
            &[
                ("csrf", &csrf),
                ("username", username),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(posted.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&posted), "/login/wait");
    let waiting = jar.open(app, "/login/wait").await;
    assert_eq!(waiting.status(), 200);
    let page = waiting.text().await.unwrap();
    let number = page
        .split("id=\"binding-code\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    (number, page)
}

/// A browser signed in on the web through the phone; returns its session id.
async fn web_sign_in(app: &TestApp, jar: &mut Jar, phone: &Phone) -> String {
    let (number, _) = start_web_login(app, jar, &phone.username).await;
    let note = app.next_notification(&phone.username).await;
    let approved = app
        .decide(
            phone,
            &note.approval_id,
            json!({"decision": "approve", "binding_code": number}),
        )
        .await;
    assert_eq!(approved.status(), 200);
    let status: Value = jar
        .open(app, "/login/wait/status")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["state"], "signed_in");
    let sessions = app
        .state
        .store
        .active_sessions(
            &user_id(app, &phone.username).await,
            app.state.clock.now_ms(),
        )
        .await
        .unwrap();
    sessions
        .into_iter()
        .find(|s| s.client_name == "nod web")
        .unwrap()
        .id
}

async fn user_id(app: &TestApp, username: &str) -> String {
    app.state
        .store
        .user_by_name(username)
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test]
async fn a_web_sign_in_waits_for_the_phone_and_then_shows_the_activity() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let mut jar = Jar::default();

    let (number, waiting) = start_web_login(&app, &mut jar, "alice").await;
    assert_eq!(number.len(), 2, "{waiting}");
    assert!(waiting.contains("Approve on your phone"));
    // The secret that redeems the login is in an HttpOnly cookie only, never in the page.
    let auth_req_id = jar.get("nod_login").unwrap().to_owned();
    assert!(!waiting.contains(&auth_req_id));
    let pending = app.pending_on(&phone).await;
    assert_eq!(pending[0]["client_name"], "nod web");
    assert!(
        pending[0]["user_agent"]
            .as_str()
            .unwrap()
            .contains("Chrome/130.0")
    );

    let sid = web_sign_in_after(&app, &mut jar, &phone, &number).await;

    for set in jar.set.iter().filter(|c| c.starts_with("nod_")) {
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
    }
    assert!(
        jar.get("nod_login").is_none(),
        "the pending login's cookie is cleared"
    );
    let refresh_token = jar.get("nod_session").unwrap().to_owned();
    let activity = jar.open(&app, "/activity").await;
    assert_eq!(activity.status(), 200);
    let page = activity.text().await.unwrap();
    assert!(page.contains("Activity of alice"));
    assert!(page.contains("nod web") && page.contains("Signed in"));
    assert!(page.contains(&sid) && !page.contains(&refresh_token) && !page.contains(&auth_req_id));
    // Signed in already: /login and the waiting page send the browser on.
    assert_eq!(location(&jar.open(&app, "/login").await), "/activity");
}

async fn web_sign_in_after(app: &TestApp, jar: &mut Jar, phone: &Phone, number: &str) -> String {
    let note = app.next_notification(&phone.username).await;
    let approved = app
        .decide(
            phone,
            &note.approval_id,
            json!({"decision": "approve", "binding_code": number}),
        )
        .await;
    assert_eq!(approved.status(), 200);
    // Without script, the waiting page itself redeems and goes on.
    let waited = jar.open(app, "/login/wait").await;
    assert_eq!(waited.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&waited), "/activity");
    let now = app.state.clock.now_ms();
    let sessions = app
        .state
        .store
        .active_sessions(&user_id(app, &phone.username).await, now)
        .await
        .unwrap();
    sessions
        .into_iter()
        .find(|s| s.client_name == "nod web")
        .unwrap()
        .id
}

#[tokio::test]
async fn the_status_long_poll_signs_the_browser_in_when_the_phone_approves() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let mut jar = Jar::default();
    let sid = web_sign_in(&app, &mut jar, &phone).await;
    assert!(jar.get("nod_session").is_some());
    assert_eq!(jar.open(&app, "/activity").await.status(), 200);
    assert!(!sid.is_empty());
}

#[tokio::test]
async fn a_denied_web_sign_in_says_so_and_signs_nothing_in() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let mut jar = Jar::default();
    start_web_login(&app, &mut jar, "alice").await;
    let note = app.next_notification("alice").await;
    let denied = app
        .decide(&phone, &note.approval_id, json!({"decision": "deny"}))
        .await;
    assert_eq!(denied.status(), 200);
    let status: Value = jar
        .open(&app, "/login/wait/status")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["state"], "denied");
    let page = jar.open(&app, "/login/wait").await.text().await.unwrap();
    assert!(
        page.contains("Denied") && page.contains("state denied"),
        "{page}"
    );
    assert!(jar.get("nod_login").is_none() && jar.get("nod_session").is_none());
    assert_eq!(location(&jar.open(&app, "/activity").await), "/login");
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_with_the_reason() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;
    let mut jar = Jar::default();
    let form = jar.open(&app, "/login").await.text().await.unwrap();
    let csrf = csrf_field(&form);
    let posted = jar
        .post(
            &app,
            "/login",
            &[
                ("csrf", &csrf),
                ("username", "alice"),
                ("password", "wrong"),
            ],
        )
        .await;
    assert_eq!(posted.status(), 401);
    let page = posted.text().await.unwrap();
    assert!(page.contains("invalid username or password") && page.contains("value=\"alice\""));
}

#[tokio::test]
async fn a_revoked_web_session_no_longer_opens_the_activity_page() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let mut jar = Jar::default();
    web_sign_in(&app, &mut jar, &phone).await;
    assert_eq!(jar.open(&app, "/activity").await.status(), 200);

    // Ended from the phone, through the API.
    let revoked = app
        .client
        .post(app.url("/v1/device/sessions/revoke-all"))
        .bearer_auth(&phone.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let after = jar.open(&app, "/activity").await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&after), "/login");
    let stream = jar.open(&app, "/activity/stream").await;
    assert_eq!(stream.status(), 401);
}

#[tokio::test]
async fn revoke_on_the_activity_page_ends_a_session_and_its_tokens() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let tokens = app.sign_in(&phone).await;
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.verify(token).await.status(), 200);
    let mut jar = Jar::default();
    let web_sid = web_sign_in(&app, &mut jar, &phone).await;

    let page = jar.open(&app, "/activity").await.text().await.unwrap();
    assert!(
        page.contains("test suite") && page.contains("/orders/42"),
        "{page}"
    );
    let now = app.state.clock.now_ms();
    let api_sid = app
        .state
        .store
        .active_sessions(&user_id(&app, "alice").await, now)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.client_name == "test suite")
        .unwrap()
        .id;
    let csrf = csrf_field(&page);
    let revoked = jar
        .post(
            &app,
            &format!("/activity/sessions/{api_sid}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.verify(token).await.status(), 401);
    // Still signed in on the web; then signing out ends the web session too.
    let page = jar.open(&app, "/activity").await.text().await.unwrap();
    assert!(
        page.contains("Session ended") && page.contains("by user"),
        "{page}"
    );
    let out = jar.post(&app, "/logout", &[("csrf", &csrf)]).await;
    assert_eq!(location(&out), "/login");
    let session = app
        .state
        .store
        .session_by_id(&web_sid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.revoked_by.as_deref(), Some("user"));
}

#[tokio::test]
async fn activity_filters_by_kind_and_pages_with_an_older_link() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let tokens = app.sign_in(&phone).await;
    let token = tokens["access_token"].as_str().unwrap();
    for _ in 0..30 {
        assert_eq!(app.verify(token).await.status(), 200);
    }
    let mut jar = Jar::default();
    web_sign_in(&app, &mut jar, &phone).await;

    let first = jar
        .open(&app, "/activity?kind=token_used")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(first.matches("<li class=\"event").count(), 25);
    assert_eq!(
        first.matches("Token used").count() - 1,
        25,
        "only uses (plus the option)"
    );
    let older = first
        .split("href=\"/activity?kind=token_used&#38;before=")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(first.contains("data-stream=\"/activity/stream?kind=token_used\""));
    let second = jar
        .open(&app, &format!("/activity?kind=token_used&before={older}"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(second.matches("<li class=\"event").count(), 5);
    assert!(!second.contains("rel=\"next\"") && !second.contains("data-stream"));

    // A time range before every event is empty; a bad day is a clear 400 page.
    let empty = jar
        .open(&app, "/activity?to=1999-12-31")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(empty.matches("<li class=\"event").count(), 0);
    let bad = jar.open(&app, "/activity?from=yesterday").await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("YYYY-MM-DD"));
}

#[tokio::test]
async fn a_browser_that_is_not_a_paired_phone_gets_a_clear_page() {
    let app = spawn_app().await;
    let mut jar = Jar::default();
    let response = jar.open(&app, "/phone").await;
    assert_eq!(response.status(), 401);
    let page = response.text().await.unwrap();
    assert!(page.contains("not a paired phone") && page.contains("enroll-link"));
    jar.insert("nod_device", "not-a-secret");
    assert_eq!(jar.open(&app, "/phone").await.status(), 401);
    assert_eq!(jar.open(&app, "/phone/stream").await.status(), 401);
}

#[tokio::test]
async fn the_phone_home_answers_a_sign_in_and_revokes_sessions() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let mut jar = Jar::default();
    jar.insert("nod_device", &phone.secret);
    let pending = app.start_login("alice").await;

    let page = jar.open(&app, "/phone").await.text().await.unwrap();
    assert!(page.contains("test suite") && page.contains("Waiting for you"));
    let note = app.next_notification("alice").await;
    let csrf = csrf_field(&page);
    let answered = jar
        .post(
            &app,
            &format!("/phone/approvals/{}", note.approval_id),
            &[
                ("csrf", &csrf),
                ("decision", "approve"),
                ("binding_code", &pending.binding_code),
            ],
        )
        .await;
    assert_eq!(answered.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.poll_token(&pending.auth_req_id, None).await.status(),
        200
    );
    app.sign_in(&phone).await;

    let page = jar.open(&app, "/phone").await.text().await.unwrap();
    assert_eq!(
        page.matches("/revoke\"").count(),
        2,
        "two sessions to revoke"
    );
    let all = jar
        .post(&app, "/phone/sessions/revoke-all", &[("csrf", &csrf)])
        .await;
    assert_eq!(all.status(), StatusCode::SEE_OTHER);
    let now = app.state.clock.now_ms();
    let left = app
        .state
        .store
        .active_sessions(&user_id(&app, "alice").await, now)
        .await
        .unwrap();
    assert!(left.is_empty());
}

#[tokio::test]
async fn every_form_refuses_a_post_without_its_csrf_token_and_changes_nothing() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let api_tokens = app.sign_in(&phone).await;
    let mut web = Jar::default();
    let web_sid = web_sign_in(&app, &mut web, &phone).await;
    web.insert("nod_device", &phone.secret);
    // A pending login for the phone to (not) answer.
    let pending = app.start_login("alice").await;
    let note = app.next_notification("alice").await;
    let alice = user_id(&app, "alice").await;
    let now = app.state.clock.now_ms();
    let sessions_before = app.state.store.active_sessions(&alice, now).await.unwrap();
    assert_eq!(sessions_before.len(), 2);
    let approval_path = format!("/phone/approvals/{}", note.approval_id);
    let revoke_web = format!("/activity/sessions/{web_sid}/revoke");
    let revoke_phone = format!("/phone/sessions/{web_sid}/revoke");
    let code = pending.binding_code.clone();
    let forms: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "/login",
            vec![("username", "alice"), ("password", PASSWORD)],
        ),
        ("/logout", vec![]),
        (&revoke_web, vec![]),
        (
            &approval_path,
            vec![("decision", "approve"), ("binding_code", &code)],
        ),
        (&revoke_phone, vec![]),
        ("/phone/sessions/revoke-all", vec![]),
    ];
    for (path, fields) in &forms {
        for token in [None, Some("wrong-token-0123456789abcdefghijklmnopqrstuv")] {
            let mut form = fields.clone();
            if let Some(token) = token {
                form.push(("csrf", token));
            }
            let mut browser = web.clone();
            let response = browser.post(&app, path, &form).await;
            assert_eq!(response.status(), 403, "{path} with {token:?}");
            assert!(response.text().await.unwrap().contains("Not allowed"));
        }
    }
    // Nothing changed: both sessions live, the login still pending, no second login pushed.
    let now = app.state.clock.now_ms();
    assert_eq!(
        app.state.store.active_sessions(&alice, now).await.unwrap(),
        sessions_before
    );
    assert_eq!(app.pending_on(&phone).await.len(), 1);
    assert_eq!(
        app.poll_token(&pending.auth_req_id, None).await.status(),
        400
    );
    assert_eq!(
        app.verify(api_tokens["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    assert_eq!(web.open(&app, "/activity").await.status(), 200);
}

#[tokio::test]
async fn the_script_is_a_file_allowed_by_the_policy_and_no_page_has_inline_script() {
    let app = spawn_app().await;
    let mut jar = Jar::default();
    let script = jar.open(&app, "/static/app.js").await;
    assert_eq!(script.status(), 200);
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let login = jar.open(&app, "/login").await;
    let csp = login.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'")
            && csp.contains("connect-src 'self'")
            && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let page = login.text().await.unwrap();
    assert_eq!(
        page.matches("<script").count(),
        page.matches("<script src=\"/static/app.js\" defer></script>")
            .count()
    );
}

#[tokio::test]
async fn the_phone_page_stream_delivers_new_events_as_rows() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let mut jar = Jar::default();
    jar.insert("nod_device", &phone.secret);
    // The follower is subscribed once the headers are back: every later event arrives.
    let mut stream = jar.open(&app, "/phone/stream").await;
    assert_eq!(stream.status(), 200);
    app.start_login("alice").await;
    let mut received = String::new();
    while !received.contains("Sign-in requested") {
        let chunk = stream
            .chunk()
            .await
            .unwrap()
            .expect("the stream stays open");
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
    let data = received
        .lines()
        .find_map(|l| l.strip_prefix("data:"))
        .unwrap();
    let row: Value = serde_json::from_str(data.trim()).unwrap();
    assert_eq!(row["label"], "Sign-in requested");
    assert_eq!(row["what"], "test suite");
}

#[tokio::test]
async fn the_activity_stream_ends_when_its_own_session_is_revoked() {
    let app = spawn_app().await;
    let phone = app.user_with_phone("alice").await;
    let mut jar = Jar::default();
    web_sign_in(&app, &mut jar, &phone).await;
    let mut stream = jar.open(&app, "/activity/stream").await;
    assert_eq!(stream.status(), 200);
    let revoked = app
        .client
        .post(app.url("/v1/device/sessions/revoke-all"))
        .bearer_auth(&phone.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    // Ends on the revocation itself, well before the 30 s recheck would end it.
    let ended = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while stream.chunk().await.unwrap().is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the stream of a revoked session stays open");
}
