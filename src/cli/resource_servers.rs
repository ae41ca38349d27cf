//! `nod resource-server add|list|remove`: the callers of `/v1/introspect`. `add` prints the
//! generated secret once; only its digest is stored. A running server picks changes up within
//! a second (SQLite: its change counter; PostgreSQL: a notification).

use super::output::say;
use clap::Subcommand;
use serde::Serialize;

use super::output;
use crate::auth::secrets::{digest_secret, new_secret};
use crate::state::AppState;
use crate::store::{ResourceServer, StoreError};

/// `nod resource-server …`
#[derive(Debug, Subcommand)]
pub enum ResourceServerCommand {
    /// Register a resource server; prints its secret once.
    Add { name: String },
    /// List resource servers.
    List,
    /// Remove a resource server.
    Remove { name: String },
}

#[derive(Serialize)]
struct Created {
    name: String,
    secret: String,
}

#[derive(Serialize)]
struct Row {
    name: String,
    created_at: String,
    source: &'static str,
}

/// Runs a resource-server command.
pub async fn run(state: &AppState, cmd: ResourceServerCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        ResourceServerCommand::Add { name } => {
            let name = name.trim().to_owned();
            let valid = !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !valid {
                anyhow::bail!("name must be 1 to 64 of letters, digits, - _ .");
            }
            let secret = new_secret()?;
            let record = ResourceServer {
                name: name.clone(),
                secret_hash: digest_secret(&secret),
                created_at: state.clock.now_ms(),
            };
            match state.store.create_resource_server(&record).await {
                Err(StoreError::Conflict) => anyhow::bail!("resource server `{name}` exists"),
                other => other?,
            }
            if json {
                return output::json(&Created { name, secret });
            }
            say!("added resource server {name}")?;
            say!(
                "secret (shown once; use HTTP Basic {name}:<secret> on /v1/introspect): {secret}"
            )?;
            Ok(())
        }
        ResourceServerCommand::List => {
            let mut rows: Vec<Row> = state
                .settings
                .resource_servers
                .keys()
                .map(|name| Row {
                    name: name.clone(),
                    created_at: String::new(),
                    source: "config",
                })
                .collect();
            for rs in state.store.list_resource_servers().await? {
                rows.push(Row {
                    name: rs.name,
                    created_at: output::time(rs.created_at),
                    source: "database",
                });
            }
            if json {
                return output::json(&rows);
            }
            for r in rows {
                say!("{:<32} {:<9} {}", r.name, r.source, r.created_at)?;
            }
            Ok(())
        }
        ResourceServerCommand::Remove { name } => {
            if !state.store.delete_resource_server(name.trim()).await? {
                anyhow::bail!("no resource server `{name}` in the database");
            }
            output::done(json, &format!("removed resource server {name}"))?;
            Ok(())
        }
    }
}
