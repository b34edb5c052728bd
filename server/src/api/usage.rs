//! `GET /api/usage?from=&to=&group_by=`: what the caller's requests used and cost (a
//! platform admin's: everyone's), grouped by `key`, `model`, `connection`, `collection`,
//! `user` or `day` (the default). `from` and `to` are RFC 3339 times or `YYYY-MM-DD` days
//! (UTC); the range is `[from, to)`, by default the last 30 days. `GET /api/dashboard`: the
//! console dashboard's figures for the caller.

use axum::{
    extract::{Query, State},
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Manager;
use crate::clock::{now_ms, parse_time_or_day, rfc3339};
use crate::error::{ApiError, RequestError};
use crate::logs::usage::{self, GroupBy, UsageRow};
use crate::state::AppState;

const DAY_MS: i64 = 86_400_000;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    group_by: Option<GroupBy>,
}

/// What `GET /api/usage` answers: the range, its groups and their sum.
#[derive(Serialize, ToSchema)]
pub struct Usage {
    from: String,
    to: String,
    group_by: GroupBy,
    rows: Vec<UsageRow>,
    total: UsageTotal,
}

/// The sum of every group.
#[derive(Serialize, ToSchema)]
pub struct UsageTotal {
    requests: i64,
    errors: i64,
    prompt_tokens: i64,
    completion_tokens: i64,
    cost_usd: f64,
    unpriced_requests: i64,
}

/// An RFC 3339 time, or a `YYYY-MM-DD` day (its midnight, UTC).
fn instant(text: &str, field: &'static str) -> Result<i64, RequestError> {
    parse_time_or_day(text).ok_or(RequestError::InvalidField {
        field,
        message: format!("{field} must be an RFC 3339 time or a YYYY-MM-DD day"),
    })
}

#[utoipa::path(
    get,
    path = "/api/usage",
    tag = "usage",
    params(UsageQuery),
    responses((status = 200, body = Usage)),
)]
pub async fn usage(
    State(state): State<AppState>,
    Manager(caller): Manager,
    query: Result<Query<UsageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Usage>, ApiError> {
    let Query(q) = query.map_err(|e| RequestError::InvalidBody(e.body_text()))?;
    let to =
        q.to.as_deref()
            .map(|t| instant(t, "to"))
            .transpose()?
            .unwrap_or_else(|| now_ms() + 1);
    let from = q
        .from
        .as_deref()
        .map(|t| instant(t, "from"))
        .transpose()?
        .unwrap_or(to - 30 * DAY_MS);
    if from >= to {
        return Err(RequestError::InvalidField {
            field: "from",
            message: "from must be before to".into(),
        }
        .into());
    }
    let group_by = q.group_by.unwrap_or(GroupBy::Day);
    let whose = (!caller.is_admin).then_some(caller.user_id.as_str());
    let rows = usage::usage(&state.db, whose, from, to, group_by).await?;
    let total = usage::total(&rows);
    Ok(Json(Usage {
        from: rfc3339(from),
        to: rfc3339(to),
        group_by,
        rows,
        total: UsageTotal {
            requests: total.requests,
            errors: total.errors,
            prompt_tokens: total.prompt_tokens,
            completion_tokens: total.completion_tokens,
            cost_usd: total.cost_usd,
            unpriced_requests: total.unpriced_requests,
        },
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DashboardQuery {
    #[serde(default)]
    period: Option<String>,
    /// An organization's handle: the traffic its connections served (its admins only).
    #[serde(default)]
    org: Option<String>,
}

/// `GET /api/dashboard?period=hour|day|week|month[&org=<handle>]` (default `day`): the
/// caller's own traffic as the console's dashboard shows it, or that of an organization's
/// connections for one of its admins.
#[utoipa::path(
    get,
    path = "/api/dashboard",
    tag = "usage",
    params(DashboardQuery),
    responses((status = 200, body = app::dto::DashboardDto)),
)]
pub async fn dashboard(
    State(state): State<AppState>,
    Manager(caller): Manager,
    query: Result<Query<DashboardQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<app::dto::DashboardDto>, ApiError> {
    let Query(q) = query.map_err(|e| RequestError::InvalidBody(e.body_text()))?;
    let period = q.period.as_deref().unwrap_or("day");
    Ok(Json(
        crate::logs::dashboard::dashboard(
            &state,
            &caller.user_id,
            q.org.as_deref(),
            period,
            now_ms(),
        )
        .await?,
    ))
}
