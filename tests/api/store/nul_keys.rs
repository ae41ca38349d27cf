//! Text holding a NUL character, as a crafted request can send it (`/…/%00`, a username in
//! JSON). No stored key has one, so every lookup finds nothing and every compare-and-set changes
//! nothing; a limit key still counts; an audit event still commits with its batch — on
//! PostgreSQL too, whose text type cannot hold the character at all.

use nod::domain::{ApprovalState, Factor, RevokedBy};
use nod::store::Store;

use super::fixtures::{NOW, device, pending, user};

contract!(keys_with_a_nul_character_are_simply_absent);

async fn keys_with_a_nul_character_are_simply_absent(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let phone = device(store, &alice).await;
    let approval = pending(store, &alice).await;
    let odd = format!("{}\0", approval.id);

    assert_eq!(store.user_by_name("alice\0").await.unwrap(), None);
    assert_eq!(
        store.user_by_id(&format!("{}\0", alice.id)).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .device_by_id(&format!("{}\0", phone.id))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.device_by_secret_hash("\0").await.unwrap(), None);
    assert_eq!(store.approval_by_id(&odd).await.unwrap(), None);
    assert_eq!(store.approval_by_req_hash("\0").await.unwrap(), None);
    assert_eq!(store.session_by_id("\0").await.unwrap(), None);
    assert_eq!(store.session_of_refresh("\0").await.unwrap(), None);
    assert_eq!(store.approval_link("\0").await.unwrap(), None);
    assert_eq!(store.redeem_enrollment("\0", NOW).await.unwrap(), None);
    assert!(
        !store
            .decide_approval(&odd, ApprovalState::Approved, &phone.id, Factor::Push, NOW)
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_session("\0", NOW, &RevokedBy::User)
            .await
            .unwrap()
    );
    assert!(!store.revoke_device("\0", NOW).await.unwrap());
    assert!(!store.use_approval_link("\0", NOW).await.unwrap());
    let untouched = store.approval_by_id(&approval.id).await.unwrap();
    assert_eq!(untouched, Some(approval));
}

contract!(a_limit_key_with_a_nul_character_counts_like_any_other);

async fn a_limit_key_with_a_nul_character_counts_like_any_other(store: &dyn Store) {
    let key = "pwd-user:alice\0";
    for expected in 1..=3 {
        let counter = store
            .limit_failure(key, NOW, 60_000, &|_| None)
            .await
            .unwrap();
        assert_eq!((counter.key.as_str(), counter.failures), (key, expected));
    }
    let state = store.limit_state(key).await.unwrap().unwrap();
    assert_eq!((state.key.as_str(), state.failures), (key, 3));
    assert_eq!(store.limit_state("pwd-user:alice").await.unwrap(), None);
    store.limit_reset(key).await.unwrap();
    assert_eq!(store.limit_state(key).await.unwrap(), None);
}

contract!(an_audit_event_with_a_nul_character_does_not_sink_its_batch);

async fn an_audit_event_with_a_nul_character_does_not_sink_its_batch(store: &dyn Store) {
    let mut odd = nod::audit::event("alice", nod::audit::kind::TOKEN_USED, NOW);
    odd.path = Some("/orders\0/42".into());
    let fine = nod::audit::event("alice", nod::audit::kind::TOKEN_USED, NOW + 1);
    let ids = store.append_audit(vec![odd, fine]).await.unwrap();
    assert_eq!(ids.len(), 2);
    let stored = store
        .audit_page(
            "alice",
            nod::store::AuditCursor::Newest,
            10,
            &nod::store::AuditFilter::default(),
        )
        .await
        .unwrap();
    assert_eq!(stored.len(), 2, "both events committed");
    let path = stored[1].path.as_deref().unwrap();
    assert!(
        path.starts_with("/orders") && path.ends_with("/42"),
        "{path}"
    );
}
