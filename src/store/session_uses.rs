//! What one audit batch adds to its sessions' counters (`sessions.use_count`, `last_used_at`).
//! Both stores apply it in the batch's own transaction, so the counters always agree with the
//! events, whoever appends them (the audit writer, a test, the CLI).

use std::collections::BTreeMap;

use super::AuditEvent;

/// The kind counted: `audit::kind::TOKEN_USED` (the store does not depend on `audit`). The
/// backfill migrations count the same kind.
const COUNTED: &str = "token_used";

/// A batch's `token_used` events grouped by session, as parallel columns (PostgreSQL unnests
/// them; SQLite binds them row by row). One entry per distinct sid, in sid order, so
/// concurrent batches touch the rows in one order.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct SessionUses {
    pub sids: Vec<String>,
    /// Uses of each session in the batch.
    pub uses: Vec<i64>,
    /// The newest use of each session in the batch (Unix ms).
    pub last_used_at: Vec<i64>,
}

impl SessionUses {
    /// Groups the counted events of `events` by sid; events without a sid count nowhere.
    pub fn of(events: &[AuditEvent]) -> Self {
        let mut grouped: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
        for e in events.iter().filter(|e| e.kind == COUNTED) {
            if let Some(sid) = e.sid.as_deref() {
                let (uses, last) = grouped.entry(sid).or_insert((0, e.at));
                *uses += 1;
                *last = (*last).max(e.at);
            }
        }
        let mut out = SessionUses::default();
        for (sid, (uses, last)) in grouped {
            out.sids.push(sid.to_owned());
            out.uses.push(uses);
            out.last_used_at.push(last);
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.sids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn used(kind: &str, sid: Option<&str>, at: i64) -> AuditEvent {
        AuditEvent {
            kind: kind.into(),
            sid: sid.map(Into::into),
            at,
            ..AuditEvent::default()
        }
    }

    #[test]
    fn uses_are_counted_per_session_with_the_newest_time() {
        let batch = [
            used("token_used", Some("b"), 5),
            used("token_used", Some("a"), 9),
            used("token_used", Some("b"), 3),
            used("token_refreshed", Some("a"), 20),
            used("token_used", None, 30),
        ];
        assert_eq!(
            SessionUses::of(&batch),
            SessionUses {
                sids: vec!["a".into(), "b".into()],
                uses: vec![1, 2],
                last_used_at: vec![9, 5],
            }
        );
    }

    #[test]
    fn a_batch_without_uses_touches_no_session() {
        assert!(SessionUses::of(&[used("approved", Some("a"), 1)]).is_empty());
    }
}
