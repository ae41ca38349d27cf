//! A time range as a person means it: wall-clock times from a `<input type="datetime-local">`
//! (no zone) plus the viewer's offset from UTC, which `/activity`'s script puts in a hidden
//! field. Parsed once into types; `flows::feed` turns them into the instants it filters by.

use std::fmt;

/// The largest offset from UTC in use anywhere (UTC+14, Kiribati; UTC−12 is within it).
const MAX_OFFSET_MINUTES: i64 = 14 * 60;
const MINUTE_MS: i64 = 60 * 1000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// The viewer's offset as JavaScript's `Date.getTimezoneOffset()` gives it: the minutes to add
/// to local time to get UTC — so UTC+10 (Sydney) is −600, the opposite sign of "UTC+10".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TzOffset {
    minutes: i64,
}

impl TzOffset {
    /// UTC itself: what a page without JavaScript (no `tz`) means.
    pub const UTC: TzOffset = TzOffset { minutes: 0 };

    /// Whole minutes, at most ±14 h; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        let body = raw.strip_prefix('-').unwrap_or(raw);
        if body.is_empty() || body.len() > 4 || !body.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let minutes: i64 = raw.parse().ok()?;
        (minutes.abs() <= MAX_OFFSET_MINUTES).then_some(TzOffset { minutes })
    }

    /// The minutes as the page's hidden field carries them.
    pub fn minutes(self) -> i64 {
        self.minutes
    }
}

/// "UTC", "UTC+10:00", "UTC−03:30": the zone in the words of a clock, not of `getTimezoneOffset`.
impl fmt::Display for TzOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.minutes == 0 {
            return f.write_str("UTC");
        }
        let ahead = -self.minutes;
        let sign = if ahead > 0 { '+' } else { '-' };
        let (h, m) = (ahead.abs() / 60, ahead.abs() % 60);
        write!(f, "UTC{sign}{h:02}:{m:02}")
    }
}

/// How much a written time names: a whole day (old `YYYY-MM-DD` links), a minute (what
/// browsers send), or a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Day,
    Minute,
    Second,
}

/// A wall-clock time with no zone: `YYYY-MM-DDTHH:MM`, `YYYY-MM-DDTHH:MM:SS`, or a bare day
/// `YYYY-MM-DD` (from its midnight). Only real calendar dates and clock times parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallTime {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    unit: Unit,
}

impl WallTime {
    /// The written forms above; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        let (date, time) = match raw.split_once('T') {
            Some((date, time)) => (date, Some(time)),
            None => (raw, None),
        };
        let mut date_parts = date.split('-');
        let year = digits(date_parts.next()?, 4)?;
        let month = digits(date_parts.next()?, 2)?;
        let day = digits(date_parts.next()?, 2)?;
        if date_parts.next().is_some()
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(i64::from(year), month)
        {
            return None;
        }
        let (hour, minute, second, unit) = match time {
            None => (0, 0, 0, Unit::Day),
            Some(time) => {
                let mut parts = time.split(':');
                let hour = digits(parts.next()?, 2)?;
                let minute = digits(parts.next()?, 2)?;
                let (second, unit) = match parts.next() {
                    Some(second) => (digits(second, 2)?, Unit::Second),
                    None => (0, Unit::Minute),
                };
                if parts.next().is_some() || hour > 23 || minute > 59 || second > 59 {
                    return None;
                }
                (hour, minute, second, unit)
            }
        };
        Some(WallTime {
            year: i64::from(year),
            month,
            day,
            hour,
            minute,
            second,
            unit,
        })
    }

    /// The first instant this names, in Unix ms, for a viewer `tz` from UTC.
    pub fn start_ms(&self, tz: TzOffset) -> i64 {
        let days = days_from_civil(self.year, self.month, self.day);
        let seconds = i64::from(self.hour * 3600 + self.minute * 60 + self.second);
        days * DAY_MS + seconds * 1000 + tz.minutes * MINUTE_MS
    }

    /// Just past the last instant this names: "to 12:00" includes the whole minute, "to" a
    /// bare day the whole day — so a range's end can be exclusive, as the store's is.
    pub fn end_ms(&self, tz: TzOffset) -> i64 {
        let length = match self.unit {
            Unit::Day => DAY_MS,
            Unit::Minute => MINUTE_MS,
            Unit::Second => 1000,
        };
        self.start_ms(tz) + length
    }

    /// As a `datetime-local` input shows it, as the start of a range (a bare day: its midnight).
    pub fn input_value_as_start(&self) -> String {
        self.input_value(self.hour, self.minute)
    }

    /// As a `datetime-local` input shows it, as the end of a range (a bare day: its last minute,
    /// which [`Self::end_ms`] makes the same range).
    pub fn input_value_as_end(&self) -> String {
        match self.unit {
            Unit::Day => self.input_value(23, 59),
            _ => self.input_value(self.hour, self.minute),
        }
    }

    fn input_value(&self, hour: u32, minute: u32) -> String {
        let (y, mo, d) = (self.year, self.month, self.day);
        let mut value = format!("{y:04}-{mo:02}-{d:02}T{hour:02}:{minute:02}");
        if self.unit == Unit::Second {
            value.push_str(&format!(":{:02}", self.second));
        }
        value
    }
}

