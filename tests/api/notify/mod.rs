//! Real providers against local fakes of their HTTP APIs (one wiremock server per test, loopback
//! only), and the registry's retries and fallthrough as the feed records them
//! (`helpers::notify` reads the attempts back).

mod addresses;
mod fcm;
mod ntfy;
mod retries;
mod twilio;
mod webhook;
