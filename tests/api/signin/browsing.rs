//! A hand-kept browser (cookie jar, no redirects followed) and the steps of a web sign-in.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE, USER_AGENT};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Phone, TestApp};

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

/// Where a redirect points.
pub(super) fn location(response: &reqwest::Response) -> &str {
    response.headers()[LOCATION].to_str().unwrap()
}

/// Posts the sign-in form; the browser is then waiting for the phone. Returns the number the
/// waiting page shows and the waiting page itself.
pub(super) async fn start_web_login(
    app: &TestApp,
    jar: &mut Jar,
    username: &str,
) -> (String, String) {
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
pub(super) async fn web_sign_in(app: &TestApp, jar: &mut Jar, phone: &Phone) -> String {
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

/// The id of the user named `username`.
pub(super) async fn user_id(app: &TestApp, username: &str) -> String {
    app.state
        .store
        .user_by_name(username)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// The phone approves the browser's pending login with `number`; the waiting page (without
/// script) then signs the browser in. Returns the web session's id.
pub(super) async fn web_sign_in_after(
    app: &TestApp,
    jar: &mut Jar,
    phone: &Phone,
    number: &str,
) -> String {
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
