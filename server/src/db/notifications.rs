//! Rows of `notifications` and `notification_webhooks`.

use sqlx::{AnyPool, FromRow};

#[derive(FromRow, Debug, Clone)]
pub struct SqlNotification {
    pub id: String,
    pub user_id: String,
    pub connection_id: String,
    pub kind: String,
    pub title: String,
    pub detail: Option<String>,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

/// Who hears about a connection: its owner, an organization's admins, or (for platform
/// connections) the platform's admins.
pub async fn recipients(
    pool: &AnyPool,
    scope: &str,
    owner_user_id: Option<&str>,
    owner_org_id: Option<&str>,
) -> Result<Vec<String>, sqlx::Error> {
    match (scope, owner_user_id, owner_org_id) {
        ("organization", _, Some(org)) => {
            sqlx::query_scalar(
                "SELECT user_id FROM memberships WHERE org_id = $1 AND role = 'admin'",
            )
            .bind(org)
            .fetch_all(pool)
            .await
        }
        ("platform", _, _) => {
            sqlx::query_scalar("SELECT id FROM users WHERE is_admin = 1")
                .fetch_all(pool)
                .await
        }
        (_, Some(user), _) => Ok(vec![user.to_owned()]),
        _ => Ok(Vec::new()),
    }
}

pub async fn insert(pool: &AnyPool, n: &SqlNotification) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notifications (id, user_id, connection_id, kind, title, detail, created_at, read_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
    )
    .bind(&n.id)
    .bind(&n.user_id)
    .bind(&n.connection_id)
    .bind(&n.kind)
    .bind(&n.title)
    .bind(n.detail.as_deref())
    .bind(n.created_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// A person's newest notifications, newest first.
pub async fn list(
    pool: &AnyPool,
    user_id: &str,
    limit: i64,
) -> Result<Vec<SqlNotification>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, user_id, connection_id, kind, title, detail, created_at, read_at \
         FROM notifications WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn unread(pool: &AnyPool, user_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM notifications WHERE user_id = $1 AND read_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(pool)
    .await
}

pub async fn mark_read(pool: &AnyPool, user_id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL")
        .bind(user_id)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

/// Deletes notifications made before `before_ms`.
pub async fn prune(pool: &AnyPool, before_ms: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM notifications WHERE created_at < $1")
            .bind(before_ms)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

pub async fn webhook(pool: &AnyPool, user_id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT url FROM notification_webhooks WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(pool)
        .await
}

/// Sets (or with `None` removes) a person's webhook.
pub async fn set_webhook(
    pool: &AnyPool,
    user_id: &str,
    url: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM notification_webhooks WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    if let Some(url) = url {
        sqlx::query(
            "INSERT INTO notification_webhooks (user_id, url, created_at) VALUES ($1, $2, $3)",
        )
        .bind(user_id)
        .bind(url)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}
