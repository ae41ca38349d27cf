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
//! Dependencies point one way, from the bottom up (`tests/api/layers.rs` checks every
//! `crate::…` path against this order):
//! `domain` → `config` → `clock`/`metrics`/`telemetry` → `auth`/`store`/`notify`/`audit`/`wakeups`
//! → `error` → `state`/`cluster` → `flows` → `http` → `api` | `web` → `routes`/`app` → `cli`.
//! - [`domain`]: pure types and rules (approval state machine, decision, binding code,
//!   username, wall-clock time ranges, the opaque secrets clients hand back, notification
//!   channels).
//! - [`config`]: settings from `default.toml`, a file and the environment; a leaf.
//! - [`auth`]: passwords (argon2id), random secrets, TOTP, signing keys and rotation, access
//!   tokens (minting, JWE, the one verification core), DPoP proofs (RFC 9449), the session
//!   view, resource servers.
//! - [`audit`]: feed events, page cursors, the group-commit writer, the live feed, retention.
//! - [`store`]: the `Store` trait and its SQLite and PostgreSQL implementations.
//! - [`notify`]: the `Notifier` trait, its providers and the registry that dispatches.
//! - [`wakeups`]: long-polls waiting on an approval, woken when it is decided.
//! - [`error`]: the one error type of request paths, and its JSON shape.
//! - [`state`]: the shared state of a running instance; [`cluster`]: several instances on one
//!   database — applying the changes the others commit.
//! - [`flows`]: use cases shared by the API, the pages and the CLI (login, decide, redeem,
//!   refresh, use a token, revoke sessions, read or export the feed, provision).
//! - [`http`]: what the API and the pages both take from a request (who is calling, which
//!   device is, request ids) and the feed as Server-Sent Events they both send.
//! - [`api`]: the JSON endpoints, one module per group, and their extractors; each registers its
//!   handlers with their `#[utoipa::path]` operations, which make up `/openapi.json`.
//! - [`web`]: the pages (`/approve`, `/enroll`, `/phone`, `/login`, `/activity` and its
//!   export), askama templates in `templates/`, their own error path (`error.html`), the
//!   extractors a page handler takes (a CSRF-checked form, the paired phone, the signed-in
//!   person), the one cookie constructor, security headers, and the stylesheet and script in
//!   `static/`. `api` and `web` never import each other.
//! - [`routes`]: the whole HTTP surface, API and pages merged under the shared layers;
//!   [`app`]: listeners and background tasks; [`cli`]: the `nod` command.
//! - [`clock`], [`metrics`], [`telemetry`]: time (also the deadlines of long-polls, so tests move
//!   it), Prometheus metrics, logging.

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
pub mod routes;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod wakeups;
pub mod web;
