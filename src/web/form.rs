//! A form post from one of nod's pages, as one extractor: the body is read, its CSRF token
//! checked, and only then is the poster looked up. That order is the point: a forged or broken
//! post is refused (403, or 400 for a body that is not the form) before anything touches the
//! store, whoever the browser is.

use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Request};
use serde::de::DeserializeOwned;

use super::csrf::{self, CsrfForm};
use super::error::PageError;
use crate::error::Error;
use crate::state::AppState;

/// A form that carries the page's CSRF token in its `csrf` field.
pub trait WithCsrf {
    /// The submitted token, if the field was there.
    fn csrf(&self) -> Option<&str>;
}

impl WithCsrf for CsrfForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// Form `T`, CSRF-checked, posted by `By`: a [`Phone`](super::viewer::Phone), a
/// [`SignedIn`](super::viewer::SignedIn) person, `Option<SignedIn>`, or anyone (`()`).
pub struct Posted<T, By = ()> {
    pub form: T,
    pub by: By,
}

impl<T, By> FromRequest<AppState> for Posted<T, By>
where
    T: DeserializeOwned + WithCsrf + Send,
    By: FromRequestParts<AppState> + Send,
    By::Rejection: Into<PageError>,
{
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, PageError> {
        let (mut parts, body) = request.into_parts();
        let body = Request::from_parts(parts.clone(), body);
        let Form(form) = Form::<T>::from_request(body, state)
            .await
            .map_err(Error::from)?;
        csrf::check(&parts.headers, form.csrf())?;
        let by = By::from_request_parts(&mut parts, state)
            .await
            .map_err(Into::into)?;
        Ok(Posted { form, by })
    }
}

/// A GET form (the `/activity` filters): its query string, a malformed one answered as a page
/// (400) rather than axum's plain text.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(PageError))]
pub struct PageQuery<T>(pub T);
