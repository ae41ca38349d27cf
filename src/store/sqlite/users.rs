//! Users on SQLite.
//!
//! Twin of `postgres/users.rs`: the same queries in the other dialect, written twice on purpose so
//! that each file reads whole against its own database. They differ where the databases do:
//! PostgreSQL sorts with `COLLATE "C"` (SQLite's byte order) and answers a key holding NUL as
//! absent.

use async_trait::async_trait;

use super::{SqliteStore, classify};
use crate::store::{StoreResult, User, UserStore};

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, username, password_hash, disabled, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&user.id)
        .bind(&user.username)
        .bind(&user.password_hash)
        .bind(user.disabled)
        .bind(user.created_at)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn user_by_name(&self, username: &str) -> StoreResult<Option<User>> {
        sqlx::query_as("SELECT * FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
        sqlx::query_as("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        sqlx::query_as("SELECT * FROM users ORDER BY username")
            .fetch_all(&self.pool)
            .await
            .map_err(classify)
    }

    async fn set_user_disabled(&self, username: &str, disabled: bool) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE users SET disabled = $1 WHERE username = $2")
            .bind(i64::from(disabled))
            .bind(username)
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_password_hash(&self, username: &str, hash: &str) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2")
            .bind(hash)
            .bind(username)
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }
}
