//! `/login`, `/activity` and `/phone` over plain HTTP, with a hand-kept cookie jar: the web
//! sign-in is a real session that dies with its revocation, secrets stay in cookies, and every
//! form refuses a post without its CSRF token and changes nothing.

mod activity;
mod browsing;
mod export;
mod login;
mod phone_home;
mod safety;
mod time_range;
