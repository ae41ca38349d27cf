//! `/openapi.json`: the document is OpenAPI 3.1, lists every route the app serves, and
//! docs/api.md is the table generated from it.
//!
//! axum cannot list its routes, so "no route missing from the document" is checked three ways:
//! routes are registered only through `OpenApiRouter::routes` (a source scan refuses plain
//! `.route(...)` calls anywhere in `src/`), every documented operation answers with something
//! other than the unmatched-route fallback, and the endpoints of SPEC §2 and §3 are present.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_with};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The endpoints of SPEC §2 and §3 that nod implements, plus operations and discovery.
const KNOWN: &[(&str, &str)] = &[
    ("post", "/v1/login"),
    ("post", "/v1/login/totp"),
    ("post", "/v1/enroll"),
    ("get", "/v1/device/devices"),
    ("post", "/v1/device/devices/{id}/revoke"),
    ("post", "/v1/token"),
    ("post", "/v1/revoke"),
    ("post", "/v1/logout"),
    ("post", "/v1/introspect"),
    ("get", "/v1/verify"),
    ("post", "/v1/verify"),
    ("head", "/v1/verify"),
    ("get", "/.well-known/jwks.json"),
    ("get", "/.well-known/openid-configuration"),
    ("get", "/v1/device/approvals"),
    ("post", "/v1/device/approvals/{id}"),
    ("get", "/v1/device/feed"),
    ("get", "/v1/device/feed/stream"),
    ("get", "/v1/device/sessions"),
    ("post", "/v1/device/sessions/{sid}/revoke"),
    ("post", "/v1/device/sessions/revoke-all"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/v1/test/notifications"),
];

/// Every `(method, path)` of a document.
fn operations(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"].as_object().expect("paths object");
    paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(move |m| ((*m).to_owned(), path.clone()))
        })
        .collect()
}

fn served_document() -> Value {
    serde_json::to_value(nod::routes::openapi_document(true)).expect("document as JSON")
}

#[tokio::test]
async fn the_document_is_openapi_3_1_json_and_describes_itself() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["title"], "nod");
    assert!(document["paths"]["/openapi.json"]["get"].is_object());
    for scheme in ["device", "bearer", "dpop", "basic"] {
        assert!(
            document["components"]["securitySchemes"][scheme].is_object(),
            "security scheme {scheme} missing"
        );
    }
    assert!(document["components"]["schemas"]["ErrorBody"].is_object());
}

#[tokio::test]
async fn every_known_endpoint_is_in_the_document() {
    let app = spawn_app().await;
    let document: Value = app.get_json("/openapi.json").await;
    let documented = operations(&document);
    for (method, path) in KNOWN {
        assert!(
            documented.contains(&((*method).to_owned(), (*path).to_owned())),
            "{} {path} is not in /openapi.json",
            method.to_uppercase()
        );
    }
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    // Without credentials no handler answers 404 or 405: those come only from the fallbacks of
    // an unmatched path or method.
    let app = spawn_app().await;
    let document: Value = app.get_json("/openapi.json").await;
    let documented = operations(&document);
    assert!(documented.len() >= KNOWN.len());
    for (method, path) in &documented {
        let concrete = concrete_path(path);
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = app
            .client
            .request(method.clone(), app.url(&concrete))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        // A page may answer its own HTML 404 (an unknown link); the fallbacks answer JSON.
        let html = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/html"));
        assert!(
            (status != 404 || html) && status != 405,
            "{method} {path} is documented but answered {status}"
        );
    }
}

