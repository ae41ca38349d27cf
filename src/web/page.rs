//! Rendering: a template to an HTML response, and the headers pages add to their responses.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

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

/// What pages add to a response, in a chain: `render(..).no_store().with_cookies(..)`.
pub trait ResponseExt {
    /// `Cache-Control: no-store`: the response is about one person (or carries a secret).
    fn no_store(self) -> Self;
    /// Adds a `Set-Cookie` for each cookie, as `cookies` builds them (an `Option`, which is
    /// `None` only for a value that cannot be a header, or a list).
    fn with_cookies(self, cookies: impl IntoIterator<Item = HeaderValue>) -> Self;
}

impl ResponseExt for Response {
    fn no_store(mut self) -> Self {
        self.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        self
    }

    fn with_cookies(mut self, cookies: impl IntoIterator<Item = HeaderValue>) -> Self {
        for cookie in cookies {
            self.headers_mut().append(header::SET_COOKIE, cookie);
        }
        self
    }
}
