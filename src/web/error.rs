//! The pages' error path, beside the API's (`crate::error`): what a page handler fails with,
//! answered as `error.html` or as a redirect to `/login`, never as JSON or internals. Page
//! handlers return [`PageResult`] and use `?` on the use cases' errors.

use std::convert::Infallible;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::page;
use crate::error::Error;

/// What a page handler (or a page extractor) fails with.
#[derive(Debug)]
pub enum PageError {
    /// A use case or the input failed: the error page, with the API error's status.
    Failed(Error),
    /// A page of the signed-in person without a live web sign-in: on to `/login`.
    NotSignedIn,
    /// A page of the paired phone in a browser that is not one: how to pair it (401).
    NotPaired,
}

/// Shorthand for page handlers.
pub type PageResult<T = Response> = Result<T, PageError>;

impl<E: Into<Error>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError::Failed(e.into())
    }
}

/// What an extractor that cannot fail rejects with (`()`, as the poster of a form anyone may
/// post).
impl From<Infallible> for PageError {
    fn from(never: Infallible) -> Self {
        match never {}
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    heading: &'a str,
    message: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Failed(err) => failed(&err),
            PageError::NotSignedIn => Redirect::to("/login").into_response(),
            PageError::NotPaired => page::render(
                StatusCode::UNAUTHORIZED,
                &ErrorPage {
                    heading: "This browser is not a paired phone",
                    message: "Open the pairing link from `nod enroll-link` on your phone to pair \
                              it; this page then shows its sign-in requests and activity.",
                },
            ),
        }
    }
}

/// An error as a page: the status of the API error, a sentence a person understands.
fn failed(err: &Error) -> Response {
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
    page::render(
        err.status(),
        &ErrorPage {
            heading,
            message: &message,
        },
    )
}
