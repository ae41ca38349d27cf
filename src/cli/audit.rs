//! `nod audit <user> [--limit N] [--follow]`: a user's feed in the terminal, oldest first so the
//! newest line is at the bottom, like `tail`. `--json` prints one event per line, in the same
//! shape as `GET /v1/device/feed`.
//!
//! `--follow` polls the store once a second for events above the last one printed: the CLI is
//! another process and cannot see the server's live broadcast.
//!
//! `nod audit <user> --format csv|jsonl [--since T] [--until T]` writes every event of the
//! range instead, newest first, as `/activity/export` downloads them (the same writer,
//! `flows::feed::export`): for compliance archives and SIEM imports.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use futures_util::StreamExt;

use super::output::{self, say};
use super::time_bound::TimeBound;
use crate::domain::Username;
use crate::flows::feed::export::{self, Format};
use crate::flows::feed::{self, EventView};
use crate::state::AppState;
use crate::store::{AuditEvent, AuditFilter};

/// How often `--follow` asks the store for new events.
const POLL: Duration = Duration::from_secs(1);
/// Most events read per query while following.
const FOLLOW_PAGE: u32 = 500;

/// `nod audit …`
#[derive(Debug, Args)]
pub struct AuditCommand {
    /// Whose feed.
    username: String,
    /// How many of the newest events to print first.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    limit: u32,
    /// Keep printing new events until Ctrl-C.
    #[arg(long, short, conflicts_with = "format")]
    follow: bool,
    /// Write every event of the range (all of them without `--since`/`--until`) as `csv` or
    /// `jsonl`, newest first, instead of the newest `--limit`.
    #[arg(long, value_parser = parse_format, conflicts_with = "limit")]
    format: Option<Format>,
    /// With `--format`: from this UTC day (`2026-01-31`) or RFC 3339 time on.
    #[arg(long, value_parser = TimeBound::parse, requires = "format")]
    since: Option<TimeBound>,
    /// With `--format`: up to and including this UTC day or RFC 3339 time.
    #[arg(long, value_parser = TimeBound::parse, requires = "format")]
    until: Option<TimeBound>,
}

fn parse_format(raw: &str) -> Result<Format, String> {
    Format::parse(raw).ok_or_else(|| "must be csv or jsonl".to_owned())
}

/// Runs `nod audit`.
pub async fn run(state: &AppState, cmd: AuditCommand, json: bool) -> anyhow::Result<()> {
    let name = Username::parse(&cmd.username).map_err(|e| anyhow::anyhow!("{e}"))?;
    let user = state
        .store
        .user_by_name(name.as_str())
        .await?
        .with_context(|| format!("no user `{}`", cmd.username))?;
    if let Some(format) = cmd.format {
        let range = AuditFilter {
            since: cmd.since.map(TimeBound::start_ms),
            until: cmd.until.map(TimeBound::end_ms),
            ..AuditFilter::default()
        };
        return write_export(state, user.id, range, format).await;
    }
    let all = AuditFilter::default();
    let mut newest_first = feed::newest(state, &user.id, cmd.limit).await?;
    let mut last = newest_first.first().map_or(0, |e| e.id);
    newest_first.reverse();
    print_events(&newest_first, json)?;
    if !cmd.follow {
        return Ok(());
    }
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(POLL);
    loop {
        tokio::select! {
            _ = &mut stop => return Ok(()),
            _ = tick.tick() => {}
        }
        let events = feed::after(state, &user.id, last, FOLLOW_PAGE, &all).await?;
        if let Some(newest) = events.last() {
            last = newest.id;
        }
        print_events(&events, json)?;
    }
}

/// Writes the export to stdout as it is read, a page at a time.
async fn write_export(
    state: &AppState,
    user_id: String,
    range: AuditFilter,
    format: Format,
) -> anyhow::Result<()> {
    let mut chunks = Box::pin(export::stream(state.clone(), user_id, range, format));
    while let Some(chunk) = chunks.next().await {
        output::bytes(&chunk.context("reading the feed")?)?;
    }
    Ok(())
}

fn print_events(events: &[AuditEvent], json: bool) -> anyhow::Result<()> {
    for event in events {
        if json {
            output::json(&EventView::from(event))?;
        } else {
            say!("{}", line(event))?;
        }
    }
    Ok(())
}

/// `2025-01-31T12:00:00Z  token_used         sid:1a2b3c4d  203.0.113.9  GET api.example /x`
fn line(e: &AuditEvent) -> String {
    let sid = e
        .sid
        .as_deref()
        .map(|s| format!("sid:{}", s.get(..8).unwrap_or(s)))
        .unwrap_or_default();
    let request = [&e.method, &e.host, &e.path]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    let text = format!(
        "{}  {:<19} {:<12}  {:<15}  {request}",
        output::time(e.at),
        e.kind,
        sid,
        e.ip.as_deref().unwrap_or("-"),
    );
    // Feed fields come from requests (user agents, paths): no terminal escapes from them.
    text.trim_end()
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_shows_time_kind_short_sid_ip_and_request_without_control_characters() {
        let mut e = crate::audit::event("u1", "token_used", 0);
        e.sid = Some("1a2b3c4d5e6f".into());
        e.ip = Some("203.0.113.9".into());
        e.method = Some("GET".into());
        e.host = Some("api.example".into());
        e.path = Some("/x\u{1b}[2J".into());
        let text = line(&e);
        assert!(
            text.starts_with("1970-01-01T00:00:00Z  token_used"),
            "{text}"
        );
        assert!(text.contains("sid:1a2b3c4d "), "{text}");
        assert!(text.ends_with("GET api.example /x[2J"), "{text}");
    }
}
