//! Feed filters over more than a handful of events: time bounds found among many ids (the
//! binary search of src/store/audit_filter.rs), other users' events between, rare and absent
//! kinds, with each cursor.

use nod::audit::{event, kind};
use nod::store::{AuditCursor, AuditFilter, Store};

use super::fixtures::NOW;

contract!(
    a_time_range_is_exact_wherever_its_bounds_fall,
    a_rare_kind_is_found_and_an_absent_one_is_empty,
);

/// 500 events of alice at `NOW + 10 i` (every 100th `approved`, else `token_used`), with one
/// of bob's after each of her events; returns alice's ids, oldest first.
async fn filled(store: &dyn Store) -> Vec<i64> {
    let mut batch = Vec::new();
    for i in 0..500 {
        let k = if i % 100 == 50 {
            kind::APPROVED
        } else {
            kind::TOKEN_USED
        };
        batch.push(event("alice", k, NOW + 10 * i));
        batch.push(event("bob", kind::TOKEN_USED, NOW + 10 * i + 5));
    }
    let ids = store.append_audit(batch).await.unwrap();
    ids.into_iter().step_by(2).collect()
}

async fn ids_of(store: &dyn Store, cursor: AuditCursor, filter: &AuditFilter) -> Vec<i64> {
    store
        .audit_page("alice", cursor, 1_000, filter)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect()
}

async fn a_time_range_is_exact_wherever_its_bounds_fall(store: &dyn Store) {
    let ids = filled(store).await;
    // Alice's event i is at NOW + 10 i: a bound between two events, on one, before the first
    // and past the last.
    let index_at = |time: i64| ((time - NOW + 9) / 10).clamp(0, 500) as usize;
    for (since, until) in [
        (NOW + 1, NOW + 41),
        (NOW + 40, NOW + 50),
        (NOW - 100, NOW + 3),
        (NOW + 4_990, NOW + 10_000),
        (NOW + 2_000, NOW + 2_001),
        (NOW + 2_001, NOW + 2_009),
        (NOW - 100, NOW + 10_000),
    ] {
        let range = AuditFilter {
            since: Some(since),
            until: Some(until),
            ..AuditFilter::default()
        };
        let expected = ids[index_at(since)..index_at(until)].to_vec();
        assert_eq!(
            ids_of(store, AuditCursor::After(0), &range).await,
            expected,
            "[{since}, {until}) oldest first"
        );
        let mut newest_first = expected.clone();
        newest_first.reverse();
        assert_eq!(
            ids_of(store, AuditCursor::Newest, &range).await,
            newest_first
        );
        let only_since = AuditFilter {
            since: Some(since),
            ..AuditFilter::default()
        };
        assert_eq!(
            ids_of(store, AuditCursor::After(0), &only_since).await,
            ids[index_at(since)..].to_vec(),
            "since {since}"
        );
        let only_until = AuditFilter {
            until: Some(until),
            ..AuditFilter::default()
        };
        assert_eq!(
            ids_of(store, AuditCursor::After(0), &only_until).await,
            ids[..index_at(until)].to_vec(),
            "until {until}"
        );
    }
    let before = AuditFilter {
        since: Some(NOW + 1_000),
        until: Some(NOW + 1_100),
        ..AuditFilter::default()
    };
    assert_eq!(
        ids_of(store, AuditCursor::Before(ids[105]), &before).await,
        (100..105).rev().map(|i| ids[i]).collect::<Vec<_>>()
    );
}

async fn a_rare_kind_is_found_and_an_absent_one_is_empty(store: &dyn Store) {
    let ids = filled(store).await;
    let approved = AuditFilter {
        kind: Some(kind::APPROVED.into()),
        ..AuditFilter::default()
    };
    assert_eq!(
        ids_of(store, AuditCursor::Newest, &approved).await,
        [450, 350, 250, 150, 50].map(|i| ids[i])
    );
    let in_range = AuditFilter {
        since: Some(NOW + 2_000),
        until: Some(NOW + 4_000),
        ..approved.clone()
    };
    assert_eq!(
        ids_of(store, AuditCursor::Newest, &in_range).await,
        [350, 250].map(|i| ids[i])
    );
    let absent = AuditFilter {
        kind: Some(kind::SESSION_REVOKED.into()),
        ..AuditFilter::default()
    };
    assert!(ids_of(store, AuditCursor::Newest, &absent).await.is_empty());
    assert!(
        store
            .audit_page("carol", AuditCursor::Newest, 10, &in_range)
            .await
            .unwrap()
            .is_empty(),
        "a user without events"
    );
}
