//! Rendering: a template to an HTML response, and the HTML error path (`error.html`), so a page
//! never shows a JSON error or a stack of internals.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::error::Error;

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub heading: &'a str,
    pub message: &'a str,
}

/// Renders `template` with `status`.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<h1>Something went wrong</h1>"),
            )
                .into_response()
        }
    }
}

/// An error as a page: the status of the API error, a sentence a person understands.
pub fn error(err: &Error) -> Response {
    let heading = match err.status() {
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::NOT_FOUND => "Not found",
        s if s.is_server_error() => "Something went wrong",
        _ => "That did not work",
    };
    let message = if err.status().is_server_error() {
        "nod could not finish this. Please try again in a moment.".to_owned()
    } else {
        err.to_string()
    };
    if let Error::Internal(detail) = err {
        tracing::error!(%detail, "page failed");
    }
    render(
        err.status(),
        &ErrorPage {
            heading,
            message: &message,
        },
    )
}
