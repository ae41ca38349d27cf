//! A user's feed as a file, for compliance archives and the SIEM people already run: CSV or
//! JSON Lines, newest first, the same rows for `/activity/export` and `nod audit --format`.
//! Written a page at a time ([`paging::every`]) as a stream of chunks, so a year of history
//! never sits in memory.
//!
//! CSV is RFC 4180 (a header row, CRLF line ends, a field quoted when it holds a comma, a
//! quote, CR or LF, quotes doubled). A cell that starts with `=`, `+`, `-`, `@`, a tab or CR
//! gets a `'` in front: spreadsheets run such a cell as a formula, and user agents and paths
//! come from whoever sent the request (CSV injection, OWASP).

use futures_util::{Stream, StreamExt};

use super::EventView;
use super::paging;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{AuditEvent, AuditFilter};

/// Events read per page while exporting: a chunk of some hundred kilobytes.
const EXPORT_PAGE: u32 = 1000;

/// The columns of the CSV, in order: the fields of [`EventView`].
const CSV_HEADER: &str = "id,at,kind,sid,jti,device_id,ip,user_agent,method,host,path,\
                          resource_server,detail\r\n";

/// How an export is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180 CSV with a header row; `at` as an RFC 3339 UTC time, `detail` as JSON.
    Csv,
    /// One [`EventView`] JSON object a line, as the device API prints each event.
    Jsonl,
}

impl Format {
    /// `csv` or `jsonl`; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "csv" => Some(Format::Csv),
            "jsonl" => Some(Format::Jsonl),
            _ => None,
        }
    }

    /// The media type of the file. JSON Lines has none registered; `application/x-ndjson` is
    /// the one log shippers (Elasticsearch, Loki, Vector) take.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Jsonl => "application/x-ndjson",
        }
    }

    /// The file name's extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }

    /// What the file starts with: the CSV header row; nothing for JSON Lines.
    fn head(self) -> &'static str {
        match self {
            Format::Csv => CSV_HEADER,
            Format::Jsonl => "",
        }
    }

    /// Appends `event` as one row (one line) to `out`.
    fn write(self, event: &AuditEvent, out: &mut Vec<u8>) -> Result<()> {
        let view = EventView::from(event);
        match self {
            Format::Csv => csv_row(&view, out),
            Format::Jsonl => {
                serde_json::to_writer(&mut *out, &view)
                    .map_err(|e| Error::Internal(format!("an event as JSON: {e}")))?;
                out.push(b'\n');
            }
        }
        Ok(())
    }
}

/// Every event of `user_id`'s feed that `filter` selects, as `format`, in chunks of about a
/// page; the first chunk holds the header and the first page (so a caller that waits for it
/// before answering can still answer a failure with an error of its own). Ends early, with an
/// error, when the server shuts down: a cut file must never look like a whole one.
pub fn stream(
    state: AppState,
    user_id: String,
    filter: AuditFilter,
    format: Format,
) -> impl Stream<Item = Result<Vec<u8>>> + Send + 'static {
    let stopping = state.shutting_down.subscribe();
    let mut head = Some(format.head());
    paging::every(state, user_id, filter, EXPORT_PAGE).map(move |page| {
        if *stopping.borrow() {
            return Err(Error::Unavailable("the server is shutting down".into()));
        }
        let events = page?;
        let mut chunk = Vec::with_capacity(events.len() * 256);
        chunk.extend_from_slice(head.take().unwrap_or_default().as_bytes());
        for event in &events {
            format.write(event, &mut chunk)?;
        }
        Ok(chunk)
    })
}

/// Everything `stream` writes, collected: for tests of the format.
#[cfg(test)]
fn file(format: Format, events: &[AuditEvent]) -> String {
    let mut out = format.head().as_bytes().to_vec();
    for event in events {
        format.write(event, &mut out).unwrap();
    }
    String::from_utf8(out).unwrap()
}

