//! Rows of `providers`, the admin-managed catalogue.

use sqlx::{AnyPool, FromRow};

use super::Flag;

#[derive(FromRow, Debug, Clone)]
pub struct SqlProvider {
    pub id: String,
    pub key: String,
    pub name: String,
    pub api_family: String,
    pub base_url: String,
    /// JSON array of field specs.
    pub credential_fields: String,
    /// JSON array of field specs.
    pub config_fields: String,
    #[sqlx(try_from = "i64")]
    pub supports_model_listing: Flag,
    #[sqlx(try_from = "i64")]
    pub free: Flag,
    #[sqlx(try_from = "i64")]
    pub enabled: Flag,
    /// Its connections may reach non-public addresses (a platform admin's choice).
    #[sqlx(try_from = "i64")]
    pub allow_private: Flag,
    pub gateway_type: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

macro_rules! provider_columns {
    () => {
        "id, key, name, api_family, base_url, credential_fields, config_fields, \
         supports_model_listing, free, enabled, gateway_type, created_at, updated_at, allow_private"
    };
}

/// Inserts the provider unless one with its key exists (seeding is idempotent).
pub async fn insert_if_absent(pool: &AnyPool, p: &SqlProvider) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(concat!(
        "INSERT INTO providers (",
        provider_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (key) DO NOTHING"
    ))
    .bind(&p.id)
    .bind(&p.key)
    .bind(&p.name)
    .bind(&p.api_family)
    .bind(&p.base_url)
    .bind(&p.credential_fields)
    .bind(&p.config_fields)
    .bind(i64::from(p.supports_model_listing))
    .bind(i64::from(p.free))
    .bind(i64::from(p.enabled))
    .bind(p.gateway_type)
    .bind(p.created_at)
    .bind(p.updated_at)
    .bind(i64::from(p.allow_private))
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn list(pool: &AnyPool) -> Result<Vec<SqlProvider>, sqlx::Error> {
    sqlx::query_as::<_, SqlProvider>(concat!(
        "SELECT ",
        provider_columns!(),
        " FROM providers ORDER BY name"
    ))
    .fetch_all(pool)
    .await
}

pub async fn find(pool: &AnyPool, id: &str) -> Result<Option<SqlProvider>, sqlx::Error> {
    sqlx::query_as::<_, SqlProvider>(concat!(
        "SELECT ",
        provider_columns!(),
        " FROM providers WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn find_by_key(pool: &AnyPool, key: &str) -> Result<Option<SqlProvider>, sqlx::Error> {
    sqlx::query_as::<_, SqlProvider>(concat!(
        "SELECT ",
        provider_columns!(),
        " FROM providers WHERE key = $1"
    ))
    .bind(key)
    .fetch_optional(pool)
    .await
}

pub async fn update(pool: &AnyPool, p: &SqlProvider) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE providers SET name = $1, base_url = $2, supports_model_listing = $3, free = $4, \
         enabled = $5, gateway_type = $6, credential_fields = $7, config_fields = $8, updated_at = $9, \
         allow_private = $11 WHERE id = $10",
    )
    .bind(&p.name)
    .bind(&p.base_url)
    .bind(i64::from(p.supports_model_listing))
    .bind(i64::from(p.free))
    .bind(i64::from(p.enabled))
    .bind(p.gateway_type)
    .bind(&p.credential_fields)
    .bind(&p.config_fields)
    .bind(p.updated_at)
    .bind(&p.id)
    .bind(i64::from(p.allow_private))
    .execute(pool)
    .await?;
    Ok(())
}
