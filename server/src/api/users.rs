//! `/api/users` and `/api/signup-invites`: the accounts of this instance and the
//! single-use sign-up links that admit new ones (platform admins only).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiJson, Done, Manager};
use crate::error::ApiError;
use crate::state::AppState;
use app::dto::{CreatedSignupInviteDto, SignupInviteDto, UserDto};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvite {
    /// Who it is for (shown to admins only).
    #[serde(default)]
    note: String,
    /// Days it works; 7 when unset.
    #[serde(default)]
    days: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct UserList {
    users: Vec<UserDto>,
}

#[derive(Serialize, ToSchema)]
pub struct InviteList {
    invites: Vec<SignupInviteDto>,
}

#[utoipa::path(
    get,
    path = "/api/users",
    tag = "users",
    responses((status = 200, body = UserList)),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Manager,
) -> Result<Json<UserList>, ApiError> {
    let users: Vec<UserDto> = state
        .accounts
        .list(&caller.actor())
        .await?
        .into_iter()
        .map(|u| u.into_dto())
        .collect();
    Ok(Json(UserList { users }))
}

#[utoipa::path(
    get,
    path = "/api/signup-invites",
    tag = "users",
    responses((status = 200, body = InviteList)),
)]
pub async fn invites(
    State(state): State<AppState>,
    caller: Manager,
) -> Result<Json<InviteList>, ApiError> {
    let invites = state.signup.list_invites(&caller.actor()).await?;
    Ok(Json(InviteList { invites }))
}

#[utoipa::path(
    post,
    path = "/api/signup-invites",
    tag = "users",
    request_body = CreateInvite,
    responses((status = 201, body = CreatedSignupInviteDto)),
)]
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

#[utoipa::path(
    delete,
    path = "/api/signup-invites/{id}",
    tag = "users",
    params(("id" = String, Path)),
    responses((status = 200, body = Done)),
)]
pub async fn withdraw_invite(
    State(state): State<AppState>,
    caller: Manager,
    Path(id): Path<String>,
) -> Result<Json<Done>, ApiError> {
    state.signup.withdraw_invite(&caller.actor(), &id).await?;
    Ok(Done::saying("Invite withdrawn"))
}
