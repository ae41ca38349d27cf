//! Passkeys in a real Chromium with a virtual authenticator (the W3C WebAuthn WebDriver
//! extension, which chromedriver implements): `auth::passkeys` registers one from the options it
//! makes, accepts its assertion with user verification, and refuses an answer without. The
//! pages do not ask for passkeys yet, so the test runs each ceremony in a nod page itself,
//! through `static/passkey.js` — the conversion those pages will load.
//!
//! WebAuthn refuses IP-address origins, so the browser opens nod at `http://localhost:PORT`
//! and the relying party is built for that origin. (The app's own `server.public_url` does not
//! take part yet: it is fixed before the test's port is known.)

use fantoccini::Client;
use fantoccini::wd::WebDriverCompatibleCommand;
use nod::auth::passkeys::{
    DevicePasskey, PasskeyError, PasskeyOwner, PasskeyPolicy, Passkeys, UserVerification,
};
use nod::config::PublicUrl;
use serde_json::{Value, json};

use super::driver::Driver;
use crate::helpers::{TestApp, spawn_app};

/// One command of the WebAuthn extension: `POST /session/{id}/webauthn/{path}`.
#[derive(Debug)]
struct WebAuthnCommand {
    path: String,
    body: Value,
}

impl WebDriverCompatibleCommand for WebAuthnCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.expect("WebAuthn commands are sent within a session");
        base_url.join(&format!("session/{session}/webauthn/{}", self.path))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// A phone's own authenticator: CTAP2, built in, keeping resident keys, able to verify its
/// user, and succeeding at it when `user_verified`.
fn phone_authenticator(user_verified: bool) -> Value {
    json!({
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": true,
        "hasUserVerification": true,
        "isUserVerified": user_verified,
    })
}

/// Adds an authenticator described by `options` (see [`phone_authenticator`]) to `client`;
/// returns its id.
async fn add_authenticator(client: &Client, options: Value) -> String {
    let id = client
        .issue_cmd(WebAuthnCommand {
            path: "authenticator".into(),
            body: options,
        })
        .await
        .expect("chromedriver adds a virtual authenticator");
    id.as_str().expect("the authenticator's id").to_owned()
}

/// Gives `client` a phone's authenticator whose user verification succeeds when
/// `user_verified`; returns its id.
pub async fn add_virtual_authenticator(client: &Client, user_verified: bool) -> String {
    add_authenticator(client, phone_authenticator(user_verified)).await
}

/// Makes the authenticator's user verification (fingerprint, face or PIN) succeed or fail.
pub async fn set_user_verified(client: &Client, authenticator: &str, verified: bool) {
    client
        .issue_cmd(WebAuthnCommand {
            path: format!("authenticator/{authenticator}/uv"),
            body: json!({"isUserVerified": verified}),
        })
        .await
        .expect("chromedriver sets user verification");
}

/// Runs `nodPasskey.create` or `.get` (`call`) from `static/passkey.js` in the open page: the
/// credential as JSON, or the browser's refusal as `name: message`.
async fn ceremony(client: &Client, call: &str, options: &Value) -> Result<String, String> {
    let script = format!(
        "{}\nconst done = arguments[arguments.length - 1];\n\
         nodPasskey.{call}(arguments[0]).then(\n\
           (credential) => done({{ ok: JSON.stringify(credential) }}),\n\
           (e) => done({{ error: e.name + ': ' + e.message }}));",
        include_str!("../../../static/passkey.js")
    );
    let answer = client
        .execute_async(&script, vec![options.clone()])
        .await
        .expect("the script runs");
    match answer["ok"].as_str() {
        Some(credential) => Ok(credential.to_owned()),
        None => Err(answer["error"].as_str().unwrap_or("no answer").to_owned()),
    }
}

/// `http://localhost:PORT` of the running app: the origin the phone opens it at.
fn localhost(app: &TestApp) -> String {
    let port = app.address.rsplit(':').next().expect("a port");
    format!("http://localhost:{port}")
}

fn relying_party(
    origin: &str,
    user_verification: UserVerification,
    allow_synced: bool,
) -> Passkeys {
    let policy = PasskeyPolicy {
        user_verification,
        allow_synced,
    };
    Passkeys::new(&PublicUrl::parse(origin).unwrap(), policy).expect("a relying party")
}

