//! Body capture: `GET`/`PUT /api/settings/body-capture` (`{"retention_days": 1..30}`, or
//! `null` for off, the default) and `GET /api/logs/{id}/bodies` (the caller's own call's
//! kept request and response bodies; 404 `NOT_FOUND` when none are kept).

use axum::{
    extract::{Path, State},
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiJson, Manager};
use crate::error::ApiError;
use crate::state::AppState;

/// Days the caller's request and response bodies are kept; `null`: not kept (the default).
#[derive(Serialize, ToSchema)]
pub struct CaptureSetting {
    retention_days: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/settings/body-capture",
    tag = "logs",
    responses((status = 200, body = CaptureSetting)),
)]
pub async fn get_setting(
    State(state): State<AppState>,
    Manager(caller): Manager,
) -> Result<Json<CaptureSetting>, ApiError> {
    let days = state.body_capture.setting(&caller.user_id).await?;
    Ok(Json(CaptureSetting {
        retention_days: days,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingBody {
    retention_days: Option<i64>,
}

#[utoipa::path(
    put,
    path = "/api/settings/body-capture",
    tag = "logs",
    request_body = SettingBody,
    responses((status = 200, body = CaptureSetting)),
)]
pub async fn set_setting(
    State(state): State<AppState>,
    Manager(caller): Manager,
    ApiJson(body): ApiJson<SettingBody>,
) -> Result<Json<CaptureSetting>, ApiError> {
    let days = state
        .body_capture
        .set(&caller.user_id, body.retention_days)
        .await?;
    Ok(Json(CaptureSetting {
        retention_days: days,
    }))
}

#[utoipa::path(
    get,
    path = "/api/logs/{id}/bodies",
    tag = "logs",
    params(("id" = String, Path)),
    responses((status = 200, body = app::dto::LogBodiesDto)),
)]
pub async fn read(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(id): Path<String>,
) -> Result<Json<app::dto::LogBodiesDto>, ApiError> {
    let (request, response) = state.body_capture.read(&caller.user_id, &id).await?;
    Ok(Json(app::dto::LogBodiesDto { request, response }))
}
