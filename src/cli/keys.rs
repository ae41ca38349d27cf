//! `nod keys list`.

use clap::Subcommand;
use serde::Serialize;

use super::output;
use crate::state::AppState;

/// `nod keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys, newest (the signing one) first.
    List,
}

#[derive(Serialize)]
struct KeyRow {
    kid: String,
    alg: String,
    created_at: String,
    current: bool,
    file: String,
}

/// Runs a keys command.
pub fn run(state: &AppState, cmd: KeysCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::List => {
            let keys = state.keys.snapshot();
            let rows: Vec<KeyRow> = keys
                .all()
                .iter()
                .enumerate()
                .map(|(i, k)| KeyRow {
                    kid: k.kid.clone(),
                    alg: format!("{:?}", k.algorithm),
                    created_at: output::time(k.created_ms),
                    current: i == 0,
                    file: k.path.display().to_string(),
                })
                .collect();
            if json {
                return output::json(&rows);
            }
            for r in rows {
                let mark = if r.current { " (signing)" } else { "" };
                println!("{}  {}  created {}{mark}", r.kid, r.alg, r.created_at);
            }
            Ok(())
        }
    }
}
