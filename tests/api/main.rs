//! nod's integration tests: one binary, one module per area. Each test gets its own app on a
//! random loopback port with a fresh database (SQLite in a temporary directory, or PostgreSQL
//! when `TEST_POSTGRES_URL` is set), the mock notifier and a test clock.

// Tests fail by panicking: the crate-wide unwrap/expect/panic denial is for service code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;
mod test_database;

mod bad_input;
mod browser;
mod cli;
mod cluster;
mod device_keys;
mod discovery;
mod dpop;
mod enroll;
mod feed;
mod forged_tokens;
mod keys;
mod layers;
mod limits;
mod login;
mod mock_endpoint;
mod notify;
mod openapi;
mod operator;
mod pages;
mod phone;
mod proxy;
mod signin;
mod store;
mod tls;
mod token;
mod totp;
mod usage;
