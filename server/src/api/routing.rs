//! `GET /api/routing/explain` and `GET /api/logs`.

use axum::{
    extract::{Query, State},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::Caller;
use crate::clock::now_ms;
use crate::error::{ApiError, RequestError};
use crate::logs::{self, LogQuery};
use crate::routing;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainQuery {
    model: String,
}

/// A dry run of routing for the caller: the ordered candidates and why any is skipped.
pub async fn explain(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ExplainQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| RequestError::InvalidBody(e.body_text()))?;
    let snapshot = state.routing.snapshot().await?;
    let plan = routing::plan(
        &snapshot,
        &caller.0.user_id,
        &q.model,
        &state.limiter,
        now_ms(),
    )?;
    Ok(Json(json!({
        "model": q.model,
        "resolution": plan.reference.resolution(),
        "candidates": plan.considered,
    })))
}

pub async fn logs(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| RequestError::InvalidBody(e.body_text()))?;
    let rows = logs::list(&state.db, &caller.0.user_id, &q).await?;
    Ok(Json(json!({ "logs": rows })))
}
