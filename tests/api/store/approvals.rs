//! Approvals and their one-time companions: decisions, TOTP steps, links, pairing codes, polls.
//! Every compare-and-set is also raced against itself: exactly one caller may win.

use futures_util::future::join_all;
use nod::domain::{ApprovalState, Factor};
use nod::store::{ApprovalLink, ApprovalSlot, Store};

use super::fixtures::{APPROVAL_TTL, NOW, approval_of, device, id, pending, user};

contract!(
    max_pending_holds_even_for_concurrent_logins,
    expired_approvals_do_not_count_against_max_pending,
    a_decision_is_taken_once_and_never_after_expiry,
    a_totp_step_is_accepted_once,
    an_approval_link_is_used_once_and_never_after_expiry,
    a_pairing_code_is_redeemed_once_and_never_after_expiry,
    polls_without_wait_are_spaced,
);

/// How many of `outcomes` are `true`.
fn winners(outcomes: &[bool]) -> usize {
    outcomes.iter().filter(|won| **won).count()
}

async fn max_pending_holds_even_for_concurrent_logins(store: &dyn Store) {
    // Several users at once, each with more logins than slots, all in flight together: a
    // count-then-insert that is not atomic lets some user past the limit.
    let mut users = Vec::new();
    for name in ["alice", "bob", "carol", "dave"] {
        users.push(user(store, name).await);
    }
    let approvals: Vec<_> = users
        .iter()
        .flat_map(|u| {
            (0..10).map(move |i| {
                let mut a = approval_of(u);
                a.expires_at += i;
                a
            })
        })
        .collect();
    let slots = join_all(approvals.iter().map(|a| store.create_approval(a, 3, NOW))).await;
    let slots: Vec<ApprovalSlot> = slots.into_iter().map(|s| s.unwrap()).collect();
    for u in &users {
        let tried: Vec<_> = approvals
            .iter()
            .zip(&slots)
            .filter(|(a, _)| a.user_id == u.id)
            .collect();
        let created: Vec<_> = tried
            .iter()
            .filter(|(_, s)| **s == ApprovalSlot::Created)
            .map(|(a, _)| *a)
            .collect();
        assert_eq!(created.len(), 3, "{}: {tried:?}", u.username);
        let earliest = created.iter().map(|a| a.expires_at).min().unwrap();
        for (_, slot) in tried.iter().filter(|(_, s)| **s != ApprovalSlot::Created) {
            assert_eq!(
                **slot,
                ApprovalSlot::Full {
                    earliest_expiry: earliest
                }
            );
        }
        assert_eq!(store.pending_approvals(&u.id, NOW).await.unwrap().len(), 3);
        for a in created {
            assert_eq!(store.approval_by_id(&a.id).await.unwrap().as_ref(), Some(a));
            assert_eq!(
                store
                    .approval_by_req_hash(&a.req_hash)
                    .await
                    .unwrap()
                    .as_ref(),
                Some(a)
            );
        }
    }
}

async fn expired_approvals_do_not_count_against_max_pending(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let bob = user(store, "bob").await;
    let first = approval_of(&alice);
    assert_eq!(
        store.create_approval(&first, 1, NOW).await.unwrap(),
        ApprovalSlot::Created
    );
    assert_eq!(
        store
            .create_approval(&approval_of(&bob), 1, NOW)
            .await
            .unwrap(),
        ApprovalSlot::Created,
        "another user's approvals do not count"
    );
    assert_eq!(
        store
            .create_approval(&approval_of(&alice), 1, NOW + 1)
            .await
            .unwrap(),
        ApprovalSlot::Full {
            earliest_expiry: first.expires_at
        }
    );
    let later = NOW + APPROVAL_TTL;
    assert!(
        store
            .pending_approvals(&alice.id, later)
            .await
            .unwrap()
            .is_empty()
    );
    let mut next = approval_of(&alice);
    next.created_at = later;
    next.expires_at = later + APPROVAL_TTL;
    assert_eq!(
        store.create_approval(&next, 1, later).await.unwrap(),
        ApprovalSlot::Created
    );
}

