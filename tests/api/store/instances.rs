//! PostgreSQL only: several nod instances on one database, as stores opened side by side.

use nod::config::{Secret, Settings};
use nod::store::{Store, StoreError};

use super::audit::batches_do_not_interleave;
use super::fixtures::user;
use crate::test_database::TestDatabase;

#[tokio::test]
async fn instances_starting_together_migrate_once_and_share_one_database_on_postgres() {
    let Some(database) = TestDatabase::create().await else {
        super::say_skipped(module_path!());
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_tests(dir.path()).unwrap();
    settings.database.url = Secret::new(database.url());
    // Both run the migrations at once on an empty database: sqlx's migration lock lets one
    // apply them and the other find them applied.
    let (a, b) = tokio::join!(
        nod::store::open(&settings.database),
        nod::store::open(&settings.database)
    );
    let (a, b) = (a.expect("first instance"), b.expect("second instance"));

    let alice = user(&*a, "alice").await;
    assert_eq!(b.user_by_name("alice").await.unwrap(), Some(alice.clone()));
    let err = b.create_user(&alice).await.expect_err("taken on the other");
    assert!(matches!(err, StoreError::Conflict), "{err:?}");

    let writers: [&dyn Store; 2] = [&*a, &*b];
    batches_do_not_interleave(&writers).await;
}
