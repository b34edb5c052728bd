//! Request-log retention (`--log-retention-days`): rows older than the retention are rolled
//! up into `request_log_daily` (one row per UTC day, user, connection and requested model:
//! what usage charts need) and deleted, a few hundred at a time with a pause between
//! batches, so the log writer never waits long for the database. The hourly rollup (the
//! dashboard's) is kept for the retention or 35 days, whichever is longer.

use std::time::Duration;

use crate::clock::now_ms;
use crate::db::Db;
use crate::ids::ordered_id_floor;

/// Rows rolled up and deleted per transaction.
const BATCH: i64 = 500;
/// How often old rows are looked for.
const EVERY: Duration = Duration::from_secs(600);
/// The writer's turn between two batches.
const PAUSE: Duration = Duration::from_millis(20);
/// The hourly rollup outlives a shorter retention: the dashboard's month reads it.
const HOURLY_AT_LEAST_MS: i64 = 35 * 86_400_000;

/// Prunes in the background every ten minutes (and once at start); a zero retention keeps
/// every row.
pub fn spawn(db: Db, retention: Duration) {
    if retention.is_zero() {
        return;
    }
    let keep_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            match prune(&db, now_ms().saturating_sub(keep_ms)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "pruned request-log rows past their retention"),
                Err(e) => tracing::warn!(error = %e, "could not prune the request log"),
            }
            let hourly_before = now_ms().saturating_sub(keep_ms.max(HOURLY_AT_LEAST_MS));
            if let Err(e) = super::hourly::prune(&db, hourly_before).await {
                tracing::warn!(error = %e, "could not prune the request log's hourly rollup");
            }
        }
    });
}

/// Rolls up and deletes every row made before `before_ms`; returns how many went.
pub async fn prune(db: &Db, before_ms: i64) -> Result<u64, sqlx::Error> {
    let floor = ordered_id_floor("req", before_ms);
    let mut pruned = 0;
    loop {
        // Ids sort by time: the batch is every row up to its last id.
        let last: Option<String> = sqlx::query_scalar(
            "SELECT MAX(id) FROM (SELECT id FROM request_logs WHERE id < $1 ORDER BY id LIMIT $2) batch",
        )
        .bind(&floor)
        .bind(BATCH)
        .fetch_one(&db.pool)
        .await?;
        let Some(last) = last else {
            return Ok(pruned);
        };
        let mut tx = db.pool.begin().await?;
        sqlx::query(
            "INSERT INTO request_log_daily \
                 (day, user_id, connection_id, model, requests, errors, prompt_tokens, completion_tokens, \
                  cost_usd) \
             SELECT created_at / 86400000, user_id, COALESCE(connection_id, ''), requested_model, COUNT(*), \
                    SUM(CASE WHEN status_code >= 400 THEN 1 ELSE 0 END), \
                    SUM(COALESCE(prompt_tokens, 0)), SUM(COALESCE(completion_tokens, 0)), \
                    SUM(COALESCE(cost_usd, 0)) \
             FROM request_logs WHERE id <= $1 \
             GROUP BY created_at / 86400000, user_id, COALESCE(connection_id, ''), requested_model \
             ON CONFLICT (day, user_id, connection_id, model) DO UPDATE SET \
                 requests = request_log_daily.requests + excluded.requests, \
                 errors = request_log_daily.errors + excluded.errors, \
                 prompt_tokens = request_log_daily.prompt_tokens + excluded.prompt_tokens, \
                 completion_tokens = request_log_daily.completion_tokens + excluded.completion_tokens, \
                 cost_usd = request_log_daily.cost_usd + excluded.cost_usd",
        )
        .bind(&last)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO key_spend_daily (day, key_id, cost_usd) \
             SELECT created_at / 86400000, key_id, SUM(COALESCE(cost_usd, 0)) \
             FROM request_logs WHERE id <= $1 AND cost_usd IS NOT NULL \
             GROUP BY created_at / 86400000, key_id \
             ON CONFLICT (day, key_id) DO UPDATE SET \
                 cost_usd = key_spend_daily.cost_usd + excluded.cost_usd",
        )
        .bind(&last)
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query("DELETE FROM request_logs WHERE id <= $1")
            .bind(&last)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        pruned += deleted;
        tokio::time::sleep(PAUSE).await;
    }
}
