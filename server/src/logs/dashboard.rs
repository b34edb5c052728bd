//! The console's dashboard: a user's requests, or those an organization's connections
//! served (for its admins), over the last hour, day, week or month as totals, a time series
//! (`timeline`) and the busiest connections, models, keys and collections, with names
//! instead of ids. The hour and the day are read from the request log, the week and the
//! month from its hourly rollup (kept for 35 days or the log's retention if longer).

use std::collections::HashMap;

use app::dto::{BreakdownDto, DashboardDto, DashboardPointDto};

use super::timeline::{groups, timeline, Group, Scope};
use crate::db::StoreError;
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

/// The busiest rows of a table, most requests first.
fn top(table: HashMap<String, BreakdownDto>) -> Vec<BreakdownDto> {
    let mut rows: Vec<BreakdownDto> = table.into_values().collect();
    rows.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.name.cmp(&b.name)));
    rows.truncate(TOP);
    rows
}

/// The dashboard of `user_id`'s own requests, or with `org` (a handle) of the requests the
/// organization's connections served, for one of its admins.
pub async fn dashboard(
    state: &AppState,
    user_id: &str,
    org: Option<&str>,
    period: &str,
    now_ms: i64,
) -> Result<DashboardDto, ApiError> {
    let (bucket_ms, count) = buckets(period)?;
    // Whole buckets, the last one holding now.
    let from = (now_ms.div_euclid(bucket_ms) - (count as i64 - 1)) * bucket_ms;
    let to = from + bucket_ms * count as i64;

    let snapshot = state.routing.snapshot().await?;
    let scope = match org {
        None => Scope::User(user_id.to_owned()),
        Some(handle) => {
            let org_id = state.orgs.admin_org_id(user_id, handle).await?;
            // From the table, not the routing snapshot: a connection whose credentials
            // cannot be opened still has its traffic.
            Scope::Connections(
                crate::db::connections::ids_of_org(&state.db.pool, &org_id)
                    .await
                    .map_err(StoreError::from)?,
            )
        }
    };
    let series = timeline(&state.db, &scope, from, bucket_ms, count).await?;
    let connection_names: HashMap<&str, &str> = snapshot
        .routes
        .iter()
        .map(|r| (r.id.as_str(), r.name.as_str()))
        .collect();
    // One pass over the range, grouped by all four; summed per table here.
    let groups: Vec<Group> = groups(&state.db, &scope, from, to).await?;
    let key_names: HashMap<String, String> = match scope {
        Scope::User(_) => state
            .keys
            .list(user_id)
            .await?
            .into_iter()
            .map(|k| (k.id, k.name))
            .collect(),
        Scope::Connections(_) => {
            let mut ids: Vec<&str> = groups.iter().map(|g| g.2.as_str()).collect();
            ids.sort_unstable();
            ids.dedup();
            crate::db::keys::labels(&state.db.pool, &ids)
                .await
                .map_err(StoreError::from)?
                .into_iter()
                .collect()
        }
    };
    let mut tables: [HashMap<String, BreakdownDto>; 4] = Default::default();
    for (connection, model, key, collection, requests, errors, tokens, cost) in groups {
        let names = [
            match connection.as_str() {
                "" => "(none reached)".to_owned(),
                id => connection_names
                    .get(id)
                    .map_or_else(|| format!("{id} (deleted)"), |n| (*n).to_owned()),
            },
            model,
            key_names.get(&key).cloned().unwrap_or(key),
            if collection.is_empty() {
                "(no collection)".to_owned()
            } else {
                collection
            },
        ];
        for (table, name) in tables.iter_mut().zip(names) {
            let row = table.entry(name.clone()).or_insert_with(|| BreakdownDto {
                name,
                ..BreakdownDto::default()
            });
            row.requests += requests;
            row.errors += errors;
            row.tokens += tokens;
            row.cost_usd += cost;
        }
    }
    let [by_connection, by_model, by_key, by_collection] = tables.map(top);

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
        organization: org.map(str::to_owned),
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
