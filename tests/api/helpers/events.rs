//! What the feed recorded, read straight from the store.

use nod::store::{AuditCursor, AuditEvent, AuditFilter};

use super::TestApp;

impl TestApp {
    /// Every event of `username`, oldest first.
    pub async fn events_of(&self, username: &str) -> Vec<AuditEvent> {
        let user = self.user_id(username).await;
        let mut events = self
            .state
            .store
            .audit_page(&user, AuditCursor::Newest, 100_000, &AuditFilter::default())
            .await
            .expect("audit page");
        events.reverse();
        events
    }

    /// The kind of every event of `username`, oldest first.
    pub async fn kinds_of(&self, username: &str) -> Vec<String> {
        let events = self.events_of(username).await;
        events.into_iter().map(|e| e.kind).collect()
    }

    /// The `token_used` events of `username`, oldest first.
    pub async fn uses_of(&self, username: &str) -> Vec<AuditEvent> {
        let mut uses = self.events_of(username).await;
        uses.retain(|e| e.kind == "token_used");
        uses
    }
}