#[tokio::test]
async fn the_test_endpoint_is_documented_only_when_mounted() {
    let app = spawn_app_with(|s| s.notify.test_endpoint = false).await;
    let document: Value = app.get_json("/openapi.json").await;
    assert!(document["paths"].get("/v1/test/notifications").is_none());
    let response = app
        .client
        .get(app.url("/v1/test/notifications"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(document["paths"].as_object().unwrap().len() + 1, {
        let with: Value = served_document();
        with["paths"].as_object().unwrap().len()
    });
}

/// `path` with each `{parameter}` replaced by a value no stored row has.
fn concrete_path(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                "unknown"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_route_is_registered_outside_the_openapi_router() {
    // `OpenApiRouter::routes(routes!(handler))` adds the route and its operation together;
    // these calls add a route the document would not know about.
    let forbidden = [
        ".route(",
        ".route_service(",
        ".nest(",
        ".nest_service(",
        "axum::routing",
        "Router::new()",
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    assert!(files.len() > 20);
    let mut offenders = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line
                .split("//")
                .next()
                .unwrap_or("")
                .replace("OpenApiRouter::new()", "");
            if let Some(call) = forbidden.iter().find(|f| code.contains(**f)) {
                offenders.push(format!(
                    "{}:{}: {call}",
                    file.strip_prefix(root).unwrap().display(),
                    number + 1
                ));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "routes registered without an OpenAPI operation (use OpenApiRouter::routes with \
         routes!(handler) and #[utoipa::path]):\n{}",
        offenders.join("\n")
    );
}

/// The schema a response's body refers to (or its type), in backticks.
fn body_name(response: &Value) -> Option<String> {
    let (content_type, media) = response["content"].as_object()?.iter().next()?;
    let schema = &media["schema"];
    let name = match (schema["$ref"].as_str(), schema["type"].as_str()) {
        (Some(reference), _) => reference.rsplit('/').next()?.to_owned(),
        (None, Some("array")) => {
            let item = schema["items"]["$ref"].as_str()?.rsplit('/').next()?;
            format!("[{item}]")
        }
        (None, Some(kind)) => kind.to_owned(),
        _ => return None,
    };
    Some(format!("`{name}` ({content_type})"))
}

/// docs/api.md's table, rendered from the document.
fn api_table(document: &Value) -> String {
    let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
    let mut table = String::from(
        "| Method | Path | Auth | Success | Errors | What it does |\n|---|---|---|---|---|---|\n",
    );
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let auth = operation["security"]
                .as_array()
                .map(|alternatives| {
                    alternatives
                        .iter()
                        .flat_map(|a| a.as_object().unwrap().keys().cloned())
                        .collect::<Vec<_>>()
                        .join(" or ")
                })
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| "—".to_owned());
            let mut success = Vec::new();
            let mut errors = Vec::new();
            for (status, response) in operation["responses"].as_object().unwrap() {
                if status.starts_with('2') {
                    success.push(match body_name(response) {
                        Some(name) => format!("{status} {name}"),
                        None => status.clone(),
                    });
                } else {
                    errors.push(status.clone());
                }
            }
            let summary = operation["summary"].as_str().unwrap_or("");
            table.push_str(&format!(
                "| {} | `{}` | {} | {} | {} | {} |\n",
                method.to_uppercase(),
                path,
                auth,
                success.join(", "),
                if errors.is_empty() {
                    "—".to_owned()
                } else {
                    errors.join(", ")
                },
                cell(summary),
            ));
        }
    }
    table
}

#[test]
fn docs_api_md_has_the_table_of_the_current_document() {
    // `NOD_WRITE_API_DOCS=1 cargo test docs_api_md` rewrites the table in place.
    const BEGIN: &str = "<!-- BEGIN generated from /openapi.json -->\n";
    const END: &str = "<!-- END generated -->";
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/api.md");
    let text = std::fs::read_to_string(&file).expect("docs/api.md exists");
    let document = served_document();
    let table = api_table(&document);
    let (before, rest) = text.split_once(BEGIN).expect("begin marker in docs/api.md");
    let (current, after) = rest.split_once(END).expect("end marker in docs/api.md");
    if std::env::var_os("NOD_WRITE_API_DOCS").is_some() {
        std::fs::write(&file, format!("{before}{BEGIN}{table}{END}{after}")).unwrap();
        return;
    }
    for (method, path) in operations(&document) {
        assert!(
            current.contains(&format!("| {} | `{path}` |", method.to_uppercase())),
            "docs/api.md lacks {} {path}",
            method.to_uppercase()
        );
    }
    assert_eq!(
        current, table,
        "docs/api.md is out of date: run NOD_WRITE_API_DOCS=1 cargo test docs_api_md"
    );
}

/// Checks that `value` has every required property of schema `name` and no property it lacks.
fn assert_conforms(document: &Value, name: &str, value: &Value) {
    let schema = &document["components"]["schemas"][name];
    let properties = schema["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("schema {name} has properties"));
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{name}: {value} is an object"));
    for key in object.keys() {
        assert!(
            properties.contains_key(key),
            "{name} lacks `{key}`: {value}"
        );
    }
    for required in schema["required"].as_array().into_iter().flatten() {
        let required = required.as_str().unwrap();
        assert!(
            object.contains_key(required),
            "{value} lacks `{required}` of {name}"
        );
    }
}

#[tokio::test]
async fn the_documented_schemas_match_what_the_endpoints_send() {
    let app = spawn_app().await;
    let document: Value = app.get_json("/openapi.json").await;
    let phone = app.user_with_phone("alice").await;

    let login = app.login("alice", crate::helpers::PASSWORD).await;
    assert_eq!(login.status(), 202);
    let started: Value = login.json().await.unwrap();
    assert_conforms(&document, "LoginStarted", &started);

    let approvals = app
        .client
        .get(app.url("/v1/device/approvals"))
        .bearer_auth(&phone.secret)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_conforms(&document, "ApprovalList", &approvals);
    assert_conforms(&document, "PendingApproval", &approvals["approvals"][0]);

    // Delivery runs off the login's path: wait until it happened before reading the outbox.
    app.next_notification("alice").await;
    let notifications: Value = app.get_json("/v1/test/notifications?username=alice").await;
    assert_conforms(&document, "SentNotification", &notifications[0]);

    let approval_id = approvals["approvals"][0]["id"].as_str().unwrap();
    let binding_code = started["binding_code"].as_str().unwrap();
    let decided = app
        .decide(
            &phone,
            approval_id,
            serde_json::json!({"decision": "approve", "binding_code": binding_code}),
        )
        .await;
    assert_eq!(decided.status(), 200);
    assert_conforms(&document, "DecisionResult", &decided.json().await.unwrap());

    let token = app
        .poll_token(started["auth_req_id"].as_str().unwrap(), None)
        .await;
    assert_eq!(token.status(), 200);
    let token: Value = token.json().await.unwrap();
    assert_conforms(&document, "TokenResponse", &token);

    let verified = app
        .client
        .get(app.url("/v1/verify"))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), 200);

    let device_get = |path: &'static str| {
        app.client
            .get(app.url(path))
            .bearer_auth(&phone.secret)
            .send()
    };
    let sessions: Value = device_get("/v1/device/sessions")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_conforms(&document, "SessionList", &sessions);
    assert_conforms(&document, "SessionSummary", &sessions["sessions"][0]);
    let feed: Value = device_get("/v1/device/feed")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_conforms(&document, "FeedPage", &feed);
    let events = feed["events"].as_array().unwrap();
    assert!(!events.is_empty());
    for event in events {
        assert_conforms(&document, "EventView", event);
    }

    let refused = app.client.post(app.url("/v1/logout")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_conforms(&document, "ErrorBody", &refused.json().await.unwrap());
}

