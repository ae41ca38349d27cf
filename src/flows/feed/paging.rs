//! Reading a user's feed a page at a time, newest first — for the device API, the `/activity`
//! and `/phone` pages and `nod audit` alike. Paging is keyset by event id, so events recorded
//! between two page requests never shift a later page: they are newer than every page but the
//! first.

use futures_util::{Stream, stream};

use crate::audit::kind;
use crate::domain::{TzOffset, WallTime};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{AuditCursor, AuditEvent, AuditFilter};

/// Events per page when the client does not say.
pub const DEFAULT_LIMIT: u32 = 50;
/// The most events one page may hold: pages stay cheap however old the feed is.
pub const MAX_LIMIT: u32 = 200;

/// What a client asked for, as it came (query strings are text; an empty value counts as
/// absent, see [`non_empty`]).
#[derive(Debug, Default, Clone)]
pub struct PageRequest<'a> {
    /// Events per page, 1 to [`MAX_LIMIT`].
    pub limit: Option<&'a str>,
    /// The cursor of the previous page's `next`.
    pub before: Option<&'a str>,
    /// Only events of this kind.
    pub kind: Option<&'a str>,
    /// Only events of this session (one of the user's).
    pub sid: Option<&'a str>,
    /// Only events from this wall-clock time on, read in `tz` (see [`TimeRange`]).
    pub from: Option<&'a str>,
    /// Only events up to and including this wall-clock minute, second or day, read in `tz`.
    pub to: Option<&'a str>,
    /// The zone `from` and `to` are read in.
    pub tz: Option<&'a str>,
}

/// One page of the feed, as read: the API shows it as a [`super::FeedPage`], the pages as rows.
#[derive(Debug)]
pub struct Page {
    /// Newest first.
    pub events: Vec<AuditEvent>,
    /// The cursor of the next (older) page; `None` on the last page.
    pub next: Option<String>,
    /// What the events were filtered by, checked (the time range as instants).
    pub filter: AuditFilter,
    /// The time range as the client wrote it, parsed.
    pub range: TimeRange,
    /// Whether this is the newest page (no cursor).
    pub newest: bool,
}

impl Page {
    /// Whether events recorded from now on belong on this page: the newest page, with no end
    /// to its time range. Only such a page has anything to follow live.
    pub fn grows(&self) -> bool {
        self.newest && self.filter.until.is_none()
    }
}

/// A page of `user_id`'s feed, newest first, `default_limit` events when the request does not
/// say. Every bad value is refused with a message of ours: a bad `limit`, `kind`, `from`, `to`
/// or `tz` is `400`; a cursor or session that is not the user's is `404`, like any id that is
/// not theirs.
pub async fn read(
    state: &AppState,
    user_id: &str,
    request: &PageRequest<'_>,
    default_limit: u32,
) -> Result<Page> {
    let limit = parse_limit(request.limit, default_limit)?;
    let cursor = match non_empty(request.before) {
        Some(raw) => AuditCursor::Before(state.cursors.decode(user_id, raw)?),
        None => AuditCursor::Newest,
    };
    let (filter, range) = selection(state, user_id, request).await?;
    // One more than asked tells whether another page exists, so the last page says `None`
    // instead of sending the client after an empty one.
    let mut events = state
        .store
        .audit_page(user_id, cursor, limit + 1, &filter)
        .await?;
    let more = events.len() > limit as usize;
    events.truncate(limit as usize);
    let next = match events.last() {
        Some(last) if more => Some(state.cursors.encode(user_id, last.id)),
        _ => None,
    };
    Ok(Page {
        events,
        next,
        filter,
        range,
        newest: cursor == AuditCursor::Newest,
    })
}

