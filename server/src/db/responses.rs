//! Stored Responses API answers (`store: true`), per user.

use sqlx::{AnyPool, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct SqlStoredResponse {
    pub id: String,
    pub user_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub previous_response_id: Option<String>,
    /// JSON array of this request's input items.
    pub input_items: String,
    /// JSON response object.
    pub response: String,
}

/// Stores a response and its items (input and output) by id, in one transaction.
pub async fn insert(
    pool: &AnyPool,
    r: &SqlStoredResponse,
    items: &[(String, String)],
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO stored_responses (id, user_id, created_at, expires_at, previous_response_id, input_items, response) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&r.id)
    .bind(&r.user_id)
    .bind(r.created_at)
    .bind(r.expires_at)
    .bind(&r.previous_response_id)
    .bind(&r.input_items)
    .bind(&r.response)
    .execute(&mut *tx)
    .await?;
    for (item_id, item) in items {
        // An item seen before (a client re-sending history with its ids) keeps its first copy.
        sqlx::query(
            "INSERT INTO stored_response_items (user_id, item_id, response_id, expires_at, item) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, item_id) DO NOTHING",
        )
        .bind(&r.user_id)
        .bind(item_id)
        .bind(&r.id)
        .bind(r.expires_at)
        .bind(item)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// A stored item of the user's, by its id.
pub async fn find_item(
    pool: &AnyPool,
    user_id: &str,
    item_id: &str,
    now_ms: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT item FROM stored_response_items WHERE user_id = $1 AND item_id = $2 AND expires_at > $3",
    )
    .bind(user_id)
    .bind(item_id)
    .bind(now_ms)
    .fetch_optional(pool)
    .await
}

/// The user's stored response `id`, unless it has expired.
pub async fn find(
    pool: &AnyPool,
    user_id: &str,
    id: &str,
    now_ms: i64,
) -> Result<Option<SqlStoredResponse>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, user_id, created_at, expires_at, previous_response_id, input_items, response \
         FROM stored_responses WHERE id = $1 AND user_id = $2 AND expires_at > $3",
    )
    .bind(id)
    .bind(user_id)
    .bind(now_ms)
    .fetch_optional(pool)
    .await
}

pub async fn delete(pool: &AnyPool, user_id: &str, id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let gone = sqlx::query("DELETE FROM stored_responses WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        > 0;
    sqlx::query("DELETE FROM stored_response_items WHERE response_id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(gone)
}

/// Deletes up to `limit` expired responses and items; returns how many rows went.
pub async fn prune(pool: &AnyPool, now_ms: i64, limit: i64) -> Result<u64, sqlx::Error> {
    let responses = sqlx::query(
        "DELETE FROM stored_responses WHERE id IN \
         (SELECT id FROM stored_responses WHERE expires_at <= $1 LIMIT $2)",
    )
    .bind(now_ms)
    .bind(limit)
    .execute(pool)
    .await?
    .rows_affected();
    let items = sqlx::query(
        "DELETE FROM stored_response_items WHERE (user_id, item_id) IN \
         (SELECT user_id, item_id FROM stored_response_items WHERE expires_at <= $1 LIMIT $2)",
    )
    .bind(now_ms)
    .bind(limit)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(responses.max(items))
}
