//! Pure types and rules of nod: no I/O, no clock reads (time is passed in), no other module of
//! nod imported. Everything parsed at the edge becomes one of these types.

pub mod approval;
pub mod binding_code;
pub mod channel;
pub mod context;
pub mod decision;
pub mod device_proof;
pub mod factor;
pub mod revoked_by;
pub mod secret;
pub mod user_agent;
pub mod username;
pub mod wall_time;

pub use approval::ApprovalState;
pub use binding_code::BindingCode;
pub use channel::{Channel, ChannelList};
pub use context::LoginContext;
pub use decision::{Decision, DecisionError};
pub use device_proof::DeviceProof;
pub use factor::Factor;
pub use revoked_by::RevokedBy;
pub use secret::{AuthReqId, DeviceSecret, LinkCode, MalformedSecret, PairingCode, RefreshToken};
pub use username::Username;
pub use wall_time::{TzOffset, WallTime};