/// Registers a passkey for `device_id` in `phone`: the browser's answer, finished by `site`.
async fn register(
    site: &Passkeys,
    phone: &Client,
    device_id: &str,
) -> Result<DevicePasskey, PasskeyError> {
    let owner = PasskeyOwner {
        device_id,
        username: "alice",
        device_name: "Pixel 8",
    };
    let challenge = site.start_registration(owner, &[]).unwrap();
    let answer = ceremony(phone, "create", &challenge.options)
        .await
        .expect("the authenticator makes a passkey");
    site.finish_registration(&challenge.state, &answer)
}

#[tokio::test]
async fn a_passkey_made_in_chromium_answers_with_user_verification_and_is_refused_without() {
    let Some(mut driver) = Driver::start().await else {
        return;
    };
    let app = spawn_app().await;
    let device = app.user_with_phone("alice").await;
    let origin = localhost(&app);
    let site = relying_party(&origin, UserVerification::Required, true);
    let phone = driver.browser(true).await;
    let authenticator = add_virtual_authenticator(&phone, true).await;
    phone.goto(&format!("{origin}/login")).await.unwrap();

    let passkey = register(&site, &phone, &device.device_id).await.unwrap();
    let stored = [passkey];

    let challenge = site.start_authentication(&stored).unwrap();
    let answer = ceremony(&phone, "get", &challenge.options).await.unwrap();
    let assertion = site
        .finish_authentication(&challenge.state, &answer, &stored)
        .unwrap();
    assert!(assertion.user_verified);
    assert!(assertion.changed, "the signature counter moved on");
    let stored = [assertion.passkey];

    // The answer finishes nothing else: not another ceremony's state (another challenge), and
    // not its own again once the advanced counter is stored.
    let other = site.start_authentication(&stored).unwrap();
    let refused = site.finish_authentication(&other.state, &answer, &stored);
    assert!(
        matches!(refused, Err(PasskeyError::Refused(_))),
        "{refused:?}"
    );
    let replayed = site.finish_authentication(&challenge.state, &answer, &stored);
    assert!(
        matches!(replayed, Err(PasskeyError::CounterWentBack)),
        "{replayed:?}"
    );

    // The phone stops verifying its user: asked for verification, the browser refuses.
    set_user_verified(&phone, &authenticator, false).await;
    let challenge = site.start_authentication(&stored).unwrap();
    let refused = ceremony(&phone, "get", &challenge.options).await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.starts_with("NotAllowedError")),
        "{refused:?}"
    );
    // A page that asks for less (as a tampered script would) gets an unverified answer, and
    // `Required` refuses it.
    let mut asking_less = challenge.options.clone();
    asking_less["publicKey"]["userVerification"] = json!("discouraged");
    let answer = ceremony(&phone, "get", &asking_less).await.unwrap();
    let refused = site.finish_authentication(&challenge.state, &answer, &stored);
    assert!(
        matches!(refused, Err(PasskeyError::UserNotVerified)),
        "{refused:?}"
    );
}

#[tokio::test]
async fn preferred_accepts_a_phone_that_cannot_verify_and_synced_passkeys_only_when_allowed() {
    let Some(mut driver) = Driver::start().await else {
        return;
    };
    let app = spawn_app().await;
    let device = app.user_with_phone("alice").await;
    let origin = localhost(&app);

    // An authenticator with no fingerprint reader or PIN at all.
    let phone = driver.browser(true).await;
    let mut options = phone_authenticator(false);
    options["hasUserVerification"] = json!(false);
    add_authenticator(&phone, options).await;
    phone.goto(&format!("{origin}/login")).await.unwrap();
    let preferred = relying_party(&origin, UserVerification::Preferred, true);
    let stored = [register(&preferred, &phone, &device.device_id)
        .await
        .unwrap()];
    let challenge = preferred.start_authentication(&stored).unwrap();
    let answer = ceremony(&phone, "get", &challenge.options).await.unwrap();
    let assertion = preferred
        .finish_authentication(&challenge.state, &answer, &stored)
        .unwrap();
    assert!(
        !assertion.user_verified,
        "accepted, and said to be unverified"
    );

    // A passkey that a cloud keychain would sync to other devices.
    let phone = driver.browser(true).await;
    let mut options = phone_authenticator(true);
    options["defaultBackupEligibility"] = json!(true);
    add_authenticator(&phone, options).await;
    phone.goto(&format!("{origin}/login")).await.unwrap();
    let bound_only = relying_party(&origin, UserVerification::Required, false);
    let refused = register(&bound_only, &phone, &device.device_id).await;
    assert!(matches!(refused, Err(PasskeyError::Synced)), "{refused:?}");
    let synced_allowed = relying_party(&origin, UserVerification::Required, true);
    register(&synced_allowed, &phone, &device.device_id)
        .await
        .expect("a synced passkey, allowed");
}
