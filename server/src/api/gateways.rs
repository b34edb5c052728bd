//! `/api/gateways`: self-hosted gateways (type 3) and the agents' link.

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    Json,
};
use serde_json::{json, Value};

use super::{ApiJson, Manager};
use crate::error::ApiError;
use crate::state::AppState;
use app::dto::{CreatedGatewayDto, GatewayDetailDto, NewGatewayDto};

pub use crate::gateways::connect;

pub async fn list(State(state): State<AppState>, caller: Manager) -> Result<Json<Value>, ApiError> {
    let gateways = state.gateways.list(&caller.actor()).await?;
    Ok(Json(json!({ "gateways": gateways })))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Manager,
    ApiJson(body): ApiJson<NewGatewayDto>,
) -> Result<(StatusCode, Json<CreatedGatewayDto>), ApiError> {
    let created = state.gateways.create(&caller.actor(), &body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<GatewayDetailDto>, ApiError> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let server = crate::gateways::server_url(&state.settings, host);
    Ok(Json(
        state.gateways.detail(&caller.actor(), &id, &server).await?,
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.gateways.delete(&caller.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn rotate(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<CreatedGatewayDto>, ApiError> {
    Ok(Json(state.gateways.rotate(&caller.actor(), &id).await?))
}
