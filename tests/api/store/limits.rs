//! Failure counters of the attempt limits.

use futures_util::future::join_all;
use nod::store::{LimitCounter, Store};

use super::fixtures::NOW;

contract!(
    failures_count_within_a_window_and_block,
    concurrent_failures_are_each_counted,
);

const WINDOW: i64 = 60_000;

/// Blocks for a minute from the third failure on.
fn block_from_third(failures: i64) -> Option<i64> {
    (failures >= 3).then_some(NOW + 60_000 * failures)
}

async fn failures_count_within_a_window_and_block(store: &dyn Store) {
    let key = "totp:alice";
    assert_eq!(store.limit_state(key).await.unwrap(), None);
    let first = store
        .limit_failure(key, NOW, WINDOW, &block_from_third)
        .await
        .unwrap();
    assert_eq!(
        first,
        LimitCounter {
            key: key.into(),
            failures: 1,
            window_start: NOW,
            blocked_until: None,
        }
    );
    let second = store
        .limit_failure(key, NOW + 10, WINDOW, &block_from_third)
        .await
        .unwrap();
    assert_eq!((second.failures, second.window_start), (2, NOW));
    assert_eq!(second.blocked_until, None);
    let third = store
        .limit_failure(key, NOW + 20, WINDOW, &block_from_third)
        .await
        .unwrap();
    assert_eq!(third.failures, 3);
    assert_eq!(third.blocked_until, Some(NOW + 180_000));
    assert_eq!(store.limit_state(key).await.unwrap(), Some(third.clone()));
    assert_eq!(
        store.limit_state("totp:bob").await.unwrap(),
        None,
        "keys are separate"
    );

    // A failure a full window after the window began starts a new window.
    let fresh = store
        .limit_failure(key, NOW + WINDOW, WINDOW, &|_| None)
        .await
        .unwrap();
    assert_eq!((fresh.failures, fresh.window_start), (1, NOW + WINDOW));
    assert_eq!(
        fresh.blocked_until, third.blocked_until,
        "a block is not lifted by a new window"
    );

    store.limit_reset(key).await.unwrap();
    assert_eq!(store.limit_state(key).await.unwrap(), None);
    store.limit_reset(key).await.unwrap(); // resetting nothing is fine
}

async fn concurrent_failures_are_each_counted(store: &dyn Store) {
    let key = "password:alice";
    let counted = join_all((0..8).map(|_| store.limit_failure(key, NOW, WINDOW, &|_| None))).await;
    let mut totals: Vec<i64> = counted.into_iter().map(|c| c.unwrap().failures).collect();
    totals.sort_unstable();
    assert_eq!(
        totals,
        (1..=8).collect::<Vec<_>>(),
        "each saw its own total"
    );
    assert_eq!(store.limit_state(key).await.unwrap().unwrap().failures, 8);
}
