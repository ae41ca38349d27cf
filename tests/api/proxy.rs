//! nod behind a real nginx (`auth_request`), in front of a tiny upstream: the configuration of
//! docs/proxies.md, tested for real. `.ci/run` installs Debian's nginx when it is missing.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, Uri};
use axum::routing::get;
use serde_json::{Value, json};

use crate::helpers::spawn_app_with;

const NGINX: &str = "/usr/sbin/nginx";

/// nginx as a child process, stopped when dropped.
struct Nginx {
    child: Child,
    port: u16,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `location` blocks of docs/proxies.md (nginx section), between its markers.
fn documented_locations(nod: SocketAddr, upstream: SocketAddr) -> String {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/proxies.md"))
            .expect("docs/proxies.md");
    let start = doc.find("# nginx:begin").expect("nginx:begin marker") + "# nginx:begin".len();
    let end = doc.find("# nginx:end").expect("nginx:end marker");
    doc[start..end]
        .replace("127.0.0.1:8080", &nod.to_string())
        .replace("127.0.0.1:3000", &upstream.to_string())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_nginx(dir: &Path, locations: &str) -> Nginx {
    let port = free_port();
    let temp: PathBuf = dir.join("tmp");
    std::fs::create_dir_all(&temp).unwrap();
    let t = temp.display();
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\nerror_log {d}/error.log;\npid {d}/nginx.pid;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {t}/body;\n  proxy_temp_path {t}/proxy;\n\
         fastcgi_temp_path {t}/fastcgi;\n  uwsgi_temp_path {t}/uwsgi;\n  scgi_temp_path {t}/scgi;\n\
         server {{\n    listen 127.0.0.1:{port};\n{locations}\n  }}\n}}\n",
        d = dir.display(),
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new(NGINX)
        .args([
            "-p",
            &dir.display().to_string(),
            "-c",
            &dir.join("nginx.conf").display().to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx starts");
    let nginx = Nginx { child, port };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nginx did not listen: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    nginx
}

/// An upstream that answers with what nginx forwarded to it.
async fn start_upstream() -> SocketAddr {
    let app = Router::new().fallback(get(|headers: HeaderMap, uri: Uri| async move {
        let user = headers
            .get("x-auth-user")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        axum::Json(json!({ "user": user, "uri": uri.to_string() }))
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test]
async fn behind_nginx_auth_request_a_valid_token_reaches_the_upstream_and_a_revoked_one_does_not() {
    if !Path::new(NGINX).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "nginx is missing in CI: .ci/run installs it"
        );
        eprintln!(
            "SKIPPED behind_nginx_auth_request…: {NGINX} not installed (.ci/run installs it)"
        );
        return;
    }
    let app =
        spawn_app_with(|s| s.server.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let phone = app.user_with_phone("alice").await;
    let token = app.sign_in(&phone).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let nod: SocketAddr = app.address.trim_start_matches("http://").parse().unwrap();
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let nginx = start_nginx(dir.path(), &documented_locations(nod, upstream));
    // The client comes from 127.0.0.3, so its address differs from nginx's own (127.0.0.1).
    let client = reqwest::Client::builder()
        .local_address(Some("127.0.0.3".parse().unwrap()))
        .build()
        .unwrap();
    let url = format!("http://127.0.0.1:{}/orders/42?page=2", nginx.port);

    let allowed = client.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(allowed.status(), 200);
    let seen: Value = allowed.json().await.unwrap();
    assert_eq!(seen["user"], "alice", "the upstream got X-Auth-User");
    assert_eq!(seen["uri"], "/orders/42?page=2");

    let forged = client
        .get(&url)
        .bearer_auth(format!("{token}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let anonymous = client.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);

    let uses = app.uses_of("alice").await;
    assert_eq!(uses.len(), 1, "only the allowed request is a use");
    assert_eq!(
        uses[0].path.as_deref(),
        Some("/orders/42?page=2"),
        "the original URI"
    );
    assert_eq!(
        uses[0].ip.as_deref(),
        Some("127.0.0.3"),
        "the client's address, not nginx's"
    );
    assert_eq!(uses[0].method.as_deref(), Some("GET"));
    let sid = uses[0].sid.clone().unwrap();

    app.revoke_session(&phone, &sid).await;
    let after = client.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(
        after.status(),
        401,
        "a revoked session is refused at the proxy"
    );
    assert_eq!(app.uses_of("alice").await.len(), 1);
}
