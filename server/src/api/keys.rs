//! `/api/keys`: the caller's own LangMart keys.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiJson, Done, Manager};
use crate::auth::{KeyChange, KeyPolicy, KeyRequest};
use crate::budgets::Budget;
use crate::clock::parse_rfc3339;
use crate::error::{ApiError, RequestError};
use crate::state::AppState;
use app::dto::{ApiKeyDto, BudgetDto, CreatedApiKeyDto, KeyScope};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    name: String,
    /// Defaults to the scopes of the key making it.
    #[serde(default)]
    scopes: Option<Vec<KeyScope>>,
    /// RFC 3339; defaults to the expiry of the key making it (none: never).
    #[serde(default)]
    expires_at: Option<String>,
    /// Model references the key may call (`*`: any run of characters); absent: all.
    #[serde(default)]
    models: Option<Vec<String>>,
    #[serde(default)]
    rate_limit_rpm: Option<i64>,
    #[serde(default)]
    rate_limit_tpm: Option<i64>,
    #[serde(default)]
    default_max_tokens: Option<i64>,
    #[serde(default)]
    budget: Option<BudgetDto>,
}

/// `PUT /api/keys/{id}`: each field given replaces the stored one; `null` clears it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateKey {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    models: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    rate_limit_rpm: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    rate_limit_tpm: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    default_max_tokens: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    expires_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    budget: Option<Option<BudgetDto>>,
}

/// A field that is present, `null` or not: `Some(None)` for `null`, `None` when absent.
pub(super) fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Serialize, ToSchema)]
pub struct KeyList {
    keys: Vec<ApiKeyDto>,
}

fn expiry(text: &str) -> Result<i64, RequestError> {
    parse_rfc3339(text).ok_or(RequestError::InvalidField {
        field: "expires_at",
        message: "expires_at must be an RFC 3339 time, e.g. 2027-01-31T00:00:00Z".into(),
    })
}

#[utoipa::path(
    get,
    path = "/api/keys",
    tag = "keys",
    responses((status = 200, body = KeyList)),
)]
pub async fn list(
    State(state): State<AppState>,
    Manager(caller): Manager,
) -> Result<Json<KeyList>, ApiError> {
    let mut keys: Vec<ApiKeyDto> = state.keys.list(&caller.user_id).await?;
    state.budgets.fill_key_spend(&mut keys).await?;
    Ok(Json(KeyList { keys }))
}

#[utoipa::path(
    post,
    path = "/api/keys",
    tag = "keys",
    request_body = CreateKey,
    responses(
        (status = 201, description = "The key; its secret is shown this once", body = CreatedApiKeyDto),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    Manager(caller): Manager,
    ApiJson(body): ApiJson<CreateKey>,
) -> Result<(StatusCode, Json<CreatedApiKeyDto>), ApiError> {
    let expires_at = body.expires_at.as_deref().map(expiry).transpose()?;
    let request = KeyRequest {
        name: body.name,
        scopes: body.scopes,
        expires_at,
        policy: KeyPolicy {
            models: body.models,
            rpm: body.rate_limit_rpm,
            tpm: body.rate_limit_tpm,
            budget: body.budget.map(Budget::from_dto).transpose()?,
            default_max_tokens: body.default_max_tokens,
        },
    };
    let created = state
        .keys
        .create(&caller.user_id, Some(&caller), request)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    put,
    path = "/api/keys/{id}",
    tag = "keys",
    params(("id" = String, Path)),
    request_body = UpdateKey,
    responses((status = 200, body = ApiKeyDto)),
)]
pub async fn update(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateKey>,
) -> Result<Json<ApiKeyDto>, ApiError> {
    let expires_at = body
        .expires_at
        .map(|e| e.as_deref().map(expiry).transpose())
        .transpose()?;
    let change = KeyChange {
        name: body.name,
        models: body.models,
        rpm: body.rate_limit_rpm,
        tpm: body.rate_limit_tpm,
        budget: body
            .budget
            .map(|b| b.map(Budget::from_dto).transpose())
            .transpose()?,
        default_max_tokens: body.default_max_tokens,
        expires_at,
    };
    let period_before = state
        .keys
        .list(&caller.user_id)
        .await?
        .into_iter()
        .find(|k| k.id == id)
        .and_then(|k| k.policy.budget.map(|b| b.period));
    let mut updated = state
        .keys
        .update(&caller.user_id, Some(&caller), &id, change)
        .await?;
    // A new amount applies to the spend already counted; a new period is counted again
    // from the log, once what is queued for it is written.
    if updated.policy.budget.as_ref().map(|b| &b.period) != period_before.as_ref() {
        state.request_log.flush().await;
    }
    state
        .budgets
        .fill_key_spend(std::slice::from_mut(&mut updated))
        .await?;
    Ok(Json(updated))
}

#[utoipa::path(
    delete,
    path = "/api/keys/{id}",
    tag = "keys",
    params(("id" = String, Path)),
    responses((status = 200, body = Done)),
)]
pub async fn revoke(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(id): Path<String>,
) -> Result<Json<Done>, ApiError> {
    state.keys.revoke(&caller.user_id, &id).await?;
    Ok(Done::saying("API key revoked"))
}
