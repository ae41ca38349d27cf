//! `nod user add|list|disable|enable|passwd`. Passwords come from a prompt or
//! `--password-stdin`, never from argv (where `ps` and shell history would see them).

use super::output::say;
use std::io::BufRead;

use anyhow::{Context, bail};
use clap::Subcommand;
use serde::Serialize;

use super::output;
use crate::auth::password::Password;
use crate::domain::Username;
use crate::flows::provision;
use crate::state::AppState;

/// `nod user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user (prompts for the password).
    Add {
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Disable a user: no more sign-ins, and every session ends at once (its tokens are
    /// refused from the next use on, on every instance).
    Disable { username: String },
    /// Re-enable a disabled user (the sessions ended by `disable` stay ended).
    Enable { username: String },
    /// Change a user's password; every session of the user ends, unless --keep-sessions.
    Passwd {
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Keep the user's sessions (and their tokens) alive.
        #[arg(long)]
        keep_sessions: bool,
    },
}

#[derive(Serialize)]
struct UserRow {
    id: String,
    username: String,
    disabled: bool,
    created_at: String,
}

/// Runs a user command.
pub async fn run(state: &AppState, cmd: UserCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add {
            username,
            password_stdin,
        } => {
            let name = parse_name(&username)?;
            let password = read_password(password_stdin)?;
            let user = provision::add_user(state, &name, password).await?;
            if json {
                output::json(&serde_json::json!({ "id": user.id, "username": user.username }))
            } else {
                say!("added user {} ({})", user.username, user.id)?;
                Ok(())
            }
        }
        UserCommand::List => {
            let rows: Vec<UserRow> = state
                .store
                .list_users()
                .await?
                .into_iter()
                .map(|u| UserRow {
                    disabled: !u.is_active(),
                    created_at: output::time(u.created_at),
                    id: u.id,
                    username: u.username,
                })
                .collect();
            if json {
                return output::json(&rows);
            }
            for r in rows {
                let flag = if r.disabled { " (disabled)" } else { "" };
                say!(
                    "{:<24} {}  created {}{flag}",
                    r.username,
                    r.id,
                    r.created_at
                )?;
            }
            Ok(())
        }
        UserCommand::Disable { username } => {
            let ended = provision::set_disabled(state, &parse_name(&username)?, true)
                .await
                .with_context(|| format!("no user `{username}`"))?;
            sessions_ended(json, &format!("disabled {username}"), ended)
        }
        UserCommand::Enable { username } => {
            provision::set_disabled(state, &parse_name(&username)?, false)
                .await
                .with_context(|| format!("no user `{username}`"))?;
            output::done(json, &format!("enabled {username}"))?;
            Ok(())
        }
        UserCommand::Passwd {
            username,
            password_stdin,
            keep_sessions,
        } => {
            let name = parse_name(&username)?;
            let password = read_password(password_stdin)?;
            let ended = provision::set_password(state, &name, password, keep_sessions)
                .await
                .with_context(|| format!("no user `{username}`"))?;
            sessions_ended(json, &format!("password of {username} changed"), ended)
        }
    }
}

/// Says what was done and how many sessions it ended.
fn sessions_ended(json: bool, message: &str, ended: usize) -> anyhow::Result<()> {
    if json {
        return output::json(
            &serde_json::json!({ "ok": true, "message": message, "sessions_ended": ended }),
        );
    }
    say!("{message}; {ended} session(s) ended")?;
    Ok(())
}

fn parse_name(raw: &str) -> anyhow::Result<Username> {
    Username::parse(raw).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Reads a new password from stdin's first line or from two matching prompts.
fn read_password(from_stdin: bool) -> anyhow::Result<Password> {
    let raw = if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        let first = rpassword::prompt_password("New password: ")?;
        let again = rpassword::prompt_password("Repeat it: ")?;
        if first != again {
            bail!("the passwords differ");
        }
        first
    };
    Password::parse(raw).map_err(|e| anyhow::anyhow!("{e}"))
}
