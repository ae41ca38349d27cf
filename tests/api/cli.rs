//! The `nod` command line, run as a user would: a fresh directory, no configuration.

use std::process::Stdio;

use serde_json::Value;

use crate::helpers::{json_of, nod_in, run_nod};

#[test]
fn a_user_and_a_mock_phone_are_provisioned_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();

    let user = json_of(&run_nod(
        dir.path(),
        &["user", "add", "alice", "--password-stdin", "--json"],
        Some("correct horse battery staple\n"),
    ));
    let device = json_of(&run_nod(
        dir.path(),
        &[
            "device", "add", "alice", "--name", "phone", "--notify", "mock", "--json",
        ],
        None,
    ));
    let users = json_of(&run_nod(dir.path(), &["user", "list", "--json"], None));
    let keys = json_of(&run_nod(dir.path(), &["keys", "list", "--json"], None));

    assert_eq!(user["username"], "alice");
    assert!(device["device_id"].is_string());
    assert!(device["device_secret"].as_str().unwrap().len() >= 43);
    assert!(
        device["totp_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/nod:alice?")
    );
    assert_eq!(users[0]["username"], "alice");
    assert_eq!(users[0]["disabled"], false);
    assert_eq!(keys[0]["alg"], "EdDSA");
    assert_eq!(keys[0]["current"], true);
    assert!(
        dir.path().join("data/nod.db").is_file(),
        "database created under data/"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key_file = keys[0]["file"].as_str().unwrap();
        let mode = std::fs::metadata(dir.path().join(key_file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "signing key is private");
        let db_mode = std::fs::metadata(dir.path().join("data/nod.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(db_mode & 0o077, 0, "database is private");
    }
    // The secret is stored only as a digest.
    let db = std::fs::read(dir.path().join("data/nod.db")).unwrap();
    let secret = device["device_secret"].as_str().unwrap();
    assert!(!db.windows(secret.len()).any(|w| w == secret.as_bytes()));
}

#[test]
fn a_duplicate_user_and_an_unknown_provider_fail_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let pw = Some("correct horse battery staple\n");
    assert!(
        run_nod(dir.path(), &["user", "add", "bob", "--password-stdin"], pw)
            .status
            .success()
    );

    let again = run_nod(dir.path(), &["user", "add", "bob", "--password-stdin"], pw);
    let pigeon = run_nod(
        dir.path(),
        &["device", "add", "bob", "--name", "p", "--notify", "pigeon"],
        None,
    );
    let unconfigured = run_nod(
        dir.path(),
        &[
            "device",
            "add",
            "bob",
            "--name",
            "p",
            "--notify",
            "ntfy=alerts",
        ],
        None,
    );
    let short = run_nod(
        dir.path(),
        &["user", "add", "carol", "--password-stdin"],
        Some("short\n"),
    );

    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
    assert!(!pigeon.status.success());
    assert!(String::from_utf8_lossy(&pigeon.stderr).contains("unknown notification provider"));
    assert!(!unconfigured.status.success());
    assert!(
        String::from_utf8_lossy(&unconfigured.stderr)
            .contains("`ntfy` is not configured on this server")
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8"));
}

#[test]
fn a_bad_setting_fails_at_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let output = nod_in(dir.path())
        .args(["serve"])
        .env("NOD_TOKENS__ACCESS_TTL", "forever")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
    assert!(
        stderr.contains("tokens.access_ttl") && stderr.contains("forever"),
        "{stderr}"
    );
}

#[test]
fn keys_rotate_adds_a_signing_key_and_list_shows_which_one_signs() {
    let dir = tempfile::tempdir().unwrap();
    let first = json_of(&run_nod(dir.path(), &["keys", "list", "--json"], None));
    let rotated = json_of(&run_nod(dir.path(), &["keys", "rotate", "--json"], None));
    let listed = json_of(&run_nod(dir.path(), &["keys", "list", "--json"], None));

    assert_eq!(rotated["alg"], "EdDSA");
    assert_eq!(rotated["retired"], serde_json::json!([]));
    let rows = listed.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let signing: Vec<&Value> = rows.iter().filter(|r| r["current"] == true).collect();
    assert_eq!(signing.len(), 1);
    assert_eq!(signing[0]["kid"], rotated["kid"]);
    assert!(
        rows.iter().any(|r| r["kid"] == first[0]["kid"]),
        "old key dropped"
    );
}

#[test]
fn hs256_without_a_secret_fails_at_start_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let output = nod_in(dir.path())
        .args(["keys", "list"])
        .env("NOD_TOKENS__ALGORITHM", "HS256")
        .output()
        .expect("run nod");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("tokens.hmac_secret"), "{stderr}");
}

#[test]
fn enroll_link_prints_a_single_use_pairing_link() {
    let dir = tempfile::tempdir().unwrap();
    let pw = Some("correct horse battery staple\n");
    assert!(
        run_nod(
            dir.path(),
            &["user", "add", "alice", "--password-stdin"],
            pw
        )
        .status
        .success()
    );

    let link = json_of(&run_nod(
        dir.path(),
        &["enroll-link", "alice", "--json"],
        None,
    ));
    let unknown = run_nod(dir.path(), &["enroll-link", "nobody"], None);

    let code = link["code"].as_str().unwrap();
    assert!(code.len() >= 43, "at least 256 bits");
    assert!(
        link["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/enroll/{code}"))
    );
    assert!(!unknown.status.success());
}

#[test]
fn a_closed_pipe_ends_a_command_quietly_instead_of_panicking() {
    let dir = tempfile::tempdir().unwrap();
    json_of(&run_nod(
        dir.path(),
        &["user", "add", "alice", "--password-stdin", "--json"],
        Some("correct horse battery staple\n"),
    ));
    for args in [
        &["user", "list", "--json"][..],
        &["user", "list"][..],
        &["keys", "list"][..],
    ] {
        // `nod … | head -c 0`, without the race: the reader is gone before nod writes.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = nod_in(dir.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            output.status.success(),
            "{args:?}: {:?} {stderr}",
            output.status
        );
        assert!(stderr.trim().is_empty(), "{args:?} printed: {stderr}");
    }
}

/// People type their password into the username field: whatever was typed there never reaches
/// the server's log, not even when the attempt limit it trips is logged.
#[tokio::test]
async fn the_log_of_nod_serve_never_holds_a_typed_username() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut server = nod_in(dir.path())
        .arg("serve")
        .env("NOD_SERVER__BIND", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nod serve");
    let (lines, from_server) = std::sync::mpsc::channel::<String>();
    let stderr = server.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = Vec::new();
    let base = loop {
        let line = from_server
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("nod serve says where it listens");
        let found = line
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
            .map(str::to_owned);
        log.push(line);
        if let Some(url) = found {
            break url;
        }
    };

    let typed = "Tr0ub4dor&3-secret";
    let client = reqwest::Client::new();
    for _ in 0..7 {
        let answer = client
            .post(format!("{base}/v1/login"))
            .json(&serde_json::json!({"username": typed, "password": "wrong password"}))
            .send()
            .await
            .unwrap();
        assert!([401, 429].contains(&answer.status().as_u16()));
    }
    let _ = server.kill();
    let _ = server.wait();
    log.extend(from_server.try_iter());
    while let Ok(line) = from_server.recv_timeout(std::time::Duration::from_millis(500)) {
        log.push(line);
    }
    let log = log.join("\n");
    assert!(
        log.contains("attempt limit reached"),
        "the limit is logged:\n{log}"
    );
    assert!(!log.to_lowercase().contains(&typed.to_lowercase()), "{log}");
}
