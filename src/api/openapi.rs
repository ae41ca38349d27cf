//! `GET /openapi.json`: the OpenAPI 3.1 document of the whole API.
//!
//! The document is not written by hand: every module registers its handlers through
//! [`OpenApiRouter`](utoipa_axum::router::OpenApiRouter) with `routes!`, which adds the route to
//! the router and its `#[utoipa::path]` operation to the document in one step, so the two cannot
//! drift apart. Modules never call `.route(...)` (an undocumented route);
//! `tests/api/openapi.rs` checks that.

use std::sync::Arc;

use axum::Extension;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

/// The parts of the document that belong to no single handler: info, tags, security schemes
/// and the error body every operation shares.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "nod",
        description = "Push-approved logins: a password starts a login (CIBA), the user's phone \
                       approves it, the client redeems tokens; resource servers verify them. \
                       Errors are RFC 6749 JSON: `{\"error\", \"error_description\"}`."
    ),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "client", description = "Client apps: log in, redeem and refresh tokens, log out"),
        (name = "device", description = "The phone: approvals, feed, sessions (device secret, DPoP-bound for a device with a key)"),
        (name = "resource", description = "Resource servers and proxies: verify and introspect tokens"),
        (name = "discovery", description = "Keys and server metadata"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
        (name = "testing", description = "Only with `notify.test_endpoint = true`"),
    )
)]
pub struct ApiDoc;

/// `device`: the phone's secret as a bearer token; `bearer`/`dpop`: an access token;
/// `basic`: a resource server's name and secret.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            let mut scheme = Http::new(HttpAuthScheme::Bearer);
            scheme.description = Some(description.to_owned());
            SecurityScheme::Http(scheme)
        };
        components.add_security_scheme(
            "device",
            bearer(
                "`Authorization: Bearer <device secret>`, issued when the phone is paired; a \
                 device enrolled with a `public_key` sends `Authorization: DPoP <device secret>` \
                 and a `DPoP` proof by that key instead (docs/dpop.md)",
            ),
        );
        components.add_security_scheme(
            "bearer",
            bearer("`Authorization: Bearer <access token>` from `/v1/token`"),
        );
        // OpenAPI has no `DPoP` HTTP scheme: describe the header instead.
        components.add_security_scheme(
            "dpop",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Authorization: DPoP <access token>` plus a `DPoP` proof header (RFC 9449)",
            ))),
        );
        let mut basic = Http::new(HttpAuthScheme::Basic);
        basic.description = Some("A resource server's name and secret".into());
        components.add_security_scheme("basic", SecurityScheme::Http(basic));
    }
}

/// The answers every operation with a request body can give before its handler runs, from the
/// layers all of them share: the body limit (`413`), the extractors' media-type check (`415`)
/// and their parse of the body (`400`). They are added here, once, to each such operation that
/// does not describe them itself: as the JSON error for the API, as an HTML page for the pages.
pub fn document_body_answers(document: &mut utoipa::openapi::OpenApi) {
    const ANSWERS: [(&str, &str); 3] = [
        ("400", "The body does not parse or lacks a required field"),
        ("413", "The body is larger than `server.max_body_bytes`"),
        (
            "415",
            "The body is not in a media type this operation takes (see its `Content-Type`s)",
        ),
    ];
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            if operation.request_body.is_none() {
                continue;
            }
            let page = is_page(operation);
            for (status, description) in ANSWERS {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| {
                        let content = if page {
                            ("text/html", ContentBuilder::new().build())
                        } else {
                            (
                                "application/json",
                                ContentBuilder::new()
                                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                                    .build(),
                            )
                        };
                        ResponseBuilder::new()
                            .description(description)
                            .content(content.0, content.1)
                            .build()
                            .into()
                    });
            }
        }
    }
}

/// Whether an operation is one of the HTML pages (which answer errors as pages, not JSON).
fn is_page(operation: &Operation) -> bool {
    operation
        .tags
        .as_ref()
        .is_some_and(|tags| tags.iter().any(|t| t == "pages"))
}

/// The rendered document, shared by every request.
#[derive(Clone)]
pub struct Document(pub Arc<str>);

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object))
)]
pub async fn openapi_json(Extension(document): Extension<Document>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        document.0.to_string(),
    )
        .into_response()
}
