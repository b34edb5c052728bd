//! Rows of `connections` and what hangs off them: models, test history, audit entries.
//! Sealed credentials are stored base64-encoded; this module never sees plaintext.

use sqlx::{Any, AnyPool, FromRow, Transaction};

use super::Flag;

/// A connection row joined with its provider, owner handle and model count.
#[derive(FromRow, Clone)]
pub struct SqlConnection {
    pub id: String,
    pub name: String,
    pub description: String,
    pub provider_id: String,
    pub endpoint_url: String,
    pub gateway_type: i64,
    pub status: String,
    pub scope: String,
    pub owner_user_id: Option<String>,
    pub owner_org_id: Option<String>,
    pub rate_limit_rpm: Option<i64>,
    pub rate_limit_tpm: Option<i64>,
    pub rate_limit_rpd: Option<i64>,
    pub prefer_score: i64,
    #[sqlx(try_from = "i64")]
    pub allow_fallback: Flag,
    /// A platform admin let it reach non-public addresses.
    #[sqlx(try_from = "i64")]
    pub allow_private: Flag,
    pub timeout_ms: i64,
    /// Longest wait for a TCP/TLS connection (NULL: the whole `timeout_ms`).
    pub connect_timeout_ms: Option<i64>,
    /// Longest pause within a stream (NULL: `timeout_ms`).
    pub idle_timeout_ms: Option<i64>,
    /// Longest a stream may last (NULL: no limit).
    pub max_duration_ms: Option<i64>,
    pub max_retries: i64,
    /// JSON object of non-secret provider settings.
    pub config: String,
    pub credential_mask: String,
    pub sealed_key_id: String,
    pub sealed_nonce: String,
    pub sealed_credentials: String,
    pub last_health_check_at: Option<i64>,
    pub last_error: Option<String>,
    pub cooldown_until: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// A type-3 connection: the self-hosted gateway whose agents reach it.
    pub gateway_id: Option<String>,
    /// The upstream's name in that gateway's agent configuration.
    pub gateway_upstream: Option<String>,
    // joined
    pub provider_key: String,
    pub provider_name: String,
    pub api_family: String,
    pub owner_handle: String,
    pub model_count: i64,
}

macro_rules! connection_select {
    () => {
        "SELECT c.id, c.name, c.description, c.provider_id, c.endpoint_url, c.gateway_type, c.status, \
                c.scope, c.owner_user_id, c.owner_org_id, c.rate_limit_rpm, c.rate_limit_tpm, c.rate_limit_rpd, \
                c.prefer_score, c.allow_fallback, c.allow_private, c.timeout_ms, c.connect_timeout_ms, \
                c.idle_timeout_ms, c.max_duration_ms, c.max_retries, c.config, \
                c.credential_mask, c.sealed_key_id, c.sealed_nonce, c.sealed_credentials, \
                c.last_health_check_at, c.last_error, c.cooldown_until, c.created_by, c.created_at, \
                c.updated_at, c.gateway_id, c.gateway_upstream, p.key AS provider_key, p.name AS provider_name, p.api_family, \
                COALESCE(u.handle, o.handle, 'platform') AS owner_handle, \
                (SELECT COUNT(*) FROM connection_models m WHERE m.connection_id = c.id) AS model_count \
         FROM connections c \
         JOIN providers p ON p.id = c.provider_id \
         LEFT JOIN users u ON u.id = c.owner_user_id \
         LEFT JOIN organizations o ON o.id = c.owner_org_id "
    };
}

