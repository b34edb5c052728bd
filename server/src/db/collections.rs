//! Rows of `collections`, `collection_members` and `model_prices`.

use sqlx::{Any, AnyPool, FromRow, Transaction};

#[derive(FromRow, Debug, Clone)]
pub struct SqlCollection {
    pub id: String,
    pub name: String,
    pub description: String,
    pub strategy: String,
    /// `user`, `organization` or `system`.
    pub owner_kind: String,
    /// The user's or organization's id; `platform` for system collections.
    pub owner_id: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// USD a request may cost at most; `None`: no maximum.
    pub max_price_usd: Option<f64>,
    // joined
    pub owner_handle: String,
}

#[derive(FromRow, Debug, Clone)]
pub struct SqlMember {
    pub collection_id: String,
    pub position: i64,
    pub model_ref: String,
    pub weight: Option<f64>,
}

#[derive(FromRow, Debug, Clone)]
pub struct SqlPrice {
    pub provider_key: String,
    pub model_id: String,
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    pub cached_input_per_mtok: Option<f64>,
    pub cache_write_per_mtok: Option<f64>,
    pub updated_at: i64,
}

macro_rules! collection_select {
    () => {
        "SELECT c.id, c.name, c.description, c.strategy, c.owner_kind, c.owner_id, c.created_by, \
                c.created_at, c.updated_at, c.max_price_usd, \
                COALESCE(u.handle, o.handle, 'platform') AS owner_handle \
         FROM collections c \
         LEFT JOIN users u ON c.owner_kind = 'user' AND u.id = c.owner_id \
         LEFT JOIN organizations o ON c.owner_kind = 'organization' AND o.id = c.owner_id "
    };
}

pub async fn all(pool: &AnyPool) -> Result<Vec<SqlCollection>, sqlx::Error> {
    sqlx::query_as::<_, SqlCollection>(concat!(
        collection_select!(),
        "ORDER BY c.owner_kind, c.name, c.id"
    ))
    .fetch_all(pool)
    .await
}

/// The collections `user_id` can see: their own, their organizations', the system's.
pub async fn visible(pool: &AnyPool, user_id: &str) -> Result<Vec<SqlCollection>, sqlx::Error> {
    sqlx::query_as::<_, SqlCollection>(concat!(
        collection_select!(),
        "WHERE (c.owner_kind = 'user' AND c.owner_id = $1) \
            OR (c.owner_kind = 'organization' AND c.owner_id IN \
                (SELECT org_id FROM memberships WHERE user_id = $1)) \
            OR c.owner_kind = 'system' \
         ORDER BY c.owner_kind DESC, c.name, c.id"
    ))
    .bind(user_id)
    .fetch_all(pool)
    .await
}

