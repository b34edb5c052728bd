//! `/api/collections` and `/api/prices`.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiJson, Done, Manager};
use crate::error::{ApiError, RequestError};
use crate::state::AppState;
use app::dto::{CollectionDto, CollectionInputDto, PriceDto, ReachableModelDto};

#[derive(Serialize, ToSchema)]
pub struct CollectionList {
    collections: Vec<CollectionDto>,
}

#[derive(Serialize, ToSchema)]
pub struct ReachableModels {
    models: Vec<ReachableModelDto>,
}

#[derive(Serialize, ToSchema)]
pub struct PriceList {
    prices: Vec<PriceDto>,
}

#[utoipa::path(
    get,
    path = "/api/collections",
    tag = "collections",
    responses((status = 200, body = CollectionList)),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Manager,
) -> Result<Json<CollectionList>, ApiError> {
    let collections = state.collections.list(&caller.actor()).await?;
    Ok(Json(CollectionList { collections }))
}

#[utoipa::path(
    post,
    path = "/api/collections",
    tag = "collections",
    request_body = CollectionInputDto,
    responses((status = 201, body = CollectionDto)),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Manager,
    ApiJson(body): ApiJson<CollectionInputDto>,
) -> Result<(StatusCode, Json<CollectionDto>), ApiError> {
    let created = state.collections.create(&caller.actor(), body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    get,
    path = "/api/collections/{id}",
    tag = "collections",
    params(("id" = String, Path)),
    responses((status = 200, body = CollectionDto)),
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<CollectionDto>, ApiError> {
    Ok(Json(state.collections.get(&caller.actor(), &id).await?))
}

#[utoipa::path(
    put,
    path = "/api/collections/{id}",
    tag = "collections",
    params(("id" = String, Path)),
    request_body = CollectionInputDto,
    responses((status = 200, body = CollectionDto)),
)]
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

#[utoipa::path(
    delete,
    path = "/api/collections/{id}",
    tag = "collections",
    params(("id" = String, Path)),
    responses((status = 200, body = Done)),
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<Done>, ApiError> {
    state.collections.delete(&caller.actor(), &id).await?;
    Ok(Done::saying("Collection deleted"))
}

#[utoipa::path(
    get,
    path = "/api/collections/reachable-models",
    tag = "collections",
    responses((status = 200, body = ReachableModels)),
)]
pub async fn reachable_models(
    State(state): State<AppState>,
    caller: Manager,
) -> Result<Json<ReachableModels>, ApiError> {
    let models = state.collections.reachable_models(&caller.actor()).await?;
    Ok(Json(ReachableModels { models }))
}

#[utoipa::path(
    get,
    path = "/api/prices",
    tag = "prices",
    responses((status = 200, body = PriceList)),
)]
pub async fn prices(
    State(state): State<AppState>,
    _caller: Manager,
) -> Result<Json<PriceList>, ApiError> {
    Ok(Json(PriceList {
        prices: state.collections.prices().await?,
    }))
}

#[utoipa::path(
    put,
    path = "/api/prices",
    tag = "prices",
    request_body = PriceDto,
    responses((status = 200, body = PriceDto)),
)]
pub async fn set_price(
    State(state): State<AppState>,
    caller: Manager,
    ApiJson(body): ApiJson<PriceDto>,
) -> Result<Json<PriceDto>, ApiError> {
    Ok(Json(
        state.collections.set_price(&caller.actor(), body).await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PriceKey {
    provider: String,
    model: String,
}

#[utoipa::path(
    delete,
    path = "/api/prices",
    tag = "prices",
    params(PriceKey),
    responses((status = 200, body = Done)),
)]
pub async fn delete_price(
    State(state): State<AppState>,
    caller: Manager,
    query: Result<Query<PriceKey>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Done>, ApiError> {
    let Query(key) = query.map_err(|e| RequestError::InvalidBody(e.body_text()))?;
    state
        .collections
        .delete_price(&caller.actor(), &key.provider, &key.model)
        .await?;
    Ok(Done::ok())
}
