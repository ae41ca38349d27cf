//! Pages, over plain HTTP (no browser needed for these): pairing a phone at `/enroll/{code}`
//! and answering a login at `/approve/{link}`.

use crate::helpers::{PASSWORD, TestApp, csrf_field, error_code, spawn_app, spawn_app_with};

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
    (csrf_cookie, csrf_field(&page), page)
}

/// The pairing form filled in with `name` and no channel.
fn pairing<'a>(csrf: &'a str, name: &'a str) -> [(&'a str, &'a str); 3] {
    [("csrf", csrf), ("name", name), ("channel", "none")]
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
    let code = app.pairing_code("alice").await;
    let (cookie, field, page) = open_form(&app, &code).await;
    assert!(page.contains("Pair this phone"));

    let paired = post_form(
        &app,
        &code,
        Some(&cookie),
        &pairing(&field, "Pixel <b>8</b>"),
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
    let code = app.pairing_code("alice").await;
    let (cookie, field, _) = open_form(&app, &code).await;
    let no_token = post_form(&app, &code, Some(&cookie), &pairing("", "phone")).await;
    let wrong = post_form(
        &app,
        &code,
        Some(&cookie),
        &pairing("not-the-token", "phone"),
    )
    .await;
    let no_cookie = post_form(&app, &code, None, &pairing(&field, "phone")).await;

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
    let ok = post_form(&app, &code, Some(&cookie), &pairing(&field, "phone")).await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn a_used_pairing_link_shows_a_clear_page() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let code = app.pairing_code("alice").await;
    let (cookie, field, _) = open_form(&app, &code).await;
    let form = pairing(&field, "phone");
    assert_eq!(
        post_form(&app, &code, Some(&cookie), &form).await.status(),
        200
    );

    let again = post_form(&app, &code, Some(&cookie), &form).await;

    assert_eq!(again.status(), 400);
    let html = again.text().await.unwrap();
    assert!(html.contains("unknown, used or expired"), "{html}");
}

/// Opens an approval page: (csrf cookie, csrf field, html).
async fn open_approval(app: &TestApp, path: &str) -> (String, String, String) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = response.text().await.unwrap();
    (cookie, csrf_field(&html), html)
}

async fn answer(
    app: &TestApp,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_approval_page_shows_the_context_escaped_and_approves_with_the_number() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;
    let started = app
        .client
        .post(app.url("/v1/login"))
        .header("user-agent", "<script>alert(1)</script>")
        .json(&serde_json::json!({"username": "alice", "password": PASSWORD, "client_name": "Shop <i>app</i>"}))
        .send()
        .await
        .unwrap();
    let started: serde_json::Value = started.json().await.unwrap();
    let path = app.approval_path("alice").await;

    let (cookie, field, html) = open_approval(&app, &path).await;

    assert!(html.contains("alice") && html.contains("127.0.0.1"));
    assert!(
        html.contains("Shop &#60;i&#62;app&#60;/i&#62;")
            || html.contains("Shop &lt;i&gt;app&lt;/i&gt;"),
        "{html}"
    );
    assert!(
        !html.contains("<script>alert(1)</script>"),
        "the user agent is escaped"
    );
    assert!(html.contains("alert(1)"), "and shown literally");
    let code = started["binding_code"].as_str().unwrap();
    let approved = answer(
        &app,
        &path,
        &cookie,
        &[
            ("csrf", field.as_str()),
            ("decision", "approve"),
            ("binding_code", code),
        ],
    )
    .await;
    assert_eq!(approved.status(), 200);
    assert!(approved.text().await.unwrap().contains("Approved"));
    let token = app
        .poll_token(started["auth_req_id"].as_str().unwrap(), None)
        .await;
    assert_eq!(token.status(), 200);

    // Single use: the link now shows a clear page, and posting again changes nothing.
    let again = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(again.status(), 410);
    assert!(again.text().await.unwrap().contains("Already approved"));
}

#[tokio::test]
async fn a_wrong_number_or_this_wasnt_me_on_the_page_denies_the_login() {
    for (decision, code, status, text) in [
        ("approve", "wrong", 422, "Wrong number"),
        ("fraud", "", 200, "Reported"),
        ("deny", "", 200, "Cancelled"),
    ] {
        let app = spawn_app().await;
        app.user_with_phone("alice").await;
        let pending = app.start_login("alice").await;
        let path = app.approval_path("alice").await;
        let (cookie, field, _) = open_approval(&app, &path).await;
        let number = if code == "wrong" {
            format!(
                "{:02}",
                (pending.binding_code.parse::<u8>().unwrap() + 1) % 100
            )
        } else {
            String::new()
        };
        let response = answer(
            &app,
            &path,
            &cookie,
            &[
                ("csrf", field.as_str()),
                ("decision", decision),
                ("binding_code", number.as_str()),
            ],
        )
        .await;
        assert_eq!(response.status(), status, "{decision}");
        assert!(response.text().await.unwrap().contains(text), "{decision}");
        let token = app.poll_token(&pending.auth_req_id, None).await;
        assert_eq!(error_code(token).await, "access_denied", "{decision}");
    }
}

#[tokio::test]
async fn an_approval_answer_without_its_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;
    let pending = app.start_login("alice").await;
    let path = app.approval_path("alice").await;
    let (cookie, _field, _) = open_approval(&app, &path).await;

    let forged = answer(
        &app,
        &path,
        &cookie,
        &[
            ("csrf", "forged"),
            ("decision", "approve"),
            ("binding_code", pending.binding_code.as_str()),
        ],
    )
    .await;
    let cookieless = app
        .client
        .post(app.url(&path))
        .form(&[("decision", "deny")])
        .send()
        .await
        .unwrap();

    assert_eq!(forged.status(), 403);
    assert_eq!(cookieless.status(), 403);
    let token = app.poll_token(&pending.auth_req_id, None).await;
    assert_eq!(
        error_code(token).await,
        "authorization_pending",
        "still pending"
    );
    assert_eq!(
        app.client
            .get(app.url(&path))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "link not spent"
    );
}

#[tokio::test]
async fn expired_and_unknown_links_show_clear_pages() {
    let app = spawn_app().await;
    app.user_with_phone("alice").await;
    app.start_login("alice").await;
    let path = app.approval_path("alice").await;
    app.clock.advance(std::time::Duration::from_secs(121));

    let expired = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(expired.status(), 410);
    assert!(expired.text().await.unwrap().contains("Expired"));
    let unknown = app
        .client
        .get(app.url("/approve/not-a-link"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert!(
        unknown.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn pairing_in_the_browser_with_a_webhook_to_an_internal_address_is_refused() {
    let app = spawn_app_with(|s| {
        s.notify.webhook.enabled = true;
        s.notify.webhook.secret = nod::config::Secret::new("whsec_pages");
        s.notify.allow_private_addresses = false;
    })
    .await;
    app.add_user("alice").await;
    let code = app.pairing_code("alice").await;
    let (cookie, field, _) = open_form(&app, &code).await;

    let refused = post_form(
        &app,
        &code,
        Some(&cookie),
        &[
            ("csrf", field.as_str()),
            ("name", "phone"),
            ("channel", "webhook"),
            ("address", "http://169.254.169.254/latest/meta-data"),
        ],
    )
    .await;

    assert_eq!(refused.status(), 400);
    let page = refused.text().await.unwrap();
    assert!(page.contains("link-local"), "{page}");
    assert!(app.state.store.list_devices(None).await.unwrap().is_empty());
}
