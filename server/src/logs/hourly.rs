//! The request log's hourly rollup, what the dashboard's week and month read: a month of a
//! busy user's rows is a million, its hours a few thousand. The log writer adds each batch
//! in the same transaction as its rows (`add`), so the rollup never disagrees with the log;
//! `rebuild` recounts it from the log (at a start whose histogram bins differ from those
//! it was counted with, and from `langmart rebuild-rollups` after rows were written by
//! other means).

use std::collections::BTreeMap;

use sqlx::{Any, Transaction};

use super::histogram::{bin_expr, bin_of, version};
use super::LogRow;
use crate::db::Db;

const HOUR_MS: i64 = 3_600_000;
/// Rows per upsert statement (a statement is one round trip to the database).
const ROWS_PER_STATEMENT: usize = 64;
/// `metric` of the latency and the time-to-first-token histograms.
pub const LATENCY: i64 = 0;
pub const TTFT: i64 = 1;
/// The name `rollup_versions` keeps this rollup's version under.
const NAME: &str = "request_log_hourly";

/// Hour, user, connection, model, key, collection.
type GroupKey<'a> = (i64, &'a str, &'a str, &'a str, &'a str, &'a str);
/// Hour, user, connection, metric, bin.
type BinKey<'a> = (i64, &'a str, &'a str, i64, i64);

#[derive(Default)]
struct Sums {
    requests: i64,
    errors: i64,
    prompt_tokens: i64,
    completion_tokens: i64,
    cost_usd: f64,
}

fn hour_of(ms: i64) -> i64 {
    ms - ms.rem_euclid(HOUR_MS)
}

