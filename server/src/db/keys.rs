//! Rows of `api_keys`: only the SHA-256 digest of a key is stored, never the key.

use sqlx::{AnyPool, FromRow};

use super::Flag;
use crate::clock::rfc3339;
use app::dto::ApiKeyDto;

#[derive(FromRow, Debug, Clone)]
pub struct SqlApiKey {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub prefix: String,
    pub digest: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl SqlApiKey {
    pub fn into_dto(self) -> ApiKeyDto {
        ApiKeyDto {
            id: self.id,
            name: self.name,
            prefix: self.prefix,
            created_at: rfc3339(self.created_at),
            last_used_at: self.last_used_at.map(rfc3339),
            revoked_at: self.revoked_at.map(rfc3339),
        }
    }
}

/// The owner of an active key, as the authentication cache keeps it.
#[derive(FromRow, Debug, Clone)]
pub struct SqlKeyOwner {
    pub key_id: String,
    pub user_id: String,
    pub email: String,
    pub handle: String,
    #[sqlx(try_from = "i64")]
    pub is_admin: Flag,
}

pub async fn insert(pool: &AnyPool, key: &SqlApiKey) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_keys (id, user_id, name, prefix, digest, created_at, last_used_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&key.id)
    .bind(&key.user_id)
    .bind(&key.name)
    .bind(&key.prefix)
    .bind(&key.digest)
    .bind(key.created_at)
    .bind(key.last_used_at)
    .bind(key.revoked_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn list_for_user(pool: &AnyPool, user_id: &str) -> Result<Vec<SqlApiKey>, sqlx::Error> {
    sqlx::query_as::<_, SqlApiKey>(
        "SELECT id, user_id, name, prefix, digest, created_at, last_used_at, revoked_at \
         FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await
}

pub async fn find_for_user(
    pool: &AnyPool,
    user_id: &str,
    id: &str,
) -> Result<Option<SqlApiKey>, sqlx::Error> {
    sqlx::query_as::<_, SqlApiKey>(
        "SELECT id, user_id, name, prefix, digest, created_at, last_used_at, revoked_at \
         FROM api_keys WHERE user_id = $1 AND id = $2",
    )
    .bind(user_id)
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn owner_of_active(
    pool: &AnyPool,
    digest: &str,
) -> Result<Option<SqlKeyOwner>, sqlx::Error> {
    sqlx::query_as::<_, SqlKeyOwner>(
        "SELECT k.id AS key_id, u.id AS user_id, u.email, u.handle, u.is_admin \
         FROM api_keys k JOIN users u ON u.id = k.user_id \
         WHERE k.digest = $1 AND k.revoked_at IS NULL",
    )
    .bind(digest)
    .fetch_optional(pool)
    .await
}

pub async fn revoke(pool: &AnyPool, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn touch(pool: &AnyPool, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}
