//! `/api/aliases`: model aliases of the caller and their organizations.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde_json::{json, Value};

use super::{ApiJson, Manager};
use crate::error::ApiError;
use crate::state::AppState;
use app::dto::{AliasDto, AliasInputDto};

pub async fn list(State(state): State<AppState>, caller: Manager) -> Result<Json<Value>, ApiError> {
    let aliases = state.aliases.list(&caller.actor()).await?;
    Ok(Json(json!({ "aliases": aliases })))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Manager,
    ApiJson(body): ApiJson<AliasInputDto>,
) -> Result<(StatusCode, Json<AliasDto>), ApiError> {
    let created = state.aliases.create(&caller.actor(), body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<AliasDto>, ApiError> {
    Ok(Json(state.aliases.get(&caller.actor(), &id).await?))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AliasInputDto>,
) -> Result<Json<AliasDto>, ApiError> {
    Ok(Json(
        state.aliases.update(&caller.actor(), &id, body).await?,
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.aliases.delete(&caller.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
