//! `nod audit --since/--until`: a UTC day (`2026-01-31`) or an RFC 3339 time
//! (`2026-01-31T12:00:00Z`, `2026-01-31T13:00:00+01:00`, with or without fractional seconds).
//! Read as `/activity` reads its range: `--since` from the first instant it names, `--until`
//! through the last — the whole day, the whole second, or the millisecond of a fraction — so
//! `--since 2026-01-01 --until 2026-01-31` is all of January.

use crate::domain::{TzOffset, WallTime};

/// The instants one written time names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBound {
    /// The first, Unix ms.
    start_ms: i64,
    /// Just past the last, Unix ms.
    end_ms: i64,
}

impl TimeBound {
    /// A day or an RFC 3339 time; a message saying what is accepted otherwise.
    pub fn parse(raw: &str) -> Result<Self, String> {
        parse(raw).ok_or_else(|| {
            format!(
                "`{raw}` is neither a UTC day (YYYY-MM-DD) nor an RFC 3339 time \
                 (YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DDTHH:MM:SS+HH:MM)"
            )
        })
    }

    /// Where a range that starts here starts (inclusive), Unix ms.
    pub fn start_ms(self) -> i64 {
        self.start_ms
    }

    /// Where a range that ends here ends (exclusive, as the store's end is), Unix ms.
    pub fn end_ms(self) -> i64 {
        self.end_ms
    }
}

fn parse(raw: &str) -> Option<TimeBound> {
    if !raw.is_ascii() {
        return None;
    }
    // RFC 3339 allows a lower-case `t` and `z`.
    let raw = raw.to_ascii_uppercase();
    if !raw.contains('T') {
        let day = WallTime::parse(&raw)?;
        return Some(TimeBound {
            start_ms: day.start_ms(TzOffset::UTC),
            end_ms: day.end_ms(TzOffset::UTC),
        });
    }
    let (body, minutes_ahead) = match raw.strip_suffix('Z') {
        Some(body) => (body, 0),
        None => {
            let (body, offset) = raw.split_at(raw.len().checked_sub(6)?);
            (body, offset_minutes(offset)?)
        }
    };
    let (clock, millis) = match body.split_once('.') {
        Some((clock, fraction)) => (clock, Some(fraction_ms(fraction)?)),
        None => (body, None),
    };
    // RFC 3339 times always have seconds (`YYYY-MM-DDTHH:MM:SS`).
    if clock.len() != 19 {
        return None;
    }
    let wall = WallTime::parse(clock)?;
    // `TzOffset` counts as JavaScript does: minutes to add to local time to get UTC.
    let zone = TzOffset::parse(&(-minutes_ahead).to_string())?;
    let start_ms = wall.start_ms(zone) + millis.unwrap_or(0);
    Some(TimeBound {
        start_ms,
        end_ms: millis.map_or(wall.end_ms(zone), |_| start_ms + 1),
    })
}

/// `+HH:MM` or `-HH:MM` as minutes ahead of UTC.
fn offset_minutes(offset: &str) -> Option<i64> {
    let sign = match offset.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (hours, minutes) = offset[1..].split_once(':')?;
    let number = |s: &str| {
        (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i64>().ok())
            .flatten()
    };
    let (hours, minutes) = (number(hours)?, number(minutes)?);
    (minutes < 60).then_some(sign * (hours * 60 + minutes))
}

/// Fractional seconds (at least one digit) to whole milliseconds, truncated.
fn fraction_ms(fraction: &str) -> Option<i64> {
    if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: String = fraction.chars().chain("00".chars()).take(3).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1000;
    const DAY: i64 = 24 * 3600 * SECOND;

    fn bound(raw: &str) -> (i64, i64) {
        let b = TimeBound::parse(raw).unwrap_or_else(|e| panic!("{e}"));
        (b.start_ms(), b.end_ms())
    }

    #[test]
    fn a_day_is_the_whole_utc_day() {
        assert_eq!(bound("1970-01-02"), (DAY, 2 * DAY));
    }

    #[test]
    fn an_rfc_3339_time_is_its_second_or_its_millisecond_in_its_offset() {
        assert_eq!(bound("1970-01-02T00:00:00Z"), (DAY, DAY + SECOND));
        assert_eq!(bound("1970-01-02t00:00:00z"), (DAY, DAY + SECOND));
        // 01:00 at UTC+01:00 is midnight UTC; 19:00 at UTC−05:00 the day before is too.
        assert_eq!(bound("1970-01-02T01:00:00+01:00").0, DAY);
        assert_eq!(bound("1970-01-01T19:00:00-05:00").0, DAY);
        assert_eq!(bound("1970-01-02T05:45:00+05:45").0, DAY);
        assert_eq!(bound("1970-01-02T00:00:00.25Z"), (DAY + 250, DAY + 251));
        assert_eq!(bound("1970-01-02T00:00:00.123456789Z").0, DAY + 123);
    }

    #[test]
    fn anything_else_is_refused_with_what_is_accepted() {
        for bad in [
            "",
            "yesterday",
            "1970-01-02T00:00Z",
            "1970-01-02T00:00:00",
            "1970-01-02T00:00:00+0100",
            "1970-01-02T00:00:00+01:60",
            "1970-01-02T00:00:00+15:00",
            "1970-01-02T00:00:00.Z",
            "1970-01-02T00:00:00,5Z",
            "1970-01-02 00:00:00Z",
            "1970-02-30",
            "1970-01-02T24:00:00Z",
            "1970-01-02T00:00:00Z ",
            "１970-01-02",
        ] {
            let err = TimeBound::parse(bad).err();
            assert!(
                err.as_deref().is_some_and(|e| e.contains("RFC 3339")),
                "{bad}: {err:?}"
            );
        }
    }
}
