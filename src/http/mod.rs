//! What the JSON API and the pages both take from a request: who is calling, and the request id
//! every log line of one request carries. `api` and `web` never import each other; what they
//! share lives here.

pub mod client;
pub mod request_id;
