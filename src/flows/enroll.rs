//! Pairing a phone: an administrator hands out a single-use link (`nod enroll-link USER`, valid
//! 24 h, kept as a digest); the phone redeems it once and becomes a device of that user, with
//! its own secret, TOTP secret and notification channels.

use std::net::IpAddr;

use serde::Serialize;
use utoipa::ToSchema;

use super::limits;
use super::provision::{ProvisionedDevice, add_device_for};
use crate::auth::secrets::{digest_secret, new_secret};
use crate::clock::duration_ms;
use crate::domain::{ChannelList, PairingCode, Username};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::User;

/// How long a pairing link stays valid.
const LINK_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// A pairing link as handed out.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EnrollmentLink {
    /// `{public_url}/enroll/{code}`: open it on the phone.
    pub url: String,
    /// The code alone, for `POST /v1/enroll` from a native app.
    pub code: String,
    /// Unix ms.
    pub expires_at: i64,
}

/// Creates a single-use pairing link for `username`.
pub async fn create_link(state: &AppState, username: &Username) -> Result<EnrollmentLink> {
    let user = state
        .store
        .user_by_name(username.as_str())
        .await?
        .filter(|u| u.is_active())
        .ok_or(Error::NotFound)?;
    let code = new_secret()?;
    let now = state.clock.now_ms();
    let expires_at = now + duration_ms(LINK_TTL);
    state
        .store
        .create_enrollment(&digest_secret(&code), &user.id, now, expires_at)
        .await?;
    Ok(EnrollmentLink {
        url: format!(
            "{}/enroll/{code}",
            state.settings.server.public_url.as_str()
        ),
        code,
        expires_at,
    })
}

/// A redeemed pairing code: the new device (its secrets shown once) and whose it is.
#[derive(Debug)]
pub struct Paired {
    /// The user the pairing link was made for.
    pub user: User,
    pub device: ProvisionedDevice,
}

/// Redeems a pairing code from the client at `ip`: the new device (bound to the app's key of
/// thumbprint `jkt`, if any) and its user. The code works
/// once, within 24 h. Wrong codes are limited per client address, counted before the code is
/// looked up so that parallel guesses cannot outrun the limit.
pub async fn redeem(
    state: &AppState,
    code: &PairingCode,
    name: &str,
    channels: &ChannelList,
    jkt: Option<&str>,
    ip: IpAddr,
) -> Result<Paired> {
    let unknown = || Error::InvalidGrant("unknown, used or expired enrollment code");
    // Check the name and channels before spending the code on them.
    super::provision::check_device(state, name, channels).await?;
    let counted = limits::attempt(
        state,
        limits::keys::enroll_address(ip),
        &limits::enroll_per_ip(state),
    )
    .await?;
    let redeemed = state
        .store
        .redeem_enrollment(&digest_secret(code.as_str()), state.clock.now_ms())
        .await;
    let user_id = match redeemed {
        Ok(Some(user_id)) => user_id,
        // A wrong guess: it stays counted.
        Ok(None) => return Err(unknown()),
        Err(e) => return Err(counted.refund_with(state, e.into()).await),
    };
    // A real code: the address is not guessing. (It is spent, whatever follows.)
    counted.refund(state).await?;
    let user = state
        .store
        .user_by_id(&user_id)
        .await?
        .filter(|u| u.is_active())
        .ok_or_else(unknown)?;
    let device = add_device_for(state, &user, name, channels, jkt).await?;
    Ok(Paired { user, device })
}

#[cfg(test)]
mod tests {
    #[test]
    fn links_live_a_day() {
        assert_eq!(super::LINK_TTL.as_secs(), 86_400);
    }
}
