//! The filters of `/activity` as the browser sends them — the form's fields, text, an empty one
//! meaning "any". The page, its "Older" link, its live stream and its export all read them
//! here and carry them on in their links, so a download holds what the page shows.

use serde::Deserialize;
use utoipa::IntoParams;

use crate::flows::feed::{PageRequest, non_empty};

/// The filter form's fields.
#[derive(Debug, Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct ActivityFilters {
    /// Only this session's events.
    pub sid: Option<String>,
    /// Only events of this kind.
    pub kind: Option<String>,
    /// From this wall-clock time on (`YYYY-MM-DDTHH:MM[:SS]`, in the `tz` zone; a bare
    /// `YYYY-MM-DD` means its midnight).
    pub from: Option<String>,
    /// Up to and including this minute (or second, or whole `YYYY-MM-DD` day), in the `tz` zone.
    pub to: Option<String>,
    /// The viewer's offset from UTC in minutes, as JavaScript's `getTimezoneOffset()` gives it
    /// (UTC+10 is `-600`); the page's script fills it. Without it the times are UTC.
    pub tz: Option<String>,
}

impl ActivityFilters {
    /// The feed request these make, from `before` (a cursor) or from the newest event; the
    /// page size is the reader's own.
    pub fn request<'a>(&'a self, before: Option<&'a str>) -> PageRequest<'a> {
        PageRequest {
            limit: None,
            before,
            kind: self.kind.as_deref(),
            sid: self.sid.as_deref(),
            from: self.from.as_deref(),
            to: self.to.as_deref(),
            tz: self.tz.as_deref(),
        }
    }

    /// `path` with these filters (empty ones left out) and then `extra`, if given, as its
    /// query string.
    pub fn link(&self, path: &str, extra: Option<(&str, &str)>) -> String {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("sid", &self.sid),
            ("kind", &self.kind),
            ("from", &self.from),
            ("to", &self.to),
            ("tz", &self.tz),
        ] {
            if let Some(value) = non_empty(value.as_deref()) {
                url.append_pair(name, value);
            }
        }
        if let Some((name, value)) = extra {
            url.append_pair(name, value);
        }
        let query = url.finish();
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_filters_and_leave_out_empty_ones() {
        let filters = ActivityFilters {
            kind: Some("token_used".into()),
            sid: Some(String::new()),
            from: Some("2026-11-30T09:00".into()),
            tz: Some("-600".into()),
            ..ActivityFilters::default()
        };
        assert_eq!(
            filters.link("/activity", Some(("before", "c1"))),
            "/activity?kind=token_used&from=2026-11-30T09%3A00&tz=-600&before=c1"
        );
        assert_eq!(
            ActivityFilters::default().link("/activity/stream", None),
            "/activity/stream"
        );
        assert_eq!(
            ActivityFilters::default().link("/activity/export", Some(("format", "csv"))),
            "/activity/export?format=csv"
        );
    }
}
