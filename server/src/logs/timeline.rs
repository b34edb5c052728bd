//! The dashboard's time series: per time bucket, requests, errors, latency and
//! time-to-first-token percentiles, tokens and cost of a user's requests. Aggregated in
//! SQL over the `(user_id, created_at)` index; percentiles come from a latency histogram
//! the database counts (fixed bins, interpolated inside a bin), so no row leaves it.

//! The dashboard's aggregates: per time bucket, requests, errors, latency and
//! time-to-first-token percentiles, tokens and cost, and the totals per connection, model,
//! key and collection, of a user's requests or of those an organization's connections
//! served. Aggregated in SQL: from the request log itself for buckets shorter than an hour
//! (over the `(user_id, created_at)` and `(connection_id, created_at)` indexes), from its
//! hourly rollup (`hourly.rs`) for whole hours; percentiles come from latency histograms
//! the database counts, so no row leaves it.

use serde::Serialize;
use sqlx::{any::AnyArguments, query::QueryAs, Any};

use super::histogram::{bin_expr, quantile, BINS};
use super::hourly::{LATENCY, TTFT};
use crate::db::{Db, StoreError};
use crate::error::ApiError;

const HOUR_MS: i64 = 3_600_000;

/// One bucket of the series.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Point {
    /// The bucket's start, epoch ms.
    pub t: i64,
    pub requests: i64,
    pub errors: i64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub ttft_p50_ms: Option<f64>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cost_usd: f64,
}

/// The series over `[from, from + buckets * bucket_ms)`, every bucket present (empty ones
/// zero), and the whole range's latency percentiles.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timeline {
    pub bucket_ms: i64,
    pub points: Vec<Point>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

/// Whose requests: a user's own, or those a set of connections (an organization's) served.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    User(String),
    Connections(Vec<String>),
}

type AnyQueryAs<'q, O> = QueryAs<'q, Any, O, AnyArguments<'q>>;

impl Scope {
    /// The `WHERE` condition over parameters `$1…`, and the number of the next parameter.
    fn condition(&self) -> (String, usize) {
        match self {
            Scope::User(_) => ("user_id = $1".to_owned(), 2),
            Scope::Connections(ids) if ids.is_empty() => ("1 = 0".to_owned(), 1),
            Scope::Connections(ids) => {
                let params: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
                (
                    format!("connection_id IN ({})", params.join(", ")),
                    ids.len() + 1,
                )
            }
        }
    }

    fn bind<'q, O>(&'q self, q: AnyQueryAs<'q, O>) -> AnyQueryAs<'q, O> {
        match self {
            Scope::User(id) => q.bind(id.as_str()),
            Scope::Connections(ids) => ids.iter().fold(q, |q, id| q.bind(id.as_str())),
        }
    }
}

/// Where a range is read from: the log, or its hourly rollup when the range is whole hours.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Source {
    Log,
    Hourly,
}

impl Source {
    fn for_range(from: i64, bucket_ms: i64) -> Self {
        if from.rem_euclid(HOUR_MS) == 0 && bucket_ms % HOUR_MS == 0 {
            Source::Hourly
        } else {
            Source::Log
        }
    }
}

/// Bucket, requests, errors, prompt and completion tokens, cost.
type Sums = (i64, i64, i64, i64, i64, f64);
/// Bucket, metric, bin, count.
type BinCount = (i64, i64, i64, i64);