/// Adds a batch of rows to the rollup, inside the transaction that writes them.
pub async fn add(tx: &mut Transaction<'_, Any>, rows: &[LogRow]) -> Result<(), sqlx::Error> {
    // Ordered maps: rows are upserted in key order, so two writers (replicas on one
    // PostgreSQL) lock the same rows in the same order and cannot deadlock each other.
    let mut groups: BTreeMap<GroupKey, Sums> = BTreeMap::new();
    let mut bins: BTreeMap<BinKey, i64> = BTreeMap::new();
    for r in rows {
        let hour = hour_of(r.created_at);
        let connection = r.connection_id.as_deref().unwrap_or("");
        let key = (
            hour,
            r.user_id.as_str(),
            connection,
            r.requested_model.as_str(),
            r.key_id.as_str(),
            r.collection.as_deref().unwrap_or(""),
        );
        let g = groups.entry(key).or_default();
        g.requests += 1;
        g.errors += i64::from(r.status_code >= 400);
        g.prompt_tokens += r.prompt_tokens.unwrap_or(0);
        g.completion_tokens += r.completion_tokens.unwrap_or(0);
        g.cost_usd += r.cost_usd.unwrap_or(0.0);
        let bin = |ms: i64| i64::try_from(bin_of(ms)).unwrap_or(0);
        *bins
            .entry((hour, &r.user_id, connection, LATENCY, bin(r.latency_ms)))
            .or_default() += 1;
        if let Some(ttft) = r.ttft_ms {
            *bins
                .entry((hour, &r.user_id, connection, TTFT, bin(ttft)))
                .or_default() += 1;
        }
    }
    let groups: Vec<_> = groups.into_iter().collect();
    for chunk in groups.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO request_log_hourly (hour, user_id, connection_id, model, key_id, collection, \
                 requests, errors, prompt_tokens, completion_tokens, cost_usd) VALUES {} \
             ON CONFLICT (user_id, hour, connection_id, model, key_id, collection) DO UPDATE SET \
                 requests = request_log_hourly.requests + excluded.requests, \
                 errors = request_log_hourly.errors + excluded.errors, \
                 prompt_tokens = request_log_hourly.prompt_tokens + excluded.prompt_tokens, \
                 completion_tokens = request_log_hourly.completion_tokens + excluded.completion_tokens, \
                 cost_usd = request_log_hourly.cost_usd + excluded.cost_usd",
            placeholders(chunk.len(), 11)
        );
        let mut q = sqlx::query(&sql);
        for ((hour, user, connection, model, key, collection), s) in chunk {
            q = q
                .bind(*hour)
                .bind(*user)
                .bind(*connection)
                .bind(*model)
                .bind(*key)
                .bind(*collection)
                .bind(s.requests)
                .bind(s.errors)
                .bind(s.prompt_tokens)
                .bind(s.completion_tokens)
                .bind(s.cost_usd);
        }
        q.execute(&mut **tx).await?;
    }
    let bins: Vec<_> = bins.into_iter().collect();
    for chunk in bins.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO request_log_hourly_latency (hour, user_id, connection_id, metric, bin, requests) \
             VALUES {} \
             ON CONFLICT (user_id, hour, connection_id, metric, bin) DO UPDATE SET \
                 requests = request_log_hourly_latency.requests + excluded.requests",
            placeholders(chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for ((hour, user, connection, metric, bin), n) in chunk {
            q = q
                .bind(*hour)
                .bind(*user)
                .bind(*connection)
                .bind(*metric)
                .bind(*bin)
                .bind(*n);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// `($1, …, $width), ($width+1, …)`: `rows` tuples of `width` parameters.
fn placeholders(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| {
            let params: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({})", params.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Recounts the rollup from the request log, in one transaction, and records the bins it
/// was counted with. Returns the rows of the log it counted.
pub async fn rebuild(db: &Db) -> Result<i64, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    sqlx::query("DELETE FROM request_log_hourly")
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM request_log_hourly_latency")
        .execute(&mut *tx)
        .await?;
    let hour = format!("(created_at - (created_at % {HOUR_MS}))");
    sqlx::query(&format!(
        "INSERT INTO request_log_hourly (hour, user_id, connection_id, model, key_id, collection, \
             requests, errors, prompt_tokens, completion_tokens, cost_usd) \
         SELECT {hour}, user_id, COALESCE(connection_id, ''), requested_model, key_id, \
                COALESCE(collection, ''), COUNT(*), \
                SUM(CASE WHEN status_code >= 400 THEN 1 ELSE 0 END), \
                SUM(COALESCE(prompt_tokens, 0)), SUM(COALESCE(completion_tokens, 0)), \
                SUM(COALESCE(cost_usd, 0.0)) \
         FROM request_logs GROUP BY 1, 2, 3, 4, 5, 6"
    ))
    .execute(&mut *tx)
    .await?;
    for (metric, column) in [(LATENCY, "latency_ms"), (TTFT, "ttft_ms")] {
        sqlx::query(&format!(
            "INSERT INTO request_log_hourly_latency (hour, user_id, connection_id, metric, bin, requests) \
             SELECT {hour}, user_id, COALESCE(connection_id, ''), {metric}, {bin}, COUNT(*) \
             FROM request_logs WHERE {column} IS NOT NULL GROUP BY 1, 2, 3, 4, 5",
            bin = bin_expr(column)
        ))
        .execute(&mut *tx)
        .await?;
    }
    let counted: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM request_logs")
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM rollup_versions WHERE name = $1")
        .bind(NAME)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO rollup_versions (name, version) VALUES ($1, $2)")
        .bind(NAME)
        .bind(version())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(counted)
}

/// Rebuilds the rollup when it was counted with other bins, or never (a database that had
/// request-log rows before the rollup existed). Run at start, before the log writer.
pub async fn ensure(db: &Db) -> Result<(), sqlx::Error> {
    let recorded: Option<String> =
        sqlx::query_scalar("SELECT version FROM rollup_versions WHERE name = $1")
            .bind(NAME)
            .fetch_optional(&db.pool)
            .await?;
    if recorded.as_deref() != Some(version().as_str()) {
        let rows = rebuild(db).await?;
        tracing::info!(rows, "counted the request log's hourly rollup");
    }
    Ok(())
}

/// Deletes the rollup's hours that end before `before_ms`.
pub async fn prune(db: &Db, before_ms: i64) -> Result<u64, sqlx::Error> {
    let mut deleted = 0;
    for table in ["request_log_hourly", "request_log_hourly_latency"] {
        deleted += sqlx::query(&format!("DELETE FROM {table} WHERE hour + $2 <= $1"))
            .bind(before_ms)
            .bind(HOUR_MS)
            .execute(&db.pool)
            .await?
            .rows_affected();
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_every_row() {
        assert_eq!(placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }

    #[test]
    fn hours_start_on_the_hour_even_before_1970() {
        assert_eq!(hour_of(HOUR_MS + 5), HOUR_MS);
        assert_eq!(hour_of(-1), -HOUR_MS);
    }
}
