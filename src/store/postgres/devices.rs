//! Paired devices and their TOTP steps on PostgreSQL.
//!
//! Twin of `sqlite/devices.rs`: the same queries in the other dialect, written twice on purpose so
//! that each file reads whole against its own database. They differ where the databases do:
//! PostgreSQL types the optional user id (`$1::text`), sorts ids with `COLLATE "C"` and answers a
//! key holding NUL as absent.

use async_trait::async_trait;

use super::{PostgresStore, classify, unstorable};
use crate::store::{Device, DeviceStore, StoreResult};

#[async_trait]
impl DeviceStore for PostgresStore {
    async fn create_device(&self, d: &Device) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO devices (id, user_id, name, secret_hash, channels, totp_secret, \
             totp_last_step, created_at, revoked_at, jkt) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&d.id)
        .bind(&d.user_id)
        .bind(&d.name)
        .bind(&d.secret_hash)
        .bind(&d.channels)
        .bind(&d.totp_secret)
        .bind(d.totp_last_step)
        .bind(d.created_at)
        .bind(d.revoked_at)
        .bind(&d.jkt)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn device_by_secret_hash(&self, secret_hash: &str) -> StoreResult<Option<Device>> {
        if unstorable(secret_hash) {
            return Ok(None);
        }
        sqlx::query_as("SELECT * FROM devices WHERE secret_hash = $1")
            .bind(secret_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn device_by_id(&self, id: &str) -> StoreResult<Option<Device>> {
        if unstorable(id) {
            return Ok(None);
        }
        sqlx::query_as("SELECT * FROM devices WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn list_devices(&self, user_id: Option<&str>) -> StoreResult<Vec<Device>> {
        sqlx::query_as(
            "SELECT * FROM devices WHERE $1::text IS NULL OR user_id = $1 \
             ORDER BY created_at, id COLLATE \"C\"",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(classify)
    }

    async fn revoke_device(&self, device_id: &str, now: i64) -> StoreResult<bool> {
        if unstorable(device_id) {
            return Ok(false);
        }
        let done =
            sqlx::query("UPDATE devices SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(device_id)
                .execute(&self.pool)
                .await
                .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn accept_totp_step(&self, device_id: &str, step: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE devices SET totp_last_step = $1 \
             WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(device_id)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }
}