pub async fn find(pool: &AnyPool, id: &str) -> Result<Option<SqlCollection>, sqlx::Error> {
    sqlx::query_as::<_, SqlCollection>(concat!(collection_select!(), "WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn find_by_name(
    pool: &AnyPool,
    owner_id: &str,
    name: &str,
) -> Result<Option<SqlCollection>, sqlx::Error> {
    sqlx::query_as::<_, SqlCollection>(concat!(
        collection_select!(),
        "WHERE c.owner_id = $1 AND c.name = $2"
    ))
    .bind(owner_id)
    .bind(name)
    .fetch_optional(pool)
    .await
}

pub async fn members_of(pool: &AnyPool, id: &str) -> Result<Vec<SqlMember>, sqlx::Error> {
    sqlx::query_as::<_, SqlMember>(
        "SELECT collection_id, position, model_ref, weight FROM collection_members \
         WHERE collection_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(pool)
    .await
}

pub async fn all_members(pool: &AnyPool) -> Result<Vec<SqlMember>, sqlx::Error> {
    sqlx::query_as::<_, SqlMember>(
        "SELECT collection_id, position, model_ref, weight FROM collection_members \
         ORDER BY collection_id, position",
    )
    .fetch_all(pool)
    .await
}

pub async fn insert(tx: &mut Transaction<'_, Any>, c: &SqlCollection) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO collections (id, name, description, strategy, owner_kind, owner_id, created_by, \
         created_at, updated_at, max_price_usd) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULLIF($10, -1.0))",
    )
    .bind(&c.id)
    .bind(&c.name)
    .bind(&c.description)
    .bind(&c.strategy)
    .bind(&c.owner_kind)
    .bind(&c.owner_id)
    .bind(&c.created_by)
    .bind(c.created_at)
    .bind(c.updated_at)
    .bind(super::nullable_f64(c.max_price_usd))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn update(tx: &mut Transaction<'_, Any>, c: &SqlCollection) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE collections SET name = $1, description = $2, strategy = $3, updated_at = $4, \
         max_price_usd = NULLIF($6, -1.0) WHERE id = $5",
    )
    .bind(&c.name)
    .bind(&c.description)
    .bind(&c.strategy)
    .bind(c.updated_at)
    .bind(&c.id)
    .bind(super::nullable_f64(c.max_price_usd))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Replaces the member list with `members` (reference, weight), in order.
pub async fn replace_members(
    tx: &mut Transaction<'_, Any>,
    id: &str,
    members: &[(String, Option<f64>)],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM collection_members WHERE collection_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for (position, (model_ref, weight)) in members.iter().enumerate() {
        sqlx::query(
            "INSERT INTO collection_members (collection_id, position, model_ref, weight) \
             VALUES ($1, $2, $3, NULLIF($4, -1.0))",
        )
        .bind(id)
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .bind(model_ref)
        .bind(super::nullable_f64(*weight))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn delete(pool: &AnyPool, id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM collection_members WHERE collection_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let done = sqlx::query("DELETE FROM collections WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

pub async fn prices(pool: &AnyPool) -> Result<Vec<SqlPrice>, sqlx::Error> {
    sqlx::query_as::<_, SqlPrice>(
        "SELECT provider_key, model_id, input_per_mtok, output_per_mtok, cached_input_per_mtok, \
         cache_write_per_mtok, updated_at FROM model_prices ORDER BY provider_key, model_id",
    )
    .fetch_all(pool)
    .await
}

pub async fn upsert_price(pool: &AnyPool, p: &SqlPrice) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO model_prices (provider_key, model_id, input_per_mtok, output_per_mtok, \
         cached_input_per_mtok, cache_write_per_mtok, updated_at) \
         VALUES ($1, $2, $3, $4, NULLIF($5, -1.0), NULLIF($6, -1.0), $7) \
         ON CONFLICT (provider_key, model_id) DO UPDATE SET input_per_mtok = $3, \
         output_per_mtok = $4, cached_input_per_mtok = NULLIF($5, -1.0), \
         cache_write_per_mtok = NULLIF($6, -1.0), updated_at = $7",
    )
    .bind(&p.provider_key)
    .bind(&p.model_id)
    .bind(p.input_per_mtok)
    .bind(p.output_per_mtok)
    .bind(super::nullable_f64(p.cached_input_per_mtok))
    .bind(super::nullable_f64(p.cache_write_per_mtok))
    .bind(p.updated_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn delete_price(
    pool: &AnyPool,
    provider_key: &str,
    model_id: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM model_prices WHERE provider_key = $1 AND model_id = $2")
        .bind(provider_key)
        .bind(model_id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Requests per connection since `since_ms` (start of the UTC day), to seed daily quotas
/// after a restart.
pub async fn requests_since(
    pool: &AnyPool,
    since_ms: i64,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT connection_id, COUNT(*) FROM request_logs \
         WHERE created_at >= $1 AND connection_id IS NOT NULL GROUP BY connection_id",
    )
    .bind(since_ms)
    .fetch_all(pool)
    .await
}
