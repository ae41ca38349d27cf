//! End-to-end tests in a real headless Chromium (Debian's `chromium` and `chromium-driver`),
//! driven through chromedriver with fantoccini. Each test starts its own chromedriver on a
//! free port and one browser per person (own profile directory), so the phone and the
//! computer never share cookies.
//!
//! Without chromium or chromedriver the tests say "skipped" and pass — except under CI (`CI`
//! set), where a missing browser is a failure: `.ci/run` installs both.

mod driver;
mod passkeys;
mod screenshots;
mod signin;
mod xss;
