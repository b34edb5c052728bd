//! Body capture: `GET`/`PUT /api/settings/body-capture` (`{"retention_days": 1..30}`, or
//! `null` for off, the default) and `GET /api/logs/{id}/bodies` (the caller's own call's
//! kept request and response bodies; 404 `NOT_FOUND` when none are kept).

use axum::{
    extract::{Path, State},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{ApiJson, Manager};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn get_setting(
    State(state): State<AppState>,
    Manager(caller): Manager,
) -> Result<Json<Value>, ApiError> {
    let days = state.body_capture.setting(&caller.user_id).await?;
    Ok(Json(json!({ "retention_days": days })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingBody {
    retention_days: Option<i64>,
}

pub async fn set_setting(
    State(state): State<AppState>,
    Manager(caller): Manager,
    ApiJson(body): ApiJson<SettingBody>,
) -> Result<Json<Value>, ApiError> {
    let days = state
        .body_capture
        .set(&caller.user_id, body.retention_days)
        .await?;
    Ok(Json(json!({ "retention_days": days })))
}

pub async fn read(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(id): Path<String>,
) -> Result<Json<app::dto::LogBodiesDto>, ApiError> {
    let (request, response) = state.body_capture.read(&caller.user_id, &id).await?;
    Ok(Json(app::dto::LogBodiesDto { request, response }))
}
