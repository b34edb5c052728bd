//! `/api/providers`: the catalogue. Everyone reads the enabled providers; platform admins
//! see all and add or change them.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiJson, Manager};
use crate::catalog::providers::{self, NewProvider, ProviderUpdate};
use crate::catalog::CatalogError;
use crate::error::ApiError;
use crate::state::AppState;
use app::dto::ProviderDto;

#[derive(Serialize, ToSchema)]
pub struct ProviderList {
    providers: Vec<ProviderDto>,
}

#[utoipa::path(
    get,
    path = "/api/providers",
    tag = "providers",
    responses((status = 200, body = ProviderList)),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Manager,
) -> Result<Json<ProviderList>, ApiError> {
    let admin = caller.0.is_admin;
    let list: Vec<ProviderDto> = providers::list(&state.db)
        .await?
        .into_iter()
        .filter(|p| admin || p.enabled)
        .map(|p| p.to_dto())
        .collect();
    Ok(Json(ProviderList { providers: list }))
}

#[utoipa::path(
    post,
    path = "/api/providers",
    tag = "providers",
    request_body = NewProvider,
    responses((status = 201, body = ProviderDto)),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Manager,
    ApiJson(body): ApiJson<NewProvider>,
) -> Result<(StatusCode, Json<ProviderDto>), ApiError> {
    if !caller.0.is_admin {
        return Err(CatalogError::AdminOnly.into());
    }
    let provider = providers::create(&state.db, body).await?;
    Ok((StatusCode::CREATED, Json(provider.to_dto())))
}

#[utoipa::path(
    put,
    path = "/api/providers/{id}",
    tag = "providers",
    params(("id" = String, Path)),
    request_body = ProviderUpdate,
    responses((status = 200, body = ProviderDto)),
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ProviderUpdate>,
) -> Result<Json<ProviderDto>, ApiError> {
    if !caller.0.is_admin {
        return Err(CatalogError::AdminOnly.into());
    }
    let updated = providers::update(&state.db, &id, body).await?;
    // Routing reads provider flags (free, enabled): rebuild its snapshot.
    state.changes.bump();
    Ok(Json(updated.to_dto()))
}
