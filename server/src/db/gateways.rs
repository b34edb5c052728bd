//! Rows of `gateways` (self-hosted gateways; only their token's digest is stored) and
//! `gateway_events` (agents connecting and disconnecting).

use sqlx::{AnyPool, FromRow};

#[derive(FromRow, Debug, Clone)]
pub struct SqlGateway {
    pub id: String,
    pub name: String,
    pub owner_user_id: Option<String>,
    pub owner_org_id: Option<String>,
    pub token_digest: String,
    /// The token's first characters, to tell tokens apart in the console.
    pub token_hint: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    // joined
    pub owner_handle: String,
}

const SELECT: &str = "SELECT g.id, g.name, g.owner_user_id, g.owner_org_id, g.token_digest, \
     g.token_hint, g.created_by, g.created_at, g.updated_at, \
     COALESCE(u.handle, o.handle, '') AS owner_handle \
     FROM gateways g \
     LEFT JOIN users u ON u.id = g.owner_user_id \
     LEFT JOIN organizations o ON o.id = g.owner_org_id ";

pub async fn insert(pool: &AnyPool, g: &SqlGateway) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO gateways (id, name, owner_user_id, owner_org_id, token_digest, token_hint, \
         created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&g.id)
    .bind(&g.name)
    .bind(&g.owner_user_id)
    .bind(&g.owner_org_id)
    .bind(&g.token_digest)
    .bind(&g.token_hint)
    .bind(&g.created_by)
    .bind(g.created_at)
    .bind(g.updated_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn find(pool: &AnyPool, id: &str) -> Result<Option<SqlGateway>, sqlx::Error> {
    sqlx::query_as::<_, SqlGateway>(&format!("{SELECT} WHERE g.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The gateway a token opens (by the token's digest).
pub async fn by_digest(pool: &AnyPool, digest: &str) -> Result<Option<SqlGateway>, sqlx::Error> {
    sqlx::query_as::<_, SqlGateway>(&format!("{SELECT} WHERE g.token_digest = $1"))
        .bind(digest)
        .fetch_optional(pool)
        .await
}

/// Every gateway (few: the service filters them through the access rule).
pub async fn list_all(pool: &AnyPool) -> Result<Vec<SqlGateway>, sqlx::Error> {
    sqlx::query_as::<_, SqlGateway>(&format!("{SELECT} ORDER BY g.created_at, g.id"))
        .fetch_all(pool)
        .await
}

pub async fn set_token(
    pool: &AnyPool,
    id: &str,
    digest: &str,
    hint: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE gateways SET token_digest = $1, token_hint = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(digest)
    .bind(hint)
    .bind(now)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Deletes the gateway, its events and its connections (with their models).
pub async fn delete(pool: &AnyPool, id: &str) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "DELETE FROM connection_models WHERE connection_id IN \
         (SELECT id FROM connections WHERE gateway_id = $1)",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    for statement in [
        "DELETE FROM connections WHERE gateway_id = $1",
        "DELETE FROM gateway_events WHERE gateway_id = $1",
        "DELETE FROM gateways WHERE id = $1",
    ] {
        sqlx::query(statement).bind(id).execute(&mut *tx).await?;
    }
    tx.commit().await
}

#[derive(FromRow, Debug, Clone)]
pub struct SqlGatewayEvent {
    pub id: String,
    pub gateway_id: String,
    pub at: i64,
    /// `connected`, `disconnected` or `refused`.
    pub kind: String,
    pub agent_id: String,
    pub address: String,
    pub version: String,
    pub detail: String,
}

pub async fn insert_event(pool: &AnyPool, e: &SqlGatewayEvent) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO gateway_events (id, gateway_id, at, kind, agent_id, address, version, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&e.id)
    .bind(&e.gateway_id)
    .bind(e.at)
    .bind(&e.kind)
    .bind(&e.agent_id)
    .bind(&e.address)
    .bind(&e.version)
    .bind(&e.detail)
    .execute(pool)
    .await?;
    Ok(())
}

/// The newest events of a gateway, newest first.
pub async fn events(
    pool: &AnyPool,
    gateway_id: &str,
    limit: i64,
) -> Result<Vec<SqlGatewayEvent>, sqlx::Error> {
    sqlx::query_as::<_, SqlGatewayEvent>(
        "SELECT id, gateway_id, at, kind, agent_id, address, version, detail FROM gateway_events \
         WHERE gateway_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
    )
    .bind(gateway_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Forgets events older than `before` (epoch ms).
pub async fn prune_events(pool: &AnyPool, before: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM gateway_events WHERE at < $1")
        .bind(before)
        .execute(pool)
        .await?
        .rows_affected())
}
