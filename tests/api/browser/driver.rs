//! A chromedriver process for one test, and browsers on it.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{PASSWORD, TestApp};

/// The longest any explicit wait in a browser test polls before failing.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Chromium flags: root in a container, headless, nothing fetched in the background.
const FLAGS: &[&str] = &[
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
];

/// A running chromedriver, killed on drop together with the browsers it started (they share
/// its process group), even when a test fails half-way.
pub struct Driver {
    child: Child,
    url: String,
    chromium: PathBuf,
    profiles: Vec<TempDir>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([
            PathBuf::from("/usr/bin"),
            PathBuf::from("/usr/lib/chromium"),
        ])
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|candidate| candidate.is_file())
}

impl Driver {
    /// Starts chromedriver, or `None` (after saying why) when chromium is not installed; under
    /// CI that is a failure instead.
    pub async fn start() -> Option<Driver> {
        let chromium = find_program(&["chromium", "chromium-browser"]);
        let chromedriver = find_program(&["chromedriver"]);
        let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "chromium and chromedriver are required under CI (apt-get install chromium \
                 chromium-driver; .ci/run does this)"
            );
            eprintln!("skipped: chromium not installed (apt-get install chromium chromium-driver)");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            chromium,
            profiles: Vec::new(),
        };
        driver.until_ready().await;
        Some(driver)
    }

    /// Polls chromedriver's `/status` until it answers ready.
    async fn until_ready(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + PATIENCE;
        loop {
            let ready = match client.get(format!("{}/status", self.url)).send().await {
                Ok(response) => response
                    .json::<Value>()
                    .await
                    .is_ok_and(|v| v["value"]["ready"] == true),
                Err(_) => false,
            };
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "chromedriver never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A new browser with its own fresh profile; `mobile` makes it a 360×740 phone.
    pub async fn browser(&mut self, mobile: bool) -> Client {
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        if !mobile {
            args.push("--window-size=1280,800".into());
        }
        let mut options = json!({
            "binary": self.chromium.display().to_string(),
            "args": args,
        });
        if mobile {
            options["mobileEmulation"] = json!({
                "deviceMetrics": {"width": 360, "height": 740, "pixelRatio": 1.0, "touch": true},
                "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
                              (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36",
            });
        }
        self.profiles.push(profile);
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert("goog:chromeOptions".into(), options);
        ClientBuilder::rustls()
            .unwrap()
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a browser session")
    }
}

/// Waits (up to [`PATIENCE`]) for an element matching `css`.
pub async fn wait_for(browser: &Client, css: &str) -> Element {
    browser
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} within {PATIENCE:?}: {e}"))
}

/// Waits (up to [`PATIENCE`]) until no element matches `css`.
pub async fn wait_for_none(browser: &Client, css: &str) {
    let deadline = Instant::now() + PATIENCE;
    while !browser
        .find_all(Locator::Css(css))
        .await
        .unwrap()
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "{css} still there after {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The page's visible text.
pub async fn body_text(browser: &Client) -> String {
    browser
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Types into the field `css`.
pub async fn fill(browser: &Client, css: &str, text: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

/// Clicks the element `css`.
pub async fn click(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Asserts no script from the page ran: no alert open, and the marker the hostile input would
/// set is unset.
pub async fn assert_no_script_ran(browser: &Client) {
    assert!(
        browser.get_alert_text().await.is_err(),
        "an alert is open: a script ran"
    );
    let marker = browser
        .execute("return typeof window.__xss;", vec![])
        .await
        .unwrap();
    assert_eq!(marker, json!("undefined"), "window.__xss was set");
}

/// Signs in on `app`'s `/login` page as `username` with the suite's password; the number the
/// waiting page then shows, for the phone to approve with.
pub async fn log_in_on_the_web(browser: &Client, app: &TestApp, username: &str) -> String {
    browser.goto(&app.url("/login")).await.unwrap();
    fill(browser, "input[name=username]", username).await;
    fill(browser, "input[name=password]", PASSWORD).await;
    click(browser, "form button[type=submit]").await;
    wait_for(browser, "#binding-code")
        .await
        .text()
        .await
        .unwrap()
}
