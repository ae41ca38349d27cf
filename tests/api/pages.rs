//! Pages, over plain HTTP (no browser needed for these): pairing a phone at `/enroll/{code}`.

use nod::domain::Username;
use nod::flows::enroll::create_link;

use crate::helpers::{TestApp, spawn_app};

/// Opens the pairing form: (csrf cookie, csrf field, page).
async fn open_form(app: &TestApp, code: &str) -> (String, String, String) {
    let response = app
        .client
        .get(app.url(&format!("/enroll/{code}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let cookie = headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let csrf_cookie = cookie.split(';').next().unwrap().to_owned();
    let page = response.text().await.unwrap();
    let field = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    (csrf_cookie, field, page)
}

async fn post_form(
    app: &TestApp,
    code: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(&format!("/enroll/{code}")))
        .form(form);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_phone_pairs_in_the_browser_and_gets_its_device_cookie_and_qr_code() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let code = create_link(&app.state, &Username::parse("alice").unwrap())
        .await
        .unwrap()
        .code;
    let (cookie, field, page) = open_form(&app, &code).await;
    assert!(page.contains("Pair this phone"));

    let paired = post_form(
        &app,
        &code,
        Some(&cookie),
        &[
            ("csrf", field.as_str()),
            ("name", "Pixel <b>8</b>"),
            ("channel", "none"),
        ],
    )
    .await;

    assert_eq!(paired.status(), 200);
    let set_cookie = paired.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set_cookie.starts_with("nod_device="), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    let secret = set_cookie
        .trim_start_matches("nod_device=")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = paired.text().await.unwrap();
    assert!(html.contains("<svg"), "the QR code is inline");
    assert!(html.contains("otpauth://totp/nod:alice"));
    assert!(
        html.contains("Pixel &lt;b&gt;8&lt;/b&gt;") || html.contains("Pixel &#60;b&#62;8"),
        "the name is escaped"
    );
    assert!(!html.contains("<b>8</b>"));
    // The cookie is the device: it authenticates the device API.
    let approvals = app
        .client
        .get(app.url("/v1/device/approvals"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(approvals.status(), 200);
}

#[tokio::test]
async fn a_form_without_or_with_a_wrong_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let code = create_link(&app.state, &Username::parse("alice").unwrap())
        .await
        .unwrap()
        .code;
    let (cookie, field, _) = open_form(&app, &code).await;
    let fields = |csrf: &'static str| vec![("csrf", csrf), ("name", "phone"), ("channel", "none")];

    let no_token = post_form(&app, &code, Some(&cookie), &fields("")).await;
    let wrong = post_form(&app, &code, Some(&cookie), &fields("not-the-token")).await;
    let no_cookie = post_form(
        &app,
        &code,
        None,
        &[
            ("csrf", field.as_str()),
            ("name", "phone"),
            ("channel", "none"),
        ],
    )
    .await;

    for response in [no_token, wrong, no_cookie] {
        assert_eq!(response.status(), 403);
        assert!(
            response.text().await.unwrap().contains("<h1>"),
            "an HTML error page"
        );
    }
    assert!(
        app.state.store.list_devices(None).await.unwrap().is_empty(),
        "nothing paired"
    );
    // The code was not spent: the real form still works.
    let ok = post_form(
        &app,
        &code,
        Some(&cookie),
        &[
            ("csrf", field.as_str()),
            ("name", "phone"),
            ("channel", "none"),
        ],
    )
    .await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn a_used_pairing_link_shows_a_clear_page() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let code = create_link(&app.state, &Username::parse("alice").unwrap())
        .await
        .unwrap()
        .code;
    let (cookie, field, _) = open_form(&app, &code).await;
    let form = [
        ("csrf", field.as_str()),
        ("name", "phone"),
        ("channel", "none"),
    ];
    assert_eq!(
        post_form(&app, &code, Some(&cookie), &form).await.status(),
        200
    );

    let again = post_form(&app, &code, Some(&cookie), &form).await;

    assert_eq!(again.status(), 400);
    let html = again.text().await.unwrap();
    assert!(html.contains("unknown, used or expired"), "{html}");
}
