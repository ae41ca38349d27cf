//! `nod enroll-link USER`: a single-use pairing link (valid 24 h) to open on the user's phone.

use super::output;
use super::output::say;
use crate::domain::Username;
use crate::flows::enroll::create_link;
use crate::state::AppState;

/// Prints a new pairing link for `username`.
pub async fn run(state: &AppState, username: &str, json: bool) -> anyhow::Result<()> {
    let name = Username::parse(username).map_err(anyhow::Error::msg)?;
    let link = create_link(state, &name)
        .await
        .map_err(|_| anyhow::anyhow!("no active user `{name}`"))?;
    if json {
        return output::json(&link);
    }
    say!(
        "pairing link for {name} (single use, valid until {}):",
        output::time(link.expires_at)
    )?;
    say!("{}", link.url)?;
    Ok(())
}
