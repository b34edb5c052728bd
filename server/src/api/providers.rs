//! `/api/providers`: the catalogue. Everyone reads the enabled providers; platform admins
//! see all and add or change them.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde_json::{json, Value};

use super::{ApiJson, Manager};
use crate::catalog::providers::{self, NewProvider, ProviderUpdate};
use crate::catalog::CatalogError;
use crate::error::ApiError;
use crate::state::AppState;
use app::dto::ProviderDto;

pub async fn list(State(state): State<AppState>, caller: Manager) -> Result<Json<Value>, ApiError> {
    let admin = caller.0.is_admin;
    let list: Vec<ProviderDto> = providers::list(&state.db)
        .await?
        .into_iter()
        .filter(|p| admin || p.enabled)
        .map(|p| p.to_dto())
        .collect();
    Ok(Json(json!({ "providers": list })))
}

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
