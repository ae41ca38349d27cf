//! Without a browser: the relying party from the URL, a recorded Chromium ceremony finished
//! (and replayed), states crossed between ceremonies, garbage answers, the options per policy.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use webauthn_rs::prelude::WebauthnError;

use super::browser::user_handle;
use super::*;

/// A registration and an assertion recorded from Chromium's virtual authenticator.
fn recorded() -> Value {
    serde_json::from_str(include_str!("chromium-ceremony.json")).unwrap()
}

fn at(url: &str, user_verification: UserVerification) -> Result<Passkeys, PasskeyError> {
    let policy = PasskeyPolicy {
        user_verification,
        allow_synced: true,
    };
    Passkeys::new(&PublicUrl::parse(url).unwrap(), policy)
}

fn recorded_site() -> Passkeys {
    at(
        recorded()["origin"].as_str().unwrap(),
        UserVerification::Required,
    )
    .unwrap()
}

fn recorded_passkey() -> DevicePasskey {
    serde_json::from_value(recorded()["passkey"].clone()).unwrap()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap()
}

const OWNER: PasskeyOwner<'static> = PasskeyOwner {
    device_id: "0123456789abcdef0123456789abcdef",
    username: "alice",
    device_name: "Pixel 8",
};

#[test]
fn the_relying_party_is_the_host_of_the_public_url() {
    for (url, rp_id) in [
        ("https://login.example.com/nod", "login.example.com"),
        ("http://localhost:8080", "localhost"),
        ("https://Login.Example.COM:8443", "login.example.com"),
    ] {
        let site = at(url, UserVerification::Required).unwrap();
        assert_eq!(site.rp_id(), rp_id, "{url}");
        let challenge = site.start_registration(OWNER, &[]).unwrap();
        assert_eq!(challenge.options["publicKey"]["rp"]["id"], rp_id, "{url}");
    }
}

#[test]
fn the_origin_is_the_public_urls_port_included() {
    let recorded = recorded();
    assert_ne!(text(&recorded["origin"]), "http://localhost:8080");
    let elsewhere = at("http://localhost:8080", UserVerification::Required).unwrap();
    let refused = elsewhere.finish_registration(
        text(&recorded["registration"]["state"]),
        text(&recorded["registration"]["answer"]),
    );
    assert!(
        matches!(
            refused,
            Err(PasskeyError::Refused(WebauthnError::InvalidRPOrigin))
        ),
        "{refused:?}"
    );
}

#[test]
fn an_ip_address_for_host_is_refused_at_start_with_what_to_do() {
    for url in [
        "http://127.0.0.1:8080",
        "http://[::1]:8080",
        "https://192.0.2.7",
    ] {
        let error = at(url, UserVerification::Required).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, PasskeyError::PublicUrl { .. }), "{url}");
        assert!(
            message.contains("IP address") && message.contains("localhost"),
            "{message}"
        );
    }
}

#[test]
fn a_recorded_registration_finishes_into_the_passkey_to_store() {
    let recorded = recorded();
    let passkey = recorded_site()
        .finish_registration(
            text(&recorded["registration"]["state"]),
            text(&recorded["registration"]["answer"]),
        )
        .unwrap();
    assert_eq!(passkey, recorded_passkey());
    assert_eq!(passkey.id(), text(&recorded["passkey"]["cred"]["cred_id"]));
    let stored = serde_json::to_string(&passkey).unwrap();
    assert_eq!(
        serde_json::from_str::<DevicePasskey>(&stored).unwrap(),
        passkey
    );
}

#[test]
fn a_recorded_assertion_is_verified_once_and_its_replay_refused() {
    let recorded = recorded();
    let site = recorded_site();
    let (state, answer) = (
        text(&recorded["authentication"]["state"]),
        text(&recorded["authentication"]["answer"]),
    );
    let assertion = site
        .finish_authentication(state, answer, &[recorded_passkey()])
        .unwrap();
    assert!(assertion.user_verified);
    assert!(assertion.changed, "the counter moved on");
    // The same state and answer again, against the passkey as stored after the first.
    let replay = site.finish_authentication(state, answer, &[assertion.passkey]);
    assert!(
        matches!(replay, Err(PasskeyError::CounterWentBack)),
        "{replay:?}"
    );
}

