//! `/api/keys`: the caller's own LangMart keys.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{ApiJson, Manager};
use crate::auth::KeyRequest;
use crate::clock::parse_rfc3339;
use crate::error::{ApiError, RequestError};
use crate::state::AppState;
use app::dto::{ApiKeyDto, CreatedApiKeyDto, KeyScope};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    name: String,
    /// Defaults to the scopes of the key making it.
    #[serde(default)]
    scopes: Option<Vec<KeyScope>>,
    /// RFC 3339; defaults to the expiry of the key making it (none: never).
    #[serde(default)]
    expires_at: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Manager(caller): Manager,
) -> Result<Json<Value>, ApiError> {
    let keys: Vec<ApiKeyDto> = state.keys.list(&caller.user_id).await?;
    Ok(Json(json!({ "keys": keys })))
}

pub async fn create(
    State(state): State<AppState>,
    Manager(caller): Manager,
    ApiJson(body): ApiJson<CreateKey>,
) -> Result<(StatusCode, Json<CreatedApiKeyDto>), ApiError> {
    let expires_at = body
        .expires_at
        .as_deref()
        .map(|text| {
            parse_rfc3339(text).ok_or(RequestError::InvalidField {
                field: "expires_at",
                message: "expires_at must be an RFC 3339 time, e.g. 2027-01-31T00:00:00Z".into(),
            })
        })
        .transpose()?;
    let request = KeyRequest {
        name: body.name,
        scopes: body.scopes,
        expires_at,
    };
    let created = state
        .keys
        .create(&caller.user_id, Some(&caller), request)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn revoke(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state.keys.revoke(&caller.user_id, &id).await?;
    Ok(Json(
        json!({ "success": true, "message": "API key revoked" }),
    ))
}
