//! `nod keys list` and `nod keys rotate`.

use super::output::say;
use clap::Subcommand;
use serde::Serialize;

use super::output;
use crate::auth::keys::{SigningKey, rotate};
use crate::state::AppState;

/// `nod keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys, newest first, marking the one that signs.
    List,
    /// Write a new key of the configured algorithm: it signs at once (a running server picks it
    /// up within a second), the previous one verifies until its tokens have expired.
    Rotate,
}

/// One key, as `list` shows it.
#[derive(Serialize)]
struct KeyRow {
    kid: String,
    alg: String,
    created_at: String,
    /// This key signs new tokens.
    current: bool,
    /// The key file; for HS256, the setting that holds the key.
    file: String,
}

/// What `rotate` did.
#[derive(Serialize)]
struct RotateOutput {
    kid: String,
    alg: String,
    created_at: String,
    file: String,
    /// Files of keys retired because their tokens have all expired.
    retired: Vec<String>,
}

/// Runs a keys command.
pub fn run(state: &AppState, cmd: KeysCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::List => list(state, json),
        KeysCommand::Rotate => {
            let config = state.keys.config();
            let done = rotate(
                &state.settings.server.data_dir,
                config,
                state.clock.now_ms(),
            )?;
            let out = RotateOutput {
                kid: done.kid,
                alg: format!("{:?}", config.algorithm),
                created_at: output::time(done.created.created_ms),
                file: done.created.path.display().to_string(),
                retired: done
                    .retired
                    .iter()
                    .map(|f| f.path.display().to_string())
                    .collect(),
            };
            if json {
                return output::json(&out);
            }
            say!(
                "{}  {}  created {} (signing)",
                out.kid,
                out.alg,
                out.created_at
            )?;
            for file in out.retired {
                say!("retired {file}")?;
            }
            Ok(())
        }
    }
}

fn list(state: &AppState, json: bool) -> anyhow::Result<()> {
    let keys = state.keys.snapshot();
    let signing = keys.current().map(|k| k.kid.as_str());
    let rows: Vec<KeyRow> = keys
        .all()
        .iter()
        .map(|k| row(k, signing == Some(k.kid.as_str())))
        .collect();
    if json {
        return output::json(&rows);
    }
    for r in rows {
        let mark = if r.current { " (signing)" } else { "" };
        say!(
            "{}  {}  created {}  {}{mark}",
            r.kid,
            r.alg,
            r.created_at,
            r.file
        )?;
    }
    Ok(())
}

fn row(key: &SigningKey, current: bool) -> KeyRow {
    KeyRow {
        kid: key.kid.clone(),
        alg: format!("{:?}", key.algorithm),
        created_at: output::time(key.created_ms),
        current,
        file: key.path.as_ref().map_or_else(
            || "tokens.hmac_secret".to_owned(),
            |p| p.display().to_string(),
        ),
    }
}
