//! A browser kept by hand for the pages over plain HTTP: its cookie jar, its forms' CSRF field,
//! where a redirect points.

use std::collections::BTreeMap;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE, USER_AGENT};

use super::TestApp;

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
    text_after(page, "name=\"csrf\" value=\"", '"')
}

/// The text after the first `start` in `page`, up to the next `end`: an attribute's value, an
/// element's text.
pub fn text_after(page: &str, start: &str, end: char) -> String {
    page.split(start)
        .nth(1)
        .unwrap_or_else(|| panic!("no {start} in {page}"))
        .split(end)
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Where a redirect points.
pub fn location(response: &reqwest::Response) -> &str {
    response.headers()[LOCATION].to_str().unwrap()
}
