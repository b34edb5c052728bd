//! `/api/collections` and `/api/prices`.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{ApiJson, Manager};
use crate::error::{ApiError, RequestError};
use crate::state::AppState;
use app::dto::{CollectionDto, CollectionInputDto, PriceDto};

pub async fn list(State(state): State<AppState>, caller: Manager) -> Result<Json<Value>, ApiError> {
    let collections = state.collections.list(&caller.actor()).await?;
    Ok(Json(json!({ "collections": collections })))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Manager,
    ApiJson(body): ApiJson<CollectionInputDto>,
) -> Result<(StatusCode, Json<CollectionDto>), ApiError> {
    let created = state.collections.create(&caller.actor(), body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<CollectionDto>, ApiError> {
    Ok(Json(state.collections.get(&caller.actor(), &id).await?))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CollectionInputDto>,
) -> Result<Json<CollectionDto>, ApiError> {
    Ok(Json(
        state.collections.update(&caller.actor(), &id, body).await?,
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state.collections.delete(&caller.actor(), &id).await?;
    Ok(Json(
        json!({"success": true, "message": "Collection deleted"}),
    ))
}

pub async fn reachable_models(
    State(state): State<AppState>,
    caller: Manager,
) -> Result<Json<Value>, ApiError> {
    let models = state.collections.reachable_models(&caller.actor()).await?;
    Ok(Json(json!({ "models": models })))
}

pub async fn prices(
    State(state): State<AppState>,
    _caller: Manager,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "prices": state.collections.prices().await? })))
}

pub async fn set_price(
    State(state): State<AppState>,
    caller: Manager,
    ApiJson(body): ApiJson<PriceDto>,
) -> Result<Json<PriceDto>, ApiError> {
    Ok(Json(
        state.collections.set_price(&caller.actor(), body).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceKey {
    provider: String,
    model: String,
}

pub async fn delete_price(
    State(state): State<AppState>,
    caller: Manager,
    query: Result<Query<PriceKey>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(key) = query.map_err(|e| RequestError::InvalidBody(e.body_text()))?;
    state
        .collections
        .delete_price(&caller.actor(), &key.provider, &key.model)
        .await?;
    Ok(Json(json!({"success": true})))
}
