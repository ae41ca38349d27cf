//! Failure counters of the attempt limits.

use futures_util::future::join_all;
use nod::store::{LimitAttempt, LimitCounter, LimitRule, Store};

use super::fixtures::NOW;

contract!(
    failures_count_within_a_window_and_block,
    concurrent_failures_are_each_counted,
    attempts_are_counted_before_the_work_and_refused_once_blocked,
    parallel_attempts_pass_only_up_to_the_limit,
    blocks_double_for_each_attempt_after_one_ends,
    a_refund_takes_back_one_attempt_and_the_block_it_set,
    expired_counters_are_pruned_in_batches_and_live_ones_kept,
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

/// Five attempts a minute, then a 30 s block doubling up to 10 min.
const RULE: LimitRule = LimitRule {
    window_ms: WINDOW,
    max_failures: 5,
    block_ms: 30_000,
    max_block_ms: 600_000,
};

/// The failures of a counted attempt, and the block it set.
fn counted(outcome: LimitAttempt) -> (i64, Option<i64>) {
    match outcome {
        LimitAttempt::Counted {
            failures,
            blocked_until,
        } => (failures, blocked_until),
        LimitAttempt::Blocked { until } => panic!("blocked until {until}"),
    }
}

async fn attempts_are_counted_before_the_work_and_refused_once_blocked(store: &dyn Store) {
    let key = "pwd-user:alice";
    for n in 1..=4 {
        let outcome = store.limit_attempt(key, NOW + n, &RULE).await.unwrap();
        assert_eq!(counted(outcome), (n, None), "attempt {n}");
    }
    // The fifth reaches the limit: it goes ahead, and blocks the ones after it.
    let fifth = store.limit_attempt(key, NOW + 5, &RULE).await.unwrap();
    assert_eq!(counted(fifth), (5, Some(NOW + 5 + 30_000)));
    for later in [NOW + 6, NOW + 30_004] {
        assert_eq!(
            store.limit_attempt(key, later, &RULE).await.unwrap(),
            LimitAttempt::Blocked {
                until: NOW + 30_005
            }
        );
    }
    let state = store.limit_state(key).await.unwrap().unwrap();
    assert_eq!(state.failures, 5, "refused attempts are not counted");
    // A limit of one blocks from the first attempt on.
    let once = LimitRule {
        max_failures: 1,
        ..RULE
    };
    let first = store.limit_attempt("fraud:bob", NOW, &once).await.unwrap();
    assert_eq!(counted(first), (1, Some(NOW + 30_000)));
}

async fn parallel_attempts_pass_only_up_to_the_limit(store: &dyn Store) {
    let key = "pwd-ip:198.51.100.7";
    let outcomes = join_all((0..30).map(|_| store.limit_attempt(key, NOW, &RULE))).await;
    let mut passed: Vec<i64> = Vec::new();
    let mut refused = 0;
    for outcome in outcomes {
        match outcome.unwrap() {
            LimitAttempt::Counted { failures, .. } => passed.push(failures),
            LimitAttempt::Blocked { .. } => refused += 1,
        }
    }
    passed.sort_unstable();
    assert_eq!(passed, vec![1, 2, 3, 4, 5], "each saw its own count");
    assert_eq!(refused, 25);
}

async fn blocks_double_for_each_attempt_after_one_ends(store: &dyn Store) {
    let key = "totp:alice";
    let rule = LimitRule {
        window_ms: 24 * 3_600_000,
        ..RULE
    };
    for n in 0..5 {
        store.limit_attempt(key, NOW + n, &rule).await.unwrap();
    }
    let mut at = NOW + 4 + 30_000; // when the first block ends
    let mut blocks = Vec::new();
    for failures in 6..=12 {
        let (counted_as, until) = counted(store.limit_attempt(key, at, &rule).await.unwrap());
        assert_eq!(counted_as, failures);
        let until = until.unwrap();
        blocks.push(until - at);
        at = until;
    }
    assert_eq!(
        blocks,
        vec![60_000, 120_000, 240_000, 480_000, 600_000, 600_000, 600_000],
        "doubling up to the ceiling"
    );
}

async fn a_refund_takes_back_one_attempt_and_the_block_it_set(store: &dyn Store) {
    let key = "pwd-ip:203.0.113.9";
    for n in 1..=4 {
        store.limit_attempt(key, NOW + n, &RULE).await.unwrap();
    }
    let (_, block) = counted(store.limit_attempt(key, NOW + 5, &RULE).await.unwrap());
    assert!(block.is_some());
    // The fifth was right after all: the address is no longer blocked, and four remain.
    store
        .limit_refund(key, RULE.max_failures, block)
        .await
        .unwrap();
    let state = store.limit_state(key).await.unwrap().unwrap();
    assert_eq!((state.failures, state.blocked_until), (4, None));
    assert_eq!(
        counted(store.limit_attempt(key, NOW + 6, &RULE).await.unwrap()),
        (5, Some(NOW + 6 + 30_000))
    );
    // Past the limit (after a block ended), a refund lifts only the block its attempt set.
    let later = NOW + 6 + 30_000;
    let (_, sixth_block) = counted(store.limit_attempt(key, later, &RULE).await.unwrap());
    store
        .limit_refund(key, RULE.max_failures, sixth_block)
        .await
        .unwrap();
    let state = store.limit_state(key).await.unwrap().unwrap();
    assert_eq!((state.failures, state.blocked_until), (5, None));
    let (_, seventh_block) = counted(store.limit_attempt(key, later, &RULE).await.unwrap());
    store
        .limit_refund(key, RULE.max_failures, Some(1))
        .await
        .unwrap();
    let state = store.limit_state(key).await.unwrap().unwrap();
    assert_eq!(
        (state.failures, state.blocked_until),
        (5, seventh_block),
        "another attempt's block stays"
    );
    // Refunding a key with nothing counted changes nothing and never goes below zero.
    store.limit_refund("pwd-ip:nobody", 5, None).await.unwrap();
    assert_eq!(store.limit_state("pwd-ip:nobody").await.unwrap(), None);
    let once = store
        .limit_attempt("enroll-ip:x", NOW, &RULE)
        .await
        .unwrap();
    let (_, none) = counted(once);
    for _ in 0..2 {
        store.limit_refund("enroll-ip:x", 5, none).await.unwrap();
    }
    let state = store.limit_state("enroll-ip:x").await.unwrap().unwrap();
    assert_eq!(state.failures, 0);
}

async fn expired_counters_are_pruned_in_batches_and_live_ones_kept(store: &dyn Store) {
    let hour = 3_600_000;
    // Old windows, no block: gone.
    for i in 0..5 {
        store
            .limit_attempt(&format!("pwd-user:old{i}"), NOW - 2 * hour, &RULE)
            .await
            .unwrap();
    }
    // An old window whose block is still running: kept.
    let long = LimitRule {
        max_failures: 1,
        block_ms: 3 * hour,
        max_block_ms: 3 * hour,
        ..RULE
    };
    store
        .limit_attempt("pwd-user:blocked", NOW - 2 * hour, &long)
        .await
        .unwrap();
    // A recent window: kept.
    store
        .limit_attempt("pwd-user:recent", NOW - 1000, &RULE)
        .await
        .unwrap();

    let cutoff = NOW - hour;
    assert_eq!(
        store.prune_limits(cutoff, NOW, 3).await.unwrap(),
        3,
        "one batch"
    );
    assert_eq!(store.prune_limits(cutoff, NOW, 3).await.unwrap(), 2);
    assert_eq!(store.prune_limits(cutoff, NOW, 3).await.unwrap(), 0);
    for i in 0..5 {
        let key = format!("pwd-user:old{i}");
        assert_eq!(store.limit_state(&key).await.unwrap(), None, "{key}");
    }
    assert!(
        store
            .limit_state("pwd-user:blocked")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .limit_state("pwd-user:recent")
            .await
            .unwrap()
            .is_some()
    );
    // Once its block is over, the blocked one goes too.
    assert_eq!(
        store
            .prune_limits(cutoff, NOW + 2 * hour, 10)
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.limit_state("pwd-user:blocked").await.unwrap(), None);
}
