//! Rows the contract cases build on: users, devices, approvals, sessions. Times are fixed
//! Unix ms around `NOW`, so cases decide expiry by the `now` they pass, never by a clock.

use nod::domain::{ApprovalState, Factor};
use nod::store::{Approval, ApprovalSlot, Device, RefreshToken, Session, Store, User};

/// The "current" time of every case.
pub const NOW: i64 = 1_700_000_000_000;
/// How long a test approval stays pending.
pub const APPROVAL_TTL: i64 = 120_000;
/// How long a test session lives.
pub const SESSION_TTL: i64 = 3_600_000;

/// A random hex id (the shape nod's ids have).
pub fn id() -> String {
    nod::auth::secrets::new_id().expect("id")
}

/// Stores a user called `name`.
pub async fn user(store: &dyn Store, name: &str) -> User {
    let user = User {
        id: id(),
        username: name.to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        disabled: 0,
        created_at: NOW,
    };
    store.create_user(&user).await.expect("create user");
    user
}

/// Stores a phone of `user`.
pub async fn device(store: &dyn Store, user: &User) -> Device {
    let device = Device {
        id: id(),
        user_id: user.id.clone(),
        name: "phone".into(),
        secret_hash: id(),
        channels: r#"[{"provider":"mock"}]"#.into(),
        totp_secret: "sealed".into(),
        totp_last_step: None,
        created_at: NOW,
        revoked_at: None,
        jkt: None,
    };
    store.create_device(&device).await.expect("create device");
    device
}

/// A pending approval of `user` created at `NOW` (not stored).
pub fn approval_of(user: &User) -> Approval {
    Approval {
        id: id(),
        req_hash: id(),
        user_id: user.id.clone(),
        binding_code: "42".into(),
        state: ApprovalState::Pending,
        client_name: "test suite".into(),
        ip: "192.0.2.1".into(),
        user_agent: "curl/8".into(),
        created_at: NOW,
        expires_at: NOW + APPROVAL_TTL,
        decided_at: None,
        decided_by: None,
        last_polled_at: None,
        dpop_jkt: None,
        factor: Factor::Push,
    }
}

/// Stores a pending approval of `user`.
pub async fn pending(store: &dyn Store, user: &User) -> Approval {
    let approval = approval_of(user);
    let slot = store
        .create_approval(&approval, 100, NOW)
        .await
        .expect("create approval");
    assert_eq!(slot, ApprovalSlot::Created);
    approval
}

/// A session (not stored) opened by `approval` and its first refresh token.
pub fn session_of(
    approval: &Approval,
    device: &Device,
    created_at: i64,
) -> (Session, RefreshToken) {
    let session = Session {
        id: id(),
        user_id: approval.user_id.clone(),
        approval_id: approval.id.clone(),
        device_id: Some(device.id.clone()),
        client_name: approval.client_name.clone(),
        ip: approval.ip.clone(),
        user_agent: approval.user_agent.clone(),
        amr: r#"["pwd","push"]"#.into(),
        created_at,
        expires_at: created_at + SESSION_TTL,
        revoked_at: None,
        revoked_by: None,
        dpop_jkt: approval.dpop_jkt.clone(),
    };
    let refresh = RefreshToken {
        token_hash: id(),
        session_id: session.id.clone(),
        created_at,
        rotated_at: None,
    };
    (session, refresh)
}

/// Logs `user` in on `device` at `at`: approval, decision, redemption. Bound to `dpop_jkt`
/// when given.
pub async fn signed_in(
    store: &dyn Store,
    user: &User,
    device: &Device,
    at: i64,
    dpop_jkt: Option<&str>,
) -> (Session, RefreshToken) {
    let mut approval = approval_of(user);
    approval.created_at = at;
    approval.expires_at = at + APPROVAL_TTL;
    approval.dpop_jkt = dpop_jkt.map(str::to_owned);
    let slot = store
        .create_approval(&approval, 100, at)
        .await
        .expect("create approval");
    assert_eq!(slot, ApprovalSlot::Created);
    assert!(
        store
            .decide_approval(
                &approval.id,
                ApprovalState::Approved,
                &device.id,
                Factor::Push,
                at
            )
            .await
            .expect("decide")
    );
    let (session, refresh) = session_of(&approval, device, at);
    assert!(
        store
            .redeem_approval(&approval.id, at, &session, &refresh)
            .await
            .expect("redeem")
    );
    (session, refresh)
}

/// A refresh token to rotate to (its `session_id` is deliberately wrong: the store must keep
/// the family in the presented token's session).
pub fn replacement(at: i64) -> RefreshToken {
    RefreshToken {
        token_hash: id(),
        session_id: "not-this-session".into(),
        created_at: at,
        rotated_at: None,
    }
}
