//! Redeeming approvals into sessions, refresh-token rotation, revocation, the session list.

use futures_util::future::join_all;
use nod::audit::{event, kind};
use nod::domain::{ApprovalState, Factor, RevokedBy};
use nod::store::{RefreshOutcome, Store};

use super::fixtures::{
    NOW, SESSION_TTL, device, pending, replacement, session_of, signed_in, user,
};

contract!(
    an_approval_is_redeemed_once_even_concurrently,
    only_a_recently_approved_approval_is_redeemable,
    refresh_rotates_and_reuse_revokes_the_session,
    a_bound_session_refuses_refresh_without_its_key,
    an_unbound_session_is_bound_by_its_first_refresh_with_a_key,
    a_dead_session_does_not_refresh,
    revocations_are_listed_since_a_time,
    active_sessions_carry_their_use,
    a_disabled_users_refresh_token_is_refused_and_not_spent,
    live_sessions_are_the_unrevoked_unexpired_ones_with_their_owner,
    a_refresh_token_is_found_with_whether_it_was_spent,
    the_change_version_moves_with_revocations_and_resource_servers,
);

async fn an_approval_is_redeemed_once_even_concurrently(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let phone = device(store, &alice).await;
    let approval = pending(store, &alice).await;
    assert!(
        store
            .decide_approval(
                &approval.id,
                ApprovalState::Approved,
                &phone.id,
                Factor::Push,
                NOW + 1
            )
            .await
            .unwrap()
    );
    let attempts: Vec<_> = (0..4)
        .map(|_| session_of(&approval, &phone, NOW + 2))
        .collect();
    let raced = join_all(
        attempts
            .iter()
            .map(|(s, r)| store.redeem_approval(&approval.id, NOW, s, r)),
    )
    .await;
    let raced: Vec<bool> = raced.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(raced.iter().filter(|w| **w).count(), 1, "{raced:?}");
    for ((session, refresh), won) in attempts.iter().zip(&raced) {
        let stored = store.session_by_id(&session.id).await.unwrap();
        let owner = store.session_of_refresh(&refresh.token_hash).await.unwrap();
        if *won {
            assert_eq!(stored.as_ref(), Some(session));
            assert_eq!(owner.as_ref(), Some(session));
        } else {
            assert_eq!(stored, None, "a losing redemption stores nothing");
            assert_eq!(owner, None);
        }
    }
    let redeemed = store.approval_by_id(&approval.id).await.unwrap().unwrap();
    assert_eq!(redeemed.state, ApprovalState::Redeemed);
}

async fn only_a_recently_approved_approval_is_redeemable(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let phone = device(store, &alice).await;
    let waiting = pending(store, &alice).await;
    let (session, refresh) = session_of(&waiting, &phone, NOW);
    assert!(
        !store
            .redeem_approval(&waiting.id, NOW, &session, &refresh)
            .await
            .unwrap(),
        "still pending"
    );
    let denied = pending(store, &alice).await;
    store
        .decide_approval(
            &denied.id,
            ApprovalState::Denied,
            &phone.id,
            Factor::Push,
            NOW + 1,
        )
        .await
        .unwrap();
    let (session, refresh) = session_of(&denied, &phone, NOW + 2);
    assert!(
        !store
            .redeem_approval(&denied.id, NOW, &session, &refresh)
            .await
            .unwrap(),
        "denied"
    );
    let old = pending(store, &alice).await;
    store
        .decide_approval(
            &old.id,
            ApprovalState::Approved,
            &phone.id,
            Factor::Push,
            NOW + 1,
        )
        .await
        .unwrap();
    let (session, refresh) = session_of(&old, &phone, NOW + 2);
    assert!(
        !store
            .redeem_approval(&old.id, NOW + 2, &session, &refresh)
            .await
            .unwrap(),
        "approved before approved_since"
    );
    assert!(
        store
            .redeem_approval(&old.id, NOW + 1, &session, &refresh)
            .await
            .unwrap(),
        "approved exactly at approved_since"
    );
    assert_eq!(
        store.session_by_id(&session.id).await.unwrap(),
        Some(session)
    );
}

