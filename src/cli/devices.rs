//! `nod device add|list|revoke`.

use super::output::say;
use clap::Subcommand;
use serde::Serialize;

use super::output;
use crate::domain::{Channel, ChannelList, DeviceProof, Username};
use crate::flows::provision;
use crate::state::AppState;

/// `nod device …`
#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Pair a device with a user; prints its secret once.
    Add {
        username: String,
        /// A name the user recognises ("Pixel 8").
        #[arg(long)]
        name: String,
        /// How to reach it, in fallthrough order: PROVIDER[=ADDRESS] (repeatable).
        #[arg(
            long = "notify",
            value_name = "PROVIDER[=ADDRESS]",
            default_value = "log"
        )]
        notify: Vec<String>,
    },
    /// List devices (of one user, or all).
    List { username: Option<String> },
    /// Revoke a device: it can no longer sign in or decide anything.
    Revoke { device_id: String },
}

#[derive(Serialize)]
struct DeviceRow {
    id: String,
    user_id: String,
    name: String,
    channels: serde_json::Value,
    /// What the device answers with: `key` or `secret`.
    proof: DeviceProof,
    created_at: String,
    revoked: bool,
}

/// Runs a device command.
pub async fn run(state: &AppState, cmd: DeviceCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        DeviceCommand::Add {
            username,
            name,
            notify,
        } => {
            let user = Username::parse(&username).map_err(anyhow::Error::msg)?;
            let channels = notify
                .iter()
                .map(|spec| Channel::parse(spec))
                .collect::<Result<Vec<_>, _>>()
                .and_then(ChannelList::new)
                .map_err(|e| anyhow::anyhow!("--notify: {e}"))?;
            let device = provision::add_device(state, &user, &name, &channels).await?;
            if json {
                return output::json(&device);
            }
            say!("paired device {} with {user}", device.device_id)?;
            say!("device secret (shown once): {}", device.device_secret)?;
            say!("authenticator URI: {}", device.totp_uri)?;
            Ok(())
        }
        DeviceCommand::List { username } => {
            let user_id = match username {
                Some(name) => {
                    let name = Username::parse(&name).map_err(anyhow::Error::msg)?;
                    let user = state
                        .store
                        .user_by_name(name.as_str())
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("no user `{name}`"))?;
                    Some(user.id)
                }
                None => None,
            };
            let rows: Vec<DeviceRow> = state
                .store
                .list_devices(user_id.as_deref())
                .await?
                .into_iter()
                .map(|d| DeviceRow {
                    channels: serde_json::from_str(&d.channels).unwrap_or_default(),
                    proof: DeviceProof::of_device(d.jkt.as_deref()),
                    created_at: output::time(d.created_at),
                    revoked: d.revoked_at.is_some(),
                    id: d.id,
                    user_id: d.user_id,
                    name: d.name,
                })
                .collect();
            if json {
                return output::json(&rows);
            }
            for r in rows {
                let flag = if r.revoked { " (revoked)" } else { "" };
                say!(
                    "{} {:<20} user {} channels {} proof {}{flag}",
                    r.id,
                    r.name,
                    r.user_id,
                    r.channels,
                    r.proof.as_str()
                )?;
            }
            Ok(())
        }
        DeviceCommand::Revoke { device_id } => {
            provision::revoke_device(state, device_id.trim())
                .await
                .map_err(|_| anyhow::anyhow!("no active device `{device_id}`"))?;
            output::done(json, &format!("revoked device {device_id}"))?;
            Ok(())
        }
    }
}