#[test]
fn a_state_finishes_only_the_ceremony_that_wrote_it() {
    let recorded = recorded();
    let site = recorded_site();
    let passkeys = [recorded_passkey()];
    let registration = text(&recorded["registration"]["state"]);
    let authentication = text(&recorded["authentication"]["state"]);
    let answer = text(&recorded["authentication"]["answer"]);
    assert!(matches!(
        site.finish_authentication(registration, answer, &passkeys),
        Err(PasskeyError::WrongCeremony {
            expected: Ceremony::Authentication,
            found: Ceremony::Registration
        })
    ));
    assert!(matches!(
        site.finish_registration(authentication, answer),
        Err(PasskeyError::WrongCeremony {
            expected: Ceremony::Registration,
            found: Ceremony::Authentication
        })
    ));
    // Another authentication's state: its challenge is not the one the passkey signed.
    let other = site.start_authentication(&passkeys).unwrap();
    let refused = site.finish_authentication(&other.state, answer, &passkeys);
    assert!(
        matches!(
            refused,
            Err(PasskeyError::Refused(WebauthnError::MismatchedChallenge))
        ),
        "{refused:?}"
    );
}

#[test]
fn a_fresh_state_reads_back_and_garbage_is_refused_without_being_echoed() {
    let site = recorded_site();
    let passkeys = [recorded_passkey()];
    let registration = site.start_registration(OWNER, &[]).unwrap();
    let authentication = site.start_authentication(&passkeys).unwrap();
    for garbage in [
        "",
        "not json at all",
        r#"{"id":"secret-looking-junk"}"#,
        "[1,2,3]",
    ] {
        let refused = site.finish_registration(&registration.state, garbage);
        assert!(
            matches!(
                refused,
                Err(PasskeyError::BadResponse {
                    ceremony: Ceremony::Registration,
                    ..
                })
            ),
            "{garbage}: {refused:?}"
        );
        let refused = site
            .finish_authentication(&authentication.state, garbage, &passkeys)
            .unwrap_err();
        assert!(
            matches!(refused, PasskeyError::BadResponse { .. }),
            "{refused:?}"
        );
        assert!(!refused.to_string().contains("junk"), "{refused}");
        let refused = site.finish_registration(garbage, &registration.state);
        assert!(
            matches!(refused, Err(PasskeyError::BadState)),
            "{refused:?}"
        );
    }
}

#[test]
fn the_options_ask_the_browser_for_what_the_policy_says() {
    let existing = recorded_passkey();
    let site = at("https://login.example.com", UserVerification::Required).unwrap();
    let options = site
        .start_registration(OWNER, std::slice::from_ref(&existing))
        .unwrap()
        .options;
    let public_key = &options["publicKey"];
    assert_eq!(
        public_key["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(
        public_key["extensions"]["credentialProtectionPolicy"],
        "userVerificationRequired"
    );
    assert!(public_key.get("hints").is_none(), "{public_key}");
    assert_eq!(
        public_key["excludeCredentials"][0]["id"],
        existing.id().as_str()
    );
    assert_eq!(public_key["user"]["name"], "alice");
    assert_eq!(
        public_key["user"]["id"],
        URL_SAFE_NO_PAD
            .encode(user_handle(OWNER.device_id).as_bytes())
            .as_str()
    );
    let options = site
        .start_authentication(std::slice::from_ref(&existing))
        .unwrap()
        .options;
    assert_eq!(options["publicKey"]["userVerification"], "required");
    assert_eq!(
        options["publicKey"]["allowCredentials"][0]["id"],
        existing.id().as_str()
    );
    assert!(options["publicKey"].get("hints").is_none());

    let site = at("https://login.example.com", UserVerification::Preferred).unwrap();
    let options = site.start_registration(OWNER, &[]).unwrap().options;
    let public_key = &options["publicKey"];
    assert_eq!(
        public_key["authenticatorSelection"]["userVerification"],
        "preferred"
    );
    assert!(
        public_key["extensions"]
            .get("credentialProtectionPolicy")
            .is_none()
    );
    let options = site.start_authentication(&[existing]).unwrap().options;
    assert_eq!(options["publicKey"]["userVerification"], "preferred");
}

#[test]
fn a_device_without_passkeys_cannot_be_asked() {
    let refused = recorded_site().start_authentication(&[]);
    assert!(matches!(refused, Err(PasskeyError::NoPasskeys)));
}

#[test]
fn the_user_handle_is_stable_per_device_and_not_the_device_id() {
    let handle = user_handle(OWNER.device_id);
    assert_eq!(handle, user_handle(OWNER.device_id));
    assert_ne!(handle, user_handle("fedcba9876543210fedcba9876543210"));
    assert_ne!(handle.simple().to_string(), OWNER.device_id);
    assert_eq!(handle.get_version_num(), 8);
}