/// Exactly `len` ASCII digits.
fn digits(s: &str, len: usize) -> Option<u32> {
    if s.len() != len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`),
/// so the conversion needs no date library and no time zone database.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR_MS: i64 = 60 * MINUTE_MS;

    fn at(raw: &str) -> WallTime {
        WallTime::parse(raw).unwrap_or_else(|| panic!("{raw} should parse"))
    }

    fn tz(raw: &str) -> TzOffset {
        TzOffset::parse(raw).unwrap_or_else(|| panic!("{raw} should parse"))
    }

    #[test]
    fn the_browser_forms_parse_to_utc_instants() {
        assert_eq!(at("1970-01-01T00:00").start_ms(TzOffset::UTC), 0);
        assert_eq!(at("1970-01-02").start_ms(TzOffset::UTC), DAY_MS);
        assert_eq!(at("1970-01-01T00:00:01").start_ms(TzOffset::UTC), 1000);
        // 2024-02-29 is 19782 days after the epoch (a leap day).
        assert_eq!(
            at("2024-02-29T13:45").start_ms(TzOffset::UTC),
            19_782 * DAY_MS + 13 * HOUR_MS + 45 * MINUTE_MS
        );
        assert_eq!(
            at("2000-03-01").start_ms(TzOffset::UTC),
            11_017 * DAY_MS,
            "after a century leap day"
        );
    }

    #[test]
    fn the_offset_has_the_sign_of_get_timezone_offset() {
        // 09:00 in Sydney (UTC+10, offset −600) is 23:00 UTC the day before.
        assert_eq!(
            at("1970-01-02T09:00").start_ms(tz("-600")),
            DAY_MS + 9 * HOUR_MS - 10 * HOUR_MS
        );
        // 09:00 in New York in winter (UTC−5, offset 300) is 14:00 UTC.
        assert_eq!(
            at("1970-01-02T09:00").start_ms(tz("300")),
            DAY_MS + 14 * HOUR_MS
        );
        assert_eq!(tz("840").minutes(), 840);
        assert_eq!(tz("-840").minutes(), -840);
        assert_eq!(tz("0"), TzOffset::UTC);
    }

    #[test]
    fn an_end_includes_the_whole_unit_it_names() {
        let utc = TzOffset::UTC;
        assert_eq!(at("1970-01-01").end_ms(utc), DAY_MS);
        assert_eq!(at("1970-01-01T00:00").end_ms(utc), MINUTE_MS);
        assert_eq!(at("1970-01-01T00:00:00").end_ms(utc), 1000);
        // A bare day and its last minute end at the same instant: old links keep their range.
        assert_eq!(
            at("1970-01-01").end_ms(utc),
            at(&at("1970-01-01").input_value_as_end()).end_ms(utc)
        );
    }

    #[test]
    fn input_values_are_what_a_datetime_local_input_takes() {
        assert_eq!(at("2026-11-30").input_value_as_start(), "2026-11-30T00:00");
        assert_eq!(at("2026-11-30").input_value_as_end(), "2026-11-30T23:59");
        assert_eq!(
            at("2026-11-30T08:05").input_value_as_end(),
            "2026-11-30T08:05"
        );
        assert_eq!(
            at("2026-11-30T08:05:09").input_value_as_start(),
            "2026-11-30T08:05:09"
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "yesterday",
            "1970-1-2",
            "1970-13-01",
            "1970-00-10",
            "2023-02-29",
            "1970-04-31",
            "1970-01-02T24:00",
            "1970-01-02T12:60",
            "1970-01-02T12:00:60",
            "1970-01-02T12",
            "1970-01-02T12:00Z",
            "1970-01-02T12:00:00.000",
            "1970-01-02T12:00:00:00",
            "1970-01-02T",
            "1970-01-02 12:00",
            "+970-01-02",
            "1970-01-02T+1:00",
        ] {
            assert_eq!(WallTime::parse(bad), None, "{bad}");
        }
        for bad in [
            "", "-", "841", "-841", "600.0", "+600", "10h", "00600", " 60",
        ] {
            assert_eq!(TzOffset::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn offsets_read_as_a_clock_would_say_them() {
        assert_eq!(TzOffset::UTC.to_string(), "UTC");
        assert_eq!(tz("-600").to_string(), "UTC+10:00");
        assert_eq!(tz("210").to_string(), "UTC-03:30");
        assert_eq!(tz("-345").to_string(), "UTC+05:45");
    }
}
