//! `GET /api/usage`: requests, errors, tokens and cost over a time range, grouped by key,
//! model, connection, collection, user or day. Read from the request log and, for rows
//! already pruned by retention, from the daily totals (which keep day, user, connection
//! and model, so grouping by key or collection covers only the rows still kept).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::db::{Db, StoreError};
use crate::error::ApiError;

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Key,
    Model,
    Connection,
    Collection,
    User,
    Day,
}

impl GroupBy {
    /// The grouping expression over `request_logs` (a fixed text, never the caller's).
    fn log_expr(self) -> &'static str {
        match self {
            GroupBy::Key => "key_id",
            GroupBy::Model => "requested_model",
            GroupBy::Connection => "COALESCE(connection_id, '')",
            GroupBy::Collection => "COALESCE(collection, '')",
            GroupBy::User => "user_id",
            GroupBy::Day => "CAST(created_at / 86400000 AS TEXT)",
        }
    }

    /// The same over `request_log_daily`, where it is kept.
    fn daily_expr(self) -> Option<&'static str> {
        match self {
            GroupBy::Model => Some("model"),
            GroupBy::Connection => Some("connection_id"),
            GroupBy::User => Some("user_id"),
            GroupBy::Day => Some("CAST(day AS TEXT)"),
            GroupBy::Key | GroupBy::Collection => None,
        }
    }
}

/// One group's totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UsageRow {
    /// The key id, model, connection id, collection, user id or `YYYY-MM-DD`; empty for
    /// requests that had none (no connection reached, no collection used).
    pub group: String,
    pub requests: i64,
    pub errors: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// USD; requests to unpriced models add nothing (see `unpriced_requests`).
    pub cost_usd: f64,
    pub unpriced_requests: i64,
}

impl UsageRow {
    fn add(&mut self, other: &UsageRow) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.cost_usd += other.cost_usd;
        self.unpriced_requests += other.unpriced_requests;
    }
}

type Totals = (String, i64, i64, i64, i64, f64, i64);

/// The row filter for one user's rows or everyone's (`$3` is bound either way). A plain
/// `user_id = $3` lets the database use the `(user_id, created_at)` index; an
/// `($3 = '' OR …)` form made it read every row.
fn whose(user_id: Option<&str>) -> &'static str {
    if user_id.is_some() {
        "user_id = $3"
    } else {
        "$3 = ''"
    }
}

/// Usage in `[from, to)` (epoch ms) of `user_id`'s requests (`None`: everyone's).
pub async fn usage(
    db: &Db,
    user_id: Option<&str>,
    from: i64,
    to: i64,
    group_by: GroupBy,
) -> Result<Vec<UsageRow>, ApiError> {
    let logged: Vec<Totals> = sqlx::query_as(&format!(
        "SELECT {g} AS grp, CAST(COUNT(*) AS BIGINT), \
                CAST(SUM(CASE WHEN status_code >= 400 THEN 1 ELSE 0 END) AS BIGINT), \
                CAST(SUM(COALESCE(prompt_tokens, 0)) AS BIGINT), \
                CAST(SUM(COALESCE(completion_tokens, 0)) AS BIGINT), \
                COALESCE(SUM(cost_usd), 0.0), \
                CAST(SUM(CASE WHEN cost_basis = 'unpriced' THEN 1 ELSE 0 END) AS BIGINT) \
         FROM request_logs \
         WHERE created_at >= $1 AND created_at < $2 AND {whose} \
         GROUP BY {g}",
        g = group_by.log_expr(),
        whose = whose(user_id),
    ))
    .bind(from)
    .bind(to)
    .bind(user_id.unwrap_or_default())
    .fetch_all(&db.pool)
    .await
    .map_err(StoreError::from)?;
    let pruned: Vec<Totals> = match group_by.daily_expr() {
        Some(g) => sqlx::query_as(&format!(
            "SELECT {g} AS grp, CAST(SUM(requests) AS BIGINT), CAST(SUM(errors) AS BIGINT), \
                    CAST(SUM(prompt_tokens) AS BIGINT), CAST(SUM(completion_tokens) AS BIGINT), \
                    COALESCE(SUM(cost_usd), 0.0), CAST(0 AS BIGINT) \
             FROM request_log_daily \
             WHERE day >= $1 AND day <= $2 AND {whose} \
             GROUP BY {g}",
            whose = whose(user_id),
        ))
        // Every day the range touches: a pruned day is kept whole.
        .bind(from.div_euclid(DAY_MS))
        .bind((to - 1).div_euclid(DAY_MS))
        .bind(user_id.unwrap_or_default())
        .fetch_all(&db.pool)
        .await
        .map_err(StoreError::from)?,
        None => Vec::new(),
    };
    let mut groups: BTreeMap<String, UsageRow> = BTreeMap::new();
    for (group, requests, errors, prompt_tokens, completion_tokens, cost_usd, unpriced) in
        logged.into_iter().chain(pruned)
    {
        let group = if group_by == GroupBy::Day {
            day_text(&group)
        } else {
            group
        };
        let row = UsageRow {
            group: group.clone(),
            requests,
            errors,
            prompt_tokens,
            completion_tokens,
            cost_usd,
            unpriced_requests: unpriced,
        };
        groups
            .entry(group.clone())
            .or_insert_with(|| UsageRow {
                group,
                ..UsageRow::default()
            })
            .add(&row);
    }
    Ok(groups.into_values().collect())
}

/// Days since the epoch as `YYYY-MM-DD`.
fn day_text(days: &str) -> String {
    days.parse::<i64>()
        .ok()
        .map(|d| crate::clock::rfc3339(d * DAY_MS))
        .and_then(|t| t.get(..10).map(str::to_owned))
        .unwrap_or_else(|| days.to_owned())
}

/// The sum of `rows`.
pub fn total(rows: &[UsageRow]) -> UsageRow {
    let mut sum = UsageRow::default();
    for r in rows {
        sum.add(r);
    }
    sum
}
