//! The dashboard's time series: per time bucket, requests, errors, latency and
//! time-to-first-token percentiles, tokens and cost of a user's requests. Aggregated in
//! SQL over the `(user_id, created_at)` index; percentiles come from a latency histogram
//! the database counts (fixed bins, interpolated inside a bin), so no row leaves it.

use serde::Serialize;

use crate::db::{Db, StoreError};
use crate::error::ApiError;

/// Upper bounds (ms) of the histogram bins; the last bin is everything above.
const BINS_MS: [i64; 19] = [
    1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 750, 1_000, 2_000, 3_000, 5_000, 10_000, 20_000,
    60_000, 300_000,
];

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

/// `CASE` over a column giving its bin index (a fixed text, never the caller's).
fn bin_expr(column: &str) -> String {
    let mut sql = String::from("CASE");
    for (i, bound) in BINS_MS.iter().enumerate() {
        sql.push_str(&format!(" WHEN {column} < {bound} THEN {i}"));
    }
    sql.push_str(&format!(" ELSE {} END", BINS_MS.len()));
    sql
}

/// The `q` quantile of a histogram (`counts[i]` values in bin `i`), linear inside a bin.
fn quantile(counts: &[i64], q: f64) -> Option<f64> {
    let total: i64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let mut seen = 0i64;
    for (i, &n) in counts.iter().enumerate() {
        if n > 0 && (seen + n) as f64 >= rank {
            let low = if i == 0 { 0 } else { BINS_MS[i - 1] } as f64;
            let high = BINS_MS
                .get(i)
                .copied()
                .unwrap_or(BINS_MS[BINS_MS.len() - 1] * 2) as f64;
            let within = ((rank - seen as f64) / n as f64).clamp(0.0, 1.0);
            return Some(low + (high - low) * within);
        }
        seen += n;
    }
    None
}

type Sums = (i64, i64, i64, i64, i64, f64);

pub async fn timeline(
    db: &Db,
    user_id: &str,
    from: i64,
    bucket_ms: i64,
    buckets: usize,
) -> Result<Timeline, ApiError> {
    let bucket_ms = bucket_ms.max(1);
    let to = from + bucket_ms * buckets as i64;
    let sums: Vec<Sums> = sqlx::query_as(
        "SELECT CAST((created_at - $2) / $4 AS BIGINT) AS b, CAST(COUNT(*) AS BIGINT), \
                CAST(SUM(CASE WHEN status_code >= 400 THEN 1 ELSE 0 END) AS BIGINT), \
                CAST(SUM(COALESCE(prompt_tokens, 0)) AS BIGINT), \
                CAST(SUM(COALESCE(completion_tokens, 0)) AS BIGINT), \
                COALESCE(SUM(cost_usd), 0.0) \
         FROM request_logs WHERE user_id = $1 AND created_at >= $2 AND created_at < $3 \
         GROUP BY 1",
    )
    .bind(user_id)
    .bind(from)
    .bind(to)
    .bind(bucket_ms)
    .fetch_all(&db.pool)
    .await
    .map_err(StoreError::from)?;
    let histogram = |column: &'static str| {
        let sql = format!(
            "SELECT CAST((created_at - $2) / $4 AS BIGINT) AS b, {bin} AS bin, CAST(COUNT(*) AS BIGINT) \
             FROM request_logs WHERE user_id = $1 AND created_at >= $2 AND created_at < $3 \
               AND {column} IS NOT NULL \
             GROUP BY 1, 2",
            bin = bin_expr(column)
        );
        async move {
            sqlx::query_as::<_, (i64, i64, i64)>(&sql)
                .bind(user_id)
                .bind(from)
                .bind(to)
                .bind(bucket_ms)
                .fetch_all(&db.pool)
                .await
                .map_err(StoreError::from)
        }
    };
    let latency = histogram("latency_ms").await?;
    let ttft = histogram("ttft_ms").await?;

    let bins = BINS_MS.len() + 1;
    let mut lat = vec![vec![0i64; bins]; buckets];
    let mut first = vec![vec![0i64; bins]; buckets];
    let mut all = vec![0i64; bins];
    let slot = |b: i64, bin: i64| {
        let b = usize::try_from(b).ok().filter(|b| *b < buckets)?;
        let bin = usize::try_from(bin).ok().filter(|i| *i < bins)?;
        Some((b, bin))
    };
    for (b, bin, n) in latency {
        if let Some((b, bin)) = slot(b, bin) {
            lat[b][bin] += n;
            all[bin] += n;
        }
    }
    for (b, bin, n) in ttft {
        if let Some((b, bin)) = slot(b, bin) {
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
    let mut counts = vec![0i64; BINS_MS.len() + 1];
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
    fn quantiles_interpolate_inside_their_bin() {
        // 10 values in [100, 200): the median is half-way through the bin.
        let mut counts = vec![0; BINS_MS.len() + 1];
        counts[7] = 10;
        assert_eq!(quantile(&counts, 0.5), Some(150.0));
        assert_eq!(quantile(&counts, 0.95), Some(195.0));
        assert_eq!(quantile(&vec![0; BINS_MS.len() + 1], 0.5), None);
        // 90 fast, 10 slow: p50 among the fast, p95 among the slow.
        counts[7] = 0;
        counts[2] = 90; // [2, 5)
        counts[12] = 10; // [1000, 2000)
        assert!(quantile(&counts, 0.5).unwrap() < 5.0);
        assert!(quantile(&counts, 0.95).unwrap() >= 1000.0);
    }

    #[test]
    fn the_bin_expression_covers_every_bound() {
        let sql = bin_expr("latency_ms");
        assert!(sql.starts_with("CASE WHEN latency_ms < 1 THEN 0"));
        assert!(sql.ends_with(&format!("ELSE {} END", BINS_MS.len())));
    }
}
