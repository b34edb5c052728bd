//! `/api/aliases`: model aliases of the caller and their organizations.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiJson, Manager};
use crate::error::ApiError;
use crate::state::AppState;
use app::dto::{AliasDto, AliasInputDto};

#[derive(Serialize, ToSchema)]
pub struct AliasList {
    aliases: Vec<AliasDto>,
}

#[utoipa::path(
    get,
    path = "/api/aliases",
    tag = "aliases",
    responses((status = 200, body = AliasList)),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Manager,
) -> Result<Json<AliasList>, ApiError> {
    let aliases = state.aliases.list(&caller.actor()).await?;
    Ok(Json(AliasList { aliases }))
}

#[utoipa::path(
    post,
    path = "/api/aliases",
    tag = "aliases",
    request_body = AliasInputDto,
    responses((status = 201, body = AliasDto)),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Manager,
    ApiJson(body): ApiJson<AliasInputDto>,
) -> Result<(StatusCode, Json<AliasDto>), ApiError> {
    let created = state.aliases.create(&caller.actor(), body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    get,
    path = "/api/aliases/{id}",
    tag = "aliases",
    params(("id" = String, Path)),
    responses((status = 200, body = AliasDto)),
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<AliasDto>, ApiError> {
    Ok(Json(state.aliases.get(&caller.actor(), &id).await?))
}

#[utoipa::path(
    put,
    path = "/api/aliases/{id}",
    tag = "aliases",
    params(("id" = String, Path)),
    request_body = AliasInputDto,
    responses((status = 200, body = AliasDto)),
)]
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

#[utoipa::path(
    delete,
    path = "/api/aliases/{id}",
    tag = "aliases",
    params(("id" = String, Path)),
    responses((status = 204, description = "Deleted")),
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.aliases.delete(&caller.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