/// What a request selects, checked as [`read`] checks it: its kind, its session and its time
/// range, the range also as instants in the filter. Its `limit` and `before` are the caller's:
/// a page reads one position, an export ([`every`]) the whole selection.
pub async fn selection(
    state: &AppState,
    user_id: &str,
    request: &PageRequest<'_>,
) -> Result<(AuditFilter, TimeRange)> {
    let mut filter = parse_filter(state, user_id, request.kind, request.sid).await?;
    let range = TimeRange::parse(request.from, request.to, request.tz)?;
    filter.since = range.since_ms();
    filter.until = range.until_ms();
    Ok((filter, range))
}

/// Every event of `user_id`'s feed that `filter` selects, newest first, `page_size` at a time:
/// the keyset paging of [`read`] run to the end, so an export of a year holds one page in
/// memory, never the year. The first page is always yielded (maybe empty); each later one
/// starts below the last id seen, so events recorded after the first read are not in it.
pub fn every(
    state: AppState,
    user_id: String,
    filter: AuditFilter,
    page_size: u32,
) -> impl Stream<Item = Result<Vec<AuditEvent>>> + Send + 'static {
    let page_size = page_size.max(1);
    stream::try_unfold(Some(AuditCursor::Newest), move |cursor| {
        let (state, user_id, filter) = (state.clone(), user_id.clone(), filter.clone());
        async move {
            let Some(cursor) = cursor else {
                return Ok(None);
            };
            let events = state
                .store
                .audit_page(&user_id, cursor, page_size, &filter)
                .await?;
            // A short page is the last: no need to ask for an empty one after it.
            let next = match events.last() {
                Some(last) if events.len() >= page_size as usize => {
                    Some(AuditCursor::Before(last.id))
                }
                _ => None,
            };
            Ok(Some((events, next)))
        }
    })
}

/// The `count` newest events of `user_id`'s feed, unfiltered, newest first: what the phone's
/// home shows before its stream takes over, and what `nod audit` prints first.
pub async fn newest(state: &AppState, user_id: &str, count: u32) -> Result<Vec<AuditEvent>> {
    Ok(state
        .store
        .audit_page(user_id, AuditCursor::Newest, count, &AuditFilter::default())
        .await?)
}

/// Up to `count` of `user_id`'s events matching `filter` with ids above `after`, oldest first:
/// how a follower (a live stream, `nod audit --follow`) reads what it has not seen.
pub async fn after(
    state: &AppState,
    user_id: &str,
    after: i64,
    count: u32,
    filter: &AuditFilter,
) -> Result<Vec<AuditEvent>> {
    Ok(state
        .store
        .audit_page(user_id, AuditCursor::After(after), count, filter)
        .await?)
}

/// A page size between 1 and [`MAX_LIMIT`]; `default` when absent.
pub fn parse_limit(raw: Option<&str>, default: u32) -> Result<u32> {
    match non_empty(raw) {
        None => Ok(default),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                Error::InvalidRequest(format!("limit must be a number from 1 to {MAX_LIMIT}"))
            }),
    }
}

/// The filter a client asked for, checked: `kind` must be a known kind (`400` otherwise) and
/// `sid` one of this user's sessions (`404` otherwise, like any id that is not theirs).
pub async fn parse_filter(
    state: &AppState,
    user_id: &str,
    kind: Option<&str>,
    sid: Option<&str>,
) -> Result<AuditFilter> {
    let kind = match non_empty(kind) {
        Some(k) if kind::ALL.contains(&k) => Some(k.to_owned()),
        Some(_) => {
            return Err(Error::InvalidRequest(format!(
                "kind must be one of: {}",
                kind::ALL.join(", ")
            )));
        }
        None => None,
    };
    let sid = match non_empty(sid) {
        Some(sid) => {
            state
                .store
                .session_by_id(sid)
                .await?
                .filter(|s| s.user_id == user_id)
                .ok_or(Error::NotFound)?;
            Some(sid.to_owned())
        }
        None => None,
    };
    Ok(AuditFilter {
        kind,
        sid,
        ..AuditFilter::default()
    })
}

