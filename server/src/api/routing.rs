//! `GET /api/routing/explain`, `GET /api/logs` and its exports (`/api/logs.csv`, `.jsonl`).

use axum::{
    extract::{Query, State},
    Json,
};
use serde::Deserialize;
use utoipa::IntoParams;

use super::Manager;
use crate::error::{ApiError, RequestError};
use crate::logs::{self, LogPage, LogQuery};
use crate::routing::{self, RequestSize};
use crate::state::AppState;
use app::dto::ExplainDto;

/// Prompt size assumed for cost estimates when the caller gives none.
pub const DEFAULT_PROMPT_TOKENS: u64 = 100;
/// Output size assumed for cost estimates when the caller gives none.
pub const DEFAULT_MAX_TOKENS: u64 = 256;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExplainQuery {
    model: String,
    /// For cost estimates: the prompt's size in tokens.
    prompt_tokens: Option<u64>,
    /// For cost estimates: the most output tokens asked.
    max_tokens: Option<u64>,
    #[serde(default)]
    stream: bool,
}

/// A dry run of routing for the caller: the ordered candidates and why any is skipped.
#[utoipa::path(
    get,
    path = "/api/routing/explain",
    tag = "routing",
    params(ExplainQuery),
    responses((status = 200, body = ExplainDto)),
)]
pub async fn explain(
    State(state): State<AppState>,
    caller: Manager,
    query: Result<Query<ExplainQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ExplainDto>, ApiError> {
    let Query(q) = query.map_err(|e| RequestError::InvalidBody(e.body_text()))?;
    let prompt_tokens = q.prompt_tokens.unwrap_or(DEFAULT_PROMPT_TOKENS);
    let max_tokens = q.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
    let size = RequestSize {
        prompt_tokens,
        completion_tokens: max_tokens,
        stream: q.stream,
        // About four bytes a token, as the estimate counts them.
        prompt_bytes: prompt_tokens.saturating_mul(4),
        max_output: Some(max_tokens),
    };
    Ok(Json(
        routing::explain(&state, &caller.0.user_id, &q.model, size).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/logs",
    tag = "logs",
    params(LogQuery),
    responses((status = 200, body = LogPage)),
)]
pub async fn logs(
    State(state): State<AppState>,
    caller: Manager,
    query: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<LogPage>, ApiError> {
    let Query(q) = query.map_err(|e| RequestError::InvalidBody(e.body_text()))?;
    let mut page = logs::list(&state.db, &caller.0.user_id, caller.0.is_admin, &q).await?;
    state
        .routing
        .fill_connection_names(&caller.0.user_id, &mut page.logs)
        .await?;
    Ok(Json(page))
}

/// `GET /api/logs.csv` and `GET /api/logs.jsonl`, with the filters of `/api/logs`: every row
/// they select (newest first, at most `EXPORT_MAX_ROWS`) as a download.
#[utoipa::path(
    get,
    path = "/api/logs.csv",
    tag = "logs",
    params(LogQuery),
    responses(
        (status = 200, description = "The selected rows as CSV, newest first", content_type = "text/csv", body = String),
    ),
)]
pub async fn export_csv(
    state: State<AppState>,
    caller: Manager,
    query: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    export(state, caller, query, logs::export::Format::Csv).await
}

#[utoipa::path(
    get,
    path = "/api/logs.jsonl",
    tag = "logs",
    params(LogQuery),
    responses(
        (status = 200, description = "The selected rows as JSON lines, newest first", content_type = "application/jsonl", body = String),
    ),
)]
pub async fn export_jsonl(
    state: State<AppState>,
    caller: Manager,
    query: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    export(state, caller, query, logs::export::Format::Jsonl).await
}

async fn export(
    State(state): State<AppState>,
    caller: Manager,
    query: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
    format: logs::export::Format,
) -> Result<axum::response::Response, ApiError> {
    let Query(q) = query.map_err(|e| RequestError::InvalidBody(e.body_text()))?;
    logs::export::download(&state, &caller.0.user_id, caller.0.is_admin, &q, format).await
}
