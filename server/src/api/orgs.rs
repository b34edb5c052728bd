//! `/api/organizations`: the caller's organizations, their members and invitations;
//! `/api/invitations`: the invitations open for the caller.

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
use app::dto::{InvitationDto, MemberDto, MembershipPrefsDto, OrgDto, OrgRole};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    name: String,
    handle: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    email: String,
    #[serde(default = "member_role")]
    role: OrgRole,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    role: OrgRole,
}

fn member_role() -> OrgRole {
    OrgRole::Member
}

pub async fn list(
    State(state): State<AppState>,
    Manager(caller): Manager,
) -> Result<Json<Value>, ApiError> {
    let orgs: Vec<OrgDto> = state.orgs.list(&caller.user_id).await?;
    Ok(Json(json!({ "organizations": orgs })))
}

pub async fn create(
    State(state): State<AppState>,
    Manager(caller): Manager,
    ApiJson(body): ApiJson<CreateOrg>,
) -> Result<(StatusCode, Json<OrgDto>), ApiError> {
    let org = state
        .orgs
        .create(&caller.user_id, &body.name, &body.handle)
        .await?;
    Ok((StatusCode::CREATED, Json(org)))
}

pub async fn members(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(handle): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let members: Vec<MemberDto> = state.orgs.members(&caller.user_id, &handle).await?;
    Ok(Json(json!({ "members": members })))
}

/// `POST /api/organizations/{handle}/members`: invites an email address (the invitee
/// accepts before anything of the organization routes their requests).
pub async fn invite(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(handle): Path<String>,
    ApiJson(body): ApiJson<AddMember>,
) -> Result<(StatusCode, Json<InvitationDto>), ApiError> {
    let invitation = state
        .orgs
        .invite(&caller.user_id, &handle, &body.email, body.role)
        .await?;
    Ok((StatusCode::CREATED, Json(invitation)))
}

pub async fn org_invitations(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(handle): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let invitations = state.orgs.invitations_of(&caller.user_id, &handle).await?;
    Ok(Json(json!({ "invitations": invitations })))
}

pub async fn withdraw(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path((handle, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.orgs.withdraw(&caller.user_id, &handle, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/invitations`: the invitations open for the caller's email address.
pub async fn my_invitations(
    State(state): State<AppState>,
    Manager(caller): Manager,
) -> Result<Json<Value>, ApiError> {
    let invitations = state.orgs.my_invitations(&caller.user_id).await?;
    Ok(Json(json!({ "invitations": invitations })))
}

pub async fn accept(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(id): Path<String>,
) -> Result<Json<OrgDto>, ApiError> {
    Ok(Json(state.orgs.accept(&caller.user_id, &id).await?))
}

pub async fn decline(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.orgs.decline(&caller.user_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/organizations/{handle}/membership`: the caller's own choices about the
/// organization's connections.
pub async fn set_preferences(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(handle): Path<String>,
    ApiJson(body): ApiJson<MembershipPrefsDto>,
) -> Result<Json<OrgDto>, ApiError> {
    Ok(Json(
        state
            .orgs
            .set_preferences(&caller.user_id, &handle, body)
            .await?,
    ))
}

pub async fn set_role(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path((handle, user_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<SetRole>,
) -> Result<Json<Value>, ApiError> {
    state
        .orgs
        .set_role(&caller.user_id, &handle, &user_id, body.role)
        .await?;
    Ok(Json(json!({ "success": true })))
}

pub async fn remove_member(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path((handle, user_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    state
        .orgs
        .remove_member(&caller.user_id, &handle, &user_id)
        .await?;
    Ok(Json(json!({ "success": true })))
}

pub async fn leave(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(handle): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state.orgs.leave(&caller.user_id, &handle).await?;
    Ok(Json(json!({ "success": true })))
}