/// Every `(method, path, operation)` of a document.
fn operation_items(document: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths object") {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                out.push((method.to_owned(), path.clone(), operation.clone()));
            }
        }
    }
    out
}

/// `schema` with a top-level `$ref` followed.
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            resolve(document, &document["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// The body schema of an operation for one media type, `$ref` followed.
fn body_schema<'a>(document: &'a Value, method: &str, path: &str, media: &str) -> &'a Value {
    let schema = &document["paths"][path][method]["requestBody"]["content"][media]["schema"];
    assert!(schema.is_object(), "{method} {path} takes no {media} body");
    resolve(document, schema)
}

/// The schema of a parameter of an operation, `$ref` followed.
fn parameter_schema<'a>(document: &'a Value, method: &str, path: &str, name: &str) -> &'a Value {
    let parameter = document["paths"][path][method]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"));
    resolve(document, &parameter["schema"])
}

/// Whether a schema's `type` admits `null`.
fn admits_null(schema: &Value) -> bool {
    match &schema["type"] {
        Value::String(kind) => kind == "null",
        Value::Array(kinds) => kinds.iter().any(|k| k == "null"),
        _ => schema["oneOf"]
            .as_array()
            .is_some_and(|alternatives| alternatives.iter().any(admits_null)),
    }
}

