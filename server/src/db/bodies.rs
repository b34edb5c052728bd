//! Rows of `body_capture` (who keeps bodies, for how long) and `request_bodies`.

use sqlx::{Any, AnyPool, Transaction};

/// Every person who turned capture on: user id → retention in days.
pub async fn settings(pool: &AnyPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT user_id, retention_days FROM body_capture")
        .fetch_all(pool)
        .await
}

pub async fn setting(pool: &AnyPool, user_id: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT retention_days FROM body_capture WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(pool)
        .await
}

/// Turns capture on for `days` days, or with `None` off (what was kept stays until its time).
pub async fn set(
    pool: &AnyPool,
    user_id: &str,
    days: Option<i64>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM body_capture WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    if let Some(days) = days {
        sqlx::query(
            "INSERT INTO body_capture (user_id, retention_days, updated_at) VALUES ($1, $2, $3)",
        )
        .bind(user_id)
        .bind(days)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Writes a call's bodies in the log writer's transaction.
pub async fn insert(
    tx: &mut Transaction<'_, Any>,
    log_id: &str,
    user_id: &str,
    keep_until: i64,
    request: &str,
    response: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO request_bodies (log_id, user_id, keep_until, request, response) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(log_id)
    .bind(user_id)
    .bind(keep_until)
    .bind(request)
    .bind(response)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The bodies of `user_id`'s call `log_id`, while kept.
pub async fn find(
    pool: &AnyPool,
    user_id: &str,
    log_id: &str,
    now: i64,
) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT request, response FROM request_bodies \
         WHERE log_id = $1 AND user_id = $2 AND keep_until > $3",
    )
    .bind(log_id)
    .bind(user_id)
    .bind(now)
    .fetch_optional(pool)
    .await
}

/// Deletes bodies past their time.
pub async fn prune(pool: &AnyPool, now: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM request_bodies WHERE keep_until <= $1")
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}