pub async fn insert(tx: &mut Transaction<'_, Any>, c: &SqlConnection) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO connections (id, name, description, provider_id, endpoint_url, gateway_type, status, \
         scope, owner_user_id, owner_org_id, rate_limit_rpm, rate_limit_tpm, prefer_score, allow_fallback, \
         timeout_ms, max_retries, config, credential_mask, sealed_key_id, sealed_nonce, sealed_credentials, \
         last_health_check_at, last_error, cooldown_until, created_by, created_at, updated_at, rate_limit_rpd, \
         allow_private, connect_timeout_ms, idle_timeout_ms, max_duration_ms, gateway_id, gateway_upstream) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
         $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34)",
    )
    .bind(&c.id)
    .bind(&c.name)
    .bind(&c.description)
    .bind(&c.provider_id)
    .bind(&c.endpoint_url)
    .bind(c.gateway_type)
    .bind(&c.status)
    .bind(&c.scope)
    .bind(&c.owner_user_id)
    .bind(&c.owner_org_id)
    .bind(c.rate_limit_rpm)
    .bind(c.rate_limit_tpm)
    .bind(c.prefer_score)
    .bind(i64::from(c.allow_fallback))
    .bind(c.timeout_ms)
    .bind(c.max_retries)
    .bind(&c.config)
    .bind(&c.credential_mask)
    .bind(&c.sealed_key_id)
    .bind(&c.sealed_nonce)
    .bind(&c.sealed_credentials)
    .bind(c.last_health_check_at)
    .bind(&c.last_error)
    .bind(c.cooldown_until)
    .bind(&c.created_by)
    .bind(c.created_at)
    .bind(c.updated_at)
    .bind(c.rate_limit_rpd)
    .bind(i64::from(c.allow_private))
    .bind(c.connect_timeout_ms)
    .bind(c.idle_timeout_ms)
    .bind(c.max_duration_ms)
    .bind(&c.gateway_id)
    .bind(&c.gateway_upstream)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Every connection `user_id` may use: their own, their organizations', the platform's.
pub async fn list_visible(
    pool: &AnyPool,
    user_id: &str,
) -> Result<Vec<SqlConnection>, sqlx::Error> {
    sqlx::query_as::<_, SqlConnection>(concat!(
        connection_select!(),
        "WHERE c.owner_user_id = $1 \
            OR c.owner_org_id IN (SELECT org_id FROM memberships WHERE user_id = $1) \
            OR c.scope = 'platform' \
         ORDER BY c.created_at, c.id"
    ))
    .bind(user_id)
    .fetch_all(pool)
    .await
}

/// The ids of an organization's connections (every status).
pub async fn ids_of_org(pool: &AnyPool, org_id: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM connections WHERE owner_org_id = $1 AND scope = 'organization'",
    )
    .bind(org_id)
    .fetch_all(pool)
    .await
}

pub async fn list_all(pool: &AnyPool) -> Result<Vec<SqlConnection>, sqlx::Error> {
    sqlx::query_as::<_, SqlConnection>(concat!(connection_select!(), "ORDER BY c.created_at, c.id"))
        .fetch_all(pool)
        .await
}

pub async fn find(pool: &AnyPool, id: &str) -> Result<Option<SqlConnection>, sqlx::Error> {
    sqlx::query_as::<_, SqlConnection>(concat!(connection_select!(), "WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Writes the editable settings (not credentials, not health).
pub async fn update_settings(pool: &AnyPool, c: &SqlConnection) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE connections SET name = $1, description = $2, endpoint_url = $3, status = $4, \
         rate_limit_rpm = $5, rate_limit_tpm = $6, prefer_score = $7, allow_fallback = $8, timeout_ms = $9, \
         max_retries = $10, config = $11, updated_at = $12, rate_limit_rpd = $14, allow_private = $15, \
         connect_timeout_ms = $16, idle_timeout_ms = $17, max_duration_ms = $18 \
         WHERE id = $13",
    )
    .bind(&c.name)
    .bind(&c.description)
    .bind(&c.endpoint_url)
    .bind(&c.status)
    .bind(c.rate_limit_rpm)
    .bind(c.rate_limit_tpm)
    .bind(c.prefer_score)
    .bind(i64::from(c.allow_fallback))
    .bind(c.timeout_ms)
    .bind(c.max_retries)
    .bind(&c.config)
    .bind(c.updated_at)
    .bind(&c.id)
    .bind(c.rate_limit_rpd)
    .bind(i64::from(c.allow_private))
    .bind(c.connect_timeout_ms)
    .bind(c.idle_timeout_ms)
    .bind(c.max_duration_ms)
    .execute(pool)
    .await?;
    Ok(())
}

pub struct SealedColumns<'a> {
    pub mask: &'a str,
    pub key_id: &'a str,
    pub nonce: &'a str,
    pub ciphertext: &'a str,
}

