//! The command line: `nod serve`, `nod user …`, `nod device …`, `nod keys …`. Every command
//! takes `--config FILE` and `--json` (machine-readable output on stdout; logs go to stderr).
// Output goes through `output::say!`, which returns a closed pipe as an error instead of
// panicking as `println!` does.
#![deny(clippy::print_stdout)]

mod audit;
mod devices;
mod enroll;
mod keys;
mod output;
mod resource_servers;
mod serve;
mod time_bound;
mod users;

pub use output::is_broken_pipe;

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::clock::SystemClock;
use crate::config::Settings;
use crate::state::AppState;

/// nod — a login service that asks your phone first.
#[derive(Debug, Parser)]
#[command(name = "nod", version, about)]
pub struct Cli {
    /// A TOML file layered over the built-in defaults.
    #[arg(long, global = true, env = "NOD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve,
    /// Create or migrate the database, then exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(users::UserCommand),
    /// Print a single-use link (valid 24 h) that pairs a phone with USER.
    EnrollLink {
        /// The user the phone will belong to.
        username: String,
    },
    /// Manage paired devices.
    #[command(subcommand)]
    Device(devices::DeviceCommand),
    /// List or rotate signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Manage the callers of /v1/introspect.
    #[command(subcommand)]
    ResourceServer(resource_servers::ResourceServerCommand),
    /// Print a user's audit feed (`--follow` to tail it, `--format csv|jsonl` to export it).
    Audit(audit::AuditCommand),
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref())?;
    crate::telemetry::init(&settings.log);
    match cli.command {
        Command::Serve => serve::run(settings).await,
        Command::Migrate => {
            crate::store::open(&settings.database).await?;
            output::done(cli.json, "database is up to date")?;
            Ok(())
        }
        Command::User(cmd) => {
            let state = state(settings).await?;
            let done = users::run(&state, cmd, cli.json).await;
            // The feed events of ended sessions are written before the process exits.
            state.audit.close().await;
            done
        }
        Command::EnrollLink { username } => {
            enroll::run(&state(settings).await?, &username, cli.json).await
        }
        Command::Device(cmd) => devices::run(&state(settings).await?, cmd, cli.json).await,
        Command::Keys(cmd) => keys::run(&state(settings).await?, cmd, cli.json),
        Command::ResourceServer(cmd) => {
            resource_servers::run(&state(settings).await?, cmd, cli.json).await
        }
        Command::Audit(cmd) => audit::run(&state(settings).await?, cmd, cli.json).await,
    }
}

async fn state(settings: Settings) -> anyhow::Result<AppState> {
    AppState::build(settings, Arc::new(SystemClock)).await
}
