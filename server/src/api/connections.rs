//! `/api/connections`: the product documents' REST API for connections.

use std::collections::BTreeMap;

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{ApiJson, Manager};
use crate::catalog::connections::ConnectionFilter;
use crate::error::{ApiError, RequestError};
use crate::state::AppState;
use app::dto::{ConnectionDto, ConnectionUpdateDto, ModelDto, NewConnectionDto, TestResultDto};

pub async fn list(
    State(state): State<AppState>,
    caller: Manager,
    filter: Result<Query<ConnectionFilter>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(filter) = filter.map_err(|e| RequestError::InvalidBody(e.body_text()))?;
    let actor = caller.actor();
    let mut connections = state.connections.list(&actor, &filter).await?;
    crate::catalog::insights::fill(&state, &actor.user_id, &mut connections).await?;
    Ok(Json(json!({ "connections": connections })))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Manager,
    ApiJson(body): ApiJson<NewConnectionDto>,
) -> Result<(StatusCode, Json<ConnectionDto>), ApiError> {
    let created = state.connections.create(&caller.actor(), &body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<ConnectionDto>, ApiError> {
    let actor = caller.actor();
    let mut connection = state.connections.get(&actor, &id).await?;
    crate::catalog::insights::fill(
        &state,
        &actor.user_id,
        std::slice::from_mut(&mut connection),
    )
    .await?;
    Ok(Json(connection))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ConnectionUpdateDto>,
) -> Result<Json<ConnectionDto>, ApiError> {
    Ok(Json(
        state
            .connections
            .update(&caller.actor(), &id, &body)
            .await?,
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let models_removed = state.connections.delete(&caller.actor(), &id).await?;
    Ok(Json(json!({
        "success": true,
        "message": "Connection deleted",
        "models_removed": models_removed,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyUpdate {
    api_key: Option<String>,
    credentials: Option<BTreeMap<String, String>>,
}

pub async fn update_key(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<KeyUpdate>,
) -> Result<Json<Value>, ApiError> {
    state
        .connections
        .update_key(
            &caller.actor(),
            &id,
            body.api_key.as_deref(),
            body.credentials.as_ref(),
        )
        .await?;
    Ok(Json(
        json!({ "success": true, "message": "API key updated successfully" }),
    ))
}

pub async fn test(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<TestResultDto>, ApiError> {
    Ok(Json(state.connections.test(&caller.actor(), &id).await?))
}

pub async fn test_draft(
    State(state): State<AppState>,
    caller: Manager,
    ApiJson(body): ApiJson<NewConnectionDto>,
) -> Result<Json<TestResultDto>, ApiError> {
    Ok(Json(
        state.connections.test_draft(&caller.actor(), &body).await?,
    ))
}

pub async fn tests(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let detail = state.connections.detail(&caller.actor(), &id).await?;
    Ok(Json(json!({ "tests": detail.tests })))
}

pub async fn audit(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let detail = state.connections.detail(&caller.actor(), &id).await?;
    Ok(Json(json!({ "audit": detail.audit })))
}

pub async fn models(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let models = state.connections.models(&caller.actor(), &id).await?;
    Ok(Json(json!({ "models": models })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewModel {
    id: String,
    display_name: Option<String>,
}

pub async fn add_model(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewModel>,
) -> Result<(StatusCode, Json<ModelDto>), ApiError> {
    let model = state
        .connections
        .add_model(&caller.actor(), &id, &body.id, body.display_name.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(model)))
}

pub async fn discover(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let models = state.connections.discover(&caller.actor(), &id).await?;
    Ok(Json(
        json!({ "success": true, "model_count": models.len(), "models": models }),
    ))
}
