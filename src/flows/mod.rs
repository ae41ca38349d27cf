//! Use cases shared by the JSON API, the pages and the CLI. Each reads as a list of steps over
//! the store, the clock and the providers in `AppState`; none knows about HTTP.

pub mod approval;
pub mod dpop;
pub mod enroll;
pub mod feed;
pub mod limits;
pub mod login;
pub mod provision;
pub mod session;
pub mod token;
pub mod totp;
pub mod usage;
