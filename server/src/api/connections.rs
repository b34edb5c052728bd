//! `/api/connections`: the product documents' REST API for connections.

use std::collections::BTreeMap;

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiJson, Done, Manager};
use crate::catalog::connections::ConnectionFilter;
use crate::error::{ApiError, RequestError};
use crate::state::AppState;
use app::dto::{
    AuditDto, ConnectionDto, ConnectionUpdateDto, ModelDto, NewConnectionDto, TestResultDto,
};

#[derive(Serialize, ToSchema)]
pub struct ConnectionList {
    connections: Vec<ConnectionDto>,
}

#[derive(Serialize, ToSchema)]
pub struct ConnectionDeleted {
    success: bool,
    message: &'static str,
    /// Its models, removed with it (and from the collections that held them).
    models_removed: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TestList {
    tests: Vec<TestResultDto>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditList {
    audit: Vec<AuditDto>,
}

#[derive(Serialize, ToSchema)]
pub struct ModelList {
    models: Vec<ModelDto>,
}

#[derive(Serialize, ToSchema)]
pub struct Discovered {
    success: bool,
    model_count: usize,
    models: Vec<ModelDto>,
}

#[utoipa::path(
    get,
    path = "/api/connections",
    tag = "connections",
    params(ConnectionFilter),
    responses((status = 200, body = ConnectionList)),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Manager,
    filter: Result<Query<ConnectionFilter>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ConnectionList>, ApiError> {
    let Query(filter) = filter.map_err(|e| RequestError::InvalidBody(e.body_text()))?;
    let actor = caller.actor();
    let mut connections = state.connections.list(&actor, &filter).await?;
    crate::catalog::insights::fill(&state, &actor.user_id, &mut connections).await?;
    Ok(Json(ConnectionList { connections }))
}

#[utoipa::path(
    post,
    path = "/api/connections",
    tag = "connections",
    request_body = NewConnectionDto,
    responses((status = 201, body = ConnectionDto)),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Manager,
    ApiJson(body): ApiJson<NewConnectionDto>,
) -> Result<(StatusCode, Json<ConnectionDto>), ApiError> {
    let created = state.connections.create(&caller.actor(), &body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    get,
    path = "/api/connections/{id}",
    tag = "connections",
    params(("id" = String, Path)),
    responses((status = 200, body = ConnectionDto)),
)]
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

#[utoipa::path(
    put,
    path = "/api/connections/{id}",
    tag = "connections",
    params(("id" = String, Path)),
    request_body = ConnectionUpdateDto,
    responses((status = 200, body = ConnectionDto)),
)]
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

#[utoipa::path(
    delete,
    path = "/api/connections/{id}",
    tag = "connections",
    params(("id" = String, Path)),
    responses((status = 200, body = ConnectionDeleted)),
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<ConnectionDeleted>, ApiError> {
    let models_removed = state.connections.delete(&caller.actor(), &id).await?;
    Ok(Json(ConnectionDeleted {
        success: true,
        message: "Connection deleted",
        models_removed,
    }))
}

/// A new key (or, for providers with several credential fields, new credentials).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyUpdate {
    api_key: Option<String>,
    credentials: Option<BTreeMap<String, String>>,
}

#[utoipa::path(
    post,
    path = "/api/connections/{id}/update-key",
    tag = "connections",
    params(("id" = String, Path)),
    request_body = KeyUpdate,
    responses((status = 200, body = Done)),
)]
pub async fn update_key(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<KeyUpdate>,
) -> Result<Json<Done>, ApiError> {
    state
        .connections
        .update_key(
            &caller.actor(),
            &id,
            body.api_key.as_deref(),
            body.credentials.as_ref(),
        )
        .await?;
    Ok(Done::saying("API key updated successfully"))
}

#[utoipa::path(
    post,
    path = "/api/connections/{id}/test",
    tag = "connections",
    params(("id" = String, Path)),
    responses((status = 200, body = TestResultDto)),
)]
pub async fn test(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<TestResultDto>, ApiError> {
    Ok(Json(state.connections.test(&caller.actor(), &id).await?))
}

#[utoipa::path(
    post,
    path = "/api/connections/test",
    tag = "connections",
    request_body = NewConnectionDto,
    responses(
        (status = 200, description = "The result of trying the endpoint and key without saving them", body = TestResultDto),
    ),
)]
pub async fn test_draft(
    State(state): State<AppState>,
    caller: Manager,
    ApiJson(body): ApiJson<NewConnectionDto>,
) -> Result<Json<TestResultDto>, ApiError> {
    Ok(Json(
        state.connections.test_draft(&caller.actor(), &body).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/connections/{id}/tests",
    tag = "connections",
    params(("id" = String, Path)),
    responses((status = 200, body = TestList)),
)]
pub async fn tests(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<TestList>, ApiError> {
    let detail = state.connections.detail(&caller.actor(), &id).await?;
    Ok(Json(TestList {
        tests: detail.tests,
    }))
}

#[utoipa::path(
    get,
    path = "/api/connections/{id}/audit",
    tag = "connections",
    params(("id" = String, Path)),
    responses((status = 200, body = AuditList)),
)]
pub async fn audit(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<AuditList>, ApiError> {
    let detail = state.connections.detail(&caller.actor(), &id).await?;
    Ok(Json(AuditList {
        audit: detail.audit,
    }))
}

#[utoipa::path(
    get,
    path = "/api/connections/{id}/models",
    tag = "connections",
    params(("id" = String, Path)),
    responses((status = 200, body = ModelList)),
)]
pub async fn models(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<ModelList>, ApiError> {
    let models = state.connections.models(&caller.actor(), &id).await?;
    Ok(Json(ModelList { models }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewModel {
    id: String,
    display_name: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/connections/{id}/models",
    tag = "connections",
    params(("id" = String, Path)),
    request_body = NewModel,
    responses((status = 201, body = ModelDto)),
)]
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

#[utoipa::path(
    post,
    path = "/api/connections/{id}/discover",
    tag = "connections",
    params(("id" = String, Path)),
    responses((status = 200, body = Discovered)),
)]
pub async fn discover(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<Discovered>, ApiError> {
    let models = state.connections.discover(&caller.actor(), &id).await?;
    Ok(Json(Discovered {
        success: true,
        model_count: models.len(),
        models,
    }))
}
