//! `/api/gateways`: self-hosted gateways (type 3) and the agents' link.

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    Json,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiJson, Manager};
use crate::error::ApiError;
use crate::state::AppState;
use app::dto::{CreatedGatewayDto, GatewayDetailDto, GatewayDto, NewGatewayDto};

pub use crate::gateways::connect;

#[derive(Serialize, ToSchema)]
pub struct GatewayList {
    gateways: Vec<GatewayDto>,
}

/// The agents' link (`langmart gateway` dials it): a WebSocket upgrade, authenticated by
/// the gateway's token before the upgrade.
#[utoipa::path(
    get,
    path = "/api/gateways/connect",
    operation_id = "gateways_connect",
    tag = "gateways",
    responses(
        (status = 101, description = "Switching to the agent protocol over WebSocket"),
        (status = 401, description = "No token, or not a current gateway token", body = crate::error::ErrorBody),
    ),
)]
#[expect(dead_code, reason = "documents `gateways::connect`, which is routed")]
pub(super) fn connect_doc() {}

#[utoipa::path(
    get,
    path = "/api/gateways",
    tag = "gateways",
    responses((status = 200, body = GatewayList)),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Manager,
) -> Result<Json<GatewayList>, ApiError> {
    let gateways = state.gateways.list(&caller.actor()).await?;
    Ok(Json(GatewayList { gateways }))
}

#[utoipa::path(
    post,
    path = "/api/gateways",
    tag = "gateways",
    request_body = NewGatewayDto,
    responses(
        (status = 201, description = "The gateway; its token is shown this once", body = CreatedGatewayDto),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Manager,
    ApiJson(body): ApiJson<NewGatewayDto>,
) -> Result<(StatusCode, Json<CreatedGatewayDto>), ApiError> {
    let created = state.gateways.create(&caller.actor(), &body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    get,
    path = "/api/gateways/{id}",
    tag = "gateways",
    params(("id" = String, Path)),
    responses((status = 200, body = GatewayDetailDto)),
)]
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

#[utoipa::path(
    delete,
    path = "/api/gateways/{id}",
    tag = "gateways",
    params(("id" = String, Path)),
    responses((status = 204, description = "Deleted, with its connections")),
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.gateways.delete(&caller.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/gateways/{id}/rotate",
    tag = "gateways",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "A new token, shown this once; agents holding the old one are disconnected", body = CreatedGatewayDto),
    ),
)]
pub async fn rotate(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<CreatedGatewayDto>, ApiError> {
    Ok(Json(state.gateways.rotate(&caller.actor(), &id).await?))
}