pub async fn timeline(
    db: &Db,
    scope: &Scope,
    from: i64,
    bucket_ms: i64,
    buckets: usize,
) -> Result<Timeline, ApiError> {
    let bucket_ms = bucket_ms.max(1);
    let to = from + bucket_ms * buckets as i64;
    let (condition, n) = scope.condition();
    let (f, t, b) = (n, n + 1, n + 2);
    let source = Source::for_range(from, bucket_ms);
    let sums_sql = match source {
        Source::Log => format!(
            "SELECT CAST((created_at - ${f}) / ${b} AS BIGINT), CAST(COUNT(*) AS BIGINT), \
                    CAST(SUM(CASE WHEN status_code >= 400 THEN 1 ELSE 0 END) AS BIGINT), \
                    CAST(SUM(COALESCE(prompt_tokens, 0)) AS BIGINT), \
                    CAST(SUM(COALESCE(completion_tokens, 0)) AS BIGINT), \
                    COALESCE(SUM(cost_usd), 0.0) \
             FROM request_logs WHERE {condition} AND created_at >= ${f} AND created_at < ${t} \
             GROUP BY 1"
        ),
        Source::Hourly => format!(
            "SELECT CAST((hour - ${f}) / ${b} AS BIGINT), CAST(SUM(requests) AS BIGINT), \
                    CAST(SUM(errors) AS BIGINT), CAST(SUM(prompt_tokens) AS BIGINT), \
                    CAST(SUM(completion_tokens) AS BIGINT), COALESCE(SUM(cost_usd), 0.0) \
             FROM request_log_hourly WHERE {condition} AND hour >= ${f} AND hour < ${t} \
             GROUP BY 1"
        ),
    };
    let sums: Vec<Sums> = scope
        .bind(sqlx::query_as(&sums_sql))
        .bind(from)
        .bind(to)
        .bind(bucket_ms)
        .fetch_all(&db.pool)
        .await
        .map_err(StoreError::from)?;
    let bin_sqls = match source {
        Source::Log => [(LATENCY, "latency_ms"), (TTFT, "ttft_ms")]
            .map(|(metric, column)| {
                format!(
                    "SELECT CAST((created_at - ${f}) / ${b} AS BIGINT), {metric}, {bin}, \
                            CAST(COUNT(*) AS BIGINT) \
                     FROM request_logs WHERE {condition} AND created_at >= ${f} AND created_at < ${t} \
                       AND {column} IS NOT NULL \
                     GROUP BY 1, 2, 3",
                    bin = bin_expr(column)
                )
            })
            .to_vec(),
        Source::Hourly => vec![format!(
            "SELECT CAST((hour - ${f}) / ${b} AS BIGINT), metric, bin, CAST(SUM(requests) AS BIGINT) \
             FROM request_log_hourly_latency WHERE {condition} AND hour >= ${f} AND hour < ${t} \
             GROUP BY 1, 2, 3"
        )],
    };
    let mut bins_counted: Vec<BinCount> = Vec::new();
    for sql in &bin_sqls {
        let rows: Vec<BinCount> = scope
            .bind(sqlx::query_as(sql))
            .bind(from)
            .bind(to)
            .bind(bucket_ms)
            .fetch_all(&db.pool)
            .await
            .map_err(StoreError::from)?;
        bins_counted.extend(rows);
    }

    let mut lat = vec![vec![0i64; BINS]; buckets];
    let mut first = vec![vec![0i64; BINS]; buckets];
    let mut all = vec![0i64; BINS];
    for (b, metric, bin, n) in bins_counted {
        let Some(b) = usize::try_from(b).ok().filter(|b| *b < buckets) else {
            continue;
        };
        let Some(bin) = usize::try_from(bin).ok().filter(|i| *i < BINS) else {
            continue;
        };
        if metric == LATENCY {
            lat[b][bin] += n;
            all[bin] += n;
        } else {
            first[b][bin] += n;
        }
    }
    let mut points: Vec<Point> = (0..buckets)
        .map(|i| Point {
            t: from + i as i64 * bucket_ms,
            p50_ms: quantile(&lat[i], 0.5),
            p95_ms: quantile(&lat[i], 0.95),
            ttft_p50_ms: quantile(&first[i], 0.5),
            ..Point::default()
        })
        .collect();
    for (b, requests, errors, prompt, completion, cost) in sums {
        if let Some(p) = usize::try_from(b).ok().and_then(|b| points.get_mut(b)) {
            p.requests = requests;
            p.errors = errors;
            p.prompt_tokens = prompt;
            p.completion_tokens = completion;
            p.cost_usd = cost;
        }
    }
    Ok(Timeline {
        bucket_ms,
        points,
        p50_ms: quantile(&all, 0.5),
        p95_ms: quantile(&all, 0.95),
    })
}

/// One group of a range's requests by connection id (`""`: none reached), model, key id and
/// collection (`""`: none): requests, errors, tokens and cost.
pub type Group = (String, String, String, String, i64, i64, i64, f64);