/// A time filter as the viewer means it: wall-clock times and the zone they are read in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// From the first instant this names.
    pub from: Option<WallTime>,
    /// Up to the last instant this names (a whole minute, second or day).
    pub to: Option<WallTime>,
    /// The viewer's offset; `None` when the request had none (a page without its script),
    /// and then the times are UTC.
    pub tz: Option<TzOffset>,
}

impl TimeRange {
    /// Reads `from`/`to` (`YYYY-MM-DDTHH:MM[:SS]`, or a bare `YYYY-MM-DD` day) and `tz` (minutes
    /// as JavaScript's `getTimezoneOffset()` gives them); a bad one is `400`.
    pub fn parse(from: Option<&str>, to: Option<&str>, tz: Option<&str>) -> Result<Self> {
        let wall_time = |raw: Option<&str>, name: &str| {
            non_empty(raw)
                .map(|raw| {
                    WallTime::parse(raw).ok_or_else(|| {
                        Error::InvalidRequest(format!(
                            "{name} must be a date and time as YYYY-MM-DDTHH:MM \
                             (or a day as YYYY-MM-DD)"
                        ))
                    })
                })
                .transpose()
        };
        let tz = non_empty(tz)
            .map(|raw| {
                TzOffset::parse(raw).ok_or_else(|| {
                    Error::InvalidRequest(
                        "tz must be the offset from UTC in whole minutes, as the browser gives \
                         it (-840 to 840)"
                            .to_owned(),
                    )
                })
            })
            .transpose()?;
        Ok(TimeRange {
            from: wall_time(from, "from")?,
            to: wall_time(to, "to")?,
            tz,
        })
    }

    /// The zone the times are read in: UTC without a `tz`.
    pub fn zone(&self) -> TzOffset {
        self.tz.unwrap_or(TzOffset::UTC)
    }

    /// The first instant of the range, Unix ms.
    fn since_ms(&self) -> Option<i64> {
        self.from.map(|from| from.start_ms(self.zone()))
    }

    /// Just past the last instant of the range, Unix ms (the store's end is exclusive).
    fn until_ms(&self) -> Option<i64> {
        self.to.map(|to| to.end_ms(self.zone()))
    }
}

/// Treats an empty query value (`?kind=` from a form's "any" choice) as absent: the rule of
/// every feed parameter, for the API and the pages alike.
pub fn non_empty(raw: Option<&str>) -> Option<&str> {
    raw.filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_outside_one_to_two_hundred_are_refused() {
        assert_eq!(parse_limit(None, DEFAULT_LIMIT).ok(), Some(DEFAULT_LIMIT));
        assert_eq!(parse_limit(Some(""), 25).ok(), Some(25));
        assert_eq!(parse_limit(Some("1"), DEFAULT_LIMIT).ok(), Some(1));
        assert_eq!(parse_limit(Some("200"), DEFAULT_LIMIT).ok(), Some(200));
        for bad in ["0", "201", "-1", "ten", "1.5", "99999999999"] {
            assert!(parse_limit(Some(bad), DEFAULT_LIMIT).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_range_is_read_in_the_viewers_zone_and_bad_input_is_a_400() {
        let range = TimeRange::parse(Some("1970-01-01T10:00"), None, Some("-600")).unwrap();
        assert_eq!(range.since_ms(), Some(0));
        let utc = TimeRange::parse(Some("1970-01-02"), Some(""), Some("")).unwrap();
        assert_eq!((utc.tz, utc.zone()), (None, TzOffset::UTC));
        assert_eq!(utc.until_ms(), None);
        for (from, tz) in [("yesterday", "0"), ("1970-01-02T10:00", "-900")] {
            let err = TimeRange::parse(Some(from), None, Some(tz)).err();
            assert!(matches!(err, Some(Error::InvalidRequest(_))), "{from} {tz}");
        }
    }

    #[test]
    fn a_bare_day_as_the_end_takes_in_the_whole_day() {
        let range = TimeRange::parse(None, Some("1970-01-01"), None).unwrap();
        assert_eq!(range.until_ms(), Some(24 * 3600 * 1000));
    }
}
