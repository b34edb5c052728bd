//! Rows of `api_keys`: only the SHA-256 digest of a key is stored, never the key.

use sqlx::{AnyPool, FromRow};

use super::Flag;

#[derive(FromRow, Debug, Clone)]
pub struct SqlApiKey {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub prefix: String,
    pub digest: String,
    /// Space-separated scope names.
    pub scopes: String,
    pub parent_key_id: Option<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    #[sqlx(flatten)]
    pub policy: SqlKeyPolicy,
}

/// What a key may call, how fast and for how much.
#[derive(FromRow, Debug, Clone, Default)]
pub struct SqlKeyPolicy {
    /// JSON array of allowed model references; `None`: all.
    pub models: Option<String>,
    pub rate_limit_rpm: Option<i64>,
    pub rate_limit_tpm: Option<i64>,
    pub budget_usd: Option<f64>,
    /// `day`, `week`, `month` or `total`.
    pub budget_period: Option<String>,
    /// JSON array of the ids of the keys it was made with that have budgets.
    pub budget_chain: Option<String>,
    pub default_max_tokens: Option<i64>,
}

/// The owner of an active key, as the authentication cache keeps it.
#[derive(FromRow, Debug, Clone)]
pub struct SqlKeyOwner {
    pub key_id: String,
    pub scopes: String,
    pub expires_at: Option<i64>,
    #[sqlx(flatten)]
    pub policy: SqlKeyPolicy,
    pub user_id: String,
    pub email: String,
    pub handle: String,
    #[sqlx(try_from = "i64")]
    pub is_admin: Flag,
}

const COLUMNS: &str = "id, user_id, name, prefix, digest, scopes, parent_key_id, created_at, \
                       expires_at, last_used_at, revoked_at, models, rate_limit_rpm, rate_limit_tpm, \
                       budget_usd, budget_period, budget_chain, default_max_tokens";

/// Inserts `key`; a key with a parent is inserted only while the parent is active (a
/// revocation racing the creation cannot leave a live child). Returns whether it was.
pub async fn insert(pool: &AnyPool, key: &SqlApiKey) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO api_keys (id, user_id, name, prefix, digest, scopes, parent_key_id, \
         created_at, expires_at, last_used_at, revoked_at, models, rate_limit_rpm, rate_limit_tpm, \
         budget_usd, budget_period, budget_chain, default_max_tokens) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULLIF($15, -1.0), $16, $17, \
         $18 \
         WHERE $7 IS NULL OR EXISTS \
         (SELECT 1 FROM api_keys WHERE id = $7 AND revoked_at IS NULL)",
    )
    .bind(&key.id)
    .bind(&key.user_id)
    .bind(&key.name)
    .bind(&key.prefix)
    .bind(&key.digest)
    .bind(&key.scopes)
    .bind(&key.parent_key_id)
    .bind(key.created_at)
    .bind(key.expires_at)
    .bind(key.last_used_at)
    .bind(key.revoked_at)
    .bind(&key.policy.models)
    .bind(key.policy.rate_limit_rpm)
    .bind(key.policy.rate_limit_tpm)
    .bind(super::nullable_f64(key.policy.budget_usd))
    .bind(&key.policy.budget_period)
    .bind(&key.policy.budget_chain)
    .bind(key.policy.default_max_tokens)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn list_for_user(pool: &AnyPool, user_id: &str) -> Result<Vec<SqlApiKey>, sqlx::Error> {
    sqlx::query_as::<_, SqlApiKey>(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id"
    ))
    .bind(user_id)
    .fetch_all(pool)
    .await
}

/// `@handle / name` of each of `ids` that exists: the dashboard's key column for an
/// organization, whose requests come with its members' keys.
pub async fn labels(pool: &AnyPool, ids: &[&str]) -> Result<Vec<(String, String)>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let params: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT k.id, u.handle, k.name FROM api_keys k JOIN users u ON u.id = k.user_id \
         WHERE k.id IN ({})",
        params.join(", ")
    );
    let rows: Vec<(String, String, String)> = ids
        .iter()
        .fold(sqlx::query_as(&sql), |q, id| q.bind(*id))
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, handle, name)| (id, format!("@{handle} / {name}")))
        .collect())
}

pub async fn find_for_user(
    pool: &AnyPool,
    user_id: &str,
    id: &str,
) -> Result<Option<SqlApiKey>, sqlx::Error> {
    sqlx::query_as::<_, SqlApiKey>(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE user_id = $1 AND id = $2"
    ))
    .bind(user_id)
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// The owner of the key with this digest unless the key, or the key it was made with, is
/// revoked. (Expiry is checked by the caller, so that an expired key can say so.)
pub async fn owner_of_active(
    pool: &AnyPool,
    digest: &str,
) -> Result<Option<SqlKeyOwner>, sqlx::Error> {
    sqlx::query_as::<_, SqlKeyOwner>(
        "SELECT k.id AS key_id, k.scopes, k.expires_at, k.models, k.rate_limit_rpm, \
         k.rate_limit_tpm, k.budget_usd, k.budget_period, k.budget_chain, k.default_max_tokens, \
         u.id AS user_id, u.email, u.handle, u.is_admin \
         FROM api_keys k JOIN users u ON u.id = k.user_id \
         LEFT JOIN api_keys p ON p.id = k.parent_key_id \
         WHERE k.digest = $1 AND k.revoked_at IS NULL \
         AND (k.parent_key_id IS NULL OR p.revoked_at IS NULL)",
    )
    .bind(digest)
    .fetch_optional(pool)
    .await
}

/// Replaces the name, policy and expiry of one of `user_id`'s active keys; whether it was.
pub async fn update(pool: &AnyPool, user_id: &str, key: &SqlApiKey) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE api_keys SET name = $1, models = $2, rate_limit_rpm = $3, rate_limit_tpm = $4, \
         expires_at = $5, budget_usd = NULLIF($8, -1.0), budget_period = $9, \
         default_max_tokens = $10 \
         WHERE id = $6 AND user_id = $7 AND revoked_at IS NULL",
    )
    .bind(&key.name)
    .bind(&key.policy.models)
    .bind(key.policy.rate_limit_rpm)
    .bind(key.policy.rate_limit_tpm)
    .bind(key.expires_at)
    .bind(&key.id)
    .bind(user_id)
    .bind(super::nullable_f64(key.policy.budget_usd))
    .bind(&key.policy.budget_period)
    .bind(key.policy.default_max_tokens)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The budget of key `id` (amount and period), if it has one.
pub async fn budget_of(pool: &AnyPool, id: &str) -> Result<Option<(f64, String)>, sqlx::Error> {
    let row: Option<(Option<f64>, Option<String>)> =
        sqlx::query_as("SELECT budget_usd, budget_period FROM api_keys WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(row.and_then(|(usd, period)| usd.zip(period)))
}

/// Revokes key `id` unless it already is.
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
