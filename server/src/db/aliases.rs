//! Rows of `model_aliases`.

use sqlx::{AnyPool, FromRow};

#[derive(FromRow, Debug, Clone)]
pub struct SqlAlias {
    pub id: String,
    /// `user` or `organization`.
    pub owner_kind: String,
    pub owner_id: String,
    pub name: String,
    pub target: String,
    pub description: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    // joined
    pub owner_handle: String,
}

macro_rules! alias_select {
    () => {
        "SELECT a.id, a.owner_kind, a.owner_id, a.name, a.target, a.description, a.created_by, \
                a.created_at, a.updated_at, COALESCE(u.handle, o.handle, '') AS owner_handle \
         FROM model_aliases a \
         LEFT JOIN users u ON a.owner_kind = 'user' AND u.id = a.owner_id \
         LEFT JOIN organizations o ON a.owner_kind = 'organization' AND o.id = a.owner_id "
    };
}

pub async fn all(pool: &AnyPool) -> Result<Vec<SqlAlias>, sqlx::Error> {
    sqlx::query_as::<_, SqlAlias>(concat!(alias_select!(), "ORDER BY a.owner_id, a.name"))
        .fetch_all(pool)
        .await
}

/// The aliases `user_id` routes with: their own and their organizations'.
pub async fn visible(pool: &AnyPool, user_id: &str) -> Result<Vec<SqlAlias>, sqlx::Error> {
    sqlx::query_as::<_, SqlAlias>(concat!(
        alias_select!(),
        "WHERE (a.owner_kind = 'user' AND a.owner_id = $1) \
            OR (a.owner_kind = 'organization' AND a.owner_id IN \
                (SELECT org_id FROM memberships WHERE user_id = $1)) \
         ORDER BY a.owner_kind DESC, a.name"
    ))
    .bind(user_id)
    .fetch_all(pool)
    .await
}

pub async fn find(pool: &AnyPool, id: &str) -> Result<Option<SqlAlias>, sqlx::Error> {
    sqlx::query_as::<_, SqlAlias>(concat!(alias_select!(), "WHERE a.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn insert(pool: &AnyPool, a: &SqlAlias) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO model_aliases (id, owner_kind, owner_id, name, target, description, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&a.id)
    .bind(&a.owner_kind)
    .bind(&a.owner_id)
    .bind(&a.name)
    .bind(&a.target)
    .bind(&a.description)
    .bind(&a.created_by)
    .bind(a.created_at)
    .bind(a.updated_at)
    .execute(pool)
    .await
    .map(|_| ())
}

pub async fn update(pool: &AnyPool, a: &SqlAlias) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE model_aliases SET name = $1, target = $2, description = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(&a.name)
    .bind(&a.target)
    .bind(&a.description)
    .bind(a.updated_at)
    .bind(&a.id)
    .execute(pool)
    .await
    .map(|_| ())
}

pub async fn delete(pool: &AnyPool, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM model_aliases WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())
}
