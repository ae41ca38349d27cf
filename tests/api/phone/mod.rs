//! The phone's API, `/v1/device/…`, with a device secret: the approvals it sees and decides,
//! its user's devices and sessions. The phone's feed (`/v1/device/feed`) is tested in `feed`.

mod approvals;
mod devices;
mod sessions;
