//! Users, devices and resource servers.

use nod::store::{ResourceServer, Store, StoreError};

use super::fixtures::{NOW, device, id, user};

contract!(
    a_taken_username_is_a_conflict,
    users_are_listed_by_name_and_changed_by_name,
    devices_are_found_by_secret_and_revoked_once,
    a_device_keeps_the_thumbprint_of_its_key,
    resource_server_names_are_unique_and_deleted_once,
);

async fn a_taken_username_is_a_conflict(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let mut again = alice.clone();
    again.id = id();
    let err = store.create_user(&again).await.expect_err("a second alice");
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
    assert_eq!(
        store.user_by_name("alice").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.user_by_id(&alice.id).await.unwrap(), Some(alice));
    assert_eq!(store.user_by_id(&again.id).await.unwrap(), None);
    assert_eq!(store.user_by_name("nobody").await.unwrap(), None);
}

async fn users_are_listed_by_name_and_changed_by_name(store: &dyn Store) {
    for name in ["carol", "alice", "bob-2", "bob"] {
        user(store, name).await;
    }
    let names: Vec<String> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    // Byte order, as SQLite sorts: "bob" < "bob-2" < "carol".
    assert_eq!(names, ["alice", "bob", "bob-2", "carol"]);

    assert!(store.set_user_disabled("bob", true).await.unwrap());
    let bob = store.user_by_name("bob").await.unwrap().unwrap();
    assert_eq!(bob.disabled, 1);
    assert!(!bob.is_active());
    assert!(store.set_user_disabled("bob", false).await.unwrap());
    assert!(
        store
            .user_by_name("bob")
            .await
            .unwrap()
            .unwrap()
            .is_active()
    );
    assert!(!store.set_user_disabled("nobody", true).await.unwrap());

    assert!(store.set_password_hash("carol", "$new").await.unwrap());
    let carol = store.user_by_name("carol").await.unwrap().unwrap();
    assert_eq!(carol.password_hash, "$new");
    assert!(!store.set_password_hash("nobody", "$new").await.unwrap());
}

async fn devices_are_found_by_secret_and_revoked_once(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let bob = user(store, "bob").await;
    let first = device(store, &alice).await;
    let mut second = device(store, &alice).await;
    let bobs = device(store, &bob).await;

    assert_eq!(
        store
            .device_by_secret_hash(&first.secret_hash)
            .await
            .unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.device_by_secret_hash("unknown").await.unwrap(), None);
    assert_eq!(
        store.device_by_id(&bobs.id).await.unwrap(),
        Some(bobs.clone())
    );

    let mut alices = vec![first.clone(), second.clone()];
    alices.sort_by(|a, b| a.id.cmp(&b.id)); // same created_at: then by id
    assert_eq!(store.list_devices(Some(&alice.id)).await.unwrap(), alices);
    assert_eq!(store.list_devices(None).await.unwrap().len(), 3);
    assert!(store.list_devices(Some("nobody")).await.unwrap().is_empty());

    assert!(store.revoke_device(&second.id, NOW + 5).await.unwrap());
    assert!(
        !store.revoke_device(&second.id, NOW + 6).await.unwrap(),
        "revoked once"
    );
    assert!(!store.revoke_device("unknown", NOW).await.unwrap());
    second.revoked_at = Some(NOW + 5);
    assert_eq!(
        store
            .device_by_secret_hash(&second.secret_hash)
            .await
            .unwrap(),
        Some(second),
        "a revoked device is still found, with its revocation time"
    );
    let duplicate = nod::store::Device { id: id(), ..first };
    let err = store
        .create_device(&duplicate)
        .await
        .expect_err("same secret");
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
}

async fn a_device_keeps_the_thumbprint_of_its_key(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let keyless = device(store, &alice).await;
    let keyed = nod::store::Device {
        id: id(),
        secret_hash: id(),
        jkt: Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".into()),
        created_at: NOW + 1,
        ..keyless.clone()
    };
    store.create_device(&keyed).await.unwrap();
    assert_eq!(
        store
            .device_by_secret_hash(&keyed.secret_hash)
            .await
            .unwrap(),
        Some(keyed.clone())
    );
    assert_eq!(
        store.list_devices(Some(&alice.id)).await.unwrap(),
        vec![keyless, keyed],
        "each device's key (or none) comes back as stored"
    );
}

async fn resource_server_names_are_unique_and_deleted_once(store: &dyn Store) {
    let rs = |name: &str| ResourceServer {
        name: name.to_owned(),
        secret_hash: id(),
        created_at: NOW,
    };
    store.create_resource_server(&rs("orders")).await.unwrap();
    store.create_resource_server(&rs("billing")).await.unwrap();
    let err = store
        .create_resource_server(&rs("orders"))
        .await
        .expect_err("a second orders");
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
    let names: Vec<String> = store
        .list_resource_servers()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["billing", "orders"]);
    assert!(store.delete_resource_server("orders").await.unwrap());
    assert!(!store.delete_resource_server("orders").await.unwrap());
    assert_eq!(store.list_resource_servers().await.unwrap().len(), 1);
}
