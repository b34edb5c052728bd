//! `/api/organizations`: the caller's organizations, their members and invitations;
//! `/api/invitations`: the invitations open for the caller.

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
use app::dto::{InvitationDto, MemberDto, MembershipPrefsDto, OrgDto, OrgRole};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    name: String,
    handle: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    email: String,
    #[serde(default = "member_role")]
    role: OrgRole,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    role: OrgRole,
}

#[derive(Serialize, ToSchema)]
pub struct OrgList {
    organizations: Vec<OrgDto>,
}

#[derive(Serialize, ToSchema)]
pub struct MemberList {
    members: Vec<MemberDto>,
}

#[derive(Serialize, ToSchema)]
pub struct InvitationList {
    invitations: Vec<InvitationDto>,
}

fn member_role() -> OrgRole {
    OrgRole::Member
}

#[utoipa::path(
    get,
    path = "/api/organizations",
    tag = "organizations",
    responses((status = 200, body = OrgList)),
)]
pub async fn list(
    State(state): State<AppState>,
    Manager(caller): Manager,
) -> Result<Json<OrgList>, ApiError> {
    let orgs: Vec<OrgDto> = state.orgs.list(&caller.user_id).await?;
    Ok(Json(OrgList {
        organizations: orgs,
    }))
}

#[utoipa::path(
    post,
    path = "/api/organizations",
    tag = "organizations",
    request_body = CreateOrg,
    responses((status = 201, body = OrgDto)),
)]
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

#[utoipa::path(
    get,
    path = "/api/organizations/{handle}/members",
    tag = "organizations",
    params(("handle" = String, Path, description = "The organization's handle")),
    responses((status = 200, body = MemberList)),
)]
pub async fn members(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(handle): Path<String>,
) -> Result<Json<MemberList>, ApiError> {
    let members: Vec<MemberDto> = state.orgs.members(&caller.user_id, &handle).await?;
    Ok(Json(MemberList { members }))
}

/// `POST /api/organizations/{handle}/members`: invites an email address (the invitee
/// accepts before anything of the organization routes their requests).
#[utoipa::path(
    post,
    path = "/api/organizations/{handle}/members",
    tag = "organizations",
    params(("handle" = String, Path, description = "The organization's handle")),
    request_body = AddMember,
    responses((status = 201, body = InvitationDto)),
)]
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

#[utoipa::path(
    get,
    path = "/api/organizations/{handle}/invitations",
    tag = "organizations",
    params(("handle" = String, Path, description = "The organization's handle")),
    responses((status = 200, body = InvitationList)),
)]
pub async fn org_invitations(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(handle): Path<String>,
) -> Result<Json<InvitationList>, ApiError> {
    let invitations = state.orgs.invitations_of(&caller.user_id, &handle).await?;
    Ok(Json(InvitationList { invitations }))
}

#[utoipa::path(
    delete,
    path = "/api/organizations/{handle}/invitations/{id}",
    tag = "organizations",
    params(
        ("handle" = String, Path, description = "The organization's handle"),
        ("id" = String, Path),
    ),
    responses((status = 204, description = "Withdrawn")),
)]
pub async fn withdraw(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path((handle, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.orgs.withdraw(&caller.user_id, &handle, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/invitations`: the invitations open for the caller's email address.
#[utoipa::path(
    get,
    path = "/api/invitations",
    tag = "organizations",
    responses((status = 200, body = InvitationList)),
)]
pub async fn my_invitations(
    State(state): State<AppState>,
    Manager(caller): Manager,
) -> Result<Json<InvitationList>, ApiError> {
    let invitations = state.orgs.my_invitations(&caller.user_id).await?;
    Ok(Json(InvitationList { invitations }))
}

#[utoipa::path(
    post,
    path = "/api/invitations/{id}/accept",
    tag = "organizations",
    params(("id" = String, Path)),
    responses((status = 200, body = OrgDto)),
)]
pub async fn accept(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(id): Path<String>,
) -> Result<Json<OrgDto>, ApiError> {
    Ok(Json(state.orgs.accept(&caller.user_id, &id).await?))
}

#[utoipa::path(
    post,
    path = "/api/invitations/{id}/decline",
    tag = "organizations",
    params(("id" = String, Path)),
    responses((status = 204, description = "Declined")),
)]
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
#[utoipa::path(
    put,
    path = "/api/organizations/{handle}/membership",
    tag = "organizations",
    params(("handle" = String, Path, description = "The organization's handle")),
    request_body = MembershipPrefsDto,
    responses((status = 200, body = OrgDto)),
)]
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

#[utoipa::path(
    put,
    path = "/api/organizations/{handle}/members/{user_id}",
    tag = "organizations",
    params(
        ("handle" = String, Path, description = "The organization's handle"),
        ("user_id" = String, Path),
    ),
    request_body = SetRole,
    responses((status = 200, body = Done)),
)]
pub async fn set_role(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path((handle, user_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<SetRole>,
) -> Result<Json<Done>, ApiError> {
    state
        .orgs
        .set_role(&caller.user_id, &handle, &user_id, body.role)
        .await?;
    Ok(Done::ok())
}

#[utoipa::path(
    delete,
    path = "/api/organizations/{handle}/members/{user_id}",
    tag = "organizations",
    params(
        ("handle" = String, Path, description = "The organization's handle"),
        ("user_id" = String, Path),
    ),
    responses((status = 200, body = Done)),
)]
pub async fn remove_member(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path((handle, user_id)): Path<(String, String)>,
) -> Result<Json<Done>, ApiError> {
    state
        .orgs
        .remove_member(&caller.user_id, &handle, &user_id)
        .await?;
    Ok(Done::ok())
}

#[utoipa::path(
    post,
    path = "/api/organizations/{handle}/leave",
    tag = "organizations",
    params(("handle" = String, Path, description = "The organization's handle")),
    responses((status = 200, body = Done)),
)]
pub async fn leave(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(handle): Path<String>,
) -> Result<Json<Done>, ApiError> {
    state.orgs.leave(&caller.user_id, &handle).await?;
    Ok(Done::ok())
}
