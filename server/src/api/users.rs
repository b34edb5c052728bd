//! `/api/users` and `/api/signup-invites`: the accounts of this instance and the
//! single-use sign-up links that admit new ones (platform admins only).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{ApiJson, Manager};
use crate::error::ApiError;
use crate::state::AppState;
use app::dto::{CreatedSignupInviteDto, UserDto};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInvite {
    /// Who it is for (shown to admins only).
    #[serde(default)]
    note: String,
    /// Days it works; 7 when unset.
    #[serde(default)]
    days: Option<u32>,
}

pub async fn list(State(state): State<AppState>, caller: Manager) -> Result<Json<Value>, ApiError> {
    let users: Vec<UserDto> = state
        .accounts
        .list(&caller.actor())
        .await?
        .into_iter()
        .map(|u| u.into_dto())
        .collect();
    Ok(Json(json!({ "users": users })))
}

pub async fn invites(
    State(state): State<AppState>,
    caller: Manager,
) -> Result<Json<Value>, ApiError> {
    let invites = state.signup.list_invites(&caller.actor()).await?;
    Ok(Json(json!({ "invites": invites })))
}

pub async fn create_invite(
    State(state): State<AppState>,
    caller: Manager,
    ApiJson(body): ApiJson<CreateInvite>,
) -> Result<(StatusCode, Json<CreatedSignupInviteDto>), ApiError> {
    let created = state
        .signup
        .create_invite(&caller.actor(), &body.note, body.days)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn withdraw_invite(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state.signup.withdraw_invite(&caller.actor(), &id).await?;
    Ok(Json(
        json!({ "success": true, "message": "Invite withdrawn" }),
    ))
}
