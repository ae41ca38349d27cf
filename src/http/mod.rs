//! What the JSON API and the pages both take from a request and give back: who is calling,
//! which device is (device authentication), the request id every log line of one request
//! carries, and feeds as Server-Sent Events. `api` and `web` never import each other; what they
//! share lives here.

pub mod client;
pub mod device;
pub mod request_id;
pub mod sse;