fn required(schema: &Value) -> Vec<&str> {
    schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

#[tokio::test]
async fn every_operation_with_a_body_documents_what_the_shared_layers_answer() {
    // The body limit answers 413 and the extractors 415 (not a media type the operation takes)
    // and 400 (a body that does not parse) before any handler runs, on every such operation.
    let app = spawn_app().await;
    let document: Value = app.get_json("/openapi.json").await;
    let too_large = "x".repeat(app.state.settings.server.max_body_bytes + 1);
    let mut checked = 0;
    for (method, path, operation) in operation_items(&document) {
        if operation.get("requestBody").is_none() {
            continue;
        }
        checked += 1;
        let responses = &operation["responses"];
        for status in ["400", "413", "415"] {
            assert!(
                responses.get(status).is_some(),
                "{} {path} does not document {status}",
                method.to_uppercase()
            );
        }
        // What the server really answers to a body in no media type it takes, and to one over
        // the limit, is documented.
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        for (content_type, body) in [
            ("text/plain", "x".to_owned()),
            ("application/json", too_large.clone()),
        ] {
            let answer = app
                .client
                .request(method.clone(), app.url(&concrete_path(&path)))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = answer.status().as_u16().to_string();
            assert!(
                responses.get(&status).is_some(),
                "{method} {path} answered an undocumented {status} to a {content_type} body"
            );
        }
    }
    assert!(checked >= 15, "only {checked} operations take a body");
}

#[tokio::test]
async fn no_parameter_admits_null() {
    // A header, query or path value is text: a schema admitting `null` invites `DPoP: null`.
    let document = served_document();
    for (method, path, operation) in operation_items(&document) {
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            let schema = resolve(&document, &parameter["schema"]);
            assert!(
                !admits_null(schema),
                "{} {path}: parameter {} admits null",
                method.to_uppercase(),
                parameter["name"]
            );
        }
    }
}

