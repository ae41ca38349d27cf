//! The audit feed: ids, pages, filters, retention.

use futures_util::future::join_all;
use nod::audit::{event, kind};
use nod::store::{AuditCursor, AuditEvent, AuditFilter, Store};

use super::fixtures::NOW;

contract!(
    appended_ids_ascend_in_input_order,
    a_large_batch_keeps_its_order,
    concurrent_batches_get_distinct_ascending_ids,
    concurrent_batches_do_not_interleave,
    pages_follow_their_cursor,
    each_filter_narrows_a_page,
    pruning_deletes_old_events_but_never_the_newest,
);

/// `n` events of `user` at `NOW + i`, alternating kinds, each with its index in `detail`.
fn events(user: &str, n: usize) -> Vec<AuditEvent> {
    (0..n)
        .map(|i| {
            let k = if i % 2 == 0 {
                kind::TOKEN_USED
            } else {
                kind::APPROVED
            };
            let mut e = event(user, k, NOW + i as i64);
            e.detail = Some(format!("{{\"i\":{i}}}"));
            e
        })
        .collect()
}

/// Every event of `user`, oldest first.
async fn all_of(store: &dyn Store, user: &str) -> Vec<AuditEvent> {
    store
        .audit_page(
            user,
            AuditCursor::After(0),
            100_000,
            &AuditFilter::default(),
        )
        .await
        .unwrap()
}

fn strictly_ascending(ids: &[i64]) -> bool {
    ids.windows(2).all(|w| w[0] < w[1])
}

async fn appended_ids_ascend_in_input_order(store: &dyn Store) {
    assert!(store.append_audit(Vec::new()).await.unwrap().is_empty());
    let mut first = events("alice", 3);
    first[1].sid = Some("s1".into());
    first[1].jti = Some("j1".into());
    first[1].device_id = Some("d1".into());
    first[1].ip = Some("192.0.2.7".into());
    first[1].user_agent = Some("curl/8".into());
    first[1].method = Some("GET".into());
    first[1].host = Some("api.example".into());
    first[1].path = Some("/orders".into());
    first[1].resource_server = Some("orders".into());
    let ids = store.append_audit(first.clone()).await.unwrap();
    assert_eq!(ids.len(), 3);
    assert!(strictly_ascending(&ids), "{ids:?}");
    let more = store.append_audit(events("alice", 2)).await.unwrap();
    assert!(ids[2] < more[0], "{ids:?} then {more:?}");

    let stored = all_of(store, "alice").await;
    let expected: Vec<AuditEvent> = first
        .into_iter()
        .zip(&ids)
        .map(|(e, id)| AuditEvent { id: *id, ..e })
        .collect();
    assert_eq!(stored[..3], expected[..], "every column round-trips, by id");
}

async fn a_large_batch_keeps_its_order(store: &dyn Store) {
    store.append_audit(events("alice", 1)).await.unwrap();
    let batch = events("alice", 1500);
    let ids = store.append_audit(batch.clone()).await.unwrap();
    assert_eq!(ids.len(), 1500);
    assert!(strictly_ascending(&ids));
    let stored = all_of(store, "alice").await;
    assert_eq!(stored.len(), 1501);
    for ((stored, input), id) in stored[1..].iter().zip(&batch).zip(&ids) {
        assert_eq!(stored.id, *id);
        assert_eq!(
            stored.detail, input.detail,
            "id {id} belongs to this input event"
        );
        assert_eq!(stored.at, input.at);
    }
}

async fn concurrent_batches_get_distinct_ascending_ids(store: &dyn Store) {
    let batches =
        join_all((0..6).map(|b| store.append_audit(events(&format!("user{b}"), 300)))).await;
    let mut all = Vec::new();
    for ids in batches {
        let ids = ids.unwrap();
        assert!(strictly_ascending(&ids), "{ids:?}");
        all.extend(ids);
    }
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 1800, "no id given twice");
}

/// Ids of concurrent batches never interleave: each batch's ids are consecutive. That is what
/// serialised batches look like (one writer on SQLite, an advisory lock on PostgreSQL), and what
/// keeps ids committing in increasing order for the live feed.
pub async fn batches_do_not_interleave(writers: &[&dyn Store]) {
    let batches = join_all(
        (0..6).map(|b| writers[b % writers.len()].append_audit(events(&format!("user{b}"), 300))),
    )
    .await;
    for ids in batches {
        let ids = ids.unwrap();
        let (first, last) = (ids[0], ids[ids.len() - 1]);
        assert_eq!(
            last - first + 1,
            ids.len() as i64,
            "batch {first}..={last} interleaved with another"
        );
    }
}

async fn concurrent_batches_do_not_interleave(store: &dyn Store) {
    batches_do_not_interleave(&[store]).await;
}