/// One CSV record of `view`, with its CRLF.
fn csv_row(view: &EventView, out: &mut Vec<u8>) {
    let detail = view.detail.as_ref().map(|detail| match detail {
        serde_json::Value::String(text) => text.clone(),
        json => json.to_string(),
    });
    let text = |field: &Option<String>| field.as_deref().unwrap_or_default().to_owned();
    let cells = [
        view.id.to_string(),
        rfc3339_ms(view.at),
        view.kind.clone(),
        text(&view.sid),
        text(&view.jti),
        text(&view.device_id),
        text(&view.ip),
        text(&view.user_agent),
        text(&view.method),
        text(&view.host),
        text(&view.path),
        text(&view.resource_server),
        detail.unwrap_or_default(),
    ];
    for (i, value) in cells.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        csv_cell(value, out);
    }
    out.extend_from_slice(b"\r\n");
}

/// One CSV field: defused if a spreadsheet would run it, quoted if it must be.
fn csv_cell(value: &str, out: &mut Vec<u8>) {
    let formula = matches!(
        value.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    );
    let quoted = value.contains([',', '"', '\r', '\n']);
    if quoted {
        out.push(b'"');
    }
    if formula {
        out.push(b'\'');
    }
    for byte in value.bytes() {
        if byte == b'"' {
            out.push(b'"');
        }
        out.push(byte);
    }
    if quoted {
        out.push(b'"');
    }
}

/// Unix ms as `2026-01-31T12:00:00.000Z`: readable in a spreadsheet, exact to the ms.
fn rfc3339_ms(ms: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.try_into().unwrap_or(0));
    humantime::format_rfc3339_millis(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64, user_agent: &str) -> AuditEvent {
        let mut e = crate::audit::event("u1", crate::audit::kind::TOKEN_USED, 1_500);
        e.id = id;
        e.user_agent = Some(user_agent.into());
        e.path = Some("/orders".into());
        e.detail = Some(r#"{"dpop":true,"jkt":"abcd1234"}"#.into());
        e
    }

    #[test]
    fn only_the_two_formats_parse() {
        assert_eq!(Format::parse("csv"), Some(Format::Csv));
        assert_eq!(Format::parse("jsonl"), Some(Format::Jsonl));
        for bad in ["", "CSV", "json", "xlsx", "csv "] {
            assert_eq!(Format::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn csv_has_a_header_and_one_record_per_event() {
        let file = file(Format::Csv, &[event(7, "curl/8.0")]);
        assert_eq!(
            file,
            "id,at,kind,sid,jti,device_id,ip,user_agent,method,host,path,resource_server,detail\r\n\
             7,1970-01-01T00:00:01.500Z,token_used,,,,,curl/8.0,,,/orders,,\
             \"{\"\"dpop\"\":true,\"\"jkt\"\":\"\"abcd1234\"\"}\"\r\n"
        );
    }

    #[test]
    fn csv_quotes_commas_quotes_and_line_breaks_and_defuses_formulas() {
        let mut out = Vec::new();
        for value in [
            "plain",
            "a, b",
            "say \"hi\"",
            "one\ntwo",
            "cr\rhere",
            "=HYPERLINK(\"x\")",
            "+1",
            "-1",
            "@SUM(A1)",
            "\tTab",
            "\rCR",
            "a=b",
            "",
        ] {
            csv_cell(value, &mut out);
            out.push(b'|');
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "plain|\"a, b\"|\"say \"\"hi\"\"\"|\"one\ntwo\"|\"cr\rhere\"|\
             \"'=HYPERLINK(\"\"x\"\")\"|'+1|'-1|'@SUM(A1)|'\tTab|\"'\rCR\"|a=b||"
        );
    }

    #[test]
    fn json_lines_are_the_views_of_the_api_one_a_line() {
        let file = file(
            Format::Jsonl,
            &[event(2, "line\nbreak"), event(1, "x\u{2028}y")],
        );
        let lines: Vec<&str> = file.lines().collect();
        assert_eq!(lines.len(), 2, "{file}");
        for (line, id) in lines.iter().zip([2, 1]) {
            let parsed: serde_json::Value = serde_json::from_str(line).unwrap();
            let view = serde_json::to_value(EventView::from(&event(id, ""))).unwrap();
            assert_eq!(parsed["id"], id);
            assert_eq!(parsed["detail"], view["detail"]);
            assert_eq!(parsed["at"], 1_500);
        }
        assert!(file.ends_with('\n'));
    }
}
