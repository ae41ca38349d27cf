//! HTTPS served by nod itself: rustls, TLS 1.3 (and 1.2), forward-secret key exchange only.

use std::path::Path;
use std::process::{Command, Stdio};

use nod::config::TlsSettings;

use crate::helpers::spawn_app_with;

/// A self-signed RSA certificate for 127.0.0.1 (end-entity: CA:FALSE, with a SAN, as rustls
/// requires), written with the openssl command line.
fn certificate(dir: &Path) -> (String, String) {
    let cert = dir.join("cert.pem").display().to_string();
    let key = dir.join("key.pem").display().to_string();
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-keyout", &key, "-out", &cert, "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(made.success());
    (cert, key)
}

/// `openssl s_client` against `port` with extra arguments: (succeeded, output).
async fn s_client(port: u16, args: &'static [&'static str]) -> (bool, String) {
    tokio::task::spawn_blocking(move || {
        let out = Command::new("openssl")
            .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("openssl runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn nod_serves_tls_1_3_and_refuses_clients_without_forward_secrecy() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let pem = std::fs::read(&cert).unwrap();
    let app = spawn_app_with(|s| s.server.tls = TlsSettings { cert, key }).await;
    assert!(app.address.starts_with("https://"));
    let port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();

    // A normal client gets through, over HTTPS.
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap();
    let health = client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // Served over HTTPS by nod itself: browsers are told to keep to HTTPS, on every answer.
    assert_eq!(
        health.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let missing = client.get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.headers().contains_key("strict-transport-security"));

    let (ok, text) = s_client(port, &["-tls1_3"]).await;
    assert!(
        ok && text.contains("TLSv1.3"),
        "TLS 1.3 handshake failed:\n{text}"
    );

    // RSA key exchange (no ECDHE): not forward secret, must be refused.
    let (ok, text) = s_client(
        port,
        &[
            "-tls1_2",
            "-cipher",
            "AES128-SHA:AES256-SHA:AES128-GCM-SHA256:AES256-GCM-SHA384",
        ],
    )
    .await;
    assert!(!ok, "a non-forward-secret handshake succeeded:\n{text}");
    assert!(!text.contains("Cipher is AES"), "{text}");
}

#[tokio::test]
async fn half_a_tls_configuration_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    use figment::providers::Format;
    let figment =
        figment::Figment::from(figment::providers::Toml::string(nod::config::DEFAULT_TOML))
            .merge(("server.data_dir", dir.path().display().to_string()))
            .merge(("server.tls.cert", "/some/cert.pem"));
    let err = nod::config::Settings::from_figment(figment)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("server.tls"), "{err}");
}
