//! nod — a login service that asks your phone before it hands out a token, and then shows your
//! phone every use of that token.
//!
//! # The flow
//! A client app posts a password to `/v1/login` and gets a *pending approval* with a two-digit
//! binding code; nod pushes the approval to every active device of the user; the phone approves
//! with the number shown on the login screen; the client's `/v1/token` long-poll then returns a
//! short-lived signed JWT (EdDSA by default, optionally encrypted) and a rotating refresh token bound to a new session.
//!
//! # Layout
//! Dependencies point inward: `api`/`web`/`cli` → `flows` → `domain`/`auth`/`store`/`notify`.
//! - [`domain`]: pure types and rules (approval state machine, binding code, username, the
//!   opaque secrets clients hand back, notification channels).
//! - [`auth`]: passwords (argon2id), random secrets, TOTP, signing keys and rotation, access
//!   tokens (minting, JWE, the one verification core), DPoP proofs (RFC 9449), the revocation
//!   view, resource servers.
//! - [`audit`]: feed events, the group-commit writer, the live feed, retention.
//! - [`store`]: the `Store` trait and its SQLite and PostgreSQL implementations.
//! - [`cluster`]: several instances on one database — applying the changes the others commit.
//! - [`notify`]: the `Notifier` trait, its providers and the registry that dispatches.
//! - [`flows`]: use cases shared by the API, the pages and the CLI (login, decide, redeem, refresh, use a
//!   token, revoke sessions, read the feed, provision).
//! - [`http`]: what the JSON API and the pages share about requests (device authentication), so
//!   neither imports the other.
//! - [`api`]: the JSON endpoints, one module per group, and their extractors; each registers its
//!   handlers with their `#[utoipa::path]` operations, which make up `/openapi.json`.
//! - [`web`]: the pages (`/approve`, `/enroll`, `/phone`, `/login`, `/activity`), askama
//!   templates in `templates/`, their own error path (`error.html`), the extractors a page
//!   handler takes (a CSRF-checked form, the paired phone, the signed-in person), the one
//!   cookie constructor, security headers, and the stylesheet and script in `static/`.
//! - [`app`], [`state`], [`config`], [`clock`], [`error`], [`telemetry`], [`cli`]: wiring.

pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod domain;
pub mod error;
pub mod flows;
pub mod http;
pub mod metrics;
pub mod notify;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod web;