pub async fn update_credentials(
    pool: &AnyPool,
    id: &str,
    sealed: &SealedColumns<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE connections SET credential_mask = $1, sealed_key_id = $2, sealed_nonce = $3, \
         sealed_credentials = $4, updated_at = $5 WHERE id = $6",
    )
    .bind(sealed.mask)
    .bind(sealed.key_id)
    .bind(sealed.nonce)
    .bind(sealed.ciphertext)
    .bind(now)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Replaces a credential only if it is still sealed under `old_key_id` (master-key rotation).
pub async fn reseal(
    pool: &AnyPool,
    id: &str,
    old_key_id: &str,
    sealed: &SealedColumns<'_>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE connections SET sealed_key_id = $1, sealed_nonce = $2, sealed_credentials = $3 \
         WHERE id = $4 AND sealed_key_id = $5",
    )
    .bind(sealed.key_id)
    .bind(sealed.nonce)
    .bind(sealed.ciphertext)
    .bind(id)
    .bind(old_key_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub struct HealthUpdate<'a> {
    pub status: &'a str,
    pub last_error: Option<&'a str>,
    pub cooldown_until: Option<i64>,
    pub checked_at: i64,
}

pub async fn record_health(
    pool: &AnyPool,
    id: &str,
    h: &HealthUpdate<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE connections SET status = $1, last_error = $2, cooldown_until = $3, last_health_check_at = $4 \
         WHERE id = $5",
    )
    .bind(h.status)
    .bind(h.last_error)
    .bind(h.cooldown_until)
    .bind(h.checked_at)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// As [`record_health`], only while the status is still `expected`: of many calls that
/// saw the same change at once, one records it (and its notification goes out once).
/// Returns whether it did.
pub async fn record_health_from(
    pool: &AnyPool,
    id: &str,
    expected: &str,
    h: &HealthUpdate<'_>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE connections SET status = $1, last_error = $2, cooldown_until = $3, last_health_check_at = $4 \
         WHERE id = $5 AND status = $6",
    )
    .bind(h.status)
    .bind(h.last_error)
    .bind(h.cooldown_until)
    .bind(h.checked_at)
    .bind(id)
    .bind(expected)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(pool: &AnyPool, id: &str) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Explicit, so deletion does not depend on SQLite's foreign_keys pragma.
    for sql in [
        "DELETE FROM connection_models WHERE connection_id = $1",
        "DELETE FROM connection_tests WHERE connection_id = $1",
        "DELETE FROM connections WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *tx).await?;
    }
    tx.commit().await
}

// ---- models ----

#[derive(FromRow, Debug, Clone)]
pub struct SqlModel {
    pub model_id: String,
    pub display_name: String,
    pub source: String,
    #[sqlx(try_from = "i64")]
    pub enabled: Flag,
    pub created_at: i64,
}

pub async fn models(pool: &AnyPool, connection_id: &str) -> Result<Vec<SqlModel>, sqlx::Error> {
    sqlx::query_as::<_, SqlModel>(
        "SELECT model_id, display_name, source, enabled, created_at FROM connection_models \
         WHERE connection_id = $1 ORDER BY model_id",
    )
    .bind(connection_id)
    .fetch_all(pool)
    .await
}

