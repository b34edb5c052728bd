//! The console's dashboard: a user's requests over the last hour, day, week or month as
//! totals, a time series (`timeline`) and the busiest connections, models, keys and
//! collections (`usage`), with names instead of ids.

use std::collections::HashMap;

use app::dto::{BreakdownDto, DashboardDto, DashboardPointDto};

use super::timeline::timeline;
use super::usage::{self, GroupBy, UsageRow};
use crate::error::{ApiError, RequestError};
use crate::state::AppState;

const MINUTE_MS: i64 = 60_000;
/// Rows per breakdown table.
const TOP: usize = 8;

/// Bucket length and count of each period.
fn buckets(period: &str) -> Result<(i64, usize), RequestError> {
    Ok(match period {
        "hour" => (MINUTE_MS, 60),
        "day" => (30 * MINUTE_MS, 48),
        "week" => (6 * 60 * MINUTE_MS, 28),
        "month" => (24 * 60 * MINUTE_MS, 30),
        _ => {
            return Err(RequestError::InvalidField {
                field: "period",
                message: "period must be hour, day, week or month".into(),
            })
        }
    })
}

pub async fn dashboard(
    state: &AppState,
    user_id: &str,
    period: &str,
    now_ms: i64,
) -> Result<DashboardDto, ApiError> {
    let (bucket_ms, count) = buckets(period)?;
    // Whole buckets, the last one holding now.
    let from = (now_ms.div_euclid(bucket_ms) - (count as i64 - 1)) * bucket_ms;
    let to = from + bucket_ms * count as i64;
    let series = timeline(&state.db, user_id, from, bucket_ms, count).await?;

    let snapshot = state.routing.snapshot().await?;
    let connection_names: HashMap<&str, &str> = snapshot
        .routes
        .iter()
        .map(|r| (r.id.as_str(), r.name.as_str()))
        .collect();
    let key_names: HashMap<String, String> = state
        .keys
        .list(user_id)
        .await?
        .into_iter()
        .map(|k| (k.id, k.name))
        .collect();
    let by = |rows: Vec<UsageRow>, name: &dyn Fn(&str) -> String| {
        let mut rows: Vec<BreakdownDto> = rows
            .into_iter()
            .map(|r| BreakdownDto {
                name: name(&r.group),
                requests: r.requests,
                errors: r.errors,
                tokens: r.prompt_tokens + r.completion_tokens,
                cost_usd: r.cost_usd,
            })
            .collect();
        rows.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.name.cmp(&b.name)));
        rows.truncate(TOP);
        rows
    };
    let usage_of = |g| usage::usage(&state.db, Some(user_id), from, to, g);
    let by_connection = by(usage_of(GroupBy::Connection).await?, &|id| match id {
        "" => "(none reached)".into(),
        id => connection_names
            .get(id)
            .map_or_else(|| format!("{id} (deleted)"), |n| (*n).to_owned()),
    });
    let by_model = by(usage_of(GroupBy::Model).await?, &|m| m.to_owned());
    let by_key = by(usage_of(GroupBy::Key).await?, &|id| {
        key_names.get(id).cloned().unwrap_or_else(|| id.to_owned())
    });
    let by_collection = by(usage_of(GroupBy::Collection).await?, &|c| match c {
        "" => "(no collection)".into(),
        c => c.to_owned(),
    });

    let points: Vec<DashboardPointDto> = series
        .points
        .iter()
        .map(|p| DashboardPointDto {
            t: p.t,
            requests: p.requests,
            errors: p.errors,
            p50_ms: p.p50_ms,
            p95_ms: p.p95_ms,
            ttft_p50_ms: p.ttft_p50_ms,
            tokens: p.prompt_tokens + p.completion_tokens,
            cost_usd: p.cost_usd,
        })
        .collect();
    let sum = |f: fn(&super::timeline::Point) -> i64| series.points.iter().map(f).sum::<i64>();
    Ok(DashboardDto {
        period: period.to_owned(),
        from_ms: from,
        bucket_ms,
        requests: sum(|p| p.requests),
        errors: sum(|p| p.errors),
        prompt_tokens: sum(|p| p.prompt_tokens),
        completion_tokens: sum(|p| p.completion_tokens),
        cost_usd: series.points.iter().map(|p| p.cost_usd).sum(),
        p50_ms: series.p50_ms,
        p95_ms: series.p95_ms,
        points,
        by_connection,
        by_model,
        by_key,
        by_collection,
    })
}
