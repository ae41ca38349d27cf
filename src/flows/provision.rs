//! Provisioning people and phones: what `nod user …` and `nod device …` do, and what tests call
//! to set up a user with a mock-notified device.

use serde::Serialize;

use super::session;
use crate::auth::password::Password;
use crate::auth::secrets::{digest_secret, new_id, new_secret};
use crate::auth::totp::{new_totp_secret, otpauth_uri};
use crate::domain::{ChannelList, RevokedBy, Username};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{Device, StoreError, User};

/// A device as provisioned: the secret is shown here once and never again.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProvisionedDevice {
    pub device_id: String,
    pub device_secret: String,
    pub totp_uri: String,
}

/// Adds a user with a password.
pub async fn add_user(state: &AppState, username: &Username, password: Password) -> Result<User> {
    let hash = state.passwords.hash(password).await?;
    let user = User {
        id: new_id()?,
        username: username.as_str().to_owned(),
        password_hash: hash,
        disabled: 0,
        created_at: state.clock.now_ms(),
    };
    match state.store.create_user(&user).await {
        Ok(()) => Ok(user),
        Err(StoreError::Conflict) => Err(Error::Conflict(format!("user `{username}` exists"))),
        Err(e) => Err(e.into()),
    }
}

/// Replaces a user's password and, unless `keep_sessions`, ends every session of the user
/// (a reset is the answer to a stolen account: the thief's sessions must end with it). Returns
/// how many sessions were ended.
pub async fn set_password(
    state: &AppState,
    username: &Username,
    password: Password,
    keep_sessions: bool,
) -> Result<usize> {
    let hash = state.passwords.hash(password).await?;
    if !state
        .store
        .set_password_hash(username.as_str(), &hash)
        .await?
    {
        return Err(Error::NotFound);
    }
    if keep_sessions {
        return Ok(0);
    }
    end_sessions(state, username).await
}

/// Disables (or re-enables) a user. Disabling ends every session of the user at once — their
/// access tokens are refused from the next use on, here and on every instance, and their
/// refresh tokens stay dead when the user is enabled again. Returns how many sessions ended.
pub async fn set_disabled(state: &AppState, username: &Username, disabled: bool) -> Result<usize> {
    if !state
        .store
        .set_user_disabled(username.as_str(), disabled)
        .await?
    {
        return Err(Error::NotFound);
    }
    // After the flag, so no refresh (checked against it) and no new sign-in outlives this.
    if disabled {
        end_sessions(state, username).await
    } else {
        Ok(0)
    }
}

/// Revokes every live session of `username`, by the administrator, through the one revocation
/// path (view, then feed).
async fn end_sessions(state: &AppState, username: &Username) -> Result<usize> {
    let user = state
        .store
        .user_by_name(username.as_str())
        .await?
        .ok_or(Error::NotFound)?;
    session::revoke_all(state, &user.id, RevokedBy::Admin).await
}

/// Pairs a new device with a user: a device secret, a TOTP secret (sealed at rest) and the
/// channels it is notified through, each checked against the known providers.
pub async fn add_device(
    state: &AppState,
    username: &Username,
    name: &str,
    channels: &ChannelList,
) -> Result<ProvisionedDevice> {
    check_device(state, name, channels).await?;
    let user = state
        .store
        .user_by_name(username.as_str())
        .await?
        .ok_or(Error::NotFound)?;
    add_device_for(state, &user, name, channels, None).await
}

/// Checks a device name (1–64 printable characters) and that every channel names a provider
/// this server has configured, with an acceptable address that leads somewhere nod may call:
/// a webhook URL may not reach internal addresses (unless `notify.allow_private_addresses`),
/// whoever pairs the device — the phone, or the operator's `nod device add`.
pub async fn check_device(state: &AppState, name: &str, channels: &ChannelList) -> Result<()> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(Error::InvalidRequest(
            "device name must be 1 to 64 printable characters".into(),
        ));
    }
    for channel in channels.iter() {
        state
            .notifiers
            .check_reachable(channel)
            .await
            .map_err(Error::InvalidRequest)?;
    }
    Ok(())
}

/// Creates the device row for `user` (name and channels already checked), bound to the key of
/// thumbprint `jkt` when the app enrolled with one.
pub async fn add_device_for(
    state: &AppState,
    user: &User,
    name: &str,
    channels: &ChannelList,
    jkt: Option<&str>,
) -> Result<ProvisionedDevice> {
    let device_id = new_id()?;
    let secret = new_secret()?;
    let totp_secret = new_totp_secret()?;
    let totp_uri = otpauth_uri(&totp_secret, &state.settings.totp.issuer, &user.username)
        .map_err(|e| Error::Internal(e.to_string()))?;
    let device = Device {
        id: device_id.clone(),
        user_id: user.id.clone(),
        name: name.trim().to_owned(),
        secret_hash: digest_secret(&secret),
        channels: serde_json::to_string(channels).map_err(|e| Error::Internal(e.to_string()))?,
        totp_secret: state.totp.seal(&device_id, &totp_secret)?,
        totp_last_step: None,
        created_at: state.clock.now_ms(),
        revoked_at: None,
        jkt: jkt.map(str::to_owned),
    };
    state.store.create_device(&device).await?;
    tracing::info!(user = %user.username, device = %device_id, "device paired");
    Ok(ProvisionedDevice {
        device_id,
        device_secret: secret,
        totp_uri,
    })
}

/// Revokes a device: it can no longer authenticate or decide anything.
pub async fn revoke_device(state: &AppState, device_id: &str) -> Result<()> {
    if state
        .store
        .revoke_device(device_id, state.clock.now_ms())
        .await?
    {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}