#[test]
fn the_request_schemas_require_what_the_server_requires() {
    let document = served_document();
    let forms = ["application/x-www-form-urlencoded", "application/json"];

    // RFC 7009 and RFC 7662: `token` is required, and an empty one is refused.
    for path in ["/v1/revoke", "/v1/introspect"] {
        for media in forms {
            let schema = body_schema(&document, "post", path, media);
            assert!(
                required(schema).contains(&"token"),
                "{path} ({media}): token optional"
            );
            let token = &schema["properties"]["token"];
            assert_eq!(
                token["minLength"], 1,
                "{path} ({media}): empty token allowed"
            );
            assert!(!admits_null(token), "{path} ({media}): null token allowed");
        }
    }

    // `/v1/token`: one of the two grants, each with what it needs; no empty `grant_type`.
    for media in forms {
        let schema = body_schema(&document, "post", "/v1/token", media);
        let grants = schema["oneOf"]
            .as_array()
            .unwrap_or_else(|| panic!("/v1/token ({media}) is not one of the grants: {schema}"));
        let mut seen = BTreeSet::new();
        for grant in grants {
            let grant = resolve(&document, grant);
            let names = grant["properties"]["grant_type"]["enum"]
                .as_array()
                .expect("grant_type is an enum");
            assert_eq!(names.len(), 1);
            let name = names[0].as_str().unwrap();
            let needs = match name {
                crate::helpers::CIBA => "auth_req_id",
                "refresh_token" => "refresh_token",
                other => panic!("unknown grant {other}"),
            };
            assert!(
                required(grant).contains(&"grant_type"),
                "{name}: grant_type optional"
            );
            assert!(required(grant).contains(&needs), "{name}: {needs} optional");
            assert_eq!(
                grant["properties"][needs]["minLength"], 1,
                "{name}: empty {needs}"
            );
            seen.insert(name.to_owned());
        }
        assert_eq!(seen.len(), 2, "/v1/token ({media}): {seen:?}");
    }

    // An enrolment code and a TOTP code have a shape.
    let enroll = body_schema(&document, "post", "/v1/enroll", "application/json");
    assert_eq!(
        enroll["properties"]["code"]["minLength"], 1,
        "empty enrolment code"
    );
    assert!(
        enroll["properties"]["name"]["pattern"].is_string(),
        "any device name"
    );
    let totp = body_schema(&document, "post", "/v1/login/totp", "application/json");
    assert_eq!(totp["properties"]["code"]["pattern"], "^[0-9]{6}$");
    assert_eq!(totp["properties"]["auth_req_id"]["minLength"], 1);

    // A DPoP proof is a compact JWS wherever it is checked.
    for (method, path) in [
        ("post", "/v1/login"),
        ("post", "/v1/login/totp"),
        ("post", "/v1/token"),
    ] {
        let proof = parameter_schema(&document, method, path, "DPoP");
        assert!(
            proof["pattern"].as_str().is_some_and(|p| p.contains("\\.")),
            "{path}: DPoP is any text: {proof}"
        );
    }

    // A decision: approve needs the number; deny and fraud do not.
    let decision = body_schema(
        &document,
        "post",
        "/v1/device/approvals/{id}",
        "application/json",
    );
    let choices = decision["oneOf"].as_array().expect("one of the decisions");
    let mut decisions = BTreeSet::new();
    for choice in choices {
        let choice = resolve(&document, choice);
        let name = choice["properties"]["decision"]["enum"][0]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            required(choice).contains(&"binding_code"),
            name == "approve",
            "{name}: binding_code requirement"
        );
        decisions.insert(name);
    }
    assert_eq!(
        decisions,
        ["approve", "deny", "fraud"]
            .map(String::from)
            .into_iter()
            .collect()
    );

    // The feed's filters: the page size and the event kinds as the server checks them.
    let kind = parameter_schema(&document, "get", "/v1/device/feed", "kind");
    let kinds = kind["enum"].as_array().expect("kind is an enum");
    assert!(kinds.iter().any(|k| k == "token_used") && kinds.iter().any(|k| k == ""));
    assert!(parameter_schema(&document, "get", "/v1/device/feed", "limit")["pattern"].is_string());
    // The stream has no pages: it takes no page size or cursor, so none is documented.
    let stream = &document["paths"]["/v1/device/feed/stream"]["get"]["parameters"];
    for name in ["limit", "before"] {
        assert!(
            !stream.as_array().unwrap().iter().any(|p| p["name"] == name),
            "the stream documents `{name}`, which it ignores"
        );
    }
}

#[test]
fn every_operation_that_checks_a_dpop_proof_documents_the_503_of_a_full_replay_cache() {
    // A proof is spent in the replay cache; when that is full of live proofs the answer is 503
    // (docs/dpop.md), which a client must be told to expect and retry.
    let document = served_document();
    let taking_proofs = [
        ("post", "/v1/login"),
        ("post", "/v1/login/totp"),
        ("post", "/v1/token"),
        ("get", "/v1/verify"),
        ("post", "/v1/logout"),
        // A device with a key proves every device-API call.
        ("get", "/v1/device/approvals"),
        ("post", "/v1/device/approvals/{id}"),
        ("get", "/v1/device/feed/stream"),
    ];
    for (method, path) in taking_proofs {
        let operation = &document["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is in the document");
        let answer = &operation["responses"]["503"];
        assert!(
            answer["description"]
                .as_str()
                .is_some_and(|d| d.contains("temporarily_unavailable")),
            "{method} {path} documents its 503: {answer}"
        );
    }
}
