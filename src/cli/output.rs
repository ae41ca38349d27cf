//! Printing results: JSON on stdout for scripts, or a line or table for people.

use serde::Serialize;

/// Prints `value` as JSON.
pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

/// Confirms a command that returns nothing.
pub fn done(as_json: bool, message: &str) {
    if as_json {
        println!("{}", serde_json::json!({ "ok": true, "message": message }));
    } else {
        println!("{message}");
    }
}

/// Formats Unix ms as an RFC 3339 UTC time.
pub fn time(ms: i64) -> String {
    let t =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()
}