/// The range's requests grouped by connection, model, key and collection, in one pass
/// (from the hourly rollup when the range is whole hours).
pub async fn groups(db: &Db, scope: &Scope, from: i64, to: i64) -> Result<Vec<Group>, ApiError> {
    let (condition, n) = scope.condition();
    let (f, t) = (n, n + 1);
    let sql = match Source::for_range(from, to - from) {
        Source::Log => format!(
            "SELECT COALESCE(connection_id, ''), requested_model, key_id, COALESCE(collection, ''), \
                    CAST(COUNT(*) AS BIGINT), \
                    CAST(SUM(CASE WHEN status_code >= 400 THEN 1 ELSE 0 END) AS BIGINT), \
                    CAST(SUM(COALESCE(prompt_tokens, 0) + COALESCE(completion_tokens, 0)) AS BIGINT), \
                    COALESCE(SUM(cost_usd), 0.0) \
             FROM request_logs WHERE {condition} AND created_at >= ${f} AND created_at < ${t} \
             GROUP BY 1, 2, 3, 4"
        ),
        Source::Hourly => format!(
            "SELECT connection_id, model, key_id, collection, CAST(SUM(requests) AS BIGINT), \
                    CAST(SUM(errors) AS BIGINT), \
                    CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT), \
                    COALESCE(SUM(cost_usd), 0.0) \
             FROM request_log_hourly WHERE {condition} AND hour >= ${f} AND hour < ${t} \
             GROUP BY 1, 2, 3, 4"
        ),
    };
    Ok(scope
        .bind(sqlx::query_as(&sql))
        .bind(from)
        .bind(to)
        .fetch_all(&db.pool)
        .await
        .map_err(StoreError::from)?)
}

/// One connection's requests since a time: counts and the median latency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionSpan {
    pub requests: i64,
    pub errors: i64,
    pub p50_ms: Option<f64>,
}

/// One connection's requests at or after `from` (every user's: counts and latency only),
/// read through the `(connection_id, created_at)` index; `None` when there were none.
pub async fn connection_span(
    db: &Db,
    connection_id: &str,
    from: i64,
) -> Result<Option<ConnectionSpan>, ApiError> {
    let sql = format!(
        "SELECT {bin} AS bin, CAST(COUNT(*) AS BIGINT), \
                CAST(SUM(CASE WHEN status_code >= 400 THEN 1 ELSE 0 END) AS BIGINT) \
         FROM request_logs WHERE connection_id = $1 AND created_at >= $2 \
         GROUP BY 1",
        bin = bin_expr("latency_ms")
    );
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(&sql)
        .bind(connection_id)
        .bind(from)
        .fetch_all(&db.pool)
        .await
        .map_err(StoreError::from)?;
    let mut counts = vec![0i64; BINS];
    let mut errors = 0;
    for (bin, n, e) in rows {
        if let Some(slot) = usize::try_from(bin).ok().and_then(|b| counts.get_mut(b)) {
            *slot += n;
        }
        errors += e;
    }
    let requests: i64 = counts.iter().sum();
    Ok((requests > 0).then(|| ConnectionSpan {
        requests,
        errors,
        p50_ms: quantile(&counts, 0.5),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_hours_are_read_from_the_rollup() {
        assert_eq!(Source::for_range(2 * HOUR_MS, 6 * HOUR_MS), Source::Hourly);
        assert_eq!(Source::for_range(2 * HOUR_MS, 30 * 60_000), Source::Log);
        assert_eq!(Source::for_range(HOUR_MS + 60_000, HOUR_MS), Source::Log);
    }

    #[test]
    fn a_scope_numbers_its_parameters_first() {
        assert_eq!(
            Scope::User("u".into()).condition(),
            ("user_id = $1".into(), 2)
        );
        let org = Scope::Connections(vec!["a".into(), "b".into()]);
        assert_eq!(org.condition(), ("connection_id IN ($1, $2)".into(), 3));
        assert_eq!(Scope::Connections(vec![]).condition(), ("1 = 0".into(), 1));
    }
}
