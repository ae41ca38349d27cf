//! `spawn_app()` and typed helpers that read like the flow: log in, approve, poll. Every helper
//! more than one test module uses lives here, one file an idea; `crate::helpers::…` names them
//! all.

mod app;
mod cli;
mod dpop;
mod events;
mod notify;
mod parallel;
mod people;
mod phone;
mod signin;
mod tokens;
mod waiting;
mod web;

pub use app::{TestApp, error_code, spawn_app, spawn_app_with};
pub use cli::{Operator, json_of, nod_in, run_nod};
pub use dpop::{API_URL, ClientKey};
pub use notify::{approve_prefix, header};
pub use parallel::{Statuses, all_at_once};
pub use people::{PASSWORD, Phone};
pub use signin::{CIBA, Pending, access, refresh_token};
pub use tokens::claims_of;
pub use web::{Jar, csrf_field, location, text_after};

#[allow(unused_imports, reason = "for the multi-instance tests")]
pub use crate::test_database::{TestDatabase, fresh_postgres_url};
