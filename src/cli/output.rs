//! Printing results: JSON on stdout for scripts, or a line or table for people.

use std::io::Write;

use serde::Serialize;

/// Prints one line on stdout, like `println!`, but returns the error instead of panicking: a
/// reader that went away (`nod … | head`) ends the command quietly (see [`is_broken_pipe`]).
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::output::line(format_args!($($arg)*))
    };
}
pub(crate) use say;

/// Writes one line to stdout.
pub fn line(text: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(text)?;
    out.write_all(b"\n")
}

/// Writes `bytes` to stdout as they are (an export's chunk).
pub fn bytes(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// Whether a command failed only because its stdout was closed (a pipe's reader finished).
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Prints `value` as JSON.
pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    say!("{}", serde_json::to_string(value)?)?;
    Ok(())
}

/// Confirms a command that returns nothing.
pub fn done(as_json: bool, message: &str) -> std::io::Result<()> {
    if as_json {
        say!("{}", serde_json::json!({ "ok": true, "message": message }))
    } else {
        say!("{message}")
    }
}

/// Formats Unix ms as an RFC 3339 UTC time.
pub fn time(ms: i64) -> String {
    let t =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()
}
