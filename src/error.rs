//! The one error type of nod's use cases and JSON API. Each variant knows its HTTP status and its
//! RFC 6749-style `error` code; the body is always `{"error","error_description"}`. Database and
//! unexpected failures are logged here and answered with an opaque message, never the detail.

use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::password::PasswordError;
use crate::auth::secrets::RngError;
use crate::auth::tokens::IssueError;
use crate::domain::secret::{MalformedSecret, SecretKind};
use crate::store::StoreError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Malformed or missing input.
    #[error("{0}")]
    InvalidRequest(String),
    /// A body in a media type the endpoint does not take.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A body over `server.max_body_bytes`.
    #[error("request body too large")]
    PayloadTooLarge,
    /// `grant_type` names a grant nod does not offer.
    #[error("unsupported grant_type `{0}`")]
    UnsupportedGrantType(String),
    /// Wrong username or password, unknown or disabled user: one answer for all.
    #[error("invalid username or password")]
    InvalidCredentials,
    /// A missing, unknown or revoked bearer credential.
    #[error("{0}")]
    InvalidToken(&'static str),
    /// Refused for a reason the caller can fix (e.g. a form without its CSRF token).
    #[error("{0}")]
    Forbidden(&'static str),
    /// The user has no active device to ask.
    #[error("no active device is paired with this user")]
    NoDevice,
    /// Not found, or not this caller's to see.
    #[error("not found")]
    NotFound,
    /// The route exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A name already taken.
    #[error("{0}")]
    Conflict(String),
    /// The approval was already decided.
    #[error("this approval was already decided")]
    AlreadyDecided,
    /// The approval expired before the decision.
    #[error("this approval has expired")]
    ApprovalExpired,
    /// An approve with the wrong number: the approval is now denied.
    #[error("the number does not match the login screen; the login was denied")]
    BindingCodeMismatch,
    /// Too many attempts or pending approvals; try again after this many seconds.
    #[error("too many requests; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// CIBA: the phone has not decided yet.
    #[error("the login is waiting for approval on the phone")]
    AuthorizationPending,
    /// CIBA: polling faster than `interval`.
    #[error("polling too fast; wait `interval` seconds between polls")]
    SlowDown,
    /// CIBA: the phone denied the login, or reported it as fraud.
    #[error("the login was denied on the phone")]
    AccessDenied,
    /// CIBA: the approval expired.
    #[error("the login request has expired")]
    ExpiredToken,
    /// A missing or bad DPoP proof at login or token time (RFC 9449 §5.2): 400.
    #[error("{0}")]
    InvalidDpopProof(&'static str),
    /// RFC 9449 §8: the proof must carry this server nonce (sent as `DPoP-Nonce`).
    #[error("the DPoP proof must carry the nonce in the DPoP-Nonce header")]
    UseDpopNonce(String),
    /// A DPoP-bound token used without a good proof from its key (RFC 9449 §7.1): 401 with a
    /// `DPoP` challenge.
    #[error("{0}")]
    InvalidDpopUse(&'static str),
    /// Unknown, already redeemed or otherwise unusable grant.
    #[error("{0}")]
    InvalidGrant(&'static str),
    /// The database (or another dependency) is down: retry later.
    #[error("service temporarily unavailable")]
    Unavailable(String),
    /// A bug or corrupt data; the detail is logged, not answered.
    #[error("internal error")]
    Internal(String),
}

/// Shorthand for results of use cases and handlers.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The body of every API error (RFC 6749 §5.2 shape).
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A machine-readable code: `invalid_request`, `invalid_grant`, `not_found`…
    pub error: &'static str,
    /// A human-readable explanation, never an internal detail.
    pub error_description: String,
}

impl Error {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        use Error::*;
        match self {
            InvalidRequest(_)
            | UnsupportedGrantType(_)
            | AuthorizationPending
            | SlowDown
            | AccessDenied
            | ExpiredToken
            | InvalidDpopProof(_)
            | UseDpopNonce(_)
            | InvalidGrant(_) => StatusCode::BAD_REQUEST,
            UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            InvalidCredentials | InvalidToken(_) | InvalidDpopUse(_) => StatusCode::UNAUTHORIZED,
            NoDevice | Forbidden(_) => StatusCode::FORBIDDEN,
            NotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Conflict(_) | AlreadyDecided => StatusCode::CONFLICT,
            ApprovalExpired => StatusCode::GONE,
            BindingCodeMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `error` code of the JSON body.
    pub fn code(&self) -> &'static str {
        use Error::*;
        match self {
            InvalidRequest(_) | UnsupportedMediaType(_) | PayloadTooLarge => "invalid_request",
            UnsupportedGrantType(_) => "unsupported_grant_type",
            InvalidCredentials => "invalid_credentials",
            InvalidToken(_) => "invalid_token",
            NoDevice => "no_device",
            Forbidden(_) => "forbidden",
            NotFound => "not_found",
            MethodNotAllowed => "method_not_allowed",
            Conflict(_) => "conflict",
            AlreadyDecided => "already_decided",
            ApprovalExpired => "expired",
            BindingCodeMismatch => "binding_code_mismatch",
            RateLimited { .. } => "rate_limited",
            AuthorizationPending => "authorization_pending",
            SlowDown => "slow_down",
            AccessDenied => "access_denied",
            ExpiredToken => "expired_token",
            InvalidGrant(_) => "invalid_grant",
            InvalidDpopProof(_) | InvalidDpopUse(_) => "invalid_dpop_proof",
            UseDpopNonce(_) => "use_dpop_nonce",
            Unavailable(_) => "temporarily_unavailable",
            Internal(_) => "server_error",
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match &self {
            Error::Internal(detail) => tracing::error!(%detail, "request failed"),
            Error::Unavailable(detail) => tracing::warn!(%detail, "dependency unavailable"),
            _ => {}
        }
        let status = self.status();
        let body = ErrorBody {
            error: self.code(),
            error_description: self.to_string(),
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match &self {
            Error::InvalidToken(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
            }
            Error::InvalidDpopUse(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        "DPoP error=\"invalid_dpop_proof\", algs=\"ES256 EdDSA\"",
                    ),
                );
            }
            Error::UseDpopNonce(nonce) => {
                if let Ok(value) = HeaderValue::from_str(nonce) {
                    headers.insert("dpop-nonce", value);
                }
            }
            Error::RateLimited { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            Error::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            _ => {}
        }
        response
    }
}

impl From<crate::audit::BadCursor> for Error {
    fn from(_: crate::audit::BadCursor) -> Self {
        Error::NotFound
    }
}

impl From<crate::audit::writer::NotRecorded> for Error {
    fn from(e: crate::audit::writer::NotRecorded) -> Self {
        Error::Unavailable(e.to_string())
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => Error::Conflict("already exists".into()),
            StoreError::Unavailable(detail) => Error::Unavailable(detail),
            StoreError::Other(detail) => Error::Internal(detail),
        }
    }
}

impl From<PasswordError> for Error {
    fn from(e: PasswordError) -> Self {
        match e {
            PasswordError::Busy => Error::Unavailable("password hashing saturated".into()),
            PasswordError::Failed(detail) => Error::Internal(detail),
        }
    }
}

impl From<RngError> for Error {
    fn from(e: RngError) -> Self {
        Error::Internal(e.to_string())
    }
}

impl From<IssueError> for Error {
    fn from(e: IssueError) -> Self {
        Error::Internal(e.to_string())
    }
}

/// A malformed secret is answered like an unknown one of its kind (the flows' own words), so
/// the answer does not tell a made-up value from a wrong one.
impl From<MalformedSecret> for Error {
    fn from(MalformedSecret(kind): MalformedSecret) -> Self {
        match kind {
            SecretKind::AuthReqId => Error::InvalidGrant("unknown auth_req_id"),
            SecretKind::RefreshToken => {
                Error::InvalidGrant("unknown, expired or revoked refresh token")
            }
            SecretKind::PairingCode => {
                Error::InvalidGrant("unknown, used or expired enrollment code")
            }
            SecretKind::DeviceSecret => Error::InvalidToken("unknown or revoked device"),
            SecretKind::LinkCode => Error::NotFound,
        }
    }
}

impl From<JsonRejection> for Error {
    fn from(rejection: JsonRejection) -> Self {
        body_rejection(rejection.status(), rejection.body_text())
    }
}

impl From<FormRejection> for Error {
    fn from(rejection: FormRejection) -> Self {
        body_rejection(rejection.status(), rejection.body_text())
    }
}

impl From<QueryRejection> for Error {
    fn from(rejection: QueryRejection) -> Self {
        Error::InvalidRequest(rejection.body_text())
    }
}

impl From<PathRejection> for Error {
    fn from(rejection: PathRejection) -> Self {
        Error::InvalidRequest(rejection.body_text())
    }
}

/// Maps axum's body rejections onto our shape, keeping their status class.
fn body_rejection(status: StatusCode, text: String) -> Error {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::UnsupportedMediaType(text),
        _ => Error::InvalidRequest(text),
    }
}