/// Replaces the discovered models with `found`, keeping manually added ones.
pub async fn replace_discovered(
    pool: &AnyPool,
    connection_id: &str,
    found: &[(String, String)],
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM connection_models WHERE connection_id = $1 AND source = 'discovered'")
        .bind(connection_id)
        .execute(&mut *tx)
        .await?;
    for (model_id, display_name) in found {
        sqlx::query(
            "INSERT INTO connection_models (connection_id, model_id, display_name, source, enabled, created_at) \
             VALUES ($1, $2, $3, 'discovered', 1, $4) ON CONFLICT (connection_id, model_id) DO NOTHING",
        )
        .bind(connection_id)
        .bind(model_id)
        .bind(display_name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

pub async fn add_manual_model(
    pool: &AnyPool,
    connection_id: &str,
    model_id: &str,
    display_name: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO connection_models (connection_id, model_id, display_name, source, enabled, created_at) \
         VALUES ($1, $2, $3, 'manual', 1, $4)",
    )
    .bind(connection_id)
    .bind(model_id)
    .bind(display_name)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn set_models_enabled(
    pool: &AnyPool,
    connection_id: &str,
    enabled: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE connection_models SET enabled = $1 WHERE connection_id = $2")
        .bind(i64::from(enabled))
        .bind(connection_id)
        .execute(pool)
        .await?;
    Ok(())
}

// ---- test history ----

#[derive(FromRow, Debug, Clone)]
pub struct SqlTest {
    pub id: String,
    pub connection_id: String,
    #[sqlx(try_from = "i64")]
    pub success: Flag,
    pub status: String,
    pub http_status: Option<i64>,
    pub latency_ms: i64,
    pub model_count: Option<i64>,
    pub error: Option<String>,
    pub trigger_kind: String,
    pub created_at: i64,
}

/// Keeps this many results per connection.
pub const TEST_HISTORY: i64 = 50;

pub async fn insert_test(pool: &AnyPool, t: &SqlTest) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO connection_tests (id, connection_id, success, status, http_status, latency_ms, model_count, \
         error, trigger_kind, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&t.id)
    .bind(&t.connection_id)
    .bind(i64::from(t.success))
    .bind(&t.status)
    .bind(t.http_status)
    .bind(t.latency_ms)
    .bind(t.model_count)
    .bind(&t.error)
    .bind(&t.trigger_kind)
    .bind(t.created_at)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM connection_tests WHERE connection_id = $1 AND id NOT IN \
         (SELECT id FROM connection_tests WHERE connection_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2)",
    )
    .bind(&t.connection_id)
    .bind(TEST_HISTORY)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

pub async fn tests(pool: &AnyPool, connection_id: &str) -> Result<Vec<SqlTest>, sqlx::Error> {
    sqlx::query_as::<_, SqlTest>(
        "SELECT id, connection_id, success, status, http_status, latency_ms, model_count, error, trigger_kind, \
         created_at FROM connection_tests WHERE connection_id = $1 ORDER BY created_at DESC, id DESC",
    )
    .bind(connection_id)
    .fetch_all(pool)
    .await
}

// ---- audit ----

#[derive(FromRow, Debug, Clone)]
pub struct SqlAudit {
    pub id: String,
    pub actor_user_id: Option<String>,
    pub actor_handle: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub detail: String,
    pub created_at: i64,
}

pub async fn insert_audit(
    pool: &AnyPool,
    id: &str,
    actor: Option<&str>,
    action: &str,
    target_id: &str,
    detail: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (id, actor_user_id, action, target_kind, target_id, detail, created_at) \
         VALUES ($1, $2, $3, 'connection', $4, $5, $6)",
    )
    .bind(id)
    .bind(actor)
    .bind(action)
    .bind(target_id)
    .bind(detail)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn audit(pool: &AnyPool, connection_id: &str) -> Result<Vec<SqlAudit>, sqlx::Error> {
    sqlx::query_as::<_, SqlAudit>(
        "SELECT a.id, a.actor_user_id, u.handle AS actor_handle, a.action, a.target_kind, a.target_id, \
                a.detail, a.created_at \
         FROM audit_log a LEFT JOIN users u ON u.id = a.actor_user_id \
         WHERE a.target_kind = 'connection' AND a.target_id = $1 ORDER BY a.created_at DESC, a.id DESC",
    )
    .bind(connection_id)
    .fetch_all(pool)
    .await
}

#[derive(FromRow, Debug, Clone)]
pub struct SqlModelOf {
    pub connection_id: String,
    pub model_id: String,
    #[sqlx(try_from = "i64")]
    pub enabled: Flag,
}

pub async fn all_models(pool: &AnyPool) -> Result<Vec<SqlModelOf>, sqlx::Error> {
    sqlx::query_as::<_, SqlModelOf>(
        "SELECT connection_id, model_id, enabled FROM connection_models",
    )
    .fetch_all(pool)
    .await
}

/// The type-3 connections of a gateway.
pub async fn of_gateway(
    pool: &AnyPool,
    gateway_id: &str,
) -> Result<Vec<SqlConnection>, sqlx::Error> {
    sqlx::query_as::<_, SqlConnection>(concat!(
        connection_select!(),
        "WHERE c.gateway_id = $1 ORDER BY c.gateway_upstream"
    ))
    .bind(gateway_id)
    .fetch_all(pool)
    .await
}

/// A relayed connection's provider, as its agent announced it again.
pub async fn set_provider(
    pool: &AnyPool,
    id: &str,
    provider_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE connections SET provider_id = $1, updated_at = $2 WHERE id = $3")
        .bind(provider_id)
        .bind(now)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}
