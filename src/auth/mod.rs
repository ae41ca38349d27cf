//! Cryptography and credentials: password hashing, random secrets, TOTP, phones' passkeys
//! (WebAuthn), signing keys and access tokens (signed, optionally encrypted). Nothing here knows
//! about HTTP or the database.

pub mod dpop;
pub mod files;
pub mod jwe;
pub mod keys;
pub mod passkeys;
pub mod password;
pub mod resource_servers;
pub mod secrets;
pub mod sessions;
pub mod tokens;
pub mod totp;
pub mod verify;