async fn pages_follow_their_cursor(store: &dyn Store) {
    // Alice's and Bob's events interleaved, so pages must skip Bob's ids.
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.extend(store.append_audit(events("alice", 1)).await.unwrap());
        if i % 3 == 0 {
            store.append_audit(events("bob", 1)).await.unwrap();
        }
    }
    let page = |cursor, limit| async move {
        store
            .audit_page("alice", cursor, limit, &AuditFilter::default())
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect::<Vec<i64>>()
    };
    let newest: Vec<i64> = ids.iter().rev().copied().collect();
    assert_eq!(page(AuditCursor::Newest, 4).await, newest[..4]);
    assert_eq!(page(AuditCursor::Before(newest[3]), 4).await, newest[4..8]);
    assert_eq!(page(AuditCursor::Before(newest[7]), 4).await, newest[8..]);
    assert!(page(AuditCursor::Before(ids[0]), 4).await.is_empty());
    assert_eq!(page(AuditCursor::After(ids[2]), 3).await, ids[3..6]);
    assert_eq!(page(AuditCursor::After(ids[8]), 3).await, ids[9..]);
    assert!(page(AuditCursor::After(ids[9]), 3).await.is_empty());
    assert_eq!(page(AuditCursor::Newest, 100).await, newest);
    assert!(
        store
            .audit_page("carol", AuditCursor::Newest, 10, &AuditFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn each_filter_narrows_a_page(store: &dyn Store) {
    let mut batch = events("alice", 8); // at NOW..NOW+7, kinds alternate
    for (i, e) in batch.iter_mut().enumerate() {
        e.sid = Some(if i < 4 { "s1" } else { "s2" }.into());
    }
    batch[7].sid = None;
    let ids = store.append_audit(batch).await.unwrap();
    let select = |filter: AuditFilter| async move {
        store
            .audit_page("alice", AuditCursor::After(0), 100, &filter)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect::<Vec<i64>>()
    };
    let pick = |idx: &[usize]| idx.iter().map(|i| ids[*i]).collect::<Vec<i64>>();
    let by_kind = AuditFilter {
        kind: Some(kind::APPROVED.into()),
        ..AuditFilter::default()
    };
    assert_eq!(select(by_kind.clone()).await, pick(&[1, 3, 5, 7]));
    let by_sid = AuditFilter {
        sid: Some("s2".into()),
        ..AuditFilter::default()
    };
    assert_eq!(select(by_sid.clone()).await, pick(&[4, 5, 6]));
    let since = AuditFilter {
        since: Some(NOW + 5),
        ..AuditFilter::default()
    };
    assert_eq!(select(since).await, pick(&[5, 6, 7]), "since is inclusive");
    let until = AuditFilter {
        until: Some(NOW + 2),
        ..AuditFilter::default()
    };
    assert_eq!(select(until).await, pick(&[0, 1]), "until is exclusive");
    let all_four = AuditFilter {
        kind: Some(kind::TOKEN_USED.into()),
        sid: Some("s1".into()),
        since: Some(NOW + 1),
        until: Some(NOW + 3),
    };
    assert_eq!(select(all_four.clone()).await, pick(&[2]));
    // Filters apply with every cursor.
    let newest = store
        .audit_page("alice", AuditCursor::Newest, 2, &by_kind)
        .await
        .unwrap();
    assert_eq!(
        newest.iter().map(|e| e.id).collect::<Vec<_>>(),
        pick(&[7, 5])
    );
    let before = store
        .audit_page("alice", AuditCursor::Before(ids[5]), 10, &by_sid)
        .await
        .unwrap();
    assert_eq!(before.iter().map(|e| e.id).collect::<Vec<_>>(), pick(&[4]));
    let nobody = AuditFilter {
        sid: Some("unknown".into()),
        ..AuditFilter::default()
    };
    assert!(select(nobody).await.is_empty());
}

async fn pruning_deletes_old_events_but_never_the_newest(store: &dyn Store) {
    let ids = store.append_audit(events("alice", 10)).await.unwrap(); // at NOW..NOW+9
    store.append_audit(events("bob", 2)).await.unwrap(); // at NOW, NOW+1

    // Older than NOW+5: the events below the first one at or after it, in batches.
    assert_eq!(store.prune_audit(NOW + 5, 3).await.unwrap(), 3);
    assert_eq!(store.prune_audit(NOW + 5, 3).await.unwrap(), 2);
    assert_eq!(store.prune_audit(NOW + 5, 3).await.unwrap(), 0);
    let left: Vec<i64> = all_of(store, "alice").await.iter().map(|e| e.id).collect();
    assert_eq!(left, ids[5..], "alice's young events stay");
    assert_eq!(
        all_of(store, "bob").await.len(),
        2,
        "ids above the first young one stay"
    );

    // Everything is old: all but the newest event goes.
    let pruned = store.prune_audit(NOW + 1_000, 1_000).await.unwrap();
    assert_eq!(pruned, 6);
    let mut left = all_of(store, "alice").await;
    left.extend(all_of(store, "bob").await);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].user_id, "bob", "the newest event stays");
    assert_eq!(store.prune_audit(NOW + 1_000, 1_000).await.unwrap(), 0);
    let next = store.append_audit(events("alice", 1)).await.unwrap();
    assert!(next[0] > left[0].id, "ids keep growing after pruning");
}
