//! Resource servers, the callers of `/v1/introspect` on SQLite.
//!
//! Twin of `postgres/resource_servers.rs`: the same queries in the other dialect, written twice on
//! purpose so that each file reads whole against its own database. They differ in one place:
//! PostgreSQL sorts names with `COLLATE "C"` (SQLite's byte order).

use async_trait::async_trait;

use super::{SqliteStore, classify};
use crate::store::{ResourceServer, ResourceServerStore, StoreResult};

#[async_trait]
impl ResourceServerStore for SqliteStore {
    async fn create_resource_server(&self, rs: &ResourceServer) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO resource_servers (name, secret_hash, created_at) VALUES ($1, $2, $3)",
        )
        .bind(&rs.name)
        .bind(&rs.secret_hash)
        .bind(rs.created_at)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn list_resource_servers(&self) -> StoreResult<Vec<ResourceServer>> {
        sqlx::query_as("SELECT * FROM resource_servers ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(classify)
    }

    async fn delete_resource_server(&self, name: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM resource_servers WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }
}