async fn refresh_rotates_and_reuse_revokes_the_session(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let phone = device(store, &alice).await;
    let (session, first) = signed_in(store, &alice, &phone, NOW, None).await;

    let second = replacement(NOW + 10);
    let outcome = store
        .rotate_refresh(&first.token_hash, &second, None, NOW + 10)
        .await
        .unwrap();
    assert_eq!(outcome, RefreshOutcome::Rotated(session.clone()));
    assert_eq!(
        store.session_of_refresh(&second.token_hash).await.unwrap(),
        Some(session.clone()),
        "the replacement joins the presented token's session"
    );
    let third = replacement(NOW + 20);
    assert_eq!(
        store
            .rotate_refresh(&second.token_hash, &third, None, NOW + 20)
            .await
            .unwrap(),
        RefreshOutcome::Rotated(session.clone())
    );

    // `first` again: someone kept a copy. The session ends, and so does the live token.
    let outcome = store
        .rotate_refresh(&first.token_hash, &replacement(NOW + 30), None, NOW + 30)
        .await
        .unwrap();
    assert_eq!(outcome, RefreshOutcome::Reused(session.clone()));
    let revoked = store.session_by_id(&session.id).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(NOW + 30));
    assert_eq!(revoked.revoked_by, Some(RevokedBy::RefreshReuse));
    assert_eq!(
        store
            .rotate_refresh(&third.token_hash, &replacement(NOW + 40), None, NOW + 40)
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
    assert_eq!(
        store
            .rotate_refresh("unknown", &replacement(NOW), None, NOW)
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
    assert_eq!(store.session_of_refresh("unknown").await.unwrap(), None);

    // Two presentations of one live token at once: one rotates, the other is reuse.
    let (session, live) = signed_in(store, &alice, &phone, NOW + 50, None).await;
    let raced = join_all((0..2).map(|i| {
        let token = live.token_hash.clone();
        async move {
            store
                .rotate_refresh(&token, &replacement(NOW + 60 + i), None, NOW + 60)
                .await
                .unwrap()
        }
    }))
    .await;
    let rotated = raced
        .iter()
        .filter(|o| matches!(o, RefreshOutcome::Rotated(_)))
        .count();
    let reused = raced
        .iter()
        .filter(|o| matches!(o, RefreshOutcome::Reused(_)))
        .count();
    assert_eq!((rotated, reused), (1, 1), "{raced:?}");
    let ended = store.session_by_id(&session.id).await.unwrap().unwrap();
    assert_eq!(ended.revoked_by, Some(RevokedBy::RefreshReuse));
}

async fn a_bound_session_refuses_refresh_without_its_key(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let phone = device(store, &alice).await;
    let (session, token) = signed_in(store, &alice, &phone, NOW, Some("jkt-a")).await;
    for presented in [None, Some("jkt-b")] {
        assert_eq!(
            store
                .rotate_refresh(&token.token_hash, &replacement(NOW + 1), presented, NOW + 1)
                .await
                .unwrap(),
            RefreshOutcome::WrongKey,
            "{presented:?}"
        );
    }
    // Nothing changed: the token is still live and the session unrevoked.
    assert_eq!(
        store.session_by_id(&session.id).await.unwrap(),
        Some(session.clone())
    );
    let next = replacement(NOW + 2);
    assert_eq!(
        store
            .rotate_refresh(&token.token_hash, &next, Some("jkt-a"), NOW + 2)
            .await
            .unwrap(),
        RefreshOutcome::Rotated(session)
    );
    assert_eq!(
        store
            .session_of_refresh(&next.token_hash)
            .await
            .unwrap()
            .unwrap()
            .dpop_jkt
            .as_deref(),
        Some("jkt-a")
    );
}

async fn an_unbound_session_is_bound_by_its_first_refresh_with_a_key(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let phone = device(store, &alice).await;
    let (session, token) = signed_in(store, &alice, &phone, NOW, None).await;
    let next = replacement(NOW + 1);
    let RefreshOutcome::Rotated(bound) = store
        .rotate_refresh(&token.token_hash, &next, Some("jkt-c"), NOW + 1)
        .await
        .unwrap()
    else {
        panic!("not rotated");
    };
    assert_eq!(bound.dpop_jkt.as_deref(), Some("jkt-c"));
    let stored = store.session_by_id(&session.id).await.unwrap().unwrap();
    assert_eq!(stored.dpop_jkt.as_deref(), Some("jkt-c"));
    assert_eq!(
        store
            .rotate_refresh(&next.token_hash, &replacement(NOW + 2), None, NOW + 2)
            .await
            .unwrap(),
        RefreshOutcome::WrongKey
    );
}

async fn a_dead_session_does_not_refresh(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let phone = device(store, &alice).await;
    let (session, token) = signed_in(store, &alice, &phone, NOW, None).await;
    let expiry = session.expires_at;
    assert_eq!(
        store
            .rotate_refresh(&token.token_hash, &replacement(expiry), None, expiry)
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
    // Refused, not spent: the token is still live until the session's expiry.
    assert_eq!(
        store
            .rotate_refresh(&token.token_hash, &replacement(NOW + 1), None, NOW + 1)
            .await
            .unwrap(),
        RefreshOutcome::Rotated(session.clone())
    );

    let (revoked, token) = signed_in(store, &alice, &phone, NOW + 2, None).await;
    assert!(
        store
            .revoke_session(&revoked.id, NOW + 3, &RevokedBy::User)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .rotate_refresh(&token.token_hash, &replacement(NOW + 4), None, NOW + 4)
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
}

async fn revocations_are_listed_since_a_time(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let bob = user(store, "bob").await;
    let phone = device(store, &alice).await;
    let bobs_phone = device(store, &bob).await;
    let (one, _) = signed_in(store, &alice, &phone, NOW, None).await;
    let (two, _) = signed_in(store, &alice, &phone, NOW + 1, None).await;
    let (old, _) = signed_in(store, &alice, &phone, NOW - SESSION_TTL, None).await;
    let (bobs, _) = signed_in(store, &bob, &bobs_phone, NOW, None).await;

    assert!(
        store
            .revoke_session(&one.id, NOW + 10, &RevokedBy::Device(phone.id.clone()))
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_session(&one.id, NOW + 11, &RevokedBy::Admin)
            .await
            .unwrap(),
        "revoked once"
    );
    assert!(
        !store
            .revoke_session("unknown", NOW, &RevokedBy::Admin)
            .await
            .unwrap()
    );
    let one_now = store.session_by_id(&one.id).await.unwrap().unwrap();
    assert_eq!(one_now.revoked_at, Some(NOW + 10));
    assert_eq!(
        one_now.revoked_by,
        Some(RevokedBy::Device(phone.id.clone()))
    );

    let ended = store
        .revoke_user_sessions(&alice.id, NOW + 20, &RevokedBy::Admin)
        .await
        .unwrap();
    assert_eq!(
        ended,
        [two.id.as_str()],
        "live sessions only: not revoked, not expired"
    );
    assert!(
        store
            .session_by_id(&old.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none(),
        "an expired session is left alone"
    );
    assert!(
        store
            .session_by_id(&bobs.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );

    let mut since = store.revoked_since(NOW + 10).await.unwrap();
    since.sort();
    let mut expected = vec![(one.id.clone(), NOW + 10), (two.id.clone(), NOW + 20)];
    expected.sort();
    assert_eq!(since, expected);
    assert_eq!(
        store.revoked_since(NOW + 11).await.unwrap(),
        [(two.id.clone(), NOW + 20)]
    );
    assert!(store.revoked_since(NOW + 21).await.unwrap().is_empty());
}

async fn active_sessions_carry_their_use(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let phone = device(store, &alice).await;
    let (older, _) = signed_in(store, &alice, &phone, NOW, None).await;
    let (newer, _) = signed_in(store, &alice, &phone, NOW + 100, None).await;
    let (revoked, _) = signed_in(store, &alice, &phone, NOW + 200, None).await;
    store
        .revoke_session(&revoked.id, NOW + 300, &RevokedBy::User)
        .await
        .unwrap();
    let (expired, _) = signed_in(store, &alice, &phone, NOW - SESSION_TTL, None).await;

    let mut events = Vec::new();
    for at in [NOW + 10, NOW + 30, NOW + 20] {
        let mut e = event(&alice.id, kind::TOKEN_USED, at);
        e.sid = Some(older.id.clone());
        events.push(e);
    }
    let mut refreshed = event(&alice.id, kind::TOKEN_REFRESHED, NOW + 40);
    refreshed.sid = Some(older.id.clone());
    events.push(refreshed);
    let mut used = event(&alice.id, kind::TOKEN_USED, NOW + 50);
    used.sid = Some(expired.id.clone());
    events.push(used);
    store.append_audit(events).await.unwrap();

    let listed = store.active_sessions(&alice.id, NOW + 400).await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, [newer.id.as_str(), older.id.as_str()], "newest first");
    assert_eq!((listed[0].use_count, listed[0].last_used_at), (0, None));
    assert_eq!(
        (listed[1].use_count, listed[1].last_used_at),
        (3, Some(NOW + 30)),
        "token_used events only"
    );
    assert_eq!(listed[1].client_name, older.client_name);
    assert_eq!(listed[1].expires_at, older.expires_at);
    assert!(
        store
            .active_sessions("nobody", NOW)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_disabled_users_refresh_token_is_refused_and_not_spent(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let phone = device(store, &alice).await;
    let (session, token) = signed_in(store, &alice, &phone, NOW, None).await;
    assert!(store.set_user_disabled("alice", true).await.unwrap());
    assert_eq!(
        store
            .rotate_refresh(&token.token_hash, &replacement(NOW + 1), None, NOW + 1)
            .await
            .unwrap(),
        RefreshOutcome::Disabled
    );
    assert!(store.set_user_disabled("alice", false).await.unwrap());
    assert_eq!(
        store
            .rotate_refresh(&token.token_hash, &replacement(NOW + 2), None, NOW + 2)
            .await
            .unwrap(),
        RefreshOutcome::Rotated(session),
        "the refused attempt spent nothing"
    );
}

async fn live_sessions_are_the_unrevoked_unexpired_ones_with_their_owner(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let bob = user(store, "bob").await;
    let phone = device(store, &alice).await;
    let bobs_phone = device(store, &bob).await;
    let (live, _) = signed_in(store, &alice, &phone, NOW, None).await;
    let (revoked, _) = signed_in(store, &alice, &phone, NOW, None).await;
    let (expired, _) = signed_in(store, &alice, &phone, NOW - SESSION_TTL, None).await;
    let (bobs, _) = signed_in(store, &bob, &bobs_phone, NOW, None).await;
    assert!(
        store
            .revoke_session(&revoked.id, NOW, &RevokedBy::User)
            .await
            .unwrap()
    );

    let mut listed = store.live_sessions(NOW + 1).await.unwrap();
    listed.sort();
    let mut wanted = vec![
        (live.id.clone(), alice.id.clone(), live.expires_at),
        (bobs.id.clone(), bob.id.clone(), bobs.expires_at),
    ];
    wanted.sort();
    assert_eq!(listed, wanted);
    assert!(!listed.iter().any(|(sid, ..)| *sid == expired.id));
}

async fn a_refresh_token_is_found_with_whether_it_was_spent(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let phone = device(store, &alice).await;
    let (session, token) = signed_in(store, &alice, &phone, NOW, None).await;
    let found = store
        .refresh_token(&token.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.session_id, session.id);
    assert_eq!(found.rotated_at, None);
    let next = replacement(NOW + 5);
    store
        .rotate_refresh(&token.token_hash, &next, None, NOW + 5)
        .await
        .unwrap();
    let spent = store
        .refresh_token(&token.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(spent.rotated_at, Some(NOW + 5));
    assert_eq!(store.refresh_token("unknown").await.unwrap(), None);
}

async fn the_change_version_moves_with_revocations_and_resource_servers(store: &dyn Store) {
    let Some(start) = store.change_version().await.unwrap() else {
        // A shared database announces its changes on the change stream instead.
        assert!(store.is_shared());
        return;
    };
    let alice = user(store, "alice").await;
    let phone = device(store, &alice).await;
    let (session, _) = signed_in(store, &alice, &phone, NOW, None).await;
    assert_eq!(
        store.change_version().await.unwrap(),
        Some(start),
        "sessions are created by the server itself: not a change to reload for"
    );
    store
        .revoke_session(&session.id, NOW, &RevokedBy::Admin)
        .await
        .unwrap();
    let revoked = store.change_version().await.unwrap().unwrap();
    assert!(revoked > start);
    store
        .create_resource_server(&nod::store::ResourceServer {
            name: "orders".into(),
            secret_hash: "digest".into(),
            created_at: NOW,
        })
        .await
        .unwrap();
    let added = store.change_version().await.unwrap().unwrap();
    assert!(added > revoked);
    store.delete_resource_server("orders").await.unwrap();
    assert!(store.change_version().await.unwrap().unwrap() > added);
}
