//! The conditions of a filtered feed page, written so that a filter costs about a page of
//! reads however old or rare its match, on SQLite and PostgreSQL alike (the SQL is common).
//!
//! - Only the filters given appear: a generic `($3 IS NULL OR kind = $3)` hides the column
//!   from both planners, which then walk the user's whole feed. Present, `kind = $3` and
//!   `sid = $4` seek `audit_events_by_kind (user_id, kind, id)` and
//!   `audit_events_by_user_session (user_id, sid, id)` and walk them by id: a kind nobody has
//!   is one seek that finds nothing.
//! - A time bound becomes an id bound: ids grow with time, so the first of the user's events at
//!   or after a time is found by a binary search over ids (`id_at`, about 2 × log2(events)
//!   seeks of `audit_events_by_user`), and the page walks ids from there instead of testing
//!   `at` on each event back to the bound. The `at` conditions stay, so nothing outside the
//!   range is ever shown; an event whose time is out of order with its id near a bound (two
//!   instances' clocks) may be left out, as retention already assumes.
//!
//! Parameters, as both page queries bind them: `$1` user, `$3` kind, `$4` sid, `$5` since,
//! `$6` until (an absent filter's parameter is bound and never read).

use super::AuditFilter;

/// `user_id = $1 AND …` with the conditions of the filters given.
pub(crate) fn conditions(filter: &AuditFilter) -> String {
    let mut sql = String::from("user_id = $1");
    if filter.kind.is_some() {
        sql.push_str(" AND kind = $3");
    }
    if filter.sid.is_some() {
        sql.push_str(" AND sid = $4");
    }
    if filter.since.is_some() {
        sql.push_str(" AND at >= $5 AND id >= ");
        sql.push_str(&id_at("$5"));
    }
    if filter.until.is_some() {
        sql.push_str(" AND at < $6 AND id < ");
        sql.push_str(&id_at("$6"));
    }
    sql
}

/// A scalar subquery: the least id such that the user's first event from it on is at or after
/// `time` (one past the user's newest when none is; NULL when the user has no events). A
/// binary search on `[lo, hi)`, as a recursive CTE so it is one statement; each step seeks
/// the first of the user's events at or above the middle id.
fn id_at(time: &str) -> String {
    let later = format!(
        "(SELECT at FROM audit_events WHERE user_id = $1 AND id >= (lo + hi) / 2 \
         ORDER BY id LIMIT 1) >= {time}"
    );
    format!(
        "(WITH RECURSIVE probe (lo, hi) AS ( \
             SELECT (SELECT MIN(id) FROM audit_events WHERE user_id = $1), \
                    (SELECT MAX(id) FROM audit_events WHERE user_id = $1) + 1 \
             UNION ALL \
             SELECT CASE WHEN {later} THEN lo ELSE (lo + hi) / 2 + 1 END, \
                    CASE WHEN {later} THEN (lo + hi) / 2 ELSE hi END \
             FROM probe WHERE lo < hi) \
         SELECT lo FROM probe WHERE lo >= hi)"
    )
}
