//! `/api/keys`: the caller's own LangMart keys.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{ApiJson, Caller};
use crate::error::ApiError;
use crate::state::AppState;
use app::dto::{ApiKeyDto, CreatedApiKeyDto};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    name: String,
}

pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Value>, ApiError> {
    let keys: Vec<ApiKeyDto> = state.keys.list(&caller.user_id).await?;
    Ok(Json(json!({ "keys": keys })))
}

pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateKey>,
) -> Result<(StatusCode, Json<CreatedApiKeyDto>), ApiError> {
    let created = state.keys.create(&caller.user_id, &body.name).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn revoke(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state.keys.revoke(&caller.user_id, &id).await?;
    Ok(Json(
        json!({ "success": true, "message": "API key revoked" }),
    ))
}