async fn a_decision_is_taken_once_and_never_after_expiry(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let phone = device(store, &alice).await;
    let approval = pending(store, &alice).await;
    let states = [
        ApprovalState::Approved,
        ApprovalState::Denied,
        ApprovalState::Fraud,
    ];
    let decisions =
        join_all(states.map(|state| {
            store.decide_approval(&approval.id, state, &phone.id, Factor::Otp, NOW + 10)
        }))
        .await;
    let decisions: Vec<bool> = decisions.into_iter().map(|d| d.unwrap()).collect();
    assert_eq!(winners(&decisions), 1, "{decisions:?}");
    let decided = store.approval_by_id(&approval.id).await.unwrap().unwrap();
    let won = states[decisions.iter().position(|d| *d).unwrap()];
    assert_eq!(decided.state, won);
    assert_eq!(decided.decided_at, Some(NOW + 10));
    assert_eq!(decided.decided_by.as_deref(), Some(phone.id.as_str()));
    assert_eq!(decided.factor, Factor::Otp);
    assert!(
        !store
            .decide_approval(
                &approval.id,
                ApprovalState::Approved,
                &phone.id,
                Factor::Push,
                NOW + 11
            )
            .await
            .unwrap(),
        "a decided approval stays decided"
    );
    assert!(
        store
            .pending_approvals(&alice.id, NOW + 11)
            .await
            .unwrap()
            .is_empty(),
        "a decided approval is no longer pending"
    );

    let late = pending(store, &alice).await;
    assert!(
        !store
            .decide_approval(
                &late.id,
                ApprovalState::Approved,
                &phone.id,
                Factor::Push,
                late.expires_at
            )
            .await
            .unwrap(),
        "expired at expires_at"
    );
    let unchanged = store.approval_by_id(&late.id).await.unwrap().unwrap();
    assert_eq!(unchanged, late);
    assert!(
        store
            .decide_approval(
                &late.id,
                ApprovalState::Approved,
                &phone.id,
                Factor::Push,
                late.expires_at - 1
            )
            .await
            .unwrap()
    );
}

async fn a_totp_step_is_accepted_once(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let phone = device(store, &alice).await;
    let raced = join_all((0..5).map(|_| store.accept_totp_step(&phone.id, 100))).await;
    let raced: Vec<bool> = raced.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(winners(&raced), 1, "{raced:?}");
    assert!(
        !store.accept_totp_step(&phone.id, 100).await.unwrap(),
        "replay"
    );
    assert!(
        !store.accept_totp_step(&phone.id, 99).await.unwrap(),
        "older step"
    );
    assert!(store.accept_totp_step(&phone.id, 101).await.unwrap());
    let stored = store.device_by_id(&phone.id).await.unwrap().unwrap();
    assert_eq!(stored.totp_last_step, Some(101));
    assert!(!store.accept_totp_step("unknown", 500).await.unwrap());
}

async fn an_approval_link_is_used_once_and_never_after_expiry(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let phone = device(store, &alice).await;
    let approval = pending(store, &alice).await;
    let link = ApprovalLink {
        link_hash: id(),
        approval_id: approval.id.clone(),
        device_id: phone.id.clone(),
        expires_at: NOW + 60_000,
        used_at: None,
    };
    store.create_approval_link(&link).await.unwrap();
    assert_eq!(
        store.approval_link(&link.link_hash).await.unwrap().as_ref(),
        Some(&link)
    );
    let raced = join_all((0..5).map(|_| store.use_approval_link(&link.link_hash, NOW + 1))).await;
    let raced: Vec<bool> = raced.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(winners(&raced), 1, "{raced:?}");
    assert!(
        !store
            .use_approval_link(&link.link_hash, NOW + 2)
            .await
            .unwrap()
    );
    let used = store.approval_link(&link.link_hash).await.unwrap().unwrap();
    assert_eq!(used.used_at, Some(NOW + 1));

    let expiring = ApprovalLink {
        link_hash: id(),
        used_at: None,
        ..link
    };
    store.create_approval_link(&expiring).await.unwrap();
    assert!(
        !store
            .use_approval_link(&expiring.link_hash, expiring.expires_at)
            .await
            .unwrap()
    );
    assert!(!store.use_approval_link("unknown", NOW).await.unwrap());
    assert_eq!(store.approval_link("unknown").await.unwrap(), None);
}

async fn a_pairing_code_is_redeemed_once_and_never_after_expiry(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let code = id();
    store
        .create_enrollment(&code, &alice.id, NOW, NOW + 600_000)
        .await
        .unwrap();
    let raced = join_all((0..5).map(|_| store.redeem_enrollment(&code, NOW + 1))).await;
    let redeemed: Vec<String> = raced.into_iter().filter_map(|r| r.unwrap()).collect();
    assert_eq!(redeemed, [alice.id.as_str()], "exactly one redemption");
    assert_eq!(store.redeem_enrollment(&code, NOW + 2).await.unwrap(), None);

    let expired = id();
    store
        .create_enrollment(&expired, &alice.id, NOW, NOW + 600_000)
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_enrollment(&expired, NOW + 600_000)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.redeem_enrollment("unknown", NOW).await.unwrap(), None);
}

async fn polls_without_wait_are_spaced(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let approval = pending(store, &alice).await;
    let raced = join_all((0..4).map(|_| store.record_poll(&approval.id, NOW, 5_000))).await;
    let raced: Vec<bool> = raced.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(winners(&raced), 1, "{raced:?}");
    assert!(
        !store
            .record_poll(&approval.id, NOW + 4_999, 5_000)
            .await
            .unwrap()
    );
    let stored = store.approval_by_id(&approval.id).await.unwrap().unwrap();
    assert_eq!(
        stored.last_polled_at,
        Some(NOW),
        "a refused poll records nothing"
    );
    assert!(
        store
            .record_poll(&approval.id, NOW + 5_000, 5_000)
            .await
            .unwrap()
    );
    assert!(!store.record_poll("unknown", NOW, 5_000).await.unwrap());
}
